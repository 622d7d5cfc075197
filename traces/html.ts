/**
 * A trace as one self-contained HTML page (no network): per process its page
 * table with arrows to the page frames, each frame with its refcount,
 * mapcount, flags and data, the page cache, swap slots, GUP references and
 * rss counters, and a lane per thread. Arrow keys, the buttons or the slider
 * step through; what changed in a step is highlighted; the violation shows at
 * the last step.
 */
import type { Trace } from './trace.js';

export interface HtmlContext {
  kernel: string;
  scenario: string;
  title?: string;
}

export function traceToHtml(trace: Trace, ctx: HtmlContext): string {
  const data = {
    kernel: ctx.kernel,
    scenario: ctx.scenario,
    invariant: trace.invariant,
    message: trace.message,
    preemptions: trace.preemptions,
    threads: trace.threads,
    states: [trace.initial, ...trace.steps.map((s) => s.state)],
    steps: trace.steps.map((s) => ({
      thread: s.thread,
      operation: s.operation,
      action: s.action,
      kernelFunction: s.kernelFunction,
      notes: s.notes,
      locks: s.locks,
      preempted: s.preempted,
    })),
  };
  const json = JSON.stringify(data).replace(/</g, '\\u003c');
  const title = escapeHtml(ctx.title ?? `mmcheck: ${trace.invariant} on ${ctx.scenario}, kernel ${ctx.kernel}`);
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>${title}</title>
<style>${CSS}</style>
</head>
<body>
<header><h1>${title}</h1><div id="summary"></div></header>
<nav>
  <button id="prev" title="previous step (left arrow)">&#9664;</button>
  <input id="slider" type="range" min="0" value="0">
  <button id="next" title="next step (right arrow)">&#9654;</button>
  <span id="pos"></span>
</nav>
<section id="step"></section>
<section id="lanes"></section>
<section id="stage"><svg id="arrows"></svg><div id="cols"><div id="mms" class="col"></div><div id="frames" class="col"></div><div id="other" class="col"></div></div></section>
<section id="violation"></section>
<script id="trace-data" type="application/json">${json}</script>
<script>${JS}</script>
</body>
</html>
`;
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);
}

const CSS = `
body { font: 14px/1.4 system-ui, sans-serif; margin: 0 16px 24px; color: #1d1d1f; background: #fafafa; }
h1 { font-size: 18px; margin: 12px 0 4px; }
#summary { color: #555; }
nav { display: flex; gap: 8px; align-items: center; margin: 10px 0; }
nav input { flex: 1; }
nav button { font-size: 16px; padding: 2px 10px; }
#step { min-height: 64px; background: #fff; border: 1px solid #ddd; border-radius: 6px; padding: 8px 10px; }
#step .fn { color: #666; font-family: ui-monospace, monospace; font-size: 12px; }
#step .note { color: #8a5a00; font-family: ui-monospace, monospace; font-size: 12px; }
#step .pre { color: #a0249c; font-weight: bold; }
#lanes { margin: 10px 0; overflow-x: auto; }
#lanes table { border-collapse: collapse; }
#lanes td { width: 18px; height: 18px; border: 1px solid #e4e4e4; text-align: center; font-size: 11px; cursor: pointer; }
#lanes td.name { width: auto; padding: 0 6px; text-align: left; cursor: default; font-weight: bold; }
#lanes td.took { background: #4b7bec; color: #fff; }
#lanes td.cur { outline: 2px solid #e8590c; }
#stage { position: relative; }
#arrows { position: absolute; left: 0; top: 0; pointer-events: none; overflow: visible; }
#cols { display: flex; gap: 64px; align-items: flex-start; }
.col { display: flex; flex-direction: column; gap: 12px; min-width: 220px; }
.box { background: #fff; border: 1px solid #bbb; border-radius: 6px; padding: 6px 8px; }
.box h3 { font-size: 13px; margin: 0 0 4px; }
.row { font-family: ui-monospace, monospace; font-size: 12px; white-space: nowrap; padding: 1px 3px; border-radius: 3px; }
.changed { background: #ffe08a; }
.frame.changed { box-shadow: 0 0 0 3px #ffe08a; }
.free { color: #999; }
#violation { margin-top: 16px; padding: 10px; border-radius: 6px; background: #ffe3e3; border: 1px solid #e03131; color: #a51111; font-weight: bold; display: none; }
`;

// The viewer, plain browser JavaScript (no modules, no network).
const JS = `
(function () {
  var T = JSON.parse(document.getElementById('trace-data').textContent);
  var n = T.steps.length;
  var cur = 0;
  var slider = document.getElementById('slider');
  slider.max = String(n);
  document.getElementById('summary').textContent =
    'kernel ' + T.kernel + ', scenario ' + T.scenario + ': ' + n + ' steps, threads ' + T.threads.join(', ') + ', ' + T.preemptions + ' preemption(s)';

  function el(tag, cls, text) { var e = document.createElement(tag); if (cls) e.className = cls; if (text !== undefined) e.textContent = text; return e; }
  function row(key, text, prev) {
    var r = el('div', 'row', text);
    r.dataset.key = key;
    if (prev !== undefined && prev !== text) r.classList.add('changed');
    return r;
  }
  function flat(s) {
    var out = {};
    Object.keys(s.mms).forEach(function (m) {
      var mm = s.mms[m];
      out['mm ' + m] = m + ' (' + mm.state + ')' + (mm.mmap_lock !== 'unlocked' ? ', mmap_lock ' + mm.mmap_lock : '') + (mm.flags.length ? ', ' + mm.flags.join('|') : '');
      out['rss ' + m] = Object.keys(mm.rss).map(function (k) { return k.replace('MM_', '') + '=' + mm.rss[k]; }).join(' ');
      Object.keys(mm.vmas).forEach(function (v) { out['vma ' + m + ' ' + v] = 'vma ' + v + ': ' + mm.vmas[v]; });
      Object.keys(mm.ptes).forEach(function (a) { out['pte ' + m + ':' + a] = m + ':' + a + ' -> ' + mm.ptes[a]; });
    });
    Object.keys(s.pages).forEach(function (p) {
      var pg = s.pages[p];
      out['pfn ' + p] = 'pfn ' + p + ': ref ' + pg.refcount + ', map ' + pg.mapcount + ', data ' + pg.data;
      out['pfnflags ' + p] = (pg.flags.join('|') || '-') + (pg.mapping ? ' ' + pg.mapping : '') + (pg.swap_slot !== undefined ? ' swap ' + pg.swap_slot : '');
    });
    Object.keys(s.files).forEach(function (f) {
      var fl = s.files[f];
      out['file ' + f] = f + ': ' + fl.size + ' pages' + (fl.flags.length ? ', ' + fl.flags.join('|') : '') + (fl.i_mmap_rwsem !== 'unlocked' ? ', i_mmap ' + fl.i_mmap_rwsem : '');
      Object.keys(fl.pagecache).forEach(function (i) { out['cache ' + f + ' ' + i] = 'page ' + i + ' -> pfn ' + fl.pagecache[i]; });
    });
    Object.keys(s.swap).forEach(function (i) { var sl = s.swap[i]; out['swap ' + i] = 'slot ' + i + ': count ' + sl.count + (sl.cache ? ' + cache' : '') + ', data ' + sl.data; });
    Object.keys(s.gup).forEach(function (g) { out['gup ' + g] = g + ': ' + s.gup[g]; });
    Object.keys(s.threads).forEach(function (t) { out['thread ' + t] = t + ': ' + s.threads[t]; });
    return out;
  }

  function draw() {
    var s = T.states[cur];
    var prev = cur > 0 ? flat(T.states[cur - 1]) : {};
    var f = flat(s);
    var pv = function (k) { return cur > 0 ? prev[k] : undefined; };
    slider.value = String(cur);
    document.getElementById('pos').textContent = 'step ' + cur + ' / ' + n;

    var st = document.getElementById('step');
    st.innerHTML = '';
    if (cur === 0) st.appendChild(el('div', '', 'Initial state. Press the right arrow to step.'));
    else {
      var d = T.steps[cur - 1];
      var h = el('div');
      h.appendChild(el('b', '', d.thread + ': ' + d.operation + ' \\u00b7 ' + d.action));
      if (d.preempted) h.appendChild(el('span', 'pre', '  [preempts]'));
      st.appendChild(h);
      st.appendChild(el('div', 'fn', d.kernelFunction));
      d.notes.forEach(function (x) { st.appendChild(el('div', 'note', x)); });
      if (d.locks.length) st.appendChild(el('div', 'fn', 'locks held: ' + d.locks.join('; ')));
    }

    var lanes = document.getElementById('lanes');
    lanes.innerHTML = '';
    var tb = el('table');
    T.threads.forEach(function (t) {
      var tr = el('tr');
      tr.appendChild(el('td', 'name', t));
      for (var i = 1; i <= n; i++) {
        var td = el('td', T.steps[i - 1].thread === t ? 'took' : '', T.steps[i - 1].thread === t ? String(i) : '');
        if (i === cur) td.classList.add('cur');
        td.dataset.step = String(i);
        td.onclick = function (e) { go(Number(e.target.dataset.step)); };
        tr.appendChild(td);
      }
      tb.appendChild(tr);
    });
    lanes.appendChild(tb);

    var mms = document.getElementById('mms');
    mms.innerHTML = '';
    Object.keys(s.mms).forEach(function (m) {
      var b = el('div', 'box');
      b.appendChild(el('h3', '', 'process ' + m));
      ['mm ' + m, 'rss ' + m].forEach(function (k) { b.appendChild(row(k, f[k], pv(k))); });
      Object.keys(f).forEach(function (k) {
        if (k.indexOf('vma ' + m + ' ') === 0 || k.indexOf('pte ' + m + ':') === 0) b.appendChild(row(k, f[k], pv(k)));
      });
      mms.appendChild(b);
    });

    var frames = document.getElementById('frames');
    frames.innerHTML = '';
    var fb = el('div', 'box');
    fb.appendChild(el('h3', '', 'page frames'));
    var zero = row('pfn 0', 'pfn 0: the shared zeropage');
    zero.id = 'frame-0';
    fb.appendChild(zero);
    Object.keys(s.pages).forEach(function (p) {
      var b = el('div', 'box frame');
      b.id = 'frame-' + p;
      b.appendChild(row('pfn ' + p, f['pfn ' + p], pv('pfn ' + p)));
      b.appendChild(row('pfnflags ' + p, f['pfnflags ' + p], pv('pfnflags ' + p)));
      if (cur > 0 && prev['pfn ' + p] === undefined) b.classList.add('changed');
      fb.appendChild(b);
    });
    frames.appendChild(fb);

    var other = document.getElementById('other');
    other.innerHTML = '';
    [['files', 'file '], ['page cache', 'cache '], ['swap', 'swap '], ['GUP references', 'gup '], ['threads', 'thread ']].forEach(function (g) {
      var keys = Object.keys(f).filter(function (k) { return k.indexOf(g[1]) === 0; });
      if (!keys.length) return;
      var b = el('div', 'box');
      b.appendChild(el('h3', '', g[0]));
      keys.forEach(function (k) { b.appendChild(row(k, f[k], pv(k))); });
      other.appendChild(b);
    });

    var v = document.getElementById('violation');
    v.style.display = cur === n ? 'block' : 'none';
    v.textContent = 'VIOLATED ' + T.invariant + ': ' + T.message;
    arrows();
  }

  function arrows() {
    var svg = document.getElementById('arrows');
    var stage = document.getElementById('stage').getBoundingClientRect();
    svg.setAttribute('width', String(stage.width));
    svg.setAttribute('height', String(stage.height));
    svg.innerHTML = '<defs><marker id="h" markerWidth="8" markerHeight="8" refX="7" refY="4" orient="auto"><path d="M0,0 L8,4 L0,8 z" fill="#4b7bec"/></marker></defs>';
    var count = 0;
    document.querySelectorAll('.row').forEach(function (r) {
      var k = r.dataset.key || '';
      if (!(k.indexOf('pte ') === 0 || k.indexOf('cache ') === 0 || k.indexOf('gup ') === 0)) return;
      var m = /pfn (\\d+)/.exec(r.textContent) || (/zeropage/.test(r.textContent) ? [null, '0'] : null);
      if (!m) return;
      var target = document.getElementById('frame-' + m[1]);
      if (!target) return;
      var a = r.getBoundingClientRect();
      var b = target.getBoundingClientRect();
      var fromRight = a.right < b.left;
      var x1 = (fromRight ? a.right : a.left) - stage.left, y1 = a.top + a.height / 2 - stage.top;
      var x2 = (fromRight ? b.left : b.right) - stage.left, y2 = b.top + Math.min(10, b.height / 2) - stage.top;
      var p = document.createElementNS('http://www.w3.org/2000/svg', 'path');
      var mx = (x1 + x2) / 2;
      p.setAttribute('d', 'M' + x1 + ',' + y1 + ' C' + mx + ',' + y1 + ' ' + mx + ',' + y2 + ' ' + x2 + ',' + y2);
      p.setAttribute('fill', 'none');
      p.setAttribute('stroke', /migration/.test(r.textContent) ? '#e8590c' : '#4b7bec');
      p.setAttribute('stroke-width', '1.5');
      p.setAttribute('marker-end', 'url(#h)');
      svg.appendChild(p);
      count++;
    });
    svg.dataset.arrows = String(count);
  }

  function go(i) { cur = Math.max(0, Math.min(n, i)); draw(); }
  document.getElementById('prev').onclick = function () { go(cur - 1); };
  document.getElementById('next').onclick = function () { go(cur + 1); };
  slider.oninput = function () { go(Number(slider.value)); };
  document.addEventListener('keydown', function (e) {
    if (e.key === 'ArrowRight') go(cur + 1);
    else if (e.key === 'ArrowLeft') go(cur - 1);
    else if (e.key === 'Home') go(0);
    else if (e.key === 'End') go(n);
  });
  window.addEventListener('resize', arrows);
  draw();
})();
`;
