/**
 * The engine's entry point: explore a model's state space and check its
 * invariants, breadth-first (shortest traces) or depth-first.
 */
import { bfs } from './bfs.js';
import { dfs } from './dfs.js';
import type { ExploreOptions, ExploreResult, Invariant, Model } from './model.js';

export function explore(model: Model, invariants: readonly Invariant[], opts: ExploreOptions = {}): ExploreResult {
  return (opts.strategy ?? 'bfs') === 'dfs' ? dfs(model, invariants, opts) : bfs(model, invariants, opts);
}

export type * from './model.js';
export { replayActions, ReplayError } from './path.js';
