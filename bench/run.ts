/**
 * Benchmarks (not tests). Prints a table and, with --json, ends with one JSON
 * line. Every figure is the median of --runs runs (default 3).
 *
 *   npm run bench [-- --runs 5] [-- --json] [-- --only classic|mm]
 *
 * classic: the 4-thread non-atomic increment model (8,519,680 states,
 *   34,078,720 transitions; checked) with mmcheck on 1 worker and on all,
 *   and, when installed, SPIN (gcc -O2 -DSAFETY, DFS) on bench/increment.pml
 *   and Rumur on bench/increment.m, in the same invocation.
 * mm: the default check (anon-exclusive --depth 12), anon-exclusive alone on
 *   all of cow-fork-gup, and every built-in scenario on 6.2 with all
 *   invariants, on 1 worker and on all.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { jsUrl, type ModelFactory } from '../checker/factory.js';
import type { ExploreOptions } from '../checker/model.js';
import { exploreParallel } from '../checker/parallel.js';
import { INVARIANTS } from '../invariants/registry.js';
import { mmFactory } from '../model/factory.js';
import { SCENARIOS } from '../model/scenarios.js';
import { resolveVariant } from '../model/variants.js';

interface Row {
  name: string;
  tool: string;
  states: number;
  transitions: number;
  seconds: number;
  statesPerSecond: number;
  workers: number;
  bytesPerState?: number;
}

const { values } = parseArgs({
  options: { runs: { type: 'string' }, json: { type: 'boolean' }, only: { type: 'string' } },
  strict: true,
});
const runs = Math.max(1, Number(values.runs ?? 3));
const all = availableParallelism();
const rows: Row[] = [];
const want = (g: string) => !values.only || values.only === g;
const log = (s: string) => process.stderr.write(s + '\n');

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

async function mmcheck(name: string, factory: ModelFactory, opts: ExploreOptions, expect?: [number, number]): Promise<Row> {
  const secs: number[] = [];
  let last = { states: 0, transitions: 0, tableBytes: 0 };
  for (let i = 0; i < runs; i++) {
    const r = await exploreParallel(factory, opts);
    if (r.verdict !== 'holds') throw new Error(`${name}: expected holds, got ${r.verdict}`);
    if (expect && (r.states !== expect[0] || r.transitions !== expect[1])) {
      throw new Error(`${name}: ${r.states} states / ${r.transitions} transitions, expected ${expect[0]} / ${expect[1]}`);
    }
    secs.push(r.seconds);
    last = r;
  }
  const seconds = median(secs);
  log(`${name}, ${opts.workers} worker(s): ${seconds.toFixed(2)} s`);
  return {
    name,
    tool: 'mmcheck',
    states: last.states,
    transitions: last.transitions,
    seconds,
    statesPerSecond: Math.round(last.states / seconds),
    workers: opts.workers ?? 1,
    bytesPerState: Number((last.tableBytes / last.states).toFixed(1)),
  };
}

function has(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
}

function timed(cmd: string, args: string[], cwd: string): { seconds: number; out: string } {
  const t = performance.now();
  const out = execFileSync(cmd, args, { cwd, encoding: 'utf8', maxBuffer: 1 << 26, stdio: ['ignore', 'pipe', 'pipe'] });
  return { seconds: (performance.now() - t) / 1000, out };
}

function spin(): Row | null {
  if (!has('spin') || !has('gcc')) return null;
  const dir = mkdtempSync(join(tmpdir(), 'mmcheck-spin-'));
  execFileSync('spin', ['-a', join(process.cwd(), 'bench/increment.pml')], { cwd: dir, stdio: 'ignore' });
  execFileSync('gcc', ['-O2', '-DSAFETY', '-o', 'pan', 'pan.c'], { cwd: dir, stdio: 'ignore' });
  const secs: number[] = [];
  let states = 0;
  let transitions = 0;
  for (let i = 0; i < runs; i++) {
    const { out } = timed('./pan', ['-m10000000', '-w27'], dir);
    states = Number(/(\d+) states, stored/.exec(out)![1]);
    transitions = Number(/(\d+) transitions/.exec(out)![1]);
    secs.push(Number(/elapsed time ([\d.e+]+) seconds/.exec(out)![1]));
  }
  const seconds = median(secs);
  log(`spin: ${seconds.toFixed(2)} s (pan's own elapsed time)`);
  return { name: 'classic', tool: 'spin', states, transitions, seconds, statesPerSecond: Math.round(states / seconds), workers: 1 };
}

function rumur(threads: number): Row | null {
  if (!has('rumur') || !has('gcc')) return null;
  const dir = mkdtempSync(join(tmpdir(), 'mmcheck-rumur-'));
  execFileSync('rumur', ['--threads', String(threads), '--output', 'inc.c', join(process.cwd(), 'bench/increment.m')], { cwd: dir, stdio: 'ignore' });
  execFileSync('gcc', ['-O2', '-march=native', '-mcx16', '-o', 'inc', 'inc.c', '-lpthread', '-latomic'], { cwd: dir, stdio: 'ignore' });
  const secs: number[] = [];
  let states = 0;
  let transitions = 0;
  for (let i = 0; i < runs; i++) {
    const { seconds, out } = timed('./inc', [], dir);
    states = Number(/(\d+) states, (\d+) rules fired/.exec(out)![1]);
    transitions = Number(/(\d+) states, (\d+) rules fired/.exec(out)![2]);
    secs.push(seconds);
  }
  const seconds = median(secs);
  log(`rumur, ${threads} thread(s): ${seconds.toFixed(2)} s (wall clock)`);
  return { name: 'classic', tool: 'rumur', states, transitions, seconds, statesPerSecond: Math.round(states / seconds), workers: threads };
}

if (want('classic')) {
  const f = { module: jsUrl('checker/examples/increment.js'), args: { threads: 4 } };
  const exact: [number, number] = [8_519_680, 34_078_720];
  rows.push(await mmcheck('classic', f, { workers: 1, expectedStates: exact[0] }, exact));
  if (all > 1) rows.push(await mmcheck('classic', f, { workers: all, expectedStates: exact[0] }, exact));
  for (const r of [spin(), rumur(1), all > 1 ? rumur(all) : null]) if (r) rows.push(r);
}
if (want('mm')) {
  const v = resolveVariant({ kernel: '6.2' });
  const cfg = SCENARIOS.find((s) => s.name === 'cow-fork-gup')!;
  const names = INVARIANTS.map((i) => i.name);
  for (const workers of all > 1 ? [1, all] : [1]) {
    rows.push(await mmcheck('mm: anon-exclusive --depth 12 (cow-fork-gup)', mmFactory(cfg, v, ['anon-exclusive']), { workers, maxDepth: 12 }));
  }
  // The default invariant alone, every reachable state: the model's cost with one invariant, not eight.
  for (const workers of all > 1 ? [1, all] : [1]) {
    rows.push(await mmcheck('mm: anon-exclusive (cow-fork-gup)', mmFactory(cfg, v, ['anon-exclusive']), { workers }));
  }
  for (const sc of SCENARIOS) {
    for (const workers of all > 1 ? [1, all] : [1]) {
      rows.push(await mmcheck(`mm: ${sc.name}`, mmFactory(sc, v, names), { workers }));
    }
  }
}

const fmt = (n: number) => n.toLocaleString('en-US');
const table = [
  `median of ${runs} run(s), node ${process.version}, ${all} cores`,
  '| benchmark | tool | workers | states | transitions | seconds | states/s | bytes/state |',
  '|---|---|---:|---:|---:|---:|---:|---:|',
  ...rows.map(
    (r) =>
      `| ${r.name} | ${r.tool} | ${r.workers} | ${fmt(r.states)} | ${fmt(r.transitions)} | ${r.seconds.toFixed(2)} | ${fmt(r.statesPerSecond)} | ${r.bytesPerState ?? ''} |`,
  ),
];
const rate = (tool: string, name: string, workers: number) => rows.find((r) => r.tool === tool && r.name === name && r.workers === workers)?.statesPerSecond;
const ratios: Record<string, number> = {};
const one = rate('mmcheck', 'classic', 1);
const many = rate('mmcheck', 'classic', all);
const sp = rate('spin', 'classic', 1);
const ru1 = rate('rumur', 'classic', 1);
const ruN = rate('rumur', 'classic', all);
if (one && sp) ratios['mmcheck 1 worker / spin'] = one / sp;
if (one && many && all > 1) ratios[`mmcheck ${all} workers / 1 worker`] = many / one;
if (one && ru1) ratios['mmcheck 1 worker / rumur 1 thread'] = one / ru1;
if (many && ruN && all > 1) ratios[`mmcheck ${all} workers / rumur ${all} threads`] = many / ruN;
const mm1 = rows.find((r) => r.name === 'mm: cow-fork-gup' && r.workers === 1);
if (mm1 && one) ratios['per-state cost, mm (cow-fork-gup, all 8 invariants) / classic, 1 worker'] = one / mm1.statesPerSecond;
const mmDefault = rows.find((r) => r.name === 'mm: anon-exclusive (cow-fork-gup)' && r.workers === 1);
if (mmDefault && one) ratios['per-state cost, mm (cow-fork-gup, anon-exclusive only) / classic, 1 worker'] = one / mmDefault.statesPerSecond;
table.push('', ...Object.entries(ratios).map(([k, x]) => `${k}: ${x.toFixed(2)}x`));
if (!has('spin') || !has('rumur')) table.push('(spin or rumur not installed: apt-get install spin rumur to compare)');
process.stdout.write(table.join('\n') + '\n');
if (values.json) process.stdout.write(JSON.stringify({ benchmarks: rows, ratios }) + '\n');
void readFileSync;
