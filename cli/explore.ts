/**
 * mmcheck explore: a local web server with an interactive explorer, as
 * Stateright's Explorer does for its models. Start from the initial state of
 * a scenario (or from any step of a trace file), see each thread's enabled
 * steps with their kernel function, take one, step back, branch off at any
 * step, see every invariant evaluated on the state shown, search its fields.
 * The drawing is the trace page's (traces/html.ts).
 *
 * The server keeps no session: the page holds the path (the action ids from
 * the initial state) and asks for it; the server replays it on the model.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { replayActions, ReplayError } from '../checker/path.js';
import type { PathStep } from '../checker/model.js';
import { INVARIANTS, toEngineInvariant } from '../invariants/registry.js';
import { type ScenarioSpec, scenarioKernelProblem } from '../model/scenario.js';
import type { Variant } from '../model/variants.js';
import { MMModel } from '../model/world.js';
import { pageData, viewerPage } from '../traces/html.js';
import { replayTrace } from '../traces/replay.js';
import { buildTrace } from '../traces/trace.js';
import { resolveScenario, variantOf } from './check.js';
import { readTraceFile } from './trace.js';
import { UsageError } from './usage.js';

export interface ExploreRequest {
  scenario?: string;
  kernel?: string;
  patch: string[];
  revert: string[];
  mutants: string[];
  /** Start from this trace file's path (its scenario and kernel). */
  trace?: string;
  host: string;
  port: number;
}

/** One enabled step of the state shown. */
interface Enabled {
  action: number;
  thread: string;
  operation: string;
  label: string;
  where: string;
  notes: string[];
}

/** The explorer's world: the model and the path it starts with. */
interface World {
  model: MMModel;
  variant: Variant;
  spec: ScenarioSpec;
  start: number[];
}

function world(req: ExploreRequest): World {
  if (req.trace !== undefined) {
    if (req.scenario !== undefined || req.kernel !== undefined || req.patch.length || req.revert.length || req.mutants.length)
      throw new UsageError('explore --trace takes its scenario and kernel from the trace file: no --scenario, --kernel, --patch, --revert or --mutant with it');
    const t = readTraceFile(req.trace, true);
    const keep: Parameters<typeof replayTrace>[1] = {};
    const r = replayTrace(t, keep);
    if (!r.ok) throw new UsageError(`${req.trace} does not replay on this mmcheck (step ${r.step}: ${r.reason})`);
    return { model: keep.model!, variant: keep.model!.variant, spec: t['#meta'].scenarioSpec, start: keep.path!.map((p) => p.action) };
  }
  if (req.scenario === undefined) throw new UsageError('explore needs --scenario NAME|FILE.json (or --trace FILE)');
  const variant = variantOf(req);
  const spec = resolveScenario(req.scenario);
  const why = scenarioKernelProblem(spec, variant.version);
  if (why) throw new UsageError(why);
  return { model: new MMModel(spec, variant), variant, spec, start: [0] };
}

/** The path's page data, the enabled steps and every invariant at step `at`. */
function explain(w: World, actions: number[], at: number) {
  const { model, variant, spec } = w;
  const path: PathStep[] = replayActions(model, actions);
  const state = path[Math.min(at, path.length - 1)]!.state;
  const view = model.view(new Int32Array(model.stateWords));
  // Each applicable invariant once, for the state shown and (when another) the path's end.
  const applicable = INVARIANTS.filter((inv) => !inv.notApplicable?.(variant)).map((inv) => ({ inv, engine: toEngineInvariant(inv, view) }));
  const invariants = INVARIANTS.map((inv) => {
    const na = inv.notApplicable?.(variant) ?? null;
    if (na) return { name: inv.name, description: inv.description, verdict: 'not applicable', message: na };
    const message = applicable.find((x) => x.inv === inv)!.engine.check(state);
    return { name: inv.name, description: inv.description, verdict: message === null ? 'holds' : 'VIOLATED', message };
  });
  const enabled: Enabled[] = [];
  model.successors(state, (_next, action) => {
    const a = model.actions[action]!;
    enabled.push({ action, thread: a.threadName, operation: a.op, label: a.label, where: a.where, notes: model.narrate(state, action)?.notes ?? [] });
  });
  if (enabled.length === 0) {
    const deadlock = model.isDeadlock(state);
    invariants.push({
      name: 'deadlock',
      description: 'no state where threads wait and no step can run',
      verdict: deadlock ? 'VIOLATED' : 'holds',
      message: deadlock ? model.deadlockMessage(state) : 'every thread is done: no step is enabled',
    });
  }
  // The violation shown on top is the first at the path's end.
  const endState = path[path.length - 1]!.state;
  const atEnd =
    endState === state
      ? invariants.find((i) => i.verdict === 'VIOLATED' && i.name !== 'deadlock')
      : applicable.map(({ inv, engine }) => ({ name: inv.name, message: engine.check(endState) })).find((i) => i.message !== null);
  const trace = buildTrace(model, {
    invariant: atEnd?.name ?? '',
    message: atEnd?.message ?? `exploring: no invariant is violated at step ${path.length - 1}`,
    path,
  });
  const page = pageData(trace, { kernel: variant.version, scenario: spec.name, spec, switches: [...variant.switches], mutants: [...variant.mutants] });
  return { page, at: Math.min(at, path.length - 1), path: actions, enabled, invariants };
}

