/**
 * A trace as one self-contained HTML page (no network), a review artefact:
 * it opens at the violation with the invariant's message on top; a fixed
 * layout of boxes (processes and their page tables, page frames, files, swap,
 * GUP references, threads, locks per holder) whose rows show every change as
 * before -> after; arrows for every relation (traces/trace-view.ts); a lane
 * per thread with preemptions marked; each step's kernel functions linked to
 * the release's source on elixir.bootlin.com, each switch to its commit; the
 * scenario's definition and the invariant's text. `#step=N` opens step N.
 * Arrow keys, the buttons or the slider move exactly one step.
 */
import type { ScenarioSpec } from '../model/scenario.js';
import { findInvariant } from '../invariants/registry.js';
import type { Trace } from './trace.js';
import { switchLink, traceView } from './trace-view.js';

export interface HtmlContext {
  kernel: string;
  scenario: string;
  title?: string;
  /** The scenario's definition, shown on the page. */
  spec?: ScenarioSpec;
  /** The kernel's switches and mutants, linked to their commits. */
  switches?: readonly string[];
  mutants?: readonly string[];
}

/** The invariant's own text: what must hold and where the rule comes from. */
function invariantText(name: string): string {
  if (name === 'deadlock') return 'deadlock: a state where threads wait and no step of any thread can run (or a thread sleeps that nothing can wake).';
  if (name === 'lock-order') return 'lock-order: no cycle in the "held while acquiring" relation over lock classes, over every explored state (lockdep, exhaustive).';
  const inv = findInvariant(name);
  return inv ? `${inv.name}: ${inv.description} (${inv.reference})` : name;
}

/** What the page draws: the trace, its layout and relations, and what to say about it. */
export type PageData = ReturnType<typeof pageData>;

/** The page's data for a trace; `trace.invariant` empty: no violation (an explorer's path). */
export function pageData(trace: Trace, ctx: HtmlContext) {
  return {
    kernel: ctx.kernel,
    scenario: ctx.scenario,
    invariant: trace.invariant,
    invariantText: trace.invariant ? invariantText(trace.invariant) : '',
    message: trace.message,
    preemptions: trace.preemptions,
    threads: trace.threads,
    switches: (ctx.switches ?? []).map(switchLink),
    mutants: ctx.mutants ?? [],
    spec: ctx.spec ? JSON.stringify(ctx.spec, null, 2) : null,
    view: traceView(trace, ctx.kernel),
    steps: trace.steps.map((s) => ({
      thread: s.thread,
      operation: s.operation,
      action: s.action,
      notes: s.notes,
      changes: s.changes,
      locks: s.locks,
      preempted: s.preempted,
    })),
  };
}

