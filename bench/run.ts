/**
 * Benchmarks (not tests): states/s of the engine on the classic increment
 * model and on the MM model (the default check and each built-in scenario).
 * Each figure is the median of --runs runs (default 3).
 *
 *   npm run bench [-- --runs 5] [-- --json] [-- --only mm]
 */
import { parseArgs } from 'node:util';
import { IncrementModel } from '../checker/examples/increment.js';
import { explore } from '../checker/explore.js';
import type { ExploreOptions, Invariant, Model } from '../checker/model.js';
import { findInvariant, INVARIANTS, toEngineInvariant } from '../invariants/registry.js';
import { SCENARIOS } from '../model/scenarios.js';
import { resolveVariant } from '../model/variants.js';
import { MMModel } from '../model/world.js';

interface Row {
  name: string;
  states: number;
  transitions: number;
  seconds: number;
  statesPerSecond: number;
  workers: number;
  stateBytes: number;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

function measure(name: string, make: () => { model: Model; invariants: Invariant[] }, opts: ExploreOptions, runs: number): Row {
  const times: number[] = [];
  let states = 0;
  let transitions = 0;
  let words = 0;
  for (let i = 0; i < runs; i++) {
    const { model, invariants } = make();
    words = model.stateWords;
    const r = explore(model, invariants, opts);
    if (r.verdict !== 'holds') throw new Error(`${name}: expected holds, got ${r.verdict}`);
    times.push(r.seconds);
    states = r.states;
    transitions = r.transitions;
  }
  const seconds = median(times);
  return { name, states, transitions, seconds, statesPerSecond: Math.round(states / seconds), workers: 1, stateBytes: words * 4 };
}

function mm(scenario: string, kernel: string, invariants: string[]) {
  return () => {
    const model = new MMModel(SCENARIOS.find((s) => s.name === scenario)!, resolveVariant({ kernel }));
    const view = model.view(new Int32Array(model.stateWords));
    return { model, invariants: invariants.map((n) => toEngineInvariant(findInvariant(n)!, view)) };
  };
}

const { values } = parseArgs({
  options: { runs: { type: 'string' }, json: { type: 'boolean' }, only: { type: 'string' } },
  strict: true,
});
const runs = Number(values.runs ?? 3);
const rows: Row[] = [];
const want = (group: string) => !values.only || values.only === group;

if (want('classic')) {
  const r = measure('classic: 4 threads, non-atomic increment mod 8', () => ({ model: new IncrementModel(4), invariants: [] }), { expectedStates: 1 << 24 }, runs);
  if (r.states !== 8_519_680 || r.transitions !== 34_078_720) throw new Error(`classic model: wrong counts ${r.states}/${r.transitions}`);
  rows.push(r);
}
if (want('mm')) {
  rows.push(measure('mm: check --invariant anon-exclusive --depth 12 (cow-fork-gup, 6.2)', mm('cow-fork-gup', '6.2', ['anon-exclusive']), { maxDepth: 12 }, runs));
  const all = INVARIANTS.map((i) => i.name);
  for (const sc of SCENARIOS) {
    rows.push(measure(`mm: ${sc.name}, 6.2, all invariants, exhaustive`, mm(sc.name, '6.2', all), {}, runs));
  }
}

if (values.json) {
  for (const r of rows) process.stdout.write(JSON.stringify(r) + '\n');
  process.stdout.write(JSON.stringify({ benchmarks: rows }) + '\n');
} else {
  const fmt = (n: number) => n.toLocaleString('en-US');
  process.stdout.write(`median of ${runs} runs, node ${process.version}\n`);
  process.stdout.write('| benchmark | states | transitions | seconds | states/s | workers | bytes/state (packed) |\n|---|---:|---:|---:|---:|---:|---:|\n');
  for (const r of rows) {
    process.stdout.write(`| ${r.name} | ${fmt(r.states)} | ${fmt(r.transitions)} | ${r.seconds.toFixed(2)} | ${fmt(r.statesPerSecond)} | ${r.workers} | ${r.stateBytes} |\n`);
  }
}
