/**
 * Level-synchronous breadth-first search (sequential). Invariants are checked
 * when a state is first reached, so the first violation found is at the
 * smallest depth: its trace is a shortest one.
 */
import type { ExploreOptions, ExploreResult, Invariant, Model, Witness } from './model.js';
import { Search } from './search.js';
import { StateQueue } from './store.js';

export function bfs(model: Model, invariants: readonly Invariant[], opts: ExploreOptions, witnesses: readonly Witness[] = []): ExploreResult {
  const S = new Search(model, invariants, opts, false, witnesses);
  S.levelSync = true;
  const W = model.stateWords;
  let current = new StateQueue(W, 1);
  let next = new StateQueue(W, 1);
  S.seedInitial((s, index) => {
    const off = current.push(s); // push may reallocate data: read it after
    current.data[off + W] = index;
  });
  S.levelSizes.push(current.length);

  let depth = 0;
  let parentIndex = 0;
  const sink = (s: Int32Array, action: number): void => {
    S.transitions++;
    S.coverage[action]!++;
    if (S.halt) return;
    const index = S.discover(s, parentIndex, action);
    if (index < 0) return;
    const off = next.push(s); // push may reallocate data: read it after
    next.data[off + W] = index;
    S.checkState(s, index, depth + 1);
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
      const n = S.expand(state, sink, S.isVisited);
      if (n === 0 && model.isDeadlock?.(state)) S.reportDeadlock(parentIndex, 'no thread can move');
      S.poll(current.length - r + next.length, depth);
    }
    if (next.length > 0) {
      depth++;
      S.depthReached = depth;
      S.levelSizes.push(next.length);
    }
    S.checkLimits();
    if (S.endOfLevel) S.halt = true;
    const t = current;
    current = next;
    next = t;
    next.clear();
    next.shrink(current.length);
  }
  // A depth-bounded stop only counts if the cut-off level could still grow.
  if (S.depthBounded && !S.halt) {
    model.setObserving?.(false);
    S.depthBounded = hasNewSuccessor(current, W, S);
    model.setObserving?.(true);
  }
  return S.finish('bfs');
}

/** True when some state of the last level has a successor not yet visited. */
function hasNewSuccessor(level: StateQueue, W: number, S: Search): boolean {
  let any = false;
  const state = new Int32Array(W);
  for (let r = 0; r < level.length && !any; r++) {
    const off = r * level.stride;
    state.set(level.data.subarray(off, off + W));
    S.expand(
      state,
      (s) => {
        if (!any && !S.isVisited(s)) any = true;
      },
      S.isVisited,
    );
  }
  return any;
}
