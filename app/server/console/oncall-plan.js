// Tandem on-call page: the couple's safety plan, written by their clinic in Markdown, shown as
// text. Only a small, safe part of Markdown is honoured (headings, lists, paragraphs, **bold**);
// everything is put into the page with textContent, never as markup, so nothing in a plan can
// run or load anything. Links are shown as their text and address.
'use strict';

(() => {
  const Tandem = (window.Tandem = window.Tandem || {});

  const HEADING = /^(#{1,6})\s+(.*)$/;
  const BULLET = /^\s*[-*+]\s+(.*)$/;
  const NUMBERED = /^\s*\d{1,3}[.)]\s+(.*)$/;
  const LINK = /\[([^\]]*)\]\(([^)\s]*)\)/g;

  // Text with **bold** spans, appended to `parent` as text nodes and <strong> elements.
  function appendInline(parent, text) {
    const plain = text.replace(LINK, (_, label, url) => (url ? `${label} (${url})` : label));
    const parts = plain.split(/\*\*(.+?)\*\*/);
    parts.forEach((part, i) => {
      if (!part) return;
      if (i % 2 === 1) {
        const strong = document.createElement('strong');
        strong.textContent = part;
        parent.append(strong);
      } else {
        parent.append(document.createTextNode(part));
      }
    });
  }

  // The plan's text as a document fragment of h4/h5 (under the page's h3), p, ul and ol.
  function renderPlan(text) {
    const out = document.createDocumentFragment();
    let list = null; // the open <ul> or <ol>
    let para = null; // the open <p>
    const close = () => {
      list = null;
      para = null;
    };
    for (const raw of String(text).split(/\r?\n/)) {
      const line = raw.trimEnd();
      if (!line.trim()) {
        close();
        continue;
      }
      const heading = HEADING.exec(line);
      const bullet = BULLET.exec(line);
      const numbered = bullet ? null : NUMBERED.exec(line);
      if (heading) {
        close();
        const h = document.createElement(heading[1].length <= 2 ? 'h4' : 'h5');
        appendInline(h, heading[2]);
        out.append(h);
      } else if (bullet || numbered) {
        const tag = bullet ? 'UL' : 'OL';
        if (!list || list.tagName !== tag) {
          list = document.createElement(tag);
          out.append(list);
        }
        para = null;
        const li = document.createElement('li');
        appendInline(li, (bullet || numbered)[1]);
        list.append(li);
      } else if (para) {
        para.append(document.createElement('br'));
        appendInline(para, line.trim());
      } else {
        list = null;
        para = document.createElement('p');
        appendInline(para, line.trim());
        out.append(para);
      }
    }
    return out;
  }

  Tandem.renderPlan = renderPlan;
})();
