// Tandem clinicians' pages (console and on-call): small WebRTC and media helpers that a call
// session and its page share. No page state here: what they touch is passed in.
'use strict';

(() => {
  const Tandem = (window.Tandem = window.Tandem || {});

  // No trickle: the SDP we send must carry every candidate. If gathering stalls (an unreachable
  // STUN server), send what we have rather than hang; candidates are never sent later.
  const GATHER_TIMEOUT_MS = 5000;

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

  // Every server the session server lists, every URL of each (TURN over UDP, TCP and TLS):
  // the browser tries them all itself. A URL the browser would refuse (RTCPeerConnection throws
  // on one) is left out rather than losing the rest.
  function iceServersFrom(list) {
    if (!Array.isArray(list)) return [];
    const out = [];
    for (const s of list) {
      if (!s || !s.urls) continue;
      const urls = (Array.isArray(s.urls) ? s.urls : [s.urls])
        .filter((u) => typeof u === 'string' && /^(stun|stuns|turn|turns):/.test(u));
      if (urls.length === 0) continue;
      const server = { urls };
      if (s.username) server.username = s.username;
      if (s.credential) server.credential = s.credential;
      out.push(server);
    }
    return out;
  }

  // A connection worth keeping: one that exists and has not failed or closed.
  function hasLink(view) {
    return Boolean(view.pc) && !['failed', 'closed'].includes(view.pc.connectionState);
  }

  // The mute and camera buttons (#mute-button, #camera-button) say what a click will do, from
  // the session's own tracks (`media` null: no camera or microphone, both disabled).
  function syncToggles(media) {
    const audio = media ? media.getAudioTracks()[0] : null;
    const video = media ? media.getVideoTracks()[0] : null;
    const mute = document.getElementById('mute-button');
    mute.disabled = !audio;
    const muted = !audio || !audio.enabled;
    mute.setAttribute('aria-pressed', String(Boolean(audio) && muted));
    mute.textContent = audio && muted ? 'Unmute microphone' : 'Mute microphone';
    const cam = document.getElementById('camera-button');
    cam.disabled = !video;
    const off = !video || !video.enabled;
    cam.setAttribute('aria-pressed', String(Boolean(video) && off));
    cam.textContent = video && off ? 'Turn camera on' : 'Turn camera off';
    document.querySelector('.self').classList.toggle('off', Boolean(video) && off);
  }

  function toggleTrack(media, kind) {
    if (!media) return;
    const track = kind === 'audio' ? media.getAudioTracks()[0] : media.getVideoTracks()[0];
    if (!track) return;
    track.enabled = !track.enabled;
    syncToggles(media);
  }

  // The token in the address's fragment (`#token=...`), then out of the address bar and
  // history: the fragment never reached the server, keep it so.
  function tokenFromFragment() {
    const params = new URLSearchParams(location.hash.slice(1));
    const token = params.get('token');
    if (token) history.replaceState(null, '', location.pathname + location.search);
    return token;
  }

  Tandem.waitGathered = waitGathered;
  Tandem.iceServersFrom = iceServersFrom;
  Tandem.hasLink = hasLink;
  Tandem.syncToggles = syncToggles;
  Tandem.toggleTrack = toggleTrack;
  Tandem.tokenFromFragment = tokenFromFragment;
})();
