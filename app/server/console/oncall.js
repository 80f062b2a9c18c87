// Tandem on-call page (/oncall): a clinician on call signs in with the on-call link, says
// whether they are available (oncall-duty.js), is rung when a couple asks for help
// (oncall-ring.js, oncall-cases.js), accepts, talks with the couple (video and chat, the
// console's call: console-session.js), and ends the case with an outcome (oncall-held.js);
// docs/emergency.md. This file ties them together. Never log tokens, names, locations or plans.
'use strict';

(() => {
  const $ = (id) => document.getElementById(id);
  const Tandem = window.Tandem;
  const W = Tandem.oncallWords;

  // An accept the server does not answer within this is offered again.
  const ACCEPT_TIMEOUT_MS = 10000;
  const TICK_MS = 1000;

  let duty = null;
  let board = null;
  let held = null;
  let ringer = null;
  let chatPanel = null;
  let active = null; // {caseId, card, ticket}: the case this page holds
  let call = null; // its Tandem.CallSession
  let pendingEnd = null; // an `end` waiting for the link
  let endSent = false;
  let accepting = null; // {caseId, timer}
  let lastEnded = null;

  // ---- page helpers ------------------------------------------------------------------------

  function showAlert(title, text) {
    $('alert-title').textContent = title;
    $('alert-text').textContent = text;
    $('alert').hidden = false;
    $('alert-title').focus();
  }

  function hideAlert() {
    $('alert').hidden = true;
  }

  function setNotice(text) {
    $('notice').textContent = text;
  }

  // A case in hand stays on screen even if the sign-in is refused on a reconnect (an on-call
  // token that expired mid-shift): the call goes on, and signing in again lets it be ended.
  function pageState() {
    if (active) return 'in-case';
    if (!duty.link) return 'signed-out';
    return $('closed').hidden ? 'on-duty' : 'closed';
  }

  function showPanels() {
    const state = pageState();
    const signedIn = Boolean(duty.link);
    $('signin-panel').hidden = signedIn;
    $('duty-controls').hidden = !signedIn;
    $('held').hidden = state !== 'in-case';
    $('closed').hidden = state !== 'closed';
    // Beside a case in hand, the board shows only when another call is on it.
    $('board').hidden = !signedIn || (state === 'in-case' && board.entries.size === 0);
    $('signout-button').disabled = state === 'in-case';
    duty.inCall = state === 'in-case';
  }

  // ---- the ring ----------------------------------------------------------------------------

  // Sound and title only while this page is meant to be available: a card that rang before a
  // switch to Away stays on the board, quietly.
  function updateRinging() {
    if (board.ringingIds().length > 0 && duty.want) {
      ringer.start();
    } else {
      stopRinging();
    }
  }

  function stopRinging() {
    ringer.stop();
    $('ring-blocked').hidden = true;
    for (const caseId of [...ringer.notes.keys()]) {
      const entry = board.get(caseId);
      if (!entry || entry.state !== 'ringing') ringer.forget(caseId);
    }
  }

  function onRing(msg) {
    const card = msg.case && typeof msg.case === 'object' ? msg.case : { case_id: msg.case_id };
    if (typeof card.case_id !== 'string') return;
    if (active && active.caseId === card.case_id) return;
    const fresh = !board.get(card.case_id);
    const entry = board.ring(card, msg.tier);
    ringer.notify(card.case_id, `Waiting ${W.duration(entry.waited.seconds())}. ` +
      `${W.levelText(Number(card.level) || 0)}. Open Tandem on call to answer.`);
    updateRinging();
    if (fresh) {
      // Said once per new call by a screen reader, whatever has the focus.
      $('ring-announce').textContent = `Emergency call: ${Tandem.coupleNames(card)} ` +
        'asking for help now.';
      if (!active) entry.accept.focus();
    }
  }

  // ---- accepting, holding and ending a case ------------------------------------------------

  function accept(caseId) {
    const entry = board.get(caseId);
    if (!entry || accepting || active) return;
    if (!duty.send({ type: 'accept', case_id: caseId })) {
      setNotice('Not connected to the on-call service: the call cannot be accepted until the ' +
        'connection is back.');
      return;
    }
    board.setState(entry, 'accepting');
    updateRinging();
    const timer = setTimeout(() => {
      acceptFailed('');
      setNotice('The server did not answer in time. Try accepting again.');
    }, ACCEPT_TIMEOUT_MS);
    accepting = { caseId, timer };
  }

  // The accept came to nothing: `state` says what the card becomes ('' = ringing again).
  function acceptFailed(state, by = '') {
    if (!accepting) return;
    clearTimeout(accepting.timer);
    const entry = board.get(accepting.caseId);
    accepting = null;
    if (!entry) return;
    if (state === 'gone') {
      board.remove(entry.card.case_id);
    } else {
      board.setState(entry, state || 'ringing', by);
    }
    updateRinging();
  }

  // Ours: in answer to our accept, or again after the roster socket came back (or the page was
  // reloaded) while we hold the case, with a fresh ticket.
  function onAccepted(msg) {
    const card = msg.case;
    if (!card || typeof card.case_id !== 'string' || !msg.ticket) return;
    if (active && active.caseId === card.case_id) {
      active.ticket = msg.ticket;
      // A ticket lasts 2 h: the call's own reconnects use the freshest one.
      if (call && call.link && typeof msg.ticket.token === 'string') {
        call.token = call.link.token = msg.ticket.token;
      }
      held.update(card);
      return;
    }
    if (accepting) clearTimeout(accepting.timer);
    accepting = null;
    ringer.forget(card.case_id);
    board.remove(card.case_id);
    updateRinging();
    active = { caseId: card.case_id, card, ticket: msg.ticket, connected: false };
    endSent = false;
    held.show(card);
    hideAlert();
    setNotice('');
    showPanels();
    $('held-names').focus();
    startCall();
  }

  function startCall() {
    if (call && !call.ended) return;
    $('rejoin-button').hidden = true;
    $('held-call-status').textContent = 'Joining the call with the couple…';
    call = new Tandem.CallSession(active.ticket.token, { roles: 'oncall', chatPanel, page: {
      alert: showAlert,
      notice: setNotice,
      joined: () => {
        $('held-call-status').textContent = '';
        setNotice('');
      },
      firstMedia: reportConnected,
      failed: (title, text) => {
        showAlert(title, text);
        $('held-call-status').textContent = 'You are not in the call.';
        $('rejoin-button').hidden = false;
      },
    } });
    call.start();
  }

  function sendEnd(end) {
    if (!active) return;
    pendingEnd = { type: 'end', case_id: active.caseId, ...end };
    flushEnd();
  }

  function flushEnd() {
    if (!pendingEnd) return;
    if (duty.send(pendingEnd)) {
      endSent = true;
    } else {
      held.waitingForLink();
    }
  }

  function onEnded(msg) {
    if (!active || msg.case_id !== active.caseId) {
      const entry = board.get(msg.case_id);
      // A card that already says why it is over (taken, cancelled) fades by itself.
      if (entry && !['taken', 'cancelled'].includes(entry.state)) board.remove(msg.case_id);
      ringer.forget(msg.case_id);
      updateRinging();
      return;
    }
    const due = Number(msg.follow_up_due) || (pendingEnd && pendingEnd.follow_up_due) || 0;
    const outcome = typeof msg.outcome === 'string' ? msg.outcome
      : (pendingEnd && pendingEnd.outcome);
    lastEnded = { caseId: msg.case_id, by: msg.by, outcome };
    pendingEnd = null;
    if (call && !call.ended) call.leave();
    call = null;
    active = null;
    held.hide();
    let text = `Outcome recorded: ${W.outcomeLabel(outcome)}.`;
    if (due > 0) text += ` Follow-up due ${Tandem.whenText(due)}.`;
    if (msg.by === 'couple') text = `The couple ended the case. ${text}`;
    $('closed-text').textContent = text;
    setNotice('');
    $('closed').hidden = false;
    showPanels();
    $('closed-heading').focus();
    duty.render();
  }

  // The first media in the case's call goes on record (`connected`, once; either side may).
  // Told by the call when it happens; tried again every second while the socket is down.
  function reportConnected() {
    if (!active || active.connected || !call || !call.hadMedia) return;
    if (duty.send({ type: 'connected', case_id: active.caseId })) active.connected = true;
  }

  // ---- the roster socket -------------------------------------------------------------------

  function onHello(msg) {
    hideAlert();
    // The server's list is the truth now: what rang before the drop may be over.
    const keep = new Set();
    for (const card of Array.isArray(msg.cases) ? msg.cases : []) {
      if (!card || typeof card.case_id !== 'string') continue;
      keep.add(card.case_id);
      if (active && card.case_id === active.caseId) {
        held.update(card);
      } else if (card.state === 'ringing' || card.state === 'unanswered') {
        board.ring(card, duty.me.tier);
      }
    }
    for (const caseId of [...board.entries.keys()]) {
      if (!keep.has(caseId)) board.remove(caseId);
    }
    if (pendingEnd && !endSent) flushEnd();
    updateRinging();
    showPanels();
  }

  function onError(msg) {
    const words = W.ONCALL_ERRORS[msg.code];
    if (msg.fatal === true || W.FATAL.has(msg.code)) {
      signOut();
      endSent = false; // an end in flight is sent again after the next sign-in
      showAlert(...(words || ['The on-call service refused the sign-in', 'Ask the clinic.']));
      return;
    }
    if (accepting && ['case_taken', 'unknown_case', 'not_available'].includes(msg.code)) {
      acceptFailed({ case_taken: 'taken', unknown_case: 'gone', not_available: '' }[msg.code]);
    } else if (active && endSent
      && ['bad_message', 'too_large', 'unknown_case'].includes(msg.code)) {
      endSent = false;
      pendingEnd = null;
      held.refused(words ? words[1] : 'The case could not be ended. Try again.');
      return;
    }
    if (words) setNotice(`${words[0]}. ${words[1]}`);
  }

  function onMessage(msg) {
    const entry = typeof msg.case_id === 'string' ? board.get(msg.case_id) : null;
    switch (msg.type) {
      case 'hello_ok': onHello(msg); break;
      case 'availability':
        if (!duty.available) stopRinging();
        break;
      case 'ring': onRing(msg); break;
      case 'accepted': onAccepted(msg); break;
      case 'case_taken':
        if (accepting && accepting.caseId === msg.case_id) {
          acceptFailed('taken', msg.by);
        } else if (entry) {
          board.setState(entry, 'taken', typeof msg.by === 'string' ? msg.by : '');
        }
        ringer.forget(msg.case_id);
        updateRinging();
        break;
      case 'case_cancelled':
        if (entry) board.setState(entry, 'cancelled');
        if (accepting && accepting.caseId === msg.case_id) acceptFailed('cancelled');
        ringer.forget(msg.case_id);
        updateRinging();
        break;
      case 'couple_cancelled':
        if (active && active.caseId === msg.case_id) held.coupleCancelled();
        break;
      case 'case':
        if (msg.case && active && msg.case.case_id === active.caseId) held.update(msg.case);
        else if (msg.case && board.get(msg.case.case_id)) board.upsert(msg.case);
        break;
      case 'ended': onEnded(msg); break;
      case 'error': onError(msg); break;
      default: break;
    }
  }

  function signIn(token) {
    hideAlert();
    const refused = duty.signIn(token);
    if (refused) {
      showAlert(...refused);
      return;
    }
    $('token-input').value = '';
    showPanels();
  }

  function signOut() {
    duty.signOut();
    stopRinging();
    board.clear();
    showPanels();
  }

  function init() {
    duty = new Tandem.Duty({ onMessage, onDown: stopRinging });
    ringer = new Tandem.Ringer($('ring-audio'), () => {
      $('ring-blocked').hidden = false;
    });
    board = new Tandem.CaseBoard($('cases'), $('no-cases'), accept, showPanels);
    held = new Tandem.HeldCase(sendEnd);
    chatPanel = new Tandem.ChatPanel(
      (peerId) => (call ? call.nameOf(peerId) : 'Participant'),
      (text) => Boolean(call && !call.ended && call.say(text)),
    );
    Tandem.bindCallControls(() => call);
    $('availability').addEventListener('click', () => {
      Tandem.Ringer.askPermission();
      duty.setAvailable(!duty.want);
      if (!duty.want) stopRinging();
    });
    $('ring-unblock').addEventListener('click', () => {
      $('ring-blocked').hidden = true;
      ringer.play();
    });
    $('signin-form').addEventListener('submit', (ev) => {
      ev.preventDefault();
      signIn($('token-input').value.trim());
    });
    $('token-show').addEventListener('change', (ev) => {
      $('token-input').type = ev.target.checked ? 'text' : 'password';
    });
    $('alert-dismiss').addEventListener('click', hideAlert);
    $('signout-button').addEventListener('click', signOut);
    $('rejoin-button').addEventListener('click', () => active && startCall());
    $('closed-done').addEventListener('click', () => {
      $('closed').hidden = true;
      showPanels();
      $('availability').focus();
    });
    window.addEventListener('pagehide', () => {
      if (call && !call.ended) call.leave();
    });
    setInterval(() => {
      board.tick();
      held.tick();
      reportConnected();
      duty.tick();
    }, TICK_MS);
    const token = Tandem.tokenFromFragment() || Tandem.Duty.storedToken();
    showPanels();
    duty.render();
    if (token) signIn(token);
  }

  // Read-only hooks for support and tests: states, ids and counters, never names or tokens.
  window.tandemOncall = {
    state: pageState,
    link: () => (duty ? duty.state : 'idle'),
    available: () => Boolean(duty && duty.available),
    ringing: () => Boolean(ringer && ringer.ringing),
    titleFlashes: () => (ringer ? ringer.flashes : 0),
    notified: () => (ringer ? ringer.notified : 0),
    activeCase: () => (active ? active.caseId : null),
    // Message type -> how many sent / received on the roster socket (never content).
    sentCounts: () => (duty && duty.link ? { ...duty.link.sentCounts } : {}),
    receivedCounts: () => (duty && duty.link ? { ...duty.link.receivedCounts } : {}),
    lastEnded: () => (lastEnded ? { ...lastEnded } : null),
    call: Tandem.callProbe(() => call),
  };

  init();
})();
