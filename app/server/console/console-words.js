// Tandem clinician console: what the page says when the server or the browser refuses.
// Plain words for a clinician; never a token.
'use strict';

(() => {
  const Tandem = (window.Tandem = window.Tandem || {});

  const SERVER_ERRORS = {
    token_invalid: ['This invitation was not accepted',
      'The join token is not valid for this server. Ask the clinic for a new invitation link.'],
    token_expired: ['This invitation has expired',
      'The join token is too old. Ask the clinic for a new invitation link.'],
    room_full: ['The session is full',
      'Nobody else can join this room right now. Contact the clinic if you should be in it.'],
    version_unsupported: ['This page is out of date',
      'Reload the page to get the current version, then join again.'],
    join_timeout: ['Joining took too long',
      'The server did not hear from this page in time. Check your connection and try again.'],
    token_wrong_room: ['This invitation is for another session',
      'Check that you opened the right invitation link, or ask the clinic for a new one.'],
    token_wrong_role: ['This invitation is for another role',
      'This page is for therapists and on-call clinicians. Partners join from the Tandem app ' +
      'on their computer. Check that you opened the right invitation link, or ask the clinic ' +
      'for a new one.'],
    replaced: ['This invitation was used on another device',
      'Someone joined with this invitation in another window or on another device, so this ' +
      'page has left the session. If that was you, carry on there. If not, the invitation may ' +
      'have leaked: tell the clinic, who can withdraw it and give you a new one.'],
    token_revoked: ['This invitation was withdrawn',
      'The clinic has withdrawn this join token, so it no longer works. Ask the clinic for a ' +
      'new invitation link.'],
  };

  // Someone's join code was used on another device while they were connected (peer_replaced).
  function codeUsedElsewhereText(name) {
    return `${name}'s join code was just used on another device, which took their place in ` +
      'the session. If that was not them, their code may have leaked: ask the clinic to ' +
      'withdraw it and give them a new one.';
  }

  function mediaErrorText(err) {
    const name = err && err.name;
    if (name === 'NotAllowedError' || name === 'SecurityError') {
      return ['Camera and microphone are blocked',
        'The browser was not allowed to use your camera and microphone. Allow them in the ' +
        "site settings next to the address bar, then join again. You can still see and hear " +
        'the couple, but they cannot see or hear you.'];
    }
    if (name === 'NotFoundError' || name === 'OverconstrainedError') {
      return ['No camera or microphone found',
        'Connect a camera and microphone, then join again. You can still see and hear the ' +
        'couple, but they cannot see or hear you.'];
    }
    if (name === 'NotReadableError' || name === 'AbortError') {
      return ['Camera or microphone is busy',
        'Another program may be using your camera or microphone. Close it, then join again.'];
    }
    return ['Camera and microphone could not start',
      'Join again, or try another browser. The couple cannot see or hear you right now.'];
  }

  Tandem.SERVER_ERRORS = SERVER_ERRORS;
  Tandem.codeUsedElsewhereText = codeUsedElsewhereText;
  Tandem.mediaErrorText = mediaErrorText;
})();
