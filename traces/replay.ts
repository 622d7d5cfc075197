/**
 * Replays a trace file against the model: rebuilds the kernel variant from
 * the recorded switches and mutants and the scenario from its recorded
 * definition, re-runs the recorded actions, checks that every state matches
 * the recorded one field by field, and that the last one violates the
 * recorded invariant with the recorded message.
 */
import { replayActions, ReplayError } from '../checker/path.js';
import { findInvariant, toEngineInvariant } from '../invariants/registry.js';
import { ScenarioError } from '../model/scenario.js';
import { MUTANTS, type MutantName, SWITCHES, type SwitchName, type Variant } from '../model/variants.js';
import { MMModel } from '../model/world.js';
import { fromItf, type ItfTrace } from './itf.js';
import { flatten, readableState, type ReadableState } from '../model/readable.js';

export type ReplayOutcome =
  | { ok: true; steps: number; message: string }
  | { ok: false; step: number; reason: string };

export function replayTrace(t: ItfTrace): ReplayOutcome {
  const meta = t['#meta'];
  const bad = (step: number, reason: string): ReplayOutcome => ({ ok: false, step, reason });
  for (const s of meta.switches) if (!SWITCHES.some((x) => x.name === s)) return bad(0, `switch "${s}" is unknown to this mmcheck`);
  for (const m of meta.mutants) if (!MUTANTS.some((x) => x.name === m)) return bad(0, `mutant "${m}" is unknown to this mmcheck`);
  const variant: Variant = {
    version: meta.kernel,
    epoch: meta.epoch,
    switches: new Set(meta.switches as SwitchName[]),
    mutants: new Set(meta.mutants as MutantName[]),
  };
  let model: MMModel;
  try {
    model = new MMModel(meta.scenarioSpec, variant);
  } catch (e) {
    if (e instanceof ScenarioError) return bad(0, `the recorded scenario is not valid here: ${e.message}`);
    throw e;
  }
  const actions = [0, ...t.states.slice(1).map((s) => s['#meta'].actionId!)];
  for (let i = 1; i < t.states.length; i++) {
    const m = t.states[i]!['#meta'];
    const a = model.actions[actions[i]!];
    if (!a || a.threadName !== m.thread || a.op !== m.operation || a.label !== m.action) {
      return bad(i, `action ${actions[i]} is "${a ? `${a.threadName}: ${a.op} · ${a.label}` : 'nothing'}" in this model, the file says "${m.thread}: ${m.operation} · ${m.action}" (the model changed)`);
    }
  }
  let path;
  try {
    path = replayActions(model, actions);
  } catch (e) {
    if (e instanceof ReplayError) return bad(Number(/step (\d+)/.exec(e.message)?.[1] ?? 0), e.message);
    throw e;
  }
  for (let i = 0; i < path.length; i++) {
    const want = flatten(fromItf(pick(t.states[i]!)) as ReadableState);
    const got = flatten(readableState(model, path[i]!.state));
    for (const key of new Set([...want.keys(), ...got.keys()])) {
      if (want.get(key) !== got.get(key)) {
        return bad(i, `${key}: the file has "${want.get(key) ?? '(nothing)'}", the model gives "${got.get(key) ?? '(nothing)'}"`);
      }
    }
  }
  const inv = findInvariant(meta.invariant);
  if (!inv && meta.invariant !== 'deadlock') return bad(path.length - 1, `invariant "${meta.invariant}" is unknown to this mmcheck`);
  const last = path[path.length - 1]!.state;
  const message = inv
    ? toEngineInvariant(inv, model.view(new Int32Array(model.stateWords))).check(last)
    : model.isDeadlock(last) && countSuccessors(model, last) === 0
      ? 'no thread can move'
      : null;
  if (message === null) return bad(path.length - 1, `the last state does not violate ${meta.invariant}`);
  if (message !== meta.message) return bad(path.length - 1, `${meta.invariant} is violated, but with "${message}", not "${meta.message}"`);
  return { ok: true, steps: path.length - 1, message };
}

function pick(s: Record<string, unknown>) {
  return { mms: s.mms, files: s.files, pages: s.pages, swap: s.swap, gup: s.gup, threads: s.threads };
}

function countSuccessors(model: MMModel, s: Int32Array): number {
  let n = 0;
  model.successors(s, () => n++);
  return n;
}
