/**
 * Minimal counterexamples: the trace mmcheck reports is a shortest one, and
 * among the shortest it has the fewest preemptions. Checked against a brute
 * force that enumerates every path (no state merging) up to the violation's
 * depth and counts preemptions by the definition, independently of the
 * minimizer's product search.
 */
import { describe, expect, test } from 'vitest';
import type { Invariant, PathStep } from '../../checker/model.js';
import { findInvariant, toEngineInvariant } from '../../invariants/registry.js';
import type { MMModel } from '../../model/world.js';
import { countPreemptions, minimize } from '../../traces/minimize.js';
import { buildTrace } from '../../traces/trace.js';
import { check, model } from '../helpers.js';

/** Preemption between two steps: a switch away from a thread that is mid-operation and has an enabled step. */
function preemptionsByDefinition(m: MMModel, states: Int32Array[], actions: number[]): number {
  let n = 0;
  for (let i = 1; i < actions.length; i++) {
    const prev = m.actions[actions[i - 1]!]!.thread;
    if (m.actions[actions[i]!]!.thread === prev) continue;
    const before = states[i]!; // the state in which step i is taken
    if (!m.view(before).threadBusy(prev)) continue;
    let enabled = false;
    m.successors(before, (_s, a) => {
      if (m.actions[a]!.thread === prev) enabled = true;
    });
    if (enabled) n++;
  }
  return n;
}

/** Every path of exactly `len` steps whose last state (and no earlier one) violates `inv`: the fewest preemptions, and how many such paths. */
function bruteForce(m: MMModel, inv: Invariant, len: number): { min: number; paths: number; shorter: number } {
  const W = m.stateWords;
  let min = Infinity;
  let paths = 0;
  let shorter = 0;
  const states: Int32Array[] = [];
  const actions: number[] = [];
  const walk = (s: Int32Array): void => {
    const violated = inv.check(s) !== null;
    if (violated && actions.length < len) shorter++;
    if (violated || actions.length === len) {
      if (violated && actions.length === len) {
        paths++;
        min = Math.min(min, preemptionsByDefinition(m, states, actions));
      }
      return;
    }
    const succ: [Int32Array, number][] = [];
    m.successors(s, (n, a) => succ.push([n.slice(0, W), a]));
    for (const [n, a] of succ) {
      states.push(s);
      actions.push(a);
      walk(n);
      states.pop();
      actions.pop();
    }
  };
  m.initialStates((s) => walk(s.slice(0, W)));
  return { min, paths, shorter };
}

function engineInvariant(m: MMModel, name: string): Invariant {
  return toEngineInvariant(findInvariant(name)!, m.view(new Int32Array(m.stateWords)));
}

// Every built-in violation small enough to enumerate path by path.
const CASES: [scenario: string, kernel: string, invariant: string][] = [
  ['iouring-ro-remap', '5.18', 'pin-coherent'],
  ['cow-fork-gup', '5.7', 'cow-isolation'],
  ['cow-fork-gup', '5.17', 'pin-coherent'],
  ['fork-pinned', '5.8', 'pin-coherent'],
  ['cow-swap-gup', '5.17', 'cow-isolation'],
  ['zap-migrate', '5.17', 'no-stale-migration'],
  ['fork-gup-fast', '5.10', 'pin-coherent'],
  ['reclaim-gup-fast', '5.18', 'pin-coherent'],
  ['ro-longterm-pin-memfd', '6.1', 'pin-coherent'],
];

describe('minimal traces', () => {
  for (const [scenario, kernel, invariant] of CASES) {
    test(`${scenario} on ${kernel}, ${invariant}: shortest, and fewest preemptions among the shortest (brute force)`, () => {
      const { result, model: m } = check(scenario, kernel, [invariant]);
      expect(result.verdict).toBe('violated');
      const v = result.violations[0]!;
      const len = v.path.length - 1;
      const inv = engineInvariant(m, invariant);
      const best = minimize(m, inv, v.path, false);
      expect(best.optimal).toBe(true);
      expect(best.path.length - 1).toBe(len);
      expect(inv.check(best.path.at(-1)!.state)).not.toBeNull();

      const bf = bruteForce(m, inv, len);
      expect(bf.shorter).toBe(0); // BFS found a shortest
      expect(bf.paths).toBeGreaterThan(0);
      expect(best.preemptions).toBe(bf.min);
      const acts = best.path.slice(1).map((p) => p.action);
      expect(
        preemptionsByDefinition(
          m,
          best.path.slice(0, -1).map((p) => p.state),
          acts,
        ),
      ).toBe(bf.min);
      expect(countPreemptions(m, best.path)).toBe(bf.min);
      expect(buildTrace(m, { ...v, path: best.path }).preemptions).toBe(bf.min);
    });
  }

  test('the first shortest trace BFS finds is not always the least preempted: minimizing matters', () => {
    const { result, model: m } = check('cow-swap-gup', '5.17', ['cow-isolation']);
    const raw = result.violations[0]!.path;
    const best = minimize(m, engineInvariant(m, 'cow-isolation'), raw, false);
    expect(countPreemptions(m, raw)).toBeGreaterThan(best.preemptions);
  });

  test('minimization is deterministic: the same trace on every run', () => {
    const run = (): number[] => {
      const { result, model: m } = check('cow-swap-gup', '5.17', ['cow-isolation']);
      return minimize(m, engineInvariant(m, 'cow-isolation'), result.violations[0]!.path, false).path.map((p) => p.action);
    };
    expect(run()).toEqual(run());
  });

  test('a DFS trace is shortened and reordered to a shortest, least-preempted one', () => {
    const bfs = check('cow-swap-gup', '5.17', ['cow-isolation']);
    const dfs = check('cow-swap-gup', '5.17', ['cow-isolation'], { strategy: 'dfs' });
    const m = dfs.model;
    const inv = engineInvariant(m, 'cow-isolation');
    const dfsPath: PathStep[] = dfs.result.violations[0]!.path;
    const shortest = bfs.result.violations[0]!.path.length;
    expect(dfsPath.length).toBeGreaterThan(shortest); // otherwise this test shows nothing
    const best = minimize(m, inv, dfsPath, true);
    expect(best.optimal).toBe(true);
    expect(best.path.length).toBe(shortest);
    expect(best.preemptions).toBe(bruteForce(m, inv, shortest - 1).min);
  });

  test('the preemption count sees switches away from a thread that could go on, not away from idle ones', () => {
    const m = model('iouring-ro-remap', { kernel: '5.18' });
    const { result } = check('iouring-ro-remap', '5.18', ['pin-coherent']);
    // One thread only: no switches at all.
    expect(new Set(result.violations[0]!.path.slice(1).map((p) => m.actions[p.action]!.thread)).size).toBe(1);
    expect(countPreemptions(m, result.violations[0]!.path)).toBe(0);
  });
});
