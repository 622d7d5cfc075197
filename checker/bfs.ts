/**
 * Level-synchronous breadth-first search. Invariants are checked when a state
 * is first reached, so the first violation found is at the smallest depth:
 * its trace is a shortest one.
 */
import { fingerprint, fpLo } from './fingerprint.js';
import type { ExploreOptions, ExploreResult, Invariant, Model } from './model.js';
import { Search } from './search.js';
import { NO_PARENT, StateQueue } from './store.js';

export function bfs(model: Model, invariants: readonly Invariant[], opts: ExploreOptions): ExploreResult {
  const S = new Search(model, invariants, opts, false);
  const W = model.stateWords;
  let current = new StateQueue(W, 1);
  let next = new StateQueue(W, 1);

  let ordinal = 0;
  model.initialStates((s) => {
    const o = ordinal++;
    if (S.halt) return;
    const index = S.discover(s, NO_PARENT, o);
    if (index < 0) return;
    const off = current.push(s); // push may reallocate data: read it after
    current.data[off + W] = index;
    S.checkState(s, index);
  });
  S.levelSizes.push(current.length);

  let depth = 0;
  let parentIndex = 0;
  let emitted = 0;
  const emit = (s: Int32Array, action: number): void => {
    emitted++;
    S.transitions++;
    S.coverage[action]!++;
    if (S.halt) return;
    const index = S.discover(s, parentIndex, action);
    if (index < 0) return;
    const off = next.push(s); // push may reallocate data: read it after
    next.data[off + W] = index;
    S.checkState(s, index);
  };

  // The state being expanded, copied out of the queue (no allocation per state).
  const state = new Int32Array(W);
  while (current.length > 0 && !S.halt) {
    if (depth >= S.maxDepth) {
      S.depthBounded = true;
      break;
    }
    const data = current.data;
    const stride = current.stride;
    for (let r = 0; r < current.length && !S.halt; r++) {
      const off = r * stride;
      for (let i = 0; i < W; i++) state[i] = data[off + i]!;
      parentIndex = data[off + W]!;
      emitted = 0;
      model.successors(state, emit);
      if (emitted === 0 && model.isDeadlock?.(state)) S.reportDeadlock(parentIndex, 'no thread can move');
      S.poll(current.length - r + next.length, depth);
    }
    if (next.length > 0) {
      depth++;
      S.depthReached = depth;
      S.levelSizes.push(next.length);
    }
    const t = current;
    current = next;
    next = t;
    next.clear();
    next.shrink(current.length);
  }
  // A depth-bounded stop only counts if the cut-off level could still grow.
  if (S.depthBounded && !S.halt) S.depthBounded = hasNewSuccessor(model, current, W, S);
  return S.finish('bfs');
}

/** True when some state of the last level has a successor not yet visited. */
function hasNewSuccessor(model: Model, level: StateQueue, W: number, S: Search): boolean {
  let any = false;
  for (let r = 0; r < level.length && !any; r++) {
    const off = r * level.stride;
    model.successors(level.data.subarray(off, off + W), (s) => {
      if (!any && !S.visited.has(fingerprint(s, 0, W), fpLo)) any = true;
    });
  }
  return any;
}
