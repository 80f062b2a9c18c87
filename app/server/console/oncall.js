// Tandem on-call page (/oncall): a clinician on call signs in with the on-call link, says
// whether they are available, is rung when a couple asks for help, accepts, talks with the
// couple (video and chat, the console's call: console-session.js), and ends the case with an
// outcome (docs/emergency.md). The roster socket (/emergency/ws) comes back by itself and the
// page says so; while it is down the server counts the clinician away, so the page asks to be
// available again as soon as it is back. Never log tokens, names, locations or plans.
'use strict';

(() => {
  const $ = (id) => document.getElementById(id);
  const Tandem = window.Tandem;
  const W = Tandem.oncallWords;

  // Kept for this tab only (a reload stays signed in; closing the tab signs out).
  const TOKEN_KEY = 'tandem-oncall-token';
  // An accept the server does not answer within this is offered again.
  const ACCEPT_TIMEOUT_MS = 10000;
  const TICK_MS = 1000;

  let link = null;
  let me = null; // {name, tier} from hello_ok
  let linkState = 'idle'; // idle | connecting | up | down
  let retryAt = 0;
  let wantAvailable = false; // what the clinician chose
  let available = false; // what the server confirmed
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

  function pageState() {
    if (!link) return 'signed-out';
    if (active) return 'in-case';
    return $('closed').hidden ? 'on-duty' : 'closed';
  }

  function showPanels() {
    const state = pageState();
    $('signin-panel').hidden = state !== 'signed-out';
    $('duty-controls').hidden = state === 'signed-out';
    $('held').hidden = state !== 'in-case';
    $('closed').hidden = state !== 'closed';
    // Beside a case in hand, the board shows only when another call is on it.
    $('board').hidden = state === 'signed-out'
      || (state === 'in-case' && board.entries.size === 0);
    $('signout-button').disabled = state === 'in-case';
  }

  // ---- availability and the link's state, said truthfully ----------------------------------

  function renderDuty() {
    const sw = $('availability');
    const pending = linkState === 'up' && wantAvailable !== available;
    sw.setAttribute('aria-checked', String(available));
    sw.dataset.state = pending ? 'pending' : (available ? 'available' : 'away');
    $('availability-label').textContent = available ? 'Available' : 'Away';
    let help;
    if (linkState !== 'up') {
      help = wantAvailable ? 'Away until the connection is back; then Available again.'
        : 'Away: calls do not ring here.';
    } else if (pending) {
      help = wantAvailable ? 'Turning on…' : 'Turning off…';
    } else {
      help = available ? 'Emergency calls ring here. Keep this tab open, with sound on.'
        : 'Away: calls do not ring here. Switch to Available to take calls.';
    }
    $('availability-help').textContent = help;
    const status = $('link-status');
    status.dataset.state = linkState;
    if (linkState === 'up') {
      status.textContent = 'Connected to the on-call service';
    } else if (linkState === 'down') {
      const wait = Math.max(0, Math.ceil((retryAt - Date.now()) / 1000));
      const when = wait > 0 ? `trying again in ${wait} s` : 'trying again now';
      status.textContent = `Not connected to the on-call service — ${when}. New calls cannot ` +
        `reach you until it is back.${active ? ' The call with the couple goes on.' : ''}`;
    } else {
      status.textContent = 'Connecting to the on-call service…';
    }
    $('who').textContent = me ? `${me.name} · ${W.tierText(me.tier)}` : '';
  }

  function setAvailable(want) {
    wantAvailable = want;
    if (linkState === 'up') link.send({ type: 'availability', available: want });
    if (!want) stopRinging();
    renderDuty();
  }

  // ---- the ring ----------------------------------------------------------------------------

  // Sound and title only while this page is meant to be available: a card that rang before a
  // switch to Away stays on the board, quietly.
  function updateRinging() {
    if (board.ringingIds().length > 0 && wantAvailable) {
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
    if (fresh && !active) entry.accept.focus();
  }

  // ---- accepting, holding and ending a case ------------------------------------------------

  function accept(caseId) {
    const entry = board.get(caseId);
    if (!entry || accepting || active) return;
    if (!link.send({ type: 'accept', case_id: caseId })) {
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
    if (link.send(pendingEnd)) {
      endSent = true;
    } else {
      held.waitingForLink();
    }
  }

  function onEnded(msg) {
    if (!active || msg.case_id !== active.caseId) {
      ringer.forget(msg.case_id);
      board.remove(msg.case_id);
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
    renderDuty();
  }

  // The first media in the case's call goes on record (`connected`, once; either side may).
  // Told by the call when it happens; tried again every second while the socket is down.
  function reportConnected() {
    if (!active || active.connected || !call || !call.hadMedia) return;
    if (link.send({ type: 'connected', case_id: active.caseId })) active.connected = true;
  }

  // ---- the roster socket -------------------------------------------------------------------

  function onHello(msg) {
    me = { name: typeof msg.name === 'string' ? msg.name : '', tier: msg.tier === 2 ? 2 : 1 };
    available = Boolean(msg.available);
    linkState = 'up';
    hideAlert();
    // The server's list is the truth now: what rang before the drop may be over.
    const keep = new Set();
    for (const card of Array.isArray(msg.cases) ? msg.cases : []) {
      if (!card || typeof card.case_id !== 'string') continue;
      keep.add(card.case_id);
      if (active && card.case_id === active.caseId) {
        held.update(card);
      } else if (card.state === 'ringing' || card.state === 'unanswered') {
        board.ring(card, me.tier);
      }
    }
    for (const caseId of [...board.entries.keys()]) {
      if (!keep.has(caseId)) board.remove(caseId);
    }
    if (wantAvailable && !available) link.send({ type: 'availability', available: true });
    if (pendingEnd && !endSent) flushEnd();
    updateRinging();
    renderDuty();
  }

  function onError(msg) {
    const words = W.ONCALL_ERRORS[msg.code];
    if (msg.fatal === true || W.FATAL.has(msg.code)) {
      signOut();
      showAlert(...(words || ['The on-call service refused the sign-in', 'Ask the clinic.']));
      return;
    }
    if (accepting && ['case_taken', 'unknown_case', 'not_available'].includes(msg.code)) {
      acceptFailed({ case_taken: 'taken', unknown_case: 'gone', not_available: '' }[msg.code]);
    } else if (active && endSent && ['bad_message', 'too_large', 'unknown_case'].includes(msg.code)) {
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
        available = Boolean(msg.available);
        if (!available) stopRinging();
        renderDuty();
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
    if (!token || token.split('.').length !== 2) {
      showAlert('That is not an on-call sign-in',
        'It is a long line of letters and numbers with one dot in it. Open the on-call link ' +
        'the clinic gave you, or copy its whole token and paste it here.');
      return;
    }
    try {
      sessionStorage.setItem(TOKEN_KEY, token);
    } catch (err) {
      // storage refused (private mode): a reload will ask again
    }
    $('token-input').value = '';
    linkState = 'connecting';
    const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
    link = new Tandem.SignalingLink(`${scheme}//${location.host}/emergency/ws`, token, {
      onMessage,
      onStatus: (status) => {
        if (status === 'up') return; // hello_ok says so, with the facts
        linkState = 'down';
        available = false; // the server counts a dropped clinician away
        stopRinging();
        renderDuty();
      },
      onRetry: (delayMs) => {
        linkState = 'down';
        retryAt = Date.now() + delayMs;
        renderDuty();
      },
      onUnreachable: () => {},
      onGaveUp: () => {},
    }, { hello: (t) => ({ type: 'hello', v: 1, token: t, as: 'oncall' }), welcome: 'hello_ok',
      forever: true });
    link.start();
    showPanels();
    renderDuty();
  }

  function signOut() {
    if (link) link.stop();
    link = null;
    me = null;
    linkState = 'idle';
    wantAvailable = available = false;
    try {
      sessionStorage.removeItem(TOKEN_KEY);
    } catch (err) {
      // nothing stored
    }
    stopRinging();
    board.clear();
    showPanels();
    renderDuty();
  }

  function init() {
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
      setAvailable(!wantAvailable);
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
      if (linkState === 'down') renderDuty();
    }, TICK_MS);
    let token = Tandem.tokenFromFragment();
    if (!token) {
      try {
        token = sessionStorage.getItem(TOKEN_KEY);
      } catch (err) {
        token = null;
      }
    }
    showPanels();
    if (token) signIn(token);
  }

  // Read-only hooks for support and tests: states, ids and counters, never names or tokens.
  window.tandemOncall = {
    state: pageState,
    link: () => linkState,
    available: () => available,
    ringing: () => Boolean(ringer && ringer.ringing),
    titleFlashes: () => (ringer ? ringer.flashes : 0),
    notified: () => (ringer ? ringer.notified : 0),
    activeCase: () => (active ? active.caseId : null),
    // Message type -> how many sent / received on the roster socket (never content).
    sentCounts: () => (link ? { ...link.sentCounts } : {}),
    receivedCounts: () => (link ? { ...link.receivedCounts } : {}),
    lastEnded: () => (lastEnded ? { ...lastEnded } : null),
    call: Tandem.callProbe(() => call),
  };

  init();
})();
