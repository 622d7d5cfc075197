/**
 * The parallel engine on the MM model reports what the sequential engine
 * reports, also when two invariants are first violated in the same level:
 * the violation with the smallest key (the one a sequential BFS meets first)
 * wins, whatever the order the owners hold their candidates in.
 */
import { describe, expect, test } from 'vitest';
import { explore } from '../../checker/explore.js';
import { exploreParallel } from '../../checker/parallel.js';
import { createModel, mmFactory } from '../../model/factory.js';
import { findScenario } from '../../model/scenarios.js';
import { resolveVariant } from '../../model/variants.js';

describe('parallel = sequential on the MM model', () => {
  // Found by comparing every scenario x kernel x mutant: this case once reported rss-consistent in parallel, no-stale-migration sequentially.
  for (const kernel of ['5.7', '5.17']) {
    test(`zap-migrate ${kernel} with zap-migration-no-rss: the same first violation for 1 and 2 workers`, async () => {
      const f = mmFactory(findScenario('zap-migrate')!, resolveVariant({ kernel, mutants: ['zap-migration-no-rss'] }), ['rss-consistent', 'no-stale-migration']);
      const { model, invariants } = createModel(f.args);
      const seq = explore(model, invariants, {});
      const show = (r: typeof seq) => `${r.violations[0]!.invariant}: ${r.violations[0]!.path.map((p) => p.action).join(',')}`;
      expect(seq.verdict).toBe('violated');
      for (const workers of [1, 2]) {
        const par = await exploreParallel(f, { workers, spreadAt: 0 });
        expect(show(par)).toBe(show(seq));
        expect(par.states).toBe(seq.states);
      }
    });
  }
});
