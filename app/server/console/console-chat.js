// Tandem clinician console: the in-call chat, as the desktop client keeps it (app/call/chat.py).
// Each line goes to each participant as a relayed `chat` and is acknowledged with `chat_ack`;
// one not acknowledged within 2 s is sent again until it is. Ids are `<nonce>:<seq>`, so a
// receiver shows one sender's lines once and in order. Chat text is never logged, and is put
// into the page with textContent only.
'use strict';

(() => {
  const Tandem = (window.Tandem = window.Tandem || {});

  const RESEND_MS = 2000;
  const MAX_CHARS = 2000;
  const STATE_WORDS = {
    sending: 'sending',
    delivered: 'delivered',
    retrying: 'not delivered — retrying',
  };

  function randomNonce() {
    const bytes = new Uint8Array(4);
    crypto.getRandomValues(bytes);
    return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
  }

  function splitId(id) {
    const at = id.lastIndexOf(':');
    if (at <= 0) return null;
    const seq = id.slice(at + 1);
    return /^[0-9]+$/.test(seq) ? [id.slice(0, at), Number(seq)] : null;
  }

  // The chat's bookkeeping; the page is told through `view`:
  //   view.added(line), view.changed(line): line = {id, mine, from, text, state}
  // `send(msg)` returns false while signaling is down (the line is retried later).
  class Chat {
    constructor(send, view) {
      this.send = send;
      this.view = view;
      this.nonce = randomNonce();
      this.seq = 0;
      this.outgoing = new Map(); // id -> {line, waiting: Set, sentAt}
      this.incoming = new Map(); // sender + ' ' + nonce -> {next, early: Map}
    }

    // Sends `text` to `to` (peer ids); false when the text is empty or too long.
    say(text, to) {
      const clean = text.trim();
      if (!clean || clean.length > MAX_CHARS) return false;
      this.seq += 1;
      const line = { id: `${this.nonce}:${this.seq}`, mine: true, from: null, text: clean,
        state: 'sending' };
      const out = { line, waiting: new Set(to), sentAt: Date.now() };
      this.view.added(line);
      if (out.waiting.size === 0) {
        this.set(line, 'delivered'); // nobody else here: nothing to wait for
        return true;
      }
      this.outgoing.set(line.id, out);
      this.offer(out);
      return true;
    }

    offer(out) {
      let all = true;
      for (const peerId of [...out.waiting].sort()) {
        all = this.send({ type: 'chat', to: peerId, id: out.line.id, text: out.line.text }) && all;
      }
      if (!all) this.set(out.line, 'retrying');
    }

    // About once a second, and when signaling is back: resend what is overdue.
    tick() {
      const now = Date.now();
      for (const out of this.outgoing.values()) {
        if (now - out.sentAt < RESEND_MS) continue;
        out.sentAt = now;
        this.set(out.line, 'retrying');
        this.offer(out);
      }
    }

    acknowledged(peerId, id) {
      const out = this.outgoing.get(id);
      if (!out) return;
      out.waiting.delete(peerId);
      if (out.waiting.size === 0) {
        this.outgoing.delete(id);
        this.set(out.line, 'delivered');
      }
    }

    // Who left cannot acknowledge: a line waiting only for them is done.
    participantGone(peerId) {
      for (const out of [...this.outgoing.values()]) {
        if (out.waiting.has(peerId)) this.acknowledged(peerId, out.line.id);
      }
    }

    // A line from `sender`: acknowledged always (our earlier ack may have been lost), shown
    // once, in the sender's order.
    received(sender, id, text) {
      if (typeof sender !== 'string' || typeof id !== 'string' || typeof text !== 'string') {
        return;
      }
      this.send({ type: 'chat_ack', to: sender, id });
      const parts = splitId(id);
      if (!parts) return;
      const [nonce, seq] = parts;
      const key = `${sender} ${nonce}`;
      let stream = this.incoming.get(key);
      if (!stream) {
        stream = { next: 1, early: new Map() };
        this.incoming.set(key, stream);
      }
      if (seq < stream.next || stream.early.has(seq)) return; // a repeat
      stream.early.set(seq, text);
      while (stream.early.has(stream.next)) {
        const lineText = stream.early.get(stream.next);
        stream.early.delete(stream.next);
        stream.next += 1;
        this.view.added({ id: `${sender} ${nonce}:${stream.next - 1}`, mine: false,
          from: sender, text: lineText, state: 'received' });
      }
    }

    set(line, state) {
      if (line.state === state) return;
      line.state = state;
      this.view.changed(line);
    }
  }

  // The chat panel: a log of lines and a labelled input; Enter sends.
  class ChatPanel {
    constructor(nameOf, onSay) {
      this.nameOf = nameOf; // peer id -> display name
      this.onSay = onSay;
      this.items = new Map(); // line id -> its status element
      this.unread = 0;
      this.log = document.getElementById('chat-log');
      this.form = document.getElementById('chat-form');
      this.input = document.getElementById('chat-input');
      this.input.maxLength = MAX_CHARS;
      this.toggle = document.getElementById('chat-button');
      this.panel = document.getElementById('chat');
      this.form.addEventListener('submit', (ev) => {
        ev.preventDefault();
        this.submit();
      });
      this.toggle.addEventListener('click', () => this.setOpen(this.panel.hidden));
    }

    setOpen(open) {
      this.panel.hidden = !open;
      this.toggle.setAttribute('aria-expanded', String(open));
      if (open) {
        this.unread = 0;
        this.input.focus();
      }
      this.renderToggle();
    }

    renderToggle() {
      this.toggle.textContent = this.unread > 0 ? `Chat (${this.unread} new)` : 'Chat';
    }

    submit() {
      const text = this.input.value;
      if (!text.trim()) return;
      if (text.trim().length > MAX_CHARS) return;
      if (this.onSay(text)) this.input.value = '';
    }

    clear() {
      this.log.textContent = '';
      this.items.clear();
      this.unread = 0;
      this.input.value = '';
      this.setOpen(false);
    }

    added(line) {
      const li = document.createElement('li');
      li.className = line.mine ? 'mine' : 'theirs';
      const who = document.createElement('span');
      who.className = 'who';
      who.textContent = line.mine ? 'You' : this.nameOf(line.from);
      const text = document.createElement('span');
      text.className = 'text';
      text.textContent = line.text;
      li.append(who, text);
      if (line.mine) {
        const state = document.createElement('span');
        state.className = 'state';
        li.append(state);
        this.items.set(line.id, state);
        this.changed(line);
      } else if (this.panel.hidden) {
        this.unread += 1;
        this.renderToggle();
      }
      this.log.append(li);
      this.log.scrollTop = this.log.scrollHeight;
    }

    changed(line) {
      const state = this.items.get(line.id);
      if (!state) return;
      state.textContent = STATE_WORDS[line.state] || line.state;
      state.dataset.state = line.state;
    }
  }

  Tandem.Chat = Chat;
  Tandem.ChatPanel = ChatPanel;
  Tandem.CHAT_MAX_CHARS = MAX_CHARS;
})();
