// Tandem on-call page: the case this clinician holds, beside the call: the couple's names,
// where they are, how long ago they asked, their safety plan, and the form that ends the case
// (outcome, follow-up due, a short note: docs/emergency.md, `end`).
'use strict';

(() => {
  const Tandem = (window.Tandem = window.Tandem || {});
  const $ = (id) => document.getElementById(id);
  const W = () => Tandem.oncallWords;

  const DAY_MS = 24 * 3600 * 1000;
  const MAX_FOLLOW_UP_MS = 7 * DAY_MS;
  const NOTE_MAX = 2000;

  // A Date as a datetime-local input's value (local time, minutes).
  function localInputValue(date) {
    const pad = (n) => String(n).padStart(2, '0');
    return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}` +
      `T${pad(date.getHours())}:${pad(date.getMinutes())}`;
  }

  function whenText(unixS) {
    return new Date(unixS * 1000).toLocaleString(undefined, {
      weekday: 'short', day: 'numeric', month: 'short', hour: '2-digit', minute: '2-digit',
    });
  }

  // onEnd({outcome, follow_up_due, note}) when the clinician records the end.
  class HeldCase {
    constructor(onEnd) {
      this.onEnd = onEnd;
      this.card = null;
      this.waited = null;
      this.planText = null;
      const [facts, cells] = Tandem.factList();
      cells.waited.previousElementSibling.textContent = 'Asked for help';
      this.cells = cells;
      $('held-facts').replaceWith(facts);
      facts.id = 'held-facts';
      this.buildOutcomes();
      $('note-input').maxLength = NOTE_MAX;
      $('end-button').addEventListener('click', () => this.openForm());
      $('end-cancel').addEventListener('click', () => this.closeForm());
      $('end-form').addEventListener('submit', (ev) => {
        ev.preventDefault();
        this.submit();
      });
    }

    buildOutcomes() {
      const box = $('outcomes');
      for (const [value, label, help] of W().OUTCOMES) {
        const row = document.createElement('label');
        row.className = 'outcome';
        const input = document.createElement('input');
        input.type = 'radio';
        input.name = 'outcome';
        input.value = value;
        input.required = true;
        const words = document.createElement('span');
        const strong = document.createElement('strong');
        strong.textContent = label;
        const small = document.createElement('span');
        small.className = 'help';
        small.textContent = help;
        words.append(strong, small);
        row.append(input, words);
        box.append(row);
      }
    }

    show(card) {
      this.card = card;
      this.waited = new Tandem.Waited(card);
      $('couple-cancelled').hidden = true;
      this.planText = null;
      this.update(card);
      if (!('plan' in card)) this.renderPlan(null);
      this.closeForm();
      $('end-status').textContent = '';
    }

    // The plan as the clinic wrote it (again only when it changed: the clinician may be
    // reading it).
    renderPlan(planObj) {
      const text = planObj && typeof planObj.text === 'string' ? planObj.text : '';
      if (text === this.planText) return;
      this.planText = text;
      const plan = $('plan');
      plan.textContent = '';
      if (text.trim()) {
        plan.append(Tandem.renderPlan(text));
        const updated = Number(planObj.updated_at);
        $('plan-updated').textContent = Number.isFinite(updated) && updated > 0
          ? `Last updated by the clinic ${whenText(updated)}.` : '';
      } else {
        const p = document.createElement('p');
        p.textContent = 'The clinic has not written a safety plan for this couple.';
        plan.append(p);
        $('plan-updated').textContent = '';
      }
    }

    update(card) {
      this.card = { ...this.card, ...card };
      if (card.waited_s !== undefined || card.requested_at !== undefined) this.waited.set(card);
      this.cells.location.textContent = Tandem.locationText(this.card);
      this.cells.level.textContent = W().levelText(Number(this.card.level) || 0);
      $('held-names').textContent = `Emergency call with ${Tandem.coupleNames(this.card)}`;
      if ('plan' in card) this.renderPlan(card.plan);
      this.tick();
    }

    tick() {
      if (this.waited) this.cells.waited.textContent = `${W().duration(this.waited.seconds())} ago`;
    }

    coupleCancelled() {
      $('couple-cancelled').hidden = false;
    }

    openForm() {
      const now = new Date();
      const due = $('follow-up-input');
      due.min = localInputValue(now);
      due.max = localInputValue(new Date(now.getTime() + MAX_FOLLOW_UP_MS));
      if (!due.value) due.value = localInputValue(new Date(now.getTime() + DAY_MS));
      $('end-form').hidden = false;
      $('end-button').hidden = true;
      $('end-heading').focus();
    }

    closeForm() {
      $('end-form').hidden = true;
      $('end-button').hidden = false;
      $('end-submit').disabled = false;
    }

    resetForm() {
      $('end-form').reset();
      $('follow-up-input').value = '';
    }

    submit() {
      const form = $('end-form');
      const chosen = form.querySelector('input[name="outcome"]:checked');
      if (!chosen) {
        $('end-status').textContent = 'Choose an outcome first.';
        form.querySelector('input[name="outcome"]').focus();
        return;
      }
      const dueMs = new Date($('follow-up-input').value).getTime();
      const nowMs = Date.now();
      const inRange = dueMs >= nowMs - 60 * 1000 && dueMs <= nowMs + MAX_FOLLOW_UP_MS;
      if (!Number.isFinite(dueMs) || !inRange) {
        $('end-status').textContent = 'The follow-up must be due within the next 7 days.';
        $('follow-up-input').focus();
        return;
      }
      const end = { outcome: chosen.value, follow_up_due: Math.max(dueMs, nowMs) / 1000 };
      const note = $('note-input').value.trim();
      if (note) end.note = note.slice(0, NOTE_MAX);
      $('end-submit').disabled = true;
      $('end-status').textContent = 'Recording…';
      this.onEnd(end);
    }

    // The server could not take it (the words say why); the form stays as it was.
    refused(text) {
      $('end-submit').disabled = false;
      $('end-status').textContent = text;
    }

    waitingForLink() {
      $('end-status').textContent =
        'Not connected to the on-call service: it will be recorded when the connection is back.';
    }

    hide() {
      this.card = null;
      this.waited = null;
      this.resetForm();
      this.closeForm();
    }
  }

  Tandem.HeldCase = HeldCase;
  Tandem.whenText = whenText;
})();
