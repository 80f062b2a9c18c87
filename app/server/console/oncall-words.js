// Tandem on-call page: what it says, in plain words for a clinician woken at night. The
// outcomes and errors are those of docs/emergency.md. Never a token, never a name in a log.
'use strict';

(() => {
  const Tandem = (window.Tandem = window.Tandem || {});

  // The values `end` takes, with the labels the clinician chooses from (in this order).
  const OUTCOMES = [
    ['safe', 'Safe for now', 'The crisis has passed and a safety plan is in place.'],
    ['referred', 'Referred', 'Handed on to another service (crisis team, their therapist).'],
    ['emergency_services', 'Emergency services called',
      'You called, or asked them to call, the emergency number.'],
    ['no_contact', 'Could not reach them', 'The call never really connected, or they left.'],
    ['other', 'Other', 'Say what happened in the note.'],
  ];

  // The escalation level of a case, as the clinician needs to hear it. No seconds here: the
  // server's timings are configurable, and the waiting time is shown beside it.
  const LEVELS = {
    0: 'Just asked for help',
    1: 'Not answered yet: ringing again, backup clinicians too',
    2: 'Still not answered: every available clinician is being rung',
    3: 'Unanswered: the clinic’s pager has been called — answer if you can',
  };

  // Errors on /emergency/ws: [title, text]. Fatal ones stop the page until it signs in again.
  const ONCALL_ERRORS = {
    token_invalid: ['This on-call sign-in was not accepted',
      'The on-call link is not valid for this server. Ask the clinic for a new on-call link.'],
    token_expired: ['This on-call sign-in has expired',
      'The on-call link is too old. Ask the clinic for a new one.'],
    token_wrong_role: ['This link is not an on-call sign-in',
      'This page is for on-call clinicians. Therapists use the clinician console; partners ' +
      'use the Tandem app. Ask the clinic for an on-call link.'],
    token_wrong_room: ['This link is not an on-call sign-in',
      'It is for a session room, not for the on-call roster. Ask the clinic for an on-call ' +
      'link.'],
    version_unsupported: ['This page is out of date',
      'Reload the page to get the current version, then sign in again.'],
    not_available: ['You are set to Away',
      'Set yourself Available to take this call.'],
    unknown_case: ['That case is no longer open',
      'The couple may have cancelled, or the case was closed.'],
    case_taken: ['Another clinician took this call', 'The couple is being looked after.'],
    bad_message: ['The server did not understand the page',
      'Reload the page. If it keeps happening, tell the clinic.'],
    too_large: ['That was too long to send', 'Shorten the note and try again.'],
  };
  const FATAL = new Set(['token_invalid', 'token_expired', 'token_wrong_role',
    'token_wrong_room', 'version_unsupported']);

  // 75 -> "1:15"; 3725 -> "1:02:05".
  function duration(seconds) {
    const s = Math.max(0, Math.floor(seconds));
    const h = Math.floor(s / 3600);
    const m = Math.floor((s % 3600) / 60);
    const ss = String(s % 60).padStart(2, '0');
    return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`;
  }

  function outcomeLabel(value) {
    const found = OUTCOMES.find(([v]) => v === value);
    return found ? found[1] : 'Other';
  }

  function levelText(level) {
    return LEVELS[level] || LEVELS[0];
  }

  function tierText(tier) {
    return tier === 2 ? 'backup' : 'first line';
  }

  Tandem.oncallWords = {
    OUTCOMES, ONCALL_ERRORS, FATAL, duration, outcomeLabel, levelText, tierText,
  };
})();
