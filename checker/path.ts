/**
 * Counterexamples are stored as parent pointers and action ids only; this
 * module rebuilds the states by replaying the actions through the model.
 */
import type { Model, PathStep } from './model.js';

export class ReplayError extends Error {}

/**
 * Replays `actions` (the first is the initial state's ordinal) and returns
 * the states along the way. Throws ReplayError when an action is not enabled
 * or names two successors (a nondeterministic model).
 */
export function replayActions(model: Model, actions: readonly number[]): PathStep[] {
  if (actions.length === 0) return [];
  const steps: PathStep[] = [];
  let ordinal = 0;
  let init: Int32Array | null = null;
  model.initialStates((s) => {
    if (ordinal++ === actions[0]) init = s.slice(0, model.stateWords);
  });
  if (!init) throw new ReplayError(`initial state #${actions[0]} does not exist (the model has ${ordinal})`);
  steps.push({ action: actions[0]!, state: init });
  let cur: Int32Array = init;
  for (let k = 1; k < actions.length; k++) {
    const want = actions[k]!;
    let found: Int32Array | null = null;
    let dup = false;
    model.successors(cur, (next, a) => {
      if (a !== want) return;
      if (found) dup = true;
      else found = next.slice(0, model.stateWords);
    });
    if (!found) {
      throw new ReplayError(`step ${k}: action "${model.actionName(want)}" is not enabled in the state reached`);
    }
    if (dup) {
      throw new ReplayError(`step ${k}: action "${model.actionName(want)}" has two successors: the model is nondeterministic`);
    }
    steps.push({ action: want, state: found });
    cur = found;
  }
  return steps;
}
