/**
 * Depth-first search with an explicit stack and an optional depth bound.
 * With a bound, a state first reached deep and later reached shallower is
 * explored again (its recorded depth and parent are updated), so every state
 * within the bound is explored, as in SPIN's bounded search. Its traces are
 * not shortest.
 */
import type { ExploreOptions, ExploreResult, Invariant, Model, Witness } from './model.js';
import { Search } from './search.js';
import { StateQueue } from './store.js';

export function dfs(model: Model, invariants: readonly Invariant[], opts: ExploreOptions, witnesses: readonly Witness[] = []): ExploreResult {
  const bounded = opts.maxDepth !== undefined && Number.isFinite(opts.maxDepth);
  const S = new Search(model, invariants, opts, bounded, witnesses);
  if (bounded && S.maxDepth > 0xffff) throw new RangeError('DFS depth bound must be at most 65535');
  const W = model.stateWords;
  // Record: state words, index, depth.
  const stack = new StateQueue(W, 2);

  const push = (s: Int32Array, index: number, depth: number): void => {
    const off = stack.push(s);
    stack.data[off + W] = index;
    stack.data[off + W + 1] = depth;
  };

  S.seedInitial((s, index) => push(s, index, 0));

  let parentIndex = 0;
  let childDepth = 0;
  const sink = (s: Int32Array, action: number): void => {
    S.transitions++;
    S.coverage[action]!++;
    if (S.halt) return;
    const index = S.discover(s, parentIndex, action, childDepth);
    if (index >= 0) {
      if (childDepth > S.depthReached) S.depthReached = childDepth;
      push(s, index, childDepth);
      S.checkState(s, index, childDepth);
    } else if (bounded) {
      // Reached again at a smaller depth: re-explore from here.
      const seen = S.visited.value;
      if (childDepth < S.parents.depthOf(seen)) {
        S.parents.update(seen, parentIndex, action, childDepth);
        push(s, seen, childDepth);
      }
    }
  };

  // A copy of the popped record: pushes may reallocate the stack.
  const cur = new Int32Array(W);
  while (stack.length > 0 && !S.halt) {
    const off = stack.pop();
    const data = stack.data;
    for (let i = 0; i < W; i++) cur[i] = data[off + i]!;
    parentIndex = stack.data[off + W]!;
    const depth = stack.data[off + W + 1]!;
    // A stale record: the state was since reached at a smaller depth.
    if (bounded && S.parents.depthOf(parentIndex) < depth) continue;
    if (depth >= S.maxDepth) {
      let any = false;
      model.setObserving?.(false);
      S.expand(
        cur,
        () => {
          any = true;
        },
        S.isVisited,
      );
      model.setObserving?.(true);
      if (any) S.depthBounded = true;
      continue;
    }
    childDepth = depth + 1;
    const n = S.expand(cur, sink, S.isVisited);
    if (n === 0 && model.isDeadlock?.(cur)) S.reportDeadlock(parentIndex, 'no thread can move');
    S.poll(stack.length, depth);
  }
  return S.finish('dfs');
}
