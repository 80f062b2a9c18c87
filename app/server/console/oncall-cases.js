// Tandem on-call page: the calls waiting for a clinician, one card each (docs/emergency.md,
// CaseCard): the couple's names, where they are, how long they have waited (counted live in
// the page from the server's figure), the escalation level, and Accept. Everything from the
// server is put into the page with textContent only.
'use strict';

(() => {
  const Tandem = (window.Tandem = window.Tandem || {});
  const W = () => Tandem.oncallWords;

  // Cards that no longer need the clinician (taken, cancelled) go after this long.
  const FADE_MS = 60 * 1000;

  function coupleNames(card) {
    const names = card && card.couple && Array.isArray(card.couple.names)
      ? card.couple.names.filter((n) => typeof n === 'string' && n.trim()) : [];
    if (names.length === 0) return 'A couple';
    if (names.length === 1) return names[0];
    return `${names.slice(0, -1).join(', ')} and ${names[names.length - 1]}`;
  }

  function locationText(card) {
    const where = card && typeof card.location === 'string' ? card.location.trim() : '';
    return where || 'Not given — ask them where they are now';
  }

  // Seconds since the couple asked, live: the server's `waited_s` when the card came, plus the
  // time since, on this page's own clock (the two clocks need not agree).
  class Waited {
    constructor(card) {
      this.set(card);
    }

    set(card) {
      let base = Number(card && card.waited_s);
      if (!Number.isFinite(base)) base = Date.now() / 1000 - Number(card && card.requested_at);
      this.base = Number.isFinite(base) ? Math.max(0, base) : 0;
      this.at = performance.now();
    }

    seconds() {
      return this.base + (performance.now() - this.at) / 1000;
    }
  }

  // A <dl> of the facts a clinician needs before answering; returns [dl, {location, waited,
  // level}] so they can be updated in place.
  function factList() {
    const dl = document.createElement('dl');
    dl.className = 'facts';
    const cells = {};
    for (const [key, label] of [['location', 'Where they are'], ['waited', 'Waiting'],
      ['level', 'Escalation']]) {
      const dt = document.createElement('dt');
      dt.textContent = label;
      const dd = document.createElement('dd');
      dd.className = key;
      dl.append(dt, dd);
      cells[key] = dd;
    }
    return [dl, cells];
  }

  // The list of waiting calls. onAccept(caseId) when the clinician accepts one; onChange()
  // when a card comes or goes.
  class CaseBoard {
    constructor(list, empty, onAccept, onChange) {
      this.list = list;
      this.empty = empty;
      this.onAccept = onAccept;
      this.onChange = onChange;
      this.entries = new Map(); // case_id -> entry
    }

    get(caseId) {
      return this.entries.get(caseId) || null;
    }

    // A case is ringing here (new, or again at a higher level).
    ring(card, tier) {
      const entry = this.upsert(card);
      entry.tier = tier === 2 ? 2 : 1;
      this.setState(entry, 'ringing');
      return entry;
    }

    upsert(card) {
      let entry = this.entries.get(card.case_id);
      if (!entry) {
        entry = this.build(card);
        this.entries.set(card.case_id, entry);
        this.list.prepend(entry.li);
      } else {
        entry.card = { ...entry.card, ...card };
        entry.waited.set(card);
      }
      this.render(entry);
      this.renderEmpty();
      return entry;
    }

    build(card) {
      const li = document.createElement('li');
      li.className = 'case-card';
      li.dataset.caseId = card.case_id;
      const names = document.createElement('h3');
      names.className = 'names';
      const status = document.createElement('p');
      status.className = 'case-status';
      const [facts, cells] = factList();
      const accept = document.createElement('button');
      accept.type = 'button';
      accept.className = 'primary accept';
      accept.textContent = 'Accept — talk to them now';
      accept.addEventListener('click', () => this.onAccept(card.case_id));
      li.append(names, status, facts, accept);
      return { card, li, names, status, cells, accept, tier: 1, state: 'ringing', by: '',
        waited: new Waited(card), fade: null };
    }

    // 'ringing' | 'accepting' | 'taken' (by someone) | 'cancelled'.
    setState(entry, state, by = '') {
      entry.state = state;
      entry.by = by;
      clearTimeout(entry.fade);
      if (state === 'taken' || state === 'cancelled') {
        entry.fade = setTimeout(() => this.remove(entry.card.case_id), FADE_MS);
      }
      this.render(entry);
    }

    render(entry) {
      const { card } = entry;
      entry.li.dataset.state = entry.state;
      entry.names.textContent = coupleNames(card);
      entry.cells.location.textContent = locationText(card);
      entry.cells.level.textContent = W().levelText(Number(card.level) || 0);
      entry.li.dataset.level = String(Number(card.level) || 0);
      const status = {
        ringing: `Calling you now (${W().tierText(entry.tier)})`,
        accepting: 'Connecting you…',
        taken: `Taken by ${entry.by || 'another clinician'} — they are with the couple`,
        cancelled: 'Cancelled: the couple said they are safe now',
      }[entry.state];
      entry.status.textContent = status;
      entry.accept.hidden = !['ringing', 'accepting'].includes(entry.state);
      entry.accept.disabled = entry.state === 'accepting';
      this.tickOne(entry);
    }

    tickOne(entry) {
      entry.cells.waited.textContent = W().duration(entry.waited.seconds());
    }

    // Every second: the waiting counters.
    tick() {
      for (const entry of this.entries.values()) this.tickOne(entry);
    }

    remove(caseId) {
      const entry = this.entries.get(caseId);
      if (!entry) return;
      clearTimeout(entry.fade);
      entry.li.remove();
      this.entries.delete(caseId);
      this.renderEmpty();
    }

    clear() {
      for (const caseId of [...this.entries.keys()]) this.remove(caseId);
    }

    // Only the ones still asking for someone.
    ringingIds() {
      return [...this.entries.values()].filter((e) => e.state === 'ringing')
        .map((e) => e.card.case_id);
    }

    renderEmpty() {
      this.empty.hidden = this.entries.size > 0;
      this.onChange();
    }
  }

  Tandem.CaseBoard = CaseBoard;
  Tandem.Waited = Waited;
  Tandem.coupleNames = coupleNames;
  Tandem.locationText = locationText;
  Tandem.factList = factList;
})();
