// Tandem on-call page: being on duty. The roster socket (/emergency/ws, docs/emergency.md)
// signed in with the on-call token, the Available / Away switch, and the top bar that says
// truthfully where things stand. The socket comes back by itself (console-signaling.js, for
// ever); while it is down the server counts the clinician away, so the switch shows Away, and
// once it is back the page asks to be available again if that is what the clinician chose.
'use strict';

(() => {
  const Tandem = (window.Tandem = window.Tandem || {});
  const $ = (id) => document.getElementById(id);
  const W = () => Tandem.oncallWords;

  // Kept for this tab only (a reload stays signed in; closing the tab signs out).
  const TOKEN_KEY = 'tandem-oncall-token';

  function stored(action) {
    try {
      return action(sessionStorage);
    } catch (err) {
      return null; // storage refused (private mode): a reload will ask again
    }
  }

  // handlers.onMessage(msg): every message but pong (hello_ok included, after the duty took
  // its part); handlers.onDown(): the socket was lost (the server now counts us away).
  class Duty {
    constructor(handlers) {
      this.handlers = handlers;
      this.link = null;
      this.me = null; // {name, tier} from hello_ok
      this.state = 'idle'; // idle | connecting | up | down
      this.retryAt = 0;
      this.want = false; // what the clinician chose
      this.available = false; // what the server confirmed
      this.inCall = false; // for the status line: a call goes on without this socket
    }

    static storedToken() {
      return stored((s) => s.getItem(TOKEN_KEY));
    }

    // [title, text] when `token` cannot be an on-call token; null once signing in has begun.
    signIn(token) {
      if (!token || token.split('.').length !== 2) {
        return ['That is not an on-call sign-in',
          'It is a long line of letters and numbers with one dot in it. Open the on-call ' +
          'link the clinic gave you, or copy its whole token and paste it here.'];
      }
      stored((s) => s.setItem(TOKEN_KEY, token));
      this.state = 'connecting';
      const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
      this.link = new Tandem.SignalingLink(`${scheme}//${location.host}/emergency/ws`, token, {
        onMessage: (msg) => this.onMessage(msg),
        onStatus: (status) => {
          if (status !== 'up') this.down(); // 'up' is said by hello_ok, with the facts
        },
        onRetry: (delayMs) => {
          this.state = 'down';
          this.retryAt = Date.now() + delayMs;
          this.render();
        },
        onUnreachable: () => {},
        onGaveUp: () => {},
      }, {
        hello: (t) => ({ type: 'hello', v: 1, token: t, as: 'oncall' }),
        welcome: 'hello_ok',
        forever: true,
      });
      this.link.start();
      this.render();
      return null;
    }

    signOut() {
      if (this.link) this.link.stop();
      this.link = null;
      this.me = null;
      this.state = 'idle';
      this.want = this.available = false;
      stored((s) => s.removeItem(TOKEN_KEY));
      this.render();
    }

    // False while the socket is down (nothing is queued here).
    send(msg) {
      return Boolean(this.link && this.link.send(msg));
    }

    setAvailable(want) {
      this.want = want;
      this.send({ type: 'availability', available: want });
      this.render();
    }

    down() {
      this.state = 'down';
      this.available = false;
      this.render();
      this.handlers.onDown();
    }

    onMessage(msg) {
      if (msg.type === 'hello_ok') {
        this.me = { name: typeof msg.name === 'string' ? msg.name : '',
          tier: msg.tier === 2 ? 2 : 1 };
        this.available = Boolean(msg.available);
        this.state = 'up';
        if (this.want && !this.available) this.send({ type: 'availability', available: true });
        this.render();
      } else if (msg.type === 'availability') {
        this.available = Boolean(msg.available);
        this.render();
      }
      this.handlers.onMessage(msg);
    }

    render() {
      const sw = $('availability');
      const pending = this.state === 'up' && this.want !== this.available;
      sw.setAttribute('aria-checked', String(this.available));
      sw.dataset.state = pending ? 'pending' : (this.available ? 'available' : 'away');
      $('availability-label').textContent = this.available ? 'Available' : 'Away';
      let help;
      if (this.state !== 'up') {
        help = this.want ? 'Away until the connection is back; then Available again.'
          : 'Away: calls do not ring here.';
      } else if (pending) {
        help = this.want ? 'Turning on…' : 'Turning off…';
      } else {
        help = this.available ? 'Emergency calls ring here. Keep this tab open, with sound on.'
          : 'Away: calls do not ring here. Switch to Available to take calls.';
      }
      $('availability-help').textContent = help;
      const status = $('link-status');
      status.dataset.state = this.state;
      if (this.state === 'up') {
        status.textContent = 'Connected to the on-call service';
      } else if (this.state === 'down') {
        const wait = Math.max(0, Math.ceil((this.retryAt - Date.now()) / 1000));
        const when = wait > 0 ? `trying again in ${wait} s` : 'trying again now';
        status.textContent = `Not connected to the on-call service — ${when}. New calls ` +
          `cannot reach you until it is back.${this.inCall ? ' The call goes on.' : ''}`;
      } else {
        status.textContent = 'Connecting to the on-call service…';
      }
      $('who').textContent = this.me ? `${this.me.name} · ${W().tierText(this.me.tier)}` : '';
    }

    // Every second: the countdown to the next attempt.
    tick() {
      if (this.state === 'down') this.render();
    }
  }

  Tandem.Duty = Duty;
})();
