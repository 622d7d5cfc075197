/**
 * The engine's entry point: explore a model's state space and check its
 * invariants, breadth-first (shortest traces) or depth-first.
 */
import { bfs } from './bfs.js';
import { dfs } from './dfs.js';
import type { ExploreOptions, ExploreResult, Invariant, Model, Witness } from './model.js';

export function explore(model: Model, invariants: readonly Invariant[], opts: ExploreOptions = {}, witnesses: readonly Witness[] = []): ExploreResult {
  return (opts.strategy ?? 'bfs') === 'dfs' ? dfs(model, invariants, opts, witnesses) : bfs(model, invariants, opts, witnesses);
}

export type * from './model.js';
export { replayActions, ReplayError } from './path.js';