/** A page with the viewer: `extra` goes between the step and the lanes (the explorer's panel), `boot` starts it. */
export function viewerPage(title: string, boot: string, extra = ''): string {
  const t = escapeHtml(title);
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${t}</title>
<style>${CSS}</style>
</head>
<body>
<header>
  <h1>${t}</h1>
  <div id="verdict"></div>
  <div id="summary"></div>
  <details id="about"><summary>the invariant, the kernel's switches, the scenario</summary><div id="about-body"></div></details>
</header>
<nav>
  <button id="prev" title="previous step (left arrow)">&#9664;</button>
  <input id="slider" type="range" min="0" value="0" aria-label="step">
  <button id="next" title="next step (right arrow)">&#9654;</button>
  <span id="pos"></span>
  <a id="permalink" href="#step=0">link to this step</a>
  <input id="search" type="search" placeholder="search the fields" aria-label="search the fields">
  <span id="hits"></span>
</nav>
<section id="step"></section>
${extra}<section id="lanes"></section>
<section id="legend"></section>
<section id="stage"><svg id="arrows"></svg><div id="cols"><div class="col" id="col0"></div><div class="col" id="col1"></div><div class="col" id="col2"></div></div></section>
<script>${JS}</script>
<script>${boot}</script>
</body>
</html>
`;
}

export function traceToHtml(trace: Trace, ctx: HtmlContext): string {
  const json = JSON.stringify(pageData(trace, ctx))
    .replace(/</g, '\\u003c')
    .replace(/\u2028|\u2029/g, (c) => `\\u${c.charCodeAt(0).toString(16)}`);
  const boot = `MMView.mount(${json}, MMView.fromHash());`;
  return viewerPage(ctx.title ?? `mmcheck: ${trace.invariant} on ${ctx.scenario}, kernel ${ctx.kernel}`, boot);
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);
}

/** Arrow colours by relation (the legend says which is which). */
const KINDS: [kind: string, colour: string, label: string][] = [
  ['map', '#4b7bec', 'PTE maps frame'],
  ['huge', '#3867d6', 'huge PMD maps folio'],
  ['table', '#8854d0', 'PMD -> PTE table'],
  ['swap', '#20bf6b', 'swap entry -> slot'],
  ['swapcache', '#0b8a4a', 'swap cache page <-> slot'],
  ['cache', '#a5b1c2', 'page cache -> frame'],
  ['gup', '#eb3b5a', 'GUP reference -> frame'],
  ['through', '#fc5c65', 'GUP reference taken through PTE'],
  ['migration', '#e8590c', 'migration entry -> old frame'],
  ['migrate-to', '#fa8231', 'old frame migrates to new'],
  ['device', '#2d98da', 'device-private entry -> device frame'],
  ['waits', '#c92a2a', 'sleeps on what another thread holds'],
];

const CSS = `
* { box-sizing: border-box; }
body { font: 14px/1.4 system-ui, sans-serif; margin: 0 16px 24px; color: #1d1d1f; background: #fafafa; }
h1 { font-size: 18px; margin: 12px 0 6px; overflow-wrap: anywhere; }
#verdict { padding: 8px 10px; border-radius: 6px; background: #ffe3e3; border: 1px solid #e03131; color: #a51111; font-weight: bold; overflow-wrap: anywhere; }
#summary { color: #555; margin: 6px 0; overflow-wrap: anywhere; }
#about { background: #fff; border: 1px solid #ddd; border-radius: 6px; padding: 4px 10px; overflow-wrap: anywhere; }
#about pre { white-space: pre-wrap; overflow-wrap: anywhere; font-size: 12px; max-height: 360px; overflow-y: auto; background: #f4f4f4; padding: 6px; }
#about li { margin: 2px 0; }
nav { display: flex; gap: 8px; align-items: center; margin: 10px 0; flex-wrap: wrap; }
nav input { flex: 1; min-width: 120px; }
nav button { font-size: 16px; padding: 2px 10px; }
#step { min-height: 64px; background: #fff; border: 1px solid #ddd; border-radius: 6px; padding: 8px 10px; overflow-wrap: anywhere; }
#step .fn { color: #555; font-family: ui-monospace, monospace; font-size: 12px; }
#step .note { color: #8a5a00; font-family: ui-monospace, monospace; font-size: 12px; }
#step .pre { color: #a0249c; font-weight: bold; }
#step ul { margin: 4px 0; padding-left: 18px; font-family: ui-monospace, monospace; font-size: 12px; }
del { color: #c92a2a; }
ins { color: #2b8a3e; text-decoration: none; font-weight: bold; }
#lanes { margin: 10px 0; }
#lanes table { border-collapse: collapse; table-layout: fixed; width: 100%; }
#lanes td { height: 20px; border: 1px solid #e4e4e4; text-align: center; font-size: 10px; cursor: pointer; overflow: hidden; padding: 0; }
#lanes td.name { width: 90px; padding: 0 6px; text-align: left; cursor: default; font-weight: bold; font-size: 12px; white-space: nowrap; text-overflow: ellipsis; }
#lanes td.took { background: #4b7bec; color: #fff; }
#lanes td.took.pre { background: #a0249c; }
#lanes td.cur { outline: 2px solid #e8590c; outline-offset: -2px; }
#lanes td.bad { box-shadow: inset 0 -4px 0 #e03131; }
#legend { display: flex; flex-wrap: wrap; gap: 4px 14px; font-size: 11px; color: #555; margin-bottom: 8px; }
#legend span::before { content: ''; display: inline-block; width: 18px; height: 3px; margin-right: 4px; vertical-align: middle; background: var(--c); }
#stage { position: relative; }
#arrows { position: absolute; left: 0; top: 0; pointer-events: none; overflow: visible; }
#cols { display: grid; grid-template-columns: repeat(3, minmax(0, 1fr)); gap: 44px; align-items: start; }
.col { display: flex; flex-direction: column; gap: 10px; min-width: 0; }
.box { background: #fff; border: 1px solid #bbb; border-radius: 6px; padding: 6px 8px; min-width: 0; overflow-wrap: anywhere; }
.box.gone { opacity: 0.45; border-style: dashed; }
.box h3 { font-size: 13px; margin: 0 0 4px; }
.row { font-family: ui-monospace, monospace; font-size: 12px; padding: 1px 3px; border-radius: 3px; white-space: normal; overflow-wrap: anywhere; }
.row .k { color: #666; }
.row.absent { color: #aaa; }
.changed { background: #fff3bf; }
.row.hit { box-shadow: inset 3px 0 0 #1971c2; background: #e7f5ff; }
#verdict.ok { background: #ebfbee; border-color: #2f9e44; color: #2b8a3e; }
#search { min-width: 160px; }
.offending { outline: 3px solid #e03131; outline-offset: 1px; }
.box.offending { box-shadow: 0 0 0 3px #e03131; outline: none; }
`;

// The viewer, plain browser JavaScript (no modules, no network): MMView.mount(data, step) draws a trace; mount again to replace it.
const JS = `
(function () {
  var KINDS = ${JSON.stringify(KINDS)};
  var S = null; // the mounted trace: T, V, n, cur, rowEls, boxEls
  var slider = document.getElementById('slider');
  var listeners = [];

  function el(tag, cls, text) { var e = document.createElement(tag); if (cls) e.className = cls; if (text !== undefined) e.textContent = text; return e; }
  function link(text, href) { var a = el('a', '', text); a.href = href; a.target = '_blank'; a.rel = 'noopener'; return a; }
  function clear(id) { var e = document.getElementById(id); e.innerHTML = ''; return e; }

  var legend = clear('legend');
  KINDS.forEach(function (k) { var s = el('span', '', k[2]); s.style.setProperty('--c', k[1]); legend.appendChild(s); });

  function mount(T, cur) {
    var V = T.view, n = T.steps.length;
    S = { T: T, V: V, n: n, cur: 0, rowEls: {}, boxEls: {} };
    slider.max = String(n);
    var verdict = document.getElementById('verdict');
    verdict.className = T.invariant ? '' : 'ok';
    verdict.textContent = T.invariant ? 'VIOLATED ' + T.invariant + ': ' + T.message : T.message;
    document.getElementById('summary').textContent =
      'kernel ' + T.kernel + ', scenario ' + T.scenario + ': ' + n + ' steps, threads ' + (T.threads.join(', ') || 'none yet') + ', ' + T.preemptions + ' preemption(s)';
    var about = clear('about-body');
    if (T.invariantText) about.appendChild(el('p', '', T.invariantText));
    var sw = el('ul');
    T.switches.forEach(function (s) {
      var li = el('li');
      li.appendChild(el('b', '', s.name + ' '));
      if (s.href) li.appendChild(link(s.commit, s.href)); else if (s.commit) li.appendChild(document.createTextNode(s.commit));
      if (s.title) li.appendChild(document.createTextNode(' "' + s.title + '"'));
      sw.appendChild(li);
    });
    T.mutants.forEach(function (m) { sw.appendChild(el('li', '', 'MUTANT ' + m)); });
    about.appendChild(el('p', '', 'kernel ' + T.kernel + ': ' + (T.switches.length ? T.switches.length + ' switch(es)' : 'no switches') + (T.mutants.length ? ', ' + T.mutants.length + ' mutant(s)' : '')));
    about.appendChild(sw);
    if (T.spec) { about.appendChild(el('p', '', 'scenario ' + T.scenario + ':')); about.appendChild(el('pre', '', T.spec)); }

    // The lanes: a row per thread, a cell per step.
    var lanes = clear('lanes');
    var tb = el('table');
    T.threads.forEach(function (t) {
      var tr = el('tr');
      tr.appendChild(el('td', 'name', t));
      for (var i = 1; i <= n; i++) {
        var d = T.steps[i - 1];
        var td = el('td', d.thread === t ? 'took' + (d.preempted ? ' pre' : '') : '', d.thread === t ? String(i) : '');
        if (d.thread === t) td.title = 'step ' + i + ': ' + d.operation + ' \\u00b7 ' + d.action + (d.preempted ? ' [preempts]' : '');
        if (i === n && T.invariant) td.classList.add('bad');
        td.dataset.step = String(i);
        td.onclick = function (e) { go(Number(e.currentTarget.dataset.step)); };
        tr.appendChild(td);
      }
      tb.appendChild(tr);
    });
    lanes.appendChild(tb);

    // The boxes: built once per trace, in fixed places; stepping changes their text only.
    [0, 1, 2].forEach(function (c) { clear('col' + c); });
    V.boxes.forEach(function (b) {
      var box = el('div', 'box');
      box.dataset.box = b.id;
      box.appendChild(el('h3', '', b.title));
      b.rows.forEach(function (k, i) {
        var r = el('div', 'row');
        r.dataset.key = k;
        r.dataset.label = b.labels[i];
        box.appendChild(r);
        S.rowEls[k] = r;
      });
      if (!b.rows.length) box.appendChild(el('div', 'row absent', '(none)'));
      document.getElementById('col' + b.col).appendChild(box);
      S.boxEls[b.id] = box;
    });
    go(cur);
  }

  function fill(r, now, before, showChange) {
    r.innerHTML = '';
    r.className = 'row';
    r.appendChild(el('span', 'k', r.dataset.label + ': '));
    if (now === undefined && before === undefined) { r.classList.add('absent'); r.appendChild(document.createTextNode('\\u2014')); return; }
    if (showChange && before !== now) {
      r.classList.add('changed');
      if (before !== undefined) { r.appendChild(el('del', '', before)); r.appendChild(document.createTextNode(' \\u2192 ')); }
      if (now !== undefined) r.appendChild(el('ins', '', now)); else r.appendChild(document.createTextNode('(gone)'));
      return;
    }
    if (now === undefined) { r.classList.add('absent'); r.appendChild(document.createTextNode('\\u2014')); return; }
    r.appendChild(document.createTextNode(now));
  }

  function draw() {
    var T = S.T, V = S.V, n = S.n, cur = S.cur;
    var s = V.states[cur].fields;
    var p = cur > 0 ? V.states[cur - 1].fields : s;
    slider.value = String(cur);
    document.getElementById('pos').textContent = 'step ' + cur + ' / ' + n;
    document.getElementById('permalink').href = '#step=' + cur;

    var st = clear('step');
    if (cur === 0) st.appendChild(el('div', '', n ? 'The initial state. Step with the arrow keys, the buttons or the slider; the last step is ' + n + '.' : 'The initial state.'));
    else {
      var d = T.steps[cur - 1];
      var h = el('div');
      h.appendChild(el('b', '', 'step ' + cur + '. ' + d.thread + ': ' + d.operation + ' \\u00b7 ' + d.action));
      if (d.preempted) h.appendChild(el('span', 'pre', '  [preempts]'));
      st.appendChild(h);
      var fn = el('div', 'fn');
      V.sources[cur].forEach(function (seg) { fn.appendChild(seg.href ? link(seg.text, seg.href) : document.createTextNode(seg.text)); });
      st.appendChild(fn);
      d.notes.forEach(function (x) { st.appendChild(el('div', 'note', x)); });
      if (d.changes.length) {
        var ul = el('ul');
        d.changes.forEach(function (c) {
          var li = el('li');
          li.appendChild(document.createTextNode(c.field + ': '));
          li.appendChild(el('del', '', c.before));
          li.appendChild(document.createTextNode(' \\u2192 '));
          li.appendChild(el('ins', '', c.after));
          ul.appendChild(li);
        });
        st.appendChild(ul);
      }
      st.appendChild(el('div', 'fn', 'locks held: ' + (d.locks.length ? d.locks.join('; ') : 'none')));
      if (cur === n && T.invariant) st.appendChild(el('div', 'pre', 'VIOLATED ' + T.invariant + ': ' + T.message));
    }

    document.querySelectorAll('#lanes td[data-step]').forEach(function (td) { td.classList.toggle('cur', Number(td.dataset.step) === cur); });

    V.boxes.forEach(function (b) {
      var present = b.rows.some(function (k) { return s[k] !== undefined; });
      S.boxEls[b.id].classList.toggle('gone', b.rows.length > 0 && !present);
      b.rows.forEach(function (k) { fill(S.rowEls[k], s[k], p[k], cur > 0); });
    });
    document.querySelectorAll('.offending').forEach(function (e) { e.classList.remove('offending'); });
    if (cur === n) V.offending.forEach(function (k) { var e = S.rowEls[k] || S.boxEls[k]; if (e) e.classList.add('offending'); });
    search();
    arrows();
  }

  // Search the fields: rows whose name or value contains the text are marked.
  function search() {
    var q = document.getElementById('search').value.trim().toLowerCase();
    var hits = 0;
    document.querySelectorAll('#cols .row[data-key]').forEach(function (r) {
      var hit = q !== '' && r.textContent.toLowerCase().indexOf(q) >= 0;
      r.classList.toggle('hit', hit);
      if (hit) hits++;
    });
    document.getElementById('hits').textContent = q ? hits + ' field(s)' : '';
  }

  function target(key) { return S.rowEls[key] || S.boxEls[key] || null; }

  function arrows() {
    var svg = document.getElementById('arrows');
    var stage = document.getElementById('stage').getBoundingClientRect();
    svg.setAttribute('width', String(stage.width));
    svg.setAttribute('height', String(stage.height));
    var defs = '<defs>';
    KINDS.forEach(function (k) { defs += '<marker id="h-' + k[0] + '" markerWidth="8" markerHeight="8" refX="7" refY="4" orient="auto"><path d="M0,0 L8,4 L0,8 z" fill="' + k[1] + '"/></marker>'; });
    svg.innerHTML = defs + '</defs>';
    var count = 0;
    var colour = {};
    KINDS.forEach(function (k) { colour[k[0]] = k[1]; });
    S.V.states[S.cur].relations.forEach(function (rel) {
      var from = target(rel.from), to = target(rel.to);
      if (!from || !to) return;
      var a = from.getBoundingClientRect(), b = to.getBoundingClientRect();
      var x1, x2, c1, c2, y1 = a.top + a.height / 2 - stage.top, y2 = b.top + Math.min(10, b.height / 2) - stage.top;
      if (a.right < b.left) { x1 = a.right; x2 = b.left; }
      else if (b.right < a.left) { x1 = a.left; x2 = b.right; }
      else { x1 = a.left; x2 = b.left; }
      x1 -= stage.left; x2 -= stage.left;
      if (a.right >= b.left && b.right >= a.left) { c1 = x1 - 36; c2 = x2 - 36; }
      else { c1 = (x1 + x2) / 2; c2 = c1; }
      var path = document.createElementNS('http://www.w3.org/2000/svg', 'path');
      path.setAttribute('d', 'M' + x1 + ',' + y1 + ' C' + c1 + ',' + y1 + ' ' + c2 + ',' + y2 + ' ' + x2 + ',' + y2);
      path.setAttribute('fill', 'none');
      path.setAttribute('stroke', colour[rel.kind] || '#888');
      path.setAttribute('stroke-width', rel.kind === 'gup' ? '2.5' : '1.5');
      if (rel.kind === 'through' || rel.kind === 'migrate-to' || rel.kind === 'swapcache' || rel.kind === 'waits') path.setAttribute('stroke-dasharray', '5 3');
      path.setAttribute('marker-end', 'url(#h-' + rel.kind + ')');
      path.dataset.kind = rel.kind;
      path.dataset.from = rel.from;
      path.dataset.to = rel.to;
      svg.appendChild(path);
      count++;
    });
    svg.dataset.arrows = String(count);
  }

  function go(i) {
    if (!S) return;
    S.cur = Math.max(0, Math.min(S.n, i));
    if (location.hash !== '#step=' + S.cur) history.replaceState(null, '', '#step=' + S.cur);
    draw();
    listeners.forEach(function (f) { f(S.cur); });
  }
  function fromHash() {
    var m = /^#step=(\\d+)$/.exec(location.hash);
    return m ? Number(m[1]) : Infinity;
  }
  document.getElementById('prev').onclick = function () { go(S.cur - 1); };
  document.getElementById('next').onclick = function () { go(S.cur + 1); };
  slider.oninput = function () { go(Number(slider.value)); };
  document.getElementById('search').oninput = search;
  document.addEventListener('keydown', function (e) {
    if (!S || e.target === document.getElementById('search')) return;
    var to = e.key === 'ArrowRight' ? S.cur + 1 : e.key === 'ArrowLeft' ? S.cur - 1 : e.key === 'Home' ? 0 : e.key === 'End' ? S.n : null;
    if (to === null || e.altKey || e.ctrlKey || e.metaKey) return;
    // The slider moves itself on arrow keys too: one step per key press, not two.
    e.preventDefault();
    go(to);
  });
  window.addEventListener('hashchange', function () { var k = fromHash(); if (S && k !== Infinity && k !== S.cur) go(k); });
  window.addEventListener('resize', function () { if (S) arrows(); });
  window.MMView = {
    mount: mount,
    go: go,
    fromHash: fromHash,
    cur: function () { return S ? S.cur : 0; },
    onStep: function (f) { listeners.push(f); },
  };
})();
`;