const EXPLORER_PANEL = `<section id="explore">
  <div class="bar"><button id="undo" title="drop the last step">step back</button> <button id="restart">back to the start</button> <span id="where"></span></div>
  <div class="panes"><div><h3>enabled steps</h3><div id="enabled"></div></div><div><h3>invariants</h3><div id="invariants"></div></div></div>
</section>
`;

const EXPLORER_CSS = `<style>
#explore { background: #fff; border: 1px solid #ddd; border-radius: 6px; padding: 8px 10px; margin-top: 10px; overflow-wrap: anywhere; }
#explore .panes { display: grid; grid-template-columns: minmax(0, 3fr) minmax(0, 2fr); gap: 16px; }
#explore h3 { font-size: 13px; margin: 6px 0 4px; }
#enabled button { display: block; width: 100%; text-align: left; margin: 2px 0; font: 12px ui-monospace, monospace; white-space: normal; overflow-wrap: anywhere; padding: 3px 6px; cursor: pointer; }
#enabled .fn { color: #666; }
.inv { font: 12px ui-monospace, monospace; padding: 1px 3px; }
.inv.bad { color: #a51111; font-weight: bold; }
.inv.na { color: #999; }
</style>`;

// The explorer's own script: it holds the path, asks the server, mounts the viewer.
const EXPLORER_JS = `
(function () {
  var path = __START__, at = __AT__;
  function el(tag, cls, text) { var e = document.createElement(tag); if (cls) e.className = cls; if (text !== undefined) e.textContent = text; return e; }
  function ask(p, k) {
    return fetch('/api/explore?path=' + p.join(',') + '&at=' + k).then(function (r) {
      return r.json().then(function (d) { if (!r.ok) throw new Error(d.error); return d; });
    });
  }
  function panel(d) {
    var en = document.getElementById('enabled');
    en.innerHTML = '';
    if (!d.enabled.length) en.appendChild(el('div', 'inv', 'no step is enabled'));
    d.enabled.forEach(function (x) {
      var b = el('button', 'take');
      b.dataset.action = String(x.action);
      b.dataset.thread = x.thread;
      b.appendChild(el('b', '', x.thread + ': '));
      b.appendChild(document.createTextNode(x.operation + ' \\u00b7 ' + x.label));
      b.appendChild(el('div', 'fn', x.where + (x.notes.length ? ' \\u2014 ' + x.notes.join('; ') : '')));
      b.onclick = function () { take(x.action); };
      en.appendChild(b);
    });
    var inv = document.getElementById('invariants');
    inv.innerHTML = '';
    d.invariants.forEach(function (i) {
      var r = el('div', 'inv' + (i.verdict === 'VIOLATED' ? ' bad' : i.verdict === 'not applicable' ? ' na' : ''), i.name + ': ' + i.verdict + (i.message && i.verdict !== 'holds' ? ' \\u2014 ' + i.message : ''));
      r.title = i.description;
      r.dataset.invariant = i.name;
      r.dataset.verdict = i.verdict;
      inv.appendChild(r);
    });
    document.getElementById('where').textContent = 'path of ' + (d.path.length - 1) + ' step(s); enabled steps and invariants at step ' + d.at + (d.at < d.path.length - 1 ? ': taking one branches off here' : '');
  }
  function load(p, k) {
    return ask(p, k).then(function (d) { path = d.path; at = d.at; MMView.mount(d.page, d.at); panel(d); })
      .catch(function (e) { document.getElementById('where').textContent = 'error: ' + e.message; });
  }
  function take(action) { load(path.slice(0, at + 1).concat([action]), at + 1); }
  document.getElementById('undo').onclick = function () { if (path.length > 1) load(path.slice(0, -1), path.length - 2); };
  document.getElementById('restart').onclick = function () { load([0], 0); };
  MMView.onStep(function (k) { if (k !== at) { at = k; ask(path, k).then(panel); } });
  load(path, at);
})();
`;

