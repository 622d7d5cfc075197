/**
 * The row issue 13 bounds, shared by bench/run.ts --baseline (time) and
 * bench/instructions.ts (instructions): cow-fork-gup on 6.2 with the eight
 * invariants that the tree before it (d1ec992) had, so both trees check the
 * same thing.
 */
export const BASELINE_SCENARIO = 'cow-fork-gup';
export const BASELINE_KERNEL = '6.2';
export const BASELINE_INVARIANTS = [
  'anon-exclusive',
  'pin-coherent',
  'cow-isolation',
  'rss-consistent',
  'refcount-sane',
  'truncate-complete',
  'punch-keeps-cow',
  'no-stale-migration',
];
