// Tandem clinicians' pages: the signaling socket that comes back by itself (docs/continuity.md).
// A lost socket never ends the call: media is peer to peer and goes on meanwhile. The socket is
// reopened on the retry schedule and joins again with `resume: true` (docs/protocol.md, v2).
// The on-call page's roster socket (/emergency/ws, docs/emergency.md) is the same link with
// its own first message and welcome, and it never gives up.
'use strict';

(() => {
  const Tandem = (window.Tandem = window.Tandem || {});

  // LiveKit's schedule, as the desktop client uses it (app/call/retry.py): 0, 0.3, 1.2, 2.7,
  // 4.8 s, then every 7 s, for at most 10 minutes.
  const RETRY_DELAYS_MS = [0, 300, 1200, 2700, 4800];
  const RETRY_EVERY_MS = 7000;
  const GIVE_UP_MS = 10 * 60 * 1000;
  // The server lost us after 3 heartbeats of silence; we count it lost the same way.
  const MISSED_BEATS = 3;
  // An attempt whose socket opens but brings no welcome (a half-dead path) is abandoned.
  const ATTEMPT_TIMEOUT_MS = 5000;

  function randomId() {
    const bytes = new Uint8Array(12);
    crypto.getRandomValues(bytes);
    return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
  }

  // The limits on what a server may say (docs/protocol.md, "Limits on server messages"; the
  // same numbers as app/net/signaling_protocol.py). A message past them is dropped, as one that
  // does not parse is: a hostile server cannot have the console offer to thousands of peers,
  // or ping in a tight loop, or never notice that it went silent.
  const MAX_PEERS = 3;
  const MIN_HEARTBEAT_S = 0.01;
  const MAX_HEARTBEAT_S = 60;
  const MAX_ID_CHARS = 128;
  const MAX_TYPE_CHARS = 64;
  const MAX_ICE_SERVERS = 8;

  const isObject = (v) => v !== null && typeof v === 'object' && !Array.isArray(v);
  const isId = (v) => typeof v === 'string' && v.length > 0 && v.length <= MAX_ID_CHARS;

  // Whether `msg` (parsed JSON, anything at all) is a message the console may act on.
  function wellFormed(msg) {
    if (!isObject(msg) || typeof msg.type !== 'string' || msg.type.length > MAX_TYPE_CHARS) {
      return false;
    }
    switch (msg.type) {
      case 'welcome': {
        const beat = msg.heartbeat_s;
        const peers = msg.peers === undefined ? [] : msg.peers;
        const ice = msg.ice_servers === undefined ? [] : msg.ice_servers;
        return typeof beat === 'number' && beat >= MIN_HEARTBEAT_S && beat <= MAX_HEARTBEAT_S
          && isId(msg.peer_id)
          && Array.isArray(peers) && peers.length <= MAX_PEERS
          && peers.every((p) => isObject(p) && isId(p.peer_id))
          && Array.isArray(ice) && ice.length <= MAX_ICE_SERVERS;
      }
      case 'peer_joined':
        return isObject(msg.peer) && isId(msg.peer.peer_id);
      case 'peer_left':
      case 'peer_reconnecting':
      case 'peer_resumed':
        return isId(msg.peer_id);
      case 'offer':
      case 'answer':
      case 'restart':
      case 'chat':
      case 'chat_ack':
        return isId(msg.from);
      default:
        return true; // pong, error, and what a newer server may add
    }
  }

  class RetrySchedule {
    constructor(now = Date.now, giveUpMs = GIVE_UP_MS) {
      this.now = now;
      this.giveUpMs = giveUpMs;
      this.reset();
    }

    reset() {
      this.attempt = 0;
      this.startedAt = null;
    }

    // Milliseconds to wait before the next attempt, or null once the time is spent.
    nextDelay() {
      const now = this.now();
      if (this.startedAt === null) this.startedAt = now;
      if (now - this.startedAt >= this.giveUpMs) return null;
      const delay = this.attempt < RETRY_DELAYS_MS.length
        ? RETRY_DELAYS_MS[this.attempt] : RETRY_EVERY_MS;
      this.attempt += 1;
      return delay;
    }
  }

  // The /ws join (docs/protocol.md, v2): a later one resumes.
  function joinMessage(token, resuming, device) {
    const join = { type: 'join', v: 2, token, device };
    if (resuming) join.resume = true;
    return join;
  }

  // One participant's link to the session server, kept open across drops.
  //   handlers.onMessage(msg): every message except pong (welcome included)
  //   handlers.onStatus('up' | 'reconnecting'): the link's state changed
  //   handlers.onUnreachable(): the first join found no server (never welcomed)
  //   handlers.onGaveUp(): reconnecting for 10 minutes did not succeed
  //   handlers.onRetry(delayMs), optional: the next attempt is due in delayMs
  // options (all optional):
  //   hello(token, resuming, device): the first message on each socket (default: the /ws join)
  //   welcome: the type of the server's answer that means "in" (default 'welcome')
  //   forever: never give up, not even when the first attempt finds no server (for a page
  //     that waits for calls: it keeps trying and says so, through onRetry)
  class SignalingLink {
    constructor(url, token, handlers, options = {}) {
      this.url = url;
      this.token = token;
      this.handlers = handlers;
      this.hello = options.hello || joinMessage;
      this.welcomeType = options.welcome || 'welcome';
      this.forever = Boolean(options.forever);
      this.ws = null;
      this.welcomed = false; // at least once: later joins are resumes
      this.up = false;
      this.stopped = false;
      this.heartbeatMs = 1000;
      this.lastHeard = 0;
      this.retry = new RetrySchedule(Date.now, this.forever ? Infinity : GIVE_UP_MS);
      // This page's own id, the same on every reconnect: the server tells our resume over a
      // half-open socket from the invitation being used on another device (docs/protocol.md).
      this.device = randomId();
      this.beat = null;
      this.retryTimer = null;
      this.attemptTimer = null;
      // Message type -> how many sent / received (for support and tests; never content).
      // No prototype: a type named like one of Object's own properties is just a key.
      this.sentCounts = Object.create(null);
      this.receivedCounts = Object.create(null);
      this.malformed = 0; // messages dropped as not well formed
    }

    start() {
      this.open();
    }

    // Sends when the socket is up; false when the message could not be sent (down).
    send(msg) {
      if (!this.up || !this.ws || this.ws.readyState !== WebSocket.OPEN) return false;
      this.ws.send(JSON.stringify(msg));
      this.sentCounts[msg.type] = (this.sentCounts[msg.type] || 0) + 1;
      return true;
    }

    // For good: after a leave, a fatal error or the end of the page.
    stop() {
      this.stopped = true;
      this.up = false;
      clearInterval(this.beat);
      clearTimeout(this.retryTimer);
      clearTimeout(this.attemptTimer);
      this.drop();
    }

    open() {
      if (this.stopped) return;
      let ws;
      try {
        ws = new WebSocket(this.url);
      } catch (err) {
        this.lost();
        return;
      }
      this.ws = ws;
      ws.onopen = () => {
        ws.send(JSON.stringify(this.hello(this.token, this.welcomed, this.device)));
      };
      ws.onmessage = (ev) => {
        if (this.ws !== ws) return;
        this.lastHeard = Date.now(); // any frame is a sign of life
        this.onFrame(ev.data);
      };
      ws.onclose = () => {
        if (this.ws === ws) this.lost();
      };
      this.attemptTimer = setTimeout(() => {
        if (this.ws === ws && !this.up) this.lost();
      }, ATTEMPT_TIMEOUT_MS);
    }

    onFrame(data) {
      let msg;
      try {
        msg = JSON.parse(data);
      } catch (err) {
        return;
      }
      if (!wellFormed(msg)) {
        this.malformed += 1;
        return;
      }
      this.receivedCounts[msg.type] = (this.receivedCounts[msg.type] || 0) + 1;
      if (msg.type === 'pong') return;
      if (msg.type === this.welcomeType) this.onWelcome(msg);
      this.handlers.onMessage(msg);
    }

    onWelcome(msg) {
      clearTimeout(this.attemptTimer);
      this.welcomed = true;
      this.up = true;
      this.retry.reset();
      this.heartbeatMs = msg.heartbeat_s * 1000; // within the limits: wellFormed() checked
      this.lastHeard = Date.now();
      clearInterval(this.beat);
      this.beat = setInterval(() => this.heartbeat(), this.heartbeatMs);
      this.handlers.onStatus('up');
    }

    heartbeat() {
      if (!this.up) return;
      if (Date.now() - this.lastHeard > MISSED_BEATS * this.heartbeatMs) {
        this.lost(); // silent: a half-open socket is as dead as a closed one
        return;
      }
      this.send({ type: 'ping' });
    }

    // Forget the current socket without treating its close as news.
    drop() {
      const ws = this.ws;
      this.ws = null;
      if (ws) {
        ws.onopen = ws.onmessage = ws.onclose = null;
        try {
          ws.close();
        } catch (err) {
          // already closed
        }
      }
    }

    lost() {
      if (this.stopped) return;
      clearTimeout(this.attemptTimer);
      clearInterval(this.beat);
      this.drop();
      if (!this.welcomed && !this.forever) {
        this.stopped = true;
        this.handlers.onUnreachable();
        return;
      }
      if (this.up) {
        this.up = false;
        this.handlers.onStatus('reconnecting');
      }
      const delay = this.retry.nextDelay();
      if (delay === null) {
        this.stopped = true;
        this.handlers.onGaveUp();
        return;
      }
      if (this.handlers.onRetry) this.handlers.onRetry(delay);
      this.retryTimer = setTimeout(() => this.open(), delay);
    }
  }

  Tandem.RetrySchedule = RetrySchedule;
  Tandem.SignalingLink = SignalingLink;
  Tandem.wellFormed = wellFormed;
})();