export function explorerPage(w: World): string {
  const boot = EXPLORER_JS.replace('__START__', JSON.stringify(w.start)).replace('__AT__', String(w.start.length - 1));
  return viewerPage(`mmcheck explore: ${w.spec.name} on kernel ${w.variant.version}`, boot, EXPLORER_PANEL).replace('</head>', `${EXPLORER_CSS}\n</head>`);
}

function send(res: ServerResponse, code: number, type: string, body: string): void {
  res.writeHead(code, { 'content-type': `${type}; charset=utf-8`, 'cache-control': 'no-store' });
  res.end(body);
}

/** The response to one request: status, type and body. */
function respond(w: World, page: string, req: IncomingMessage): [number, string, string] {
  let url: URL;
  try {
    url = new URL(req.url ?? '/', 'http://localhost');
  } catch {
    return [400, 'text/plain', 'bad request target\n'];
  }
  if (req.method !== 'GET') return [405, 'text/plain', 'GET only\n'];
  if (url.pathname === '/') return [200, 'text/html', page];
  if (url.pathname === '/favicon.ico') return [204, 'text/plain', ''];
  if (url.pathname !== '/api/explore') return [404, 'text/plain', 'not found\n'];
  const text = url.searchParams.get('path') ?? '0';
  const atText = url.searchParams.get('at');
  if (!/^\d+(,\d+)*$/.test(text) || (atText !== null && !/^\d+$/.test(atText)))
    return [400, 'application/json', JSON.stringify({ error: `bad path "${text}" or step "${atText}": action ids and a step, as decimal numbers` })];
  const actions = text.split(',').map(Number);
  const at = atText === null ? actions.length - 1 : Number(atText);
  if (at > actions.length - 1) return [400, 'application/json', JSON.stringify({ error: `step ${at} is past the path's end (${actions.length - 1})` })];
  const bad = (why: string): [number, string, string] => [400, 'application/json', JSON.stringify({ error: why })];
  if (!actions.every((a) => Number.isInteger(a) && a >= 0) || !Number.isInteger(at) || at < 0) return bad(`bad path "${text}" or step "${at}"`);
  try {
    return [200, 'application/json', JSON.stringify(explain(w, actions, at))];
  } catch (e) {
    if (e instanceof ReplayError) return bad(e.message);
    throw e;
  }
}

/** Serves until the signal (Ctrl-C); `listening` gets the URL once the port is bound. */
export async function explore(req: ExploreRequest, listening: (url: string) => void, signal?: AbortSignal): Promise<{ code: number; out: string }> {
  const w = world(req);
  const page = explorerPage(w);
  const server = createServer((rq, rs) => {
    try {
      send(rs, ...respond(w, page, rq));
    } catch (e) {
      send(rs, 500, 'text/plain', `mmcheck explore: ${(e as Error).message}\n`);
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) =>
      reject(
        new UsageError(`cannot listen on ${req.host}:${req.port}: ${e.code === 'EADDRINUSE' ? 'the port is in use (try --port 0 for any free port)' : (e.code ?? e.message)}`),
      ),
    );
    server.listen(req.port, req.host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const host = req.host.includes(':') ? `[${req.host}]` : req.host;
  listening(`http://${host}:${port}/`);
  await new Promise<void>((resolve) => {
    if (signal?.aborted) return resolve();
    signal?.addEventListener('abort', () => resolve(), { once: true });
  });
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return { code: 0, out: 'mmcheck explore: stopped' };
}
