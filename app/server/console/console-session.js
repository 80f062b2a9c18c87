// Tandem clinicians' pages (console and on-call): one call in a room over /ws (docs/protocol.md,
// version 2), kept through drops as the desktop client keeps it (docs/continuity.md). The
// signaling link comes back by itself (console-signaling.js), each participant has a tile with
// a media watchdog (console-peer.js), chat is acknowledged (console-chat.js). The call area's
// elements have fixed ids (#tiles, #roster, #self-video, #self-caption, #waiting,
// #server-status, #sound-button, the chat's); what else the page shows is up to the page,
// through `page` hooks. Never log tokens, names or chat text.
'use strict';

(() => {
  const Tandem = (window.Tandem = window.Tandem || {});
  const $ = (id) => document.getElementById(id);

  // The watchdog's look at each connection's inbound RTP (docs/continuity.md: 250-500 ms).
  const TICK_MS = 400;
  const CHAT_TICK_MS = 1000;
  // Short outages come back on the same connection; past this, a new connection is cheaper.
  const REBUILD_AFTER_MS = 3000;
  // How long one rebuild may take to bring media before the next attempt is due.
  const ATTEMPT_MS = 4000;
  // One `restart` a peer sends us is answered with one offer; more within this are the same ask.
  const RESTART_HOLD_MS = 1000;
  // Someone the server timed out stays on their tile, reconnecting, this long.
  const AWAY_GIVE_UP_MS = 10 * 60 * 1000;

  // One call. `options`:
  //   roles: the roles this page is for, sent as `/ws?role=` (the server refuses any other
  //     token with token_wrong_role, docs/protocol.md "Session")
  //   chatPanel: the page's Tandem.ChatPanel
  //   page: hooks, each optional:
  //     alert(title, text): something the clinician must read (camera blocked, ...)
  //     notice(text): a passing line ('' clears it)
  //     joined(msg): first `welcome`: the call area is to be shown
  //     failed(title, text, wasInCall): the call could not start or was lost for good
  //     left(): the clinician left
  //     ended(): the call is over and its media stopped (just before failed() or left())
  //     firstMedia(): media from someone arrived for the first time in this call
  class CallSession {
    constructor(token, options) {
      this.token = token;
      this.roles = options.roles;
      this.page = options.page;
      this.chatPanel = options.chatPanel;
      this.link = null;
      this.selfId = null;
      this.welcomed = false;
      this.ended = false;
      this.iceServers = [];
      this.peers = new Map();
      this.media = null;
      this.mediaReady = Promise.resolve(null);
      this.timers = [];
      this.state = 'joining';
      this.signaling = 'connecting';
      this.hadMedia = false;
      this.chat = new Tandem.Chat((msg) => this.link.send(msg), this.chatPanel);
    }

    hook(name, ...args) {
      const fn = this.page && this.page[name];
      if (fn) fn(...args);
    }

    notice(text) {
      this.hook('notice', text);
    }

    start() {
      this.notice('Connecting to the session server…');
      const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
      const query = `role=${encodeURIComponent(this.roles)}`;
      this.link = new Tandem.SignalingLink(`${scheme}//${location.host}/ws?${query}`, this.token, {
        onMessage: (msg) => this.onMessage(msg),
        onStatus: (status) => this.onSignaling(status),
        onUnreachable: () => this.fail('The session server cannot be reached',
          'Check your internet connection, then join again. If it keeps happening, contact ' +
          'the clinic.'),
        onGaveUp: () => this.fail('The connection to the session server was lost',
          'The page tried for 10 minutes to reach the session server again. Check your ' +
          'internet connection, then join again.'),
      });
      this.link.start();
    }

    send(msg) {
      return this.link ? this.link.send(msg) : false;
    }

    onMessage(msg) {
      if (this.ended) return;
      switch (msg.type) {
        case 'welcome': this.onWelcome(msg); break;
        case 'peer_joined': if (msg.peer) this.onPeerJoined(msg.peer); break;
        case 'peer_left': this.onPeerLeft(msg); break;
        case 'peer_reconnecting': this.onPresence(msg.peer_id, 'reconnecting'); break;
        case 'peer_resumed': this.onPresence(msg.peer_id, 'here'); break;
        case 'peer_replaced': this.onReplaced(msg.peer_id); break;
        case 'offer': this.onOffer(msg); break;
        case 'answer': this.onAnswer(msg); break;
        case 'restart': this.onRestart(msg); break;
        case 'chat': this.chat.received(msg.from, msg.id, msg.text); break;
        case 'chat_ack': this.chat.acknowledged(msg.from, msg.id); break;
        case 'error': this.onError(msg); break;
        default: break;
      }
    }

    onSignaling(status) {
      this.signaling = status;
      const line = $('server-status');
      line.textContent = status === 'up' ? 'Connected to the session server'
        : 'Reconnecting to the session server… Video with the couple may continue.';
      line.dataset.state = status;
    }

    onWelcome(msg) {
      this.selfId = msg.peer_id;
      this.iceServers = Tandem.iceServersFrom(msg.ice_servers);
      if (!this.welcomed) {
        this.firstWelcome(msg);
      } else {
        this.rewelcome(msg);
      }
      this.renderRoom();
    }

    firstWelcome(msg) {
      this.welcomed = true;
      this.state = 'in-call';
      const role = Tandem.roleName(msg.role);
      $('self-caption').textContent = msg.name ? `${msg.name} (you) · ${role}` : `You · ${role}`;
      this.hook('joined', msg);
      this.timers.push(setInterval(() => this.tick(), TICK_MS));
      this.timers.push(setInterval(() => {
        if (this.signaling === 'up') this.chat.tick();
      }, CHAT_TICK_MS));
      this.mediaReady = this.openMedia();
      for (const peer of msg.peers || []) {
        this.view(peer);
        this.offerTo(peer.peer_id);
      }
    }

    // In the room again after a reconnect. Links that work are kept; someone we have no link
    // with gets our offer, as a newcomer's. On a resume, who is missing was timed out while we
    // were away (away, not gone); after a server restart the others are still coming back.
    rewelcome(msg) {
      const here = new Set((msg.peers || []).map((p) => p.peer_id));
      if (msg.resumed) {
        for (const [peerId, view] of this.peers) {
          if (!here.has(peerId)) view.setPresence('away');
        }
      }
      for (const peer of msg.peers || []) {
        const view = this.view(peer);
        view.setPresence('here');
        if (!Tandem.hasLink(view)) this.offerTo(peer.peer_id);
      }
      // Our signaling coming back is taken as the path coming back: retry interrupted links.
      const now = Date.now();
      for (const view of this.peers.values()) {
        if (view.interrupted && view.nextAttemptAt !== null) {
          view.nextAttemptAt = Math.min(view.nextAttemptAt, now);
        }
      }
      this.chat.tick();
    }

    async openMedia() {
      if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
        this.hook('alert', 'Camera and microphone are not available here',
          'Open this page over a secure (https) address. You can still see and hear the ' +
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
        Tandem.syncToggles(stream);
        return stream;
      } catch (err) {
        const [title, text] = Tandem.mediaErrorText(err);
        this.hook('alert', title, text);
        Tandem.syncToggles(null);
        return null;
      }
    }

    view(peer) {
      let view = this.peers.get(peer.peer_id);
      if (view) {
        view.update(peer);
      } else {
        view = new Tandem.PeerView({ peer_id: peer.peer_id, name: peer.name, role: peer.role,
          v: peer.v === undefined ? 1 : Number(peer.v) || 1 });
        this.peers.set(peer.peer_id, view);
        $('tiles').append(view.tile);
        $('roster').append(view.rosterItem);
      }
      this.renderRoom();
      return view;
    }

    // Someone (re)joined. Peer ids are stable per token: a known id is the same person, and a
    // connection that works is kept; the newcomer offers to us.
    onPeerJoined(peer) {
      if (typeof peer.peer_id !== 'string') return;
      const view = this.view(peer);
      view.setPresence('here');
    }

    onPresence(peerId, presence) {
      const view = this.peers.get(peerId);
      if (!view) return;
      view.setPresence(presence);
      // It can hear an offer again: an interrupted link is retried at once.
      if (presence === 'here' && view.interrupted) view.nextAttemptAt = Date.now();
    }

    newConnection(view) {
      if (view.pc) view.pc.close();
      const pc = new RTCPeerConnection({ iceServers: this.iceServers });
      view.pc = pc;
      view.connections += 1;
      view.problem = '';
      pc.ontrack = (ev) => view.attach(ev.track, ev.streams);
      pc.onconnectionstatechange = () => {
        if (view.pc !== pc) return;
        if (pc.connectionState === 'failed') view.failed();
        view.render();
      };
      view.render();
      return pc;
    }

    async offerTo(peerId) {
      const stream = await this.mediaReady;
      const view = this.peers.get(peerId);
      if (this.ended || !view) return;
      view.lastOfferAt = Date.now();
      const pc = this.newConnection(view);
      try {
        if (stream) {
          for (const track of stream.getTracks()) pc.addTrack(track, stream);
        } else {
          pc.addTransceiver('audio', { direction: 'recvonly' });
          pc.addTransceiver('video', { direction: 'recvonly' });
        }
        await pc.setLocalDescription(await pc.createOffer());
        await Tandem.waitGathered(pc);
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
      // An offer replaces whatever connection we had with them: answer on a new one.
      const pc = this.newConnection(view);
      try {
        await pc.setRemoteDescription({ type: 'offer', sdp: msg.sdp });
        if (stream) {
          for (const track of stream.getTracks()) pc.addTrack(track, stream);
        }
        await pc.setLocalDescription(await pc.createAnswer());
        await Tandem.waitGathered(pc);
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
      // An answer to an offer this connection never made (a late one, to an earlier
      // connection of a rebuild): the offer this one made gets its own answer.
      if (pc.signalingState !== 'have-local-offer') return;
      try {
        await pc.setRemoteDescription({ type: 'answer', sdp: msg.sdp });
      } catch (err) {
        this.peerProblem(view, pc);
      }
    }

    // The peer sees no media from us and asks for a fresh offer; one ask per RESTART_HOLD_MS.
    onRestart(msg) {
      const view = this.peers.get(msg.from);
      if (!view) return;
      if (Date.now() - view.lastOfferAt < RESTART_HOLD_MS) return;
      this.offerTo(msg.from);
    }

    peerProblem(view, pc) {
      if (view.pc !== pc) return;
      view.problem = 'Could not set up the connection';
      view.render();
    }

    // Every TICK_MS: each peer's watchdog, rebuilds that are due, and the away that ran out.
    tick() {
      const now = Date.now();
      for (const [peerId, view] of [...this.peers]) {
        view.poll().then(() => {
          if (this.ended || this.peers.get(peerId) !== view) return;
          if (view.hadMedia && !this.hadMedia) {
            this.hadMedia = true;
            this.hook('firstMedia');
          }
          if (view.interrupted && view.nextAttemptAt === null) {
            view.nextAttemptAt = view.interruptedSince + REBUILD_AFTER_MS;
          }
          if (this.rebuildDue(view, Date.now())) this.rebuild(peerId, view, Date.now());
        }).catch(() => {});
        if (view.presence === 'away' && now - view.awaySince >= AWAY_GIVE_UP_MS
          && (view.interrupted || !Tandem.hasLink(view))) {
          this.remove(peerId, 'lost their connection');
        }
      }
    }

    // A link is only rebuilt while our signaling is up and the server does not say the peer's
    // own signaling is down: an offer nobody can receive helps nobody.
    rebuildDue(view, now) {
      return view.interrupted && view.nextAttemptAt !== null && now >= view.nextAttemptAt
        && view.presence === 'here' && this.signaling === 'up';
    }

    rebuild(peerId, view, now) {
      const delay = view.retry.nextDelay();
      if (delay === null) {
        this.remove(peerId, 'lost their connection');
        return;
      }
      view.nextAttemptAt = now + ATTEMPT_MS + delay;
      // The smaller peer_id offers; the other asks with `restart`. A v1 peer never asks.
      if (view.peer.v < 2 || this.selfId < peerId) {
        this.offerTo(peerId);
      } else {
        this.send({ type: 'restart', to: peerId });
      }
    }

    remove(peerId, words) {
      const view = this.peers.get(peerId);
      if (!view) return;
      view.close();
      this.peers.delete(peerId);
      this.chat.participantGone(peerId);
      this.notice(`${view.name === 'Participant' ? 'A participant' : view.name} ${words}.`);
      this.renderRoom();
    }

    onPeerLeft(msg) {
      const view = this.peers.get(msg.peer_id);
      if (!view) return;
      // A server timeout is not a goodbye: they stay on their tile, reconnecting.
      if (msg.reason === 'timeout') {
        view.setPresence('away');
      } else if (msg.reason === 'revoked') {
        this.remove(msg.peer_id, 'was removed: the clinic withdrew their join code');
      } else {
        this.remove(msg.peer_id, 'left the session');
      }
    }

    // Their join code was used on another device, which now has their place (the tile stays:
    // the same peer_id, a new connection). The clinician is told in words that stay on screen.
    onReplaced(peerId) {
      const view = this.peers.get(peerId);
      const name = view && view.name !== 'Participant' ? view.name : 'A participant';
      this.notice(Tandem.codeUsedElsewhereText(name));
    }

    onError(msg) {
      const known = Tandem.SERVER_ERRORS[msg.code];
      if (msg.fatal) {
        const [title, text] = known || ['The session server refused to continue',
          typeof msg.message === 'string' && msg.message ? msg.message : 'Try joining again.'];
        this.fail(title, text);
      } else if (known) {
        this.notice(known[1]);
      }
    }

    // Chat goes to every other participant who speaks protocol 2, away or not: a line for
    // someone away says "retrying" until they are back (or gone).
    say(text) {
      const to = [...this.peers.values()]
        .filter((v) => v.peer.v >= 2)
        .map((v) => v.peer.peer_id);
      return this.chat.say(text, to);
    }

    nameOf(peerId) {
      const view = this.peers.get(peerId);
      return view ? view.name : 'Participant';
    }

    fail(title, text) {
      const wasInCall = this.welcomed;
      this.end();
      this.state = 'failed';
      this.hook('failed', title, text, wasInCall);
    }

    leave() {
      this.send({ type: 'leave' });
      this.end();
      this.state = 'left';
      this.hook('left');
    }

    end() {
      this.ended = true;
      if (this.link) this.link.stop();
      for (const timer of this.timers) clearInterval(timer);
      this.timers = [];
      for (const view of this.peers.values()) view.close();
      this.peers.clear();
      if (this.media) this.media.getTracks().forEach((t) => t.stop());
      this.media = null;
      $('self-video').srcObject = null;
      $('sound-button').hidden = true;
      $('server-status').textContent = '';
      this.chatPanel.clear();
      this.hook('ended');
    }

    renderRoom() {
      $('waiting').hidden = this.peers.size > 0;
      $('tiles').dataset.count = String(this.peers.size);
    }
  }

  // Read-only hooks for support and tests: ids and counters only, never names or tokens.
  // `current()` returns the page's session (or null).
  function callProbe(current) {
    return {
      state: () => (current() ? current().state : 'idle'),
      selfId: () => (current() ? current().selfId : null),
      signaling: () => (current() ? current().signaling : 'idle'),
      sentCounts: () => (current() && current().link ? { ...current().link.sentCounts } : {}),
      receivedCounts: () => (current() && current().link
        ? { ...current().link.receivedCounts } : {}),
      // The ICE URLs a new connection would get, as the browser took them (credentials stay).
      iceUrls() {
        const session = current();
        if (!session || !session.selfId) return [];
        const pc = new RTCPeerConnection({ iceServers: session.iceServers });
        const urls = pc.getConfiguration().iceServers.flatMap((s) => [].concat(s.urls));
        pc.close();
        return urls;
      },
      // The watchdog's last look at each peer (every 400 ms), synchronously: page waits can
      // poll it (Playwright's wait_for_function takes a promise as a truthy answer).
      media() {
        const session = current();
        if (!session) return [];
        return [...session.peers].filter(([, view]) => view.latest)
          .map(([peerId, view]) => ({ peerId, ...view.latest }));
      },
      async inboundVideo() {
        const session = current();
        if (!session) return [];
        const out = [];
        for (const [peerId, view] of session.peers) {
          if (!view.pc) continue;
          const totals = await Tandem.inboundTotals(view.pc);
          out.push({ peerId, connections: view.connections, ...totals });
        }
        return out;
      },
    };
  }

  // The call area's own buttons: mute, camera, and "Turn on sound" (shown when the browser
  // refused to autoplay someone's audio). `current()` returns the page's session (or null).
  function bindCallControls(current) {
    const media = () => (current() ? current().media : null);
    $('mute-button').addEventListener('click', () => Tandem.toggleTrack(media(), 'audio'));
    $('camera-button').addEventListener('click', () => Tandem.toggleTrack(media(), 'video'));
    $('sound-button').addEventListener('click', () => {
      for (const v of document.querySelectorAll('.tile video')) {
        v.muted = false;
        v.play().catch(() => {});
      }
      $('sound-button').hidden = true;
    });
    Tandem.syncToggles(null);
  }

  Tandem.CallSession = CallSession;
  Tandem.bindCallControls = bindCallControls;
  Tandem.callProbe = callProbe;
})();
