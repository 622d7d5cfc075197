/**
 * Properties of the MM model through the engine: every reported trace
 * replays to the same violation, and BFS and DFS reach the same states.
 */
import { fc, test as fcTest } from '@fast-check/vitest';
import { describe, expect } from 'vitest';
import { replayActions } from '../../checker/explore.js';
import { fingerprint, fpLo } from '../../checker/fingerprint.js';
import type { Model } from '../../checker/model.js';
import { findInvariant } from '../../invariants/registry.js';
import { INVARIANTS } from '../../invariants/registry.js';
import { MUTANTS } from '../../model/variants.js';
import { check, model } from '../helpers.js';

const SMALL = ['iouring-ro-remap', 'fork-pinned', 'cow-swap-gup'];
const KERNELS = ['5.7', '5.8', '5.9', '5.11', '5.17', '5.18', '5.19', '6.0', '6.1', '6.2'];

function reachable(m: Model): Set<string> {
  const seen = new Set<string>();
  const todo: Int32Array[] = [];
  m.initialStates((s) => {
    seen.add(String(s));
    todo.push(s.slice());
  });
  while (todo.length) {
    const s = todo.pop()!;
    m.successors(s, (n) => {
      const k = String(n);
      if (!seen.has(k)) {
        seen.add(k);
        todo.push(n.slice());
      }
    });
  }
  return seen;
}

describe('MM model properties', () => {
  fcTest.prop([fc.constantFrom(...SMALL), fc.constantFrom(...KERNELS), fc.constantFrom('bfs' as const, 'dfs' as const)], {
    numRuns: 12,
  })('BFS and DFS reach exactly the states a naive search reaches', (scenario, kernel, strategy) => {
    const m = model(scenario, { kernel });
    const naive = reachable(m);
    const r = check(scenario, kernel, [], { strategy, reductions: { symmetry: false, por: false } }).result;
    expect(r.states).toBe(naive.size);
    // With frame symmetry: exactly the number of distinct canonical forms of those states.
    const canonical = new Set(
      [...naive].map((k) => {
        const s = Int32Array.from(k.split(',').map(Number));
        m.canonicalize(s);
        return String(s);
      }),
    );
    const reduced = check(scenario, kernel, [], { strategy, reductions: { symmetry: true, por: false } }).result;
    expect(reduced.states).toBe(canonical.size);
  });

  fcTest.prop(
    [
      fc.constantFrom('cow-fork-gup', ...SMALL),
      fc.constantFrom(...KERNELS),
      fc.constantFrom(...INVARIANTS.map((i) => i.name)),
      fc.option(fc.constantFrom(...MUTANTS.map((x) => x.name)), { nil: undefined }),
      fc.constantFrom('bfs' as const, 'dfs' as const),
    ],
    { numRuns: 25 },
  )('every reported trace replays to the same violation', (scenario, kernel, inv, mutant, strategy) => {
    const m = model(scenario, { kernel, mutants: mutant ? [mutant] : [] });
    const def = findInvariant(inv)!;
    if (def.notApplicable?.(m.variant)) return;
    const { result } = check(scenario, kernel, [inv], { strategy, maxDepth: 12, mutants: mutant ? [mutant] : [] });
    for (const v of result.violations) {
      const replayed = replayActions(
        m,
        v.path.map((p) => p.action),
      );
      const last = replayed.at(-1)!.state;
      expect(String(last)).toBe(String(v.path.at(-1)!.state));
      const view = m.view(last);
      if (v.invariant !== 'deadlock') expect(def.check(view)).toBe(v.message);
    }
  });

  fcTest.prop([fc.constantFrom(...SMALL), fc.constantFrom(...KERNELS)], { numRuns: 6 })(
    'equal states have equal fingerprints (copies of every reachable state)',
    (scenario, kernel) => {
      const m = model(scenario, { kernel });
      for (const key of [...reachable(m)].slice(0, 200)) {
        const a = Int32Array.from(key.split(',').map(Number));
        const b = a.slice();
        const h = fingerprint(a, 0, a.length);
        const l = fpLo;
        expect(fingerprint(b, 0, b.length)).toBe(h);
        expect(fpLo).toBe(l);
      }
    },
  );
});
