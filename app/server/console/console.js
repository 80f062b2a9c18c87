// Tandem clinician console: joins a room with the browser's own WebRTC (docs/protocol.md).
// Plain script, no build step, no third-party code. Never log tokens or names.
'use strict';

(() => {
  const $ = (id) => document.getElementById(id);

  const ROLE_NAMES = { partner: 'Partner', therapist: 'Therapist', oncall: 'On-call clinician' };
  // No trickle: the SDP we send must carry every candidate. If gathering stalls (an unreachable
  // STUN server), send what we have rather than hang; candidates are never sent later.
  const GATHER_TIMEOUT_MS = 5000;
  const STATS_EVERY_MS = 2000;
  // The roles this page is for: the server refuses any other token here (token_wrong_role), so a
  // partner's invitation opened in the console is explained instead of joining the room.
  const CLINICIAN_ROLES = 'therapist,oncall';

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
    replaced: ['You joined from somewhere else',
      'This invitation was used again in another window or on another device, so this page ' +
      'has left the session. Close it, or join again here to move the session back.'],
  };

  let session = null;

  // ---- page helpers ------------------------------------------------------------------------

  function roleName(role) {
    return ROLE_NAMES[role] || 'Participant';
  }

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

  function waitGathered(pc) {
    if (pc.iceGatheringState === 'complete') return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        pc.removeEventListener('icegatheringstatechange', check);
        resolve();
      };
      const check = () => {
        if (pc.iceGatheringState === 'complete') done();
      };
      const timer = setTimeout(done, GATHER_TIMEOUT_MS);
      pc.addEventListener('icegatheringstatechange', check);
    });
  }

  function iceServersFrom(list) {
    if (!Array.isArray(list)) return [];
    return list
      .filter((s) => s && s.urls)
      .map((s) => {
        const server = { urls: s.urls };
        if (s.username) server.username = s.username;
        if (s.credential) server.credential = s.credential;
        return server;
      });
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

  // ---- one remote participant --------------------------------------------------------------

  class PeerView {
    constructor(peer) {
      this.peer = peer;
      this.pc = null;
      this.stream = null;
      this.lastFrames = 0;
      this.framesMoving = false;
      this.hadFrames = false;
      this.problem = '';
      this.tile = this.buildTile();
      this.rosterItem = document.createElement('li');
      this.render();
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
      this.statusEl.setAttribute('aria-live', 'polite');
      caption.append(this.nameEl, this.roleEl, this.statusEl);
      li.append(video, caption);
      return li;
    }

    update(peer) {
      if (peer.name) this.peer.name = peer.name;
      if (peer.role) this.peer.role = peer.role;
      this.render();
    }

    status() {
      if (this.problem) return ['bad', this.problem];
      if (!this.pc) return ['wait', 'Joining…'];
      switch (this.pc.connectionState) {
        case 'connected':
          if (this.framesMoving) return ['ok', 'Connected'];
          return this.hadFrames ? ['warn', 'Connected, but their video has stopped']
            : ['wait', 'Connected, waiting for video'];
        case 'disconnected':
          return ['warn', 'Connection interrupted, trying to recover…'];
        case 'failed':
          return ['bad', 'Connection lost'];
        case 'closed':
          return ['bad', 'Ended'];
        default:
          return ['wait', 'Connecting…'];
      }
    }

    render() {
      const name = this.peer.name || 'Participant';
      const role = roleName(this.peer.role);
      const [level, text] = this.status();
      this.nameEl.textContent = name;
      this.roleEl.textContent = role;
      this.statusEl.textContent = text;
      this.tile.dataset.status = level;
      this.video.setAttribute('aria-label', `Video of ${name}, ${role}`);
      this.rosterItem.textContent = '';
      const who = document.createElement('span');
      who.className = 'who';
      who.textContent = `${name} · ${role}`;
      const state = document.createElement('span');
      state.className = `dot ${level}`;
      state.textContent = text;
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
          $('sound-button').hidden = false;
        });
      }
    }

    async pollStats() {
      if (!this.pc) return;
      const frames = await inboundFrames(this.pc);
      const moving = frames.framesDecoded > this.lastFrames;
      this.lastFrames = frames.framesDecoded;
      if (moving && !this.hadFrames) this.hadFrames = true;
      if (moving !== this.framesMoving) {
        this.framesMoving = moving;
        this.render();
      }
    }

    close() {
      if (this.pc) this.pc.close();
      this.pc = null;
      this.video.srcObject = null;
      this.tile.remove();
      this.rosterItem.remove();
    }
  }

  async function inboundFrames(pc) {
    const out = { framesDecoded: 0, frameWidth: 0, frameHeight: 0 };
    const report = await pc.getStats();
    report.forEach((s) => {
      if (s.type === 'inbound-rtp' && s.kind === 'video') {
        out.framesDecoded += s.framesDecoded || 0;
        out.frameWidth = s.frameWidth || out.frameWidth;
        out.frameHeight = s.frameHeight || out.frameHeight;
      }
    });
    return out;
  }

  // ---- the session -------------------------------------------------------------------------

  class Session {
    constructor(token) {
      this.token = token;
      this.ws = null;
      this.selfId = null;
      this.welcomed = false;
      this.ended = false;
      this.fatalShown = false;
      this.iceServers = [];
      this.peers = new Map();
      this.media = null;
      this.mediaReady = Promise.resolve(null);
      this.timers = [];
      this.lastPong = 0;
      this.state = 'joining';
    }

    start() {
      setNotice('Connecting to the session server…');
      const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
      let ws;
      try {
        const query = `role=${encodeURIComponent(CLINICIAN_ROLES)}`;
        ws = new WebSocket(`${scheme}//${location.host}/ws?${query}`);
      } catch (err) {
        this.fail('The session server cannot be reached',
          'Check your internet connection, then join again.');
        return;
      }
      this.ws = ws;
      ws.onopen = () => this.send({ type: 'join', v: 1, token: this.token });
      ws.onmessage = (ev) => this.onMessage(ev.data);
      ws.onclose = () => this.onSocketClosed();
    }

    send(msg) {
      if (this.ws && this.ws.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(msg));
    }

    onMessage(data) {
      let msg;
      try {
        msg = JSON.parse(data);
      } catch (err) {
        return;
      }
      if (!msg || typeof msg.type !== 'string' || this.ended) return;
      switch (msg.type) {
        case 'welcome': this.onWelcome(msg); break;
        case 'peer_joined': if (msg.peer) this.view(msg.peer); break;
        case 'peer_left': this.onPeerLeft(msg); break;
        case 'offer': this.onOffer(msg); break;
        case 'answer': this.onAnswer(msg); break;
        case 'pong': this.lastPong = Date.now(); break;
        case 'error': this.onError(msg); break;
        default: break;
      }
    }

    onWelcome(msg) {
      this.welcomed = true;
      this.state = 'in-call';
      this.selfId = msg.peer_id;
      this.iceServers = iceServersFrom(msg.ice_servers);
      hideAlert();
      setNotice('');
      $('room-label').textContent = `Room ${msg.room}`;
      $('room-label').hidden = false;
      $('self-caption').textContent = msg.name
        ? `${msg.name} (you) · ${roleName(msg.role)}` : `You · ${roleName(msg.role)}`;
      showOnly('call');
      this.startHeartbeat(Number(msg.heartbeat_s) > 0 ? Number(msg.heartbeat_s) : 10);
      this.timers.push(setInterval(() => this.pollStats(), STATS_EVERY_MS));
      this.mediaReady = this.openMedia();
      for (const peer of msg.peers || []) {
        this.view(peer);
        this.offerTo(peer.peer_id);
      }
      this.renderRoom();
    }

    startHeartbeat(seconds) {
      this.lastPong = Date.now();
      this.timers.push(setInterval(() => {
        this.send({ type: 'ping' });
        const silent = Date.now() - this.lastPong > 3 * seconds * 1000;
        $('server-status').textContent = silent
          ? 'The session server is not answering. Video with the couple may continue.'
          : '';
      }, seconds * 1000));
    }

    async openMedia() {
      if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
        showAlert('Camera and microphone are not available here',
          'Open the console over a secure (https) address. You can still see and hear the ' +
          'couple, but they cannot see or hear you.');
        return null;
      }
      try {
        const stream = await navigator.mediaDevices.getUserMedia({
          audio: true,
          video: { width: { ideal: 640 }, height: { ideal: 480 } },
        });
        if (this.ended) {
          stream.getTracks().forEach((t) => t.stop());
          return null;
        }
        this.media = stream;
        $('self-video').srcObject = stream;
        syncToggles(this);
        return stream;
      } catch (err) {
        const [title, text] = mediaErrorText(err);
        showAlert(title, text);
        syncToggles(this);
        return null;
      }
    }

    view(peer) {
      let view = this.peers.get(peer.peer_id);
      if (view) {
        view.update(peer);
      } else {
        view = new PeerView({ peer_id: peer.peer_id, name: peer.name, role: peer.role });
        this.peers.set(peer.peer_id, view);
        $('tiles').append(view.tile);
        $('roster').append(view.rosterItem);
      }
      this.renderRoom();
      return view;
    }

    newConnection(view) {
      if (view.pc) view.pc.close();
      const pc = new RTCPeerConnection({ iceServers: this.iceServers });
      view.pc = pc;
      view.problem = '';
      view.framesMoving = false;
      view.hadFrames = false;
      view.lastFrames = 0;
      pc.ontrack = (ev) => view.attach(ev.track, ev.streams);
      pc.onconnectionstatechange = () => {
        if (view.pc === pc) view.render();
      };
      view.render();
      return pc;
    }

    async offerTo(peerId) {
      const stream = await this.mediaReady;
      const view = this.peers.get(peerId);
      if (this.ended || !view) return;
      const pc = this.newConnection(view);
      try {
        if (stream) {
          for (const track of stream.getTracks()) pc.addTrack(track, stream);
        } else {
          pc.addTransceiver('audio', { direction: 'recvonly' });
          pc.addTransceiver('video', { direction: 'recvonly' });
        }
        await pc.setLocalDescription(await pc.createOffer());
        await waitGathered(pc);
        if (view.pc !== pc || this.ended) return;
        this.send({ type: 'offer', to: peerId, sdp: pc.localDescription.sdp });
      } catch (err) {
        this.peerProblem(view, pc);
      }
    }

    async onOffer(msg) {
      if (typeof msg.from !== 'string' || typeof msg.sdp !== 'string') return;
      const stream = await this.mediaReady;
      if (this.ended) return;
      const view = this.peers.get(msg.from) || this.view({ peer_id: msg.from });
      // A new offer from a peer means it (re)joined: start a fresh connection.
      const pc = this.newConnection(view);
      try {
        await pc.setRemoteDescription({ type: 'offer', sdp: msg.sdp });
        if (stream) {
          for (const track of stream.getTracks()) pc.addTrack(track, stream);
        }
        await pc.setLocalDescription(await pc.createAnswer());
        await waitGathered(pc);
        if (view.pc !== pc || this.ended) return;
        this.send({ type: 'answer', to: msg.from, sdp: pc.localDescription.sdp });
      } catch (err) {
        this.peerProblem(view, pc);
      }
    }

    async onAnswer(msg) {
      const view = this.peers.get(msg.from);
      if (!view || !view.pc || typeof msg.sdp !== 'string') return;
      const pc = view.pc;
      try {
        await pc.setRemoteDescription({ type: 'answer', sdp: msg.sdp });
      } catch (err) {
        this.peerProblem(view, pc);
      }
    }

    peerProblem(view, pc) {
      if (view.pc !== pc) return;
      view.problem = 'Could not set up the connection';
      view.render();
    }

    onPeerLeft(msg) {
      const view = this.peers.get(msg.peer_id);
      if (!view) return;
      view.close();
      this.peers.delete(msg.peer_id);
      const words = msg.reason === 'timeout' ? 'lost their connection' : 'left the session';
      setNotice(`${view.peer.name || 'A participant'} ${words}.`);
      this.renderRoom();
    }

    onError(msg) {
      const known = SERVER_ERRORS[msg.code];
      if (msg.fatal) {
        this.fatalShown = true;
        const [title, text] = known || ['The session server refused to continue',
          typeof msg.message === 'string' && msg.message ? msg.message : 'Try joining again.'];
        this.fail(title, text);
      } else if (known) {
        setNotice(known[1]);
      }
    }

    onSocketClosed() {
      if (this.ended) return;
      if (this.fatalShown) return;
      if (!this.welcomed) {
        this.fail('The session server cannot be reached',
          'Check your internet connection, then join again. If it keeps happening, contact ' +
          'the clinic.');
      } else {
        this.fail('The connection to the session server was lost',
          'The call has ended on this page. Check your internet connection, then join again.');
      }
    }

    fail(title, text) {
      const wasInCall = this.welcomed;
      this.end();
      this.state = 'failed';
      showOnly(wasInCall ? 'left-panel' : 'join-panel');
      if (wasInCall) {
        $('left-heading').textContent = 'The session ended unexpectedly';
        $('left-text').textContent = text;
      }
      setNotice('');
      showAlert(title, text);
      $('join-button').disabled = false;
    }

    leave() {
      this.send({ type: 'leave' });
      this.end();
      this.state = 'left';
      showOnly('left-panel');
      $('left-heading').textContent = 'You have left the session';
      $('left-text').textContent = 'Your camera and microphone are off.';
      setNotice('');
      $('left-heading').focus();
    }

    end() {
      this.ended = true;
      for (const timer of this.timers) clearInterval(timer);
      this.timers = [];
      for (const view of this.peers.values()) view.close();
      this.peers.clear();
      if (this.media) this.media.getTracks().forEach((t) => t.stop());
      this.media = null;
      $('self-video').srcObject = null;
      $('sound-button').hidden = true;
      $('room-label').hidden = true;
      $('server-status').textContent = '';
      if (this.ws) {
        this.ws.onclose = null;
        this.ws.close();
      }
    }

    pollStats() {
      for (const view of this.peers.values()) view.pollStats().catch(() => {});
    }

    renderRoom() {
      $('waiting').hidden = this.peers.size > 0;
      $('tiles').dataset.count = String(this.peers.size);
    }
  }

  // ---- controls ----------------------------------------------------------------------------

  function syncToggles(s) {
    const audio = s && s.media ? s.media.getAudioTracks()[0] : null;
    const video = s && s.media ? s.media.getVideoTracks()[0] : null;
    const mute = $('mute-button');
    mute.disabled = !audio;
    const muted = !audio || !audio.enabled;
    mute.setAttribute('aria-pressed', String(Boolean(audio) && muted));
    mute.textContent = audio && muted ? 'Unmute microphone' : 'Mute microphone';
    const cam = $('camera-button');
    cam.disabled = !video;
    const off = !video || !video.enabled;
    cam.setAttribute('aria-pressed', String(Boolean(video) && off));
    cam.textContent = video && off ? 'Turn camera on' : 'Turn camera off';
    document.querySelector('.self').classList.toggle('off', Boolean(video) && off);
  }

  function toggleTrack(kind) {
    if (!session || !session.media) return;
    const track = kind === 'audio' ? session.media.getAudioTracks()[0]
      : session.media.getVideoTracks()[0];
    if (!track) return;
    track.enabled = !track.enabled;
    syncToggles(session);
  }

  function tokenFromFragment() {
    const params = new URLSearchParams(location.hash.slice(1));
    const token = params.get('token');
    if (token) {
      // Out of the address bar and history: the fragment never reached the server, keep it so.
      history.replaceState(null, '', location.pathname + location.search);
    }
    return token;
  }

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
    session = new Session(token);
    session.start();
  }

  function init() {
    const token = tokenFromFragment();
    if (token) {
      $('token-input').value = token;
      setNotice('Your invitation is filled in. Choose “Join the session” when you are ready.');
    }
    $('join-form').addEventListener('submit', join);
    $('token-show').addEventListener('change', (ev) => {
      $('token-input').type = ev.target.checked ? 'text' : 'password';
    });
    $('alert-dismiss').addEventListener('click', hideAlert);
    $('mute-button').addEventListener('click', () => toggleTrack('audio'));
    $('camera-button').addEventListener('click', () => toggleTrack('video'));
    $('leave-button').addEventListener('click', () => session && session.leave());
    $('rejoin-button').addEventListener('click', () => {
      $('join-button').disabled = false;
      showOnly('join-panel');
      join(null);
    });
    $('sound-button').addEventListener('click', () => {
      for (const v of document.querySelectorAll('.tile video')) {
        v.muted = false;
        v.play().catch(() => {});
      }
      $('sound-button').hidden = true;
    });
    window.addEventListener('pagehide', () => {
      if (session && !session.ended) session.leave();
    });
    syncToggles(null);
  }

  // Read-only hooks for support and tests: ids and counters only, never names or tokens.
  window.tandemConsole = {
    state: () => (session ? session.state : 'idle'),
    selfId: () => (session ? session.selfId : null),
    async inboundVideo() {
      if (!session) return [];
      const out = [];
      for (const [peerId, view] of session.peers) {
        if (view.pc) out.push({ peerId, ...(await inboundFrames(view.pc)) });
      }
      return out;
    },
  };

  init();
})();
