// Tandem on-call page: the ring that cannot be missed. A tone made here (a WAV built in the
// page: no file, no third party) loops on an <audio> element until the call is answered or
// taken; the tab's title flashes; a desktop notification appears where the browser allows it.
// The notification names no one: it can show on a locked screen.
'use strict';

(() => {
  const Tandem = (window.Tandem = window.Tandem || {});

  const RATE = 22050;
  const FLASH_MS = 800;
  const QUIET_TITLE = 'Tandem on call';
  const LOUD_TITLE = '⚠ EMERGENCY CALL — answer now';

  // One 2 s cycle: three rising chimes, then a pause. 16-bit mono PCM, soft edges (no clicks).
  function ringTone() {
    const notes = [[0.0, 880], [0.22, 1109], [0.44, 1319]];
    const noteS = 0.18;
    const cycleS = 2.0;
    const n = Math.round(cycleS * RATE);
    const pcm = new Int16Array(n);
    for (const [at, hz] of notes) {
      const start = Math.round(at * RATE);
      const len = Math.round(noteS * RATE);
      for (let i = 0; i < len; i += 1) {
        const t = i / RATE;
        const edge = Math.min(1, i / (0.01 * RATE), (len - i) / (0.04 * RATE));
        const v = Math.sin(2 * Math.PI * hz * t) * 0.6 + Math.sin(4 * Math.PI * hz * t) * 0.15;
        pcm[start + i] = Math.round(v * edge * 0.9 * 32767);
      }
    }
    return wav(pcm);
  }

  function wav(pcm) {
    const buf = new ArrayBuffer(44 + pcm.length * 2);
    const d = new DataView(buf);
    const text = (at, s) => [...s].forEach((c, i) => d.setUint8(at + i, c.charCodeAt(0)));
    text(0, 'RIFF');
    d.setUint32(4, 36 + pcm.length * 2, true);
    text(8, 'WAVE');
    text(12, 'fmt ');
    d.setUint32(16, 16, true); // fmt chunk size
    d.setUint16(20, 1, true); // PCM
    d.setUint16(22, 1, true); // mono
    d.setUint32(24, RATE, true);
    d.setUint32(28, RATE * 2, true); // bytes per second
    d.setUint16(32, 2, true); // bytes per frame
    d.setUint16(34, 16, true); // bits per sample
    text(36, 'data');
    d.setUint32(40, pcm.length * 2, true);
    pcm.forEach((v, i) => d.setInt16(44 + i * 2, v, true));
    return new Blob([buf], { type: 'audio/wav' });
  }

  // The ringer: start() and stop() may be called any number of times.
  //   audio: the page's <audio> element; onBlocked(): the browser refused to play sound
  //   (no click on the page yet): the page asks for one click.
  class Ringer {
    constructor(audio, onBlocked) {
      this.audio = audio;
      this.onBlocked = onBlocked;
      this.audio.loop = true;
      this.audio.src = URL.createObjectURL(ringTone());
      this.ringing = false;
      this.flash = null;
      this.loud = false;
      this.flashes = 0; // how many times the title turned loud (for tests)
      this.notified = 0; // notifications shown (for tests)
      this.notes = new Map(); // case_id -> Notification
    }

    start() {
      if (this.ringing) return;
      this.ringing = true;
      this.play();
      this.flash = setInterval(() => this.toggleTitle(), FLASH_MS);
      this.toggleTitle();
    }

    // Again after a refusal, on the click the page asked for.
    play() {
      if (!this.ringing) return;
      this.audio.currentTime = 0;
      const playing = this.audio.play();
      if (playing) playing.catch(() => this.ringing && this.onBlocked());
    }

    stop() {
      this.ringing = false;
      this.audio.pause();
      clearInterval(this.flash);
      this.flash = null;
      this.loud = false;
      document.title = QUIET_TITLE;
    }

    toggleTitle() {
      this.loud = !this.loud;
      if (this.loud) this.flashes += 1;
      document.title = this.loud ? LOUD_TITLE : QUIET_TITLE;
    }

    // Asked on the availability switch's click (browsers ask only on a click).
    static askPermission() {
      if (!('Notification' in window) || Notification.permission !== 'default') return;
      try {
        Notification.requestPermission().catch(() => {});
      } catch (err) {
        // an old browser's callback form: no notifications then
      }
    }

    // A desktop notification for a case (one per case: a newer one replaces it).
    notify(caseId, body) {
      if (!('Notification' in window) || Notification.permission !== 'granted') return;
      try {
        this.forget(caseId);
        const note = new Notification('Tandem: a couple needs help now', {
          body, tag: `tandem-${caseId}`, requireInteraction: true, renotify: true,
        });
        note.onclick = () => {
          window.focus();
          note.close();
        };
        this.notes.set(caseId, note);
        this.notified += 1;
      } catch (err) {
        // not allowed here (some browsers want a service worker): sound and title remain
      }
    }

    forget(caseId) {
      const note = this.notes.get(caseId);
      if (note) note.close();
      this.notes.delete(caseId);
    }
  }

  Tandem.Ringer = Ringer;
  Tandem.ringTone = ringTone;
  Tandem.QUIET_TITLE = QUIET_TITLE;
})();
