// Tandem clinician console: joins a room with the browser's own WebRTC (docs/protocol.md,
// version 2) and keeps the call through drops as the desktop client does (docs/continuity.md).
// Plain scripts, no build step, no third-party code: console-words.js (what the page says
// about errors), console-signaling.js (the socket that comes back), console-peer.js (a
// participant's tile and media watchdog), console-chat.js (chat), console-media.js (WebRTC
// helpers), console-session.js (the call), and this file (the page). The on-call page
// (oncall.js) shares all but this file. Never log tokens, names or chat text.
'use strict';

(() => {
  const $ = (id) => document.getElementById(id);
  const Tandem = window.Tandem;

  // The roles this page is for: the server refuses any other token here (token_wrong_role), so a
  // partner's invitation opened in the console is explained instead of joining the room.
  const CLINICIAN_ROLES = 'therapist,oncall';

  let session = null;
  let chatPanel = null;

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

  function showOnly(panelId) {
    for (const id of ['join-panel', 'call', 'left-panel']) {
      $(id).hidden = id !== panelId;
    }
  }

  // What the call session shows outside the call area.
  const PAGE = {
    alert: showAlert,
    notice: setNotice,
    joined(msg) {
      hideAlert();
      setNotice('');
      $('room-label').textContent = `Room ${msg.room}`;
      $('room-label').hidden = false;
      showOnly('call');
    },
    failed(title, text, wasInCall) {
      showOnly(wasInCall ? 'left-panel' : 'join-panel');
      if (wasInCall) {
        $('left-heading').textContent = 'The session ended unexpectedly';
        $('left-text').textContent = text;
      }
      setNotice('');
      showAlert(title, text);
      $('join-button').disabled = false;
    },
    left() {
      showOnly('left-panel');
      $('left-heading').textContent = 'You have left the session';
      $('left-text').textContent = 'Your camera and microphone are off.';
      setNotice('');
      $('left-heading').focus();
    },
    ended() {
      $('room-label').hidden = true;
    },
  };

  // ---- controls ----------------------------------------------------------------------------

  function join(event) {
    if (event) event.preventDefault();
    const token = $('token-input').value.trim();
    hideAlert();
    if (!token || token.split('.').length !== 2) {
      showAlert('That is not a join token',
        'A join token is a long line of letters and numbers with one dot in it. Copy the whole ' +
        'token from the clinic\'s invitation and paste it here.');
      return;
    }
    if (session && !session.ended) return;
    $('join-button').disabled = true;
    session = new Tandem.CallSession(token, { roles: CLINICIAN_ROLES, chatPanel, page: PAGE });
    session.start();
  }

  function init() {
    const token = Tandem.tokenFromFragment();
    if (token) {
      $('token-input').value = token;
      setNotice('Your invitation is filled in. Choose “Join the session” when you are ready.');
    }
    $('join-form').addEventListener('submit', join);
    $('token-show').addEventListener('change', (ev) => {
      $('token-input').type = ev.target.checked ? 'text' : 'password';
    });
    $('alert-dismiss').addEventListener('click', hideAlert);
    Tandem.bindCallControls(() => session);
    $('leave-button').addEventListener('click', () => session && session.leave());
    $('rejoin-button').addEventListener('click', () => {
      $('join-button').disabled = false;
      showOnly('join-panel');
      join(null);
    });
    chatPanel = new Tandem.ChatPanel(
      (peerId) => (session ? session.nameOf(peerId) : 'Participant'),
      (text) => Boolean(session && !session.ended && session.say(text)),
    );
    window.addEventListener('pagehide', () => {
      if (session && !session.ended) session.leave();
    });
  }

  // Read-only hooks for support and tests: ids and counters only, never names or tokens.
  window.tandemConsole = Tandem.callProbe(() => session);

  init();
})();
