/**
 * Reductions: partial-order reduction on a model with commuting thread-local
 * steps, and for every built-in scenario the same verdicts with and without
 * symmetry and partial-order reduction.
 */
import { describe, expect, test } from 'vitest';
import { CountersModel, flagNeverSet } from '../../checker/examples/counters.js';
import { explore } from '../../checker/explore.js';
import { INVARIANTS } from '../../invariants/registry.js';
import { createModel, mmFactory } from '../../model/factory.js';
import { SCENARIOS } from '../../model/scenarios.js';
import { scenarioKernelProblem } from '../../model/scenario.js';
import { resolveVariant } from '../../model/variants.js';

describe('partial-order reduction', () => {
  test('commuting thread-local steps: fewer states, the same verdict', () => {
    const full = explore(new CountersModel(3, 4), [flagNeverSet], { reductions: { symmetry: false, por: false } });
    const reduced = explore(new CountersModel(3, 4), [flagNeverSet], { reductions: { symmetry: false, por: true } });
    expect(full.verdict).toBe('violated');
    expect(reduced.verdict).toBe('violated');
    // Ample sets postpone the visible step (the flag) past other threads' local steps:
    // the trace is shortest in the reduced graph, not in the full one.
    expect(reduced.violations[0]!.path.length).toBeGreaterThanOrEqual(full.violations[0]!.path.length);
    expect(reduced.states).toBeLessThan(full.states / 3);
    expect(reduced.ampleStates).toBeGreaterThan(0);
  });
  test('without invariants, every reduced run still reaches every state where the flag matters', () => {
    const full = explore(new CountersModel(3, 3), [], { reductions: { symmetry: false, por: false } });
    expect(full.states).toBe(4 * 4 * 4 + 4 * 4); // (K+1)^3 counters, plus the flag set with thread 0 at K
    const reduced = explore(new CountersModel(3, 3), [], { reductions: { symmetry: false, por: true } });
    expect(reduced.states).toBeLessThan(full.states);
  });
  test('a visible step (it writes what an invariant reads) is never reduced away', () => {
    const m = new CountersModel(2, 2);
    const r = explore(m, [flagNeverSet], { reductions: { symmetry: false, por: true } });
    expect(r.verdict).toBe('violated');
  });
});

describe('every built-in scenario: the same verdicts with and without reductions', () => {
  for (const sc of SCENARIOS) {
    test(sc.name, () => {
      const depth = sc.name === 'cow-fork-gup' ? 10 : undefined;
      // Kernels the scenario can be checked on (oom-page-lock: 4.4-4.5 only); seed 004's scenarios also on 4.4 and 4.8.
      const wanted = sc.pageTables ? ['4.4', '4.5', '4.8', '5.12', '6.2'] : ['5.7', '5.17', '5.18', '6.1', '6.2'];
      for (const kernel of wanted.filter((k) => !scenarioKernelProblem(sc, k))) {
        const variant = resolveVariant({ kernel });
        const names = INVARIANTS.filter((i) => !i.notApplicable?.(variant)).map((i) => i.name);
        const verdicts = (['none', 'symmetry', 'por', 'both'] as const).map((which) => {
          const f = mmFactory(sc, variant, names);
          const { model, invariants } = createModel(f.args);
          const reductions = { symmetry: which === 'symmetry' || which === 'both', por: which === 'por' || which === 'both' };
          const r = explore(model, invariants, { reductions, maxDepth: depth, stopAtFirst: false });
          return { which, states: r.states, result: r.verdict, found: r.violations.map((v) => `${v.invariant}@${v.path.length}`).sort() };
        });
        const [none, ...rest] = verdicts;
        for (const v of rest) {
          expect(`${kernel} ${v.which} ${v.result} ${v.found}`).toBe(`${kernel} ${v.which} ${none!.result} ${none!.found}`);
          expect(v.states).toBeLessThanOrEqual(none!.states);
        }
      }
    });
  }
});
