// Tandem clinician console: one remote participant's tile, its connection and its media
// watchdog (docs/continuity.md, "Detect"). The watchdog counts inbound RTP bytes and packets
// (getStats); with nothing new for 1 s the tile says "Reconnecting to <name>…" and counts
// seconds, the last frame dimmed. The session decides when to rebuild the connection.
'use strict';

(() => {
  const Tandem = (window.Tandem = window.Tandem || {});

  const ROLE_NAMES = { partner: 'Partner', therapist: 'Therapist', oncall: 'On-call clinician' };
  const INTERRUPTED_AFTER_MS = 1000;
  // After this long the clinician is told what to do; the clinic's dial-in numbers are not
  // known to the console, so it says to phone the couple.
  const ADVICE_AFTER_MS = 10000;

  function roleName(role) {
    return ROLE_NAMES[role] || 'Participant';
  }

  // Totals over every inbound RTP stream of `pc` (audio and video).
  async function inboundTotals(pc) {
    const out = { bytes: 0, packets: 0, framesDecoded: 0, frameWidth: 0, frameHeight: 0 };
    const report = await pc.getStats();
    report.forEach((s) => {
      if (s.type !== 'inbound-rtp') return;
      out.bytes += s.bytesReceived || 0;
      out.packets += s.packetsReceived || 0;
      if (s.kind === 'video') {
        out.framesDecoded += s.framesDecoded || 0;
        out.frameWidth = s.frameWidth || out.frameWidth;
        out.frameHeight = s.frameHeight || out.frameHeight;
      }
    });
    return out;
  }

  class PeerView {
    constructor(peer) {
      this.peer = peer; // {peer_id, name, role, v}
      this.pc = null;
      this.connections = 0; // how many RTCPeerConnections this peer has had (rebuilds + 1)
      this.latest = null; // the watchdog's last look: totals over the current connection
      this.stream = null;
      this.problem = '';
      // Server presence: 'here', 'reconnecting' (peer_reconnecting) or 'away' (timed out).
      this.presence = 'here';
      this.awaySince = 0;
      // Watchdog: per connection totals; media state survives a rebuild.
      this.statsPc = null;
      this.lastTotal = 0;
      this.lastFrames = 0;
      this.framesMoving = false;
      this.hadMedia = false;
      this.lastMediaAt = 0;
      this.interruptedSince = null;
      // Rebuilds (driven by the session).
      this.retry = new Tandem.RetrySchedule();
      this.nextAttemptAt = null;
      this.lastOfferAt = 0;
      this.tile = this.buildTile();
      this.rosterItem = document.createElement('li');
      this.render();
    }

    get name() {
      return this.peer.name || 'Participant';
    }

    get interrupted() {
      return this.interruptedSince !== null;
    }

    buildTile() {
      const li = document.createElement('li');
      li.className = 'tile';
      li.dataset.peerId = this.peer.peer_id;
      const video = document.createElement('video');
      video.autoplay = true;
      video.playsInline = true;
      this.video = video;
      const caption = document.createElement('div');
      caption.className = 'caption';
      this.nameEl = document.createElement('span');
      this.nameEl.className = 'name';
      this.roleEl = document.createElement('span');
      this.roleEl.className = 'role';
      this.statusEl = document.createElement('span');
      this.statusEl.className = 'status';
      caption.append(this.nameEl, this.roleEl, this.statusEl);
      // Spoken once per change of state, not every second of the counter.
      this.liveEl = document.createElement('span');
      this.liveEl.className = 'visually-hidden';
      this.liveEl.setAttribute('aria-live', 'polite');
      li.append(video, caption, this.liveEl);
      return li;
    }

    update(peer) {
      if (peer.name) this.peer.name = peer.name;
      if (peer.role) this.peer.role = peer.role;
      if (peer.v !== undefined) this.peer.v = Number(peer.v) || 1;
      this.render();
    }

    setPresence(presence) {
      if (presence === 'away' && this.presence !== 'away') this.awaySince = Date.now();
      this.presence = presence;
      this.render();
    }

    // [level, text, spoken]: spoken is the text without the running counter.
    status() {
      const now = Date.now();
      if (this.interrupted) {
        const seconds = Math.floor((now - this.interruptedSince) / 1000);
        const base = `Reconnecting to ${this.name}…`;
        const advice = now - this.interruptedSince >= ADVICE_AFTER_MS
          ? ' If this goes on, call the couple.' : '';
        return ['warn', `${base} ${seconds} s.${advice}`, base + advice];
      }
      if (this.presence !== 'here') return ['warn', 'Reconnecting…', 'Reconnecting…'];
      if (this.problem) return ['bad', this.problem, this.problem];
      if (!this.pc) return ['wait', 'Joining…', 'Joining…'];
      let out;
      switch (this.pc.connectionState) {
        case 'connected':
          if (this.framesMoving) out = ['ok', 'Connected'];
          else out = this.hadMedia ? ['warn', 'Connected, but their video has stopped']
            : ['wait', 'Connected, waiting for video'];
          break;
        case 'disconnected':
          out = ['warn', 'Connection interrupted, trying to recover…'];
          break;
        case 'failed':
          out = ['bad', 'Connection lost, reconnecting…'];
          break;
        case 'closed':
          out = ['bad', 'Ended'];
          break;
        default:
          out = ['wait', 'Connecting…'];
      }
      return [out[0], out[1], out[1]];
    }

    render() {
      const role = roleName(this.peer.role);
      const [level, text, spoken] = this.status();
      this.nameEl.textContent = this.name;
      this.roleEl.textContent = role;
      this.statusEl.textContent = text;
      if (this.liveEl.textContent !== spoken) this.liveEl.textContent = spoken;
      this.tile.dataset.status = level;
      this.tile.dataset.presence = this.presence;
      this.tile.dataset.media = this.interrupted ? 'interrupted' : 'flowing';
      // The last frame stays in the <video>: dim it while this person is not really here.
      this.tile.classList.toggle('dimmed', this.interrupted || this.presence !== 'here');
      this.video.setAttribute('aria-label', `Video of ${this.name}, ${role}`);
      this.rosterItem.textContent = '';
      const who = document.createElement('span');
      who.className = 'who';
      who.textContent = `${this.name} · ${role}`;
      const state = document.createElement('span');
      state.className = `dot ${level}`;
      state.textContent = spoken;
      this.rosterItem.append(who, state);
    }

    attach(track, streams) {
      let stream = streams && streams[0];
      if (!stream) {
        stream = this.stream || new MediaStream();
        stream.addTrack(track);
      }
      this.stream = stream;
      if (this.video.srcObject !== stream) {
        this.video.srcObject = stream;
        this.video.play().catch(() => {
          // Autoplay with sound was refused: play muted and offer the sound button.
          this.video.muted = true;
          this.video.play().catch(() => {});
          document.getElementById('sound-button').hidden = false;
        });
      }
    }

    // One watchdog step: did anything arrive since the last look?
    async poll() {
      const pc = this.pc;
      if (!pc) return;
      const totals = await inboundTotals(pc);
      if (pc !== this.pc) return; // rebuilt meanwhile
      if (this.statsPc !== pc) { // a new connection counts from zero
        this.statsPc = pc;
        this.lastTotal = 0;
        this.lastFrames = 0;
      }
      this.latest = { connections: this.connections, ...totals };
      const now = Date.now();
      const total = totals.bytes + totals.packets;
      const arrived = total > this.lastTotal;
      this.lastTotal = total;
      const moving = totals.framesDecoded > this.lastFrames;
      this.lastFrames = totals.framesDecoded;
      if (arrived) {
        this.hadMedia = true;
        this.lastMediaAt = now;
        if (this.interrupted) {
          this.interruptedSince = null;
          this.retry.reset();
          this.nextAttemptAt = null;
        }
      } else if (this.hadMedia && !this.interrupted
        && now - this.lastMediaAt >= INTERRUPTED_AFTER_MS) {
        // A peer that never sent anything is not watched: it is still connecting.
        this.interruptedSince = this.lastMediaAt;
      }
      this.framesMoving = moving;
      this.render(); // the counter moves every second
    }

    // The connection failed: interrupted now (if not already), to be rebuilt now.
    failed() {
      if (!this.interrupted) this.interruptedSince = Date.now();
      this.nextAttemptAt = Date.now();
      this.render();
    }

    close() {
      if (this.pc) this.pc.close();
      this.pc = null;
      this.video.srcObject = null;
      this.tile.remove();
      this.rosterItem.remove();
    }
  }

  Tandem.PeerView = PeerView;
  Tandem.inboundTotals = inboundTotals;
  Tandem.roleName = roleName;
})();
