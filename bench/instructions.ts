/**
 * The marginal cost of a state in instructions, which no drift of the
 * machine disturbs (docs/DEVELOPING.md section 8):
 *
 *   node dist/bench/instructions.js [--baseline DIR] [--low 20000] [--high 150000]
 *
 * Each tree's cow-fork-gup search (6.2, the eight invariants of the
 * per-state bound, on one BFS worker thread as `mmcheck check -j 1` runs it)
 * runs under callgrind twice, stopped by --max-states at two bounds; the difference of
 * the two instruction counts over the difference of the two state counts is
 * the cost of a state with start-up and most of the JIT's warm-up
 * cancelled. Needs valgrind (apt-get install valgrind); a run takes about a
 * minute, and the runs go two at a time.
 */
import { spawn } from 'node:child_process';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { BASELINE_INVARIANTS, BASELINE_KERNEL, BASELINE_SCENARIO } from './baseline.js';

const { values } = parseArgs({
  options: { baseline: { type: 'string' }, low: { type: 'string' }, high: { type: 'string' }, child: { type: 'string' }, max: { type: 'string' } },
  strict: true,
});

if (values.child !== undefined) {
  // In the child: one bounded search of the tree at --child, through the modules every tree since d1ec992 has.
  const at = (m: string) => pathToFileURL(join(values.child!, 'dist', m)).href;
  const { exploreParallel } = await import(at('checker/parallel.js'));
  const { mmFactory } = await import(at('model/factory.js'));
  const { SCENARIOS } = await import(at('model/scenarios.js'));
  const { resolveVariant } = await import(at('model/variants.js'));
  const scenario = SCENARIOS.find((s: { name: string }) => s.name === BASELINE_SCENARIO);
  // The engine `mmcheck check -j 1` runs: one BFS worker thread.
  const r = await exploreParallel(mmFactory(scenario, resolveVariant(BASELINE_KERNEL), BASELINE_INVARIANTS), { workers: 1, maxStates: Number(values.max) });
  process.stdout.write(`${JSON.stringify({ states: r.states })}\n`);
  process.exit(0);
}

const self = fileURLToPath(import.meta.url);
const here = resolve(self, '../../..');
const low = Number(values.low ?? 20000);
const high = Number(values.high ?? 150000);

/** One bounded search under callgrind: its states and the instructions counted. */
function counted(tree: string, max: number): Promise<{ states: number; instructions: number }> {
  return new Promise((done, fail) => {
    const p = spawn('valgrind', ['--tool=callgrind', '--callgrind-out-file=/dev/null', process.execPath, '--single-threaded', self, '--child', tree, '--max', String(max)]);
    let out = '';
    let err = '';
    p.stdout.on('data', (d) => (out += d));
    p.stderr.on('data', (d) => (err += d));
    p.on('error', (e) => fail(new Error(`valgrind: ${e.message} (apt-get install valgrind)`)));
    p.on('close', (code) => {
      const m = /Collected : (\d+)/.exec(err);
      if (code !== 0 || !m) return fail(new Error(`${tree} at ${max} states: exit ${code}: ${err.trim().split('\n').at(-1)}`));
      done({ states: (JSON.parse(out) as { states: number }).states, instructions: Number(m[1]) });
    });
  });
}

const trees = values.baseline !== undefined ? [resolve(values.baseline), here] : [here];
const lines: string[] = [`${BASELINE_SCENARIO}, kernel ${BASELINE_KERNEL}, ${BASELINE_INVARIANTS.join(', ')}; 1 BFS worker; between --max-states ${low} and ${high}`];
const perState: number[] = [];
try {
  for (const tree of trees) {
    const [a, b] = await Promise.all([counted(tree, low), counted(tree, high)]);
    const cost = (b.instructions - a.instructions) / (b.states - a.states);
    perState.push(cost);
    lines.push(
      `${tree === here ? 'this tree' : tree}: ${a.states} states ${a.instructions} instructions, ${b.states} states ${b.instructions}: ${Math.round(cost)} instructions a state`,
    );
  }
} catch (e) {
  process.stderr.write(`bench: ${(e as Error).message}\n`);
  process.exit(2);
}
if (perState.length === 2) lines.push(`this tree / baseline: ${(perState[1]! / perState[0]!).toFixed(3)}x`);
process.stdout.write(`${lines.join('\n')}\n`);
