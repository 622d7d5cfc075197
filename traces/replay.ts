/**
 * Replays a trace file against the model and confirms only what it derives
 * again itself: the kernel label against the switches it implies, the epoch,
 * the scenario's name against its recorded definition, then every step (its
 * action, thread, operation, kernel function, narration and preemption flag)
 * and every state field by field, the summary counts, and that the last state
 * violates the recorded invariant with the recorded message. Anything that
 * differs is reported with the field and the step.
 */
import { replayActions, ReplayError } from '../checker/path.js';
import type { PathStep } from '../checker/model.js';
import { findInvariant, toEngineInvariant } from '../invariants/registry.js';
import { ScenarioError } from '../model/scenario.js';
import { MUTANTS, type MutantName, resolveVariant, SWITCHES, type SwitchName, type Variant, VariantError } from '../model/variants.js';
import { MMModel } from '../model/world.js';
import { dependency } from '../model/lockdep.js';
import { LOCK_CLASSES } from '../model/locks.js';
import { fromItf, type ItfTrace, VARS } from './itf.js';
import { flatten, readableState, type ReadableState } from '../model/readable.js';
import { buildTrace } from './trace.js';

export type ReplayOutcome = { ok: true; steps: number; message: string } | { ok: false; step: number; reason: string };

/** Replays t; on success, `keep` receives the model and the path (for a reproducer). */
export function replayTrace(t: ItfTrace, keep?: { model?: MMModel; path?: PathStep[] }): ReplayOutcome {
  const meta = t['#meta'];
  const bad = (step: number, reason: string): ReplayOutcome => ({ ok: false, step, reason });
  for (const s of meta.switches) if (!SWITCHES.some((x) => x.name === s)) return bad(0, `#meta.switches: switch "${s}" is unknown to this mmcheck`);
  for (const m of meta.mutants) if (!MUTANTS.some((x) => x.name === m)) return bad(0, `#meta.mutants: mutant "${m}" is unknown to this mmcheck`);
  // The kernel label must say what the switches are: its own, unless the epoch says they were changed (--patch/--revert).
  let release: Variant;
  try {
    release = resolveVariant({ kernel: meta.kernel });
  } catch (e) {
    if (e instanceof VariantError) return bad(0, `#meta.kernel: ${e.message}`);
    throw e;
  }
  const modified = meta.epoch.endsWith('+modified');
  if (meta.epoch.replace(/\+modified$/, '') !== release.epoch) return bad(0, `#meta.epoch: kernel ${meta.kernel} is epoch ${release.epoch}, the file says ${meta.epoch}`);
  const recorded = new Set(meta.switches);
  const missing = [...release.switches].filter((s) => !recorded.has(s));
  const extra = meta.switches.filter((s) => !release.switches.has(s as SwitchName));
  if (!modified && (missing.length || extra.length)) {
    const what = [...missing.map((s) => `without ${s}`), ...extra.map((s) => `with ${s}`)].join(', ');
    return bad(0, `#meta.switches: kernel ${meta.kernel} has switches its file does not list as changed (${what}) and the epoch does not say "+modified"`);
  }
  if (meta.scenario !== meta.scenarioSpec.name) return bad(0, `#meta.scenario: "${meta.scenario}", but the recorded scenario definition is "${meta.scenarioSpec.name}"`);
  if (meta.source !== meta.scenario) return bad(0, `#meta.source: "${meta.source}", but the scenario is "${meta.scenario}"`);
  const variant: Variant = {
    version: meta.kernel,
    epoch: meta.epoch,
    switches: new Set(meta.switches as SwitchName[]),
    mutants: new Set(meta.mutants as MutantName[]),
  };
  // A lock-order trace takes one lock dependency: the model watches for it (model/lockdep.ts).
  let lockdep: number | undefined;
  if (meta.invariant === 'lock-order') {
    const m = /^(\S+) -> (\S+)$/.exec(meta.lockDependency ?? '');
    const id = (n: string) => LOCK_CLASSES.find((c) => c.name === n)?.id;
    if (!m || id(m[1]!) === undefined || id(m[2]!) === undefined)
      return bad(0, '#meta.lockDependency: a lock-order trace names the dependency it takes, as "CLASS -> CLASS" (lock classes of this mmcheck)');
    lockdep = dependency(id(m[1]!)!, id(m[2]!)!);
  }
  let model: MMModel;
  try {
    model = new MMModel(meta.scenarioSpec, variant, { lockdep });
  } catch (e) {
    if (e instanceof ScenarioError) return bad(0, `the recorded scenario is not valid here: ${e.message}`);
    throw e;
  }
  const actions = [0, ...t.states.slice(1).map((s) => s['#meta'].actionId!)];
  for (let i = 1; i < t.states.length; i++) {
    const m = t.states[i]!['#meta'];
    const a = model.actions[actions[i]!];
    if (!a || a.threadName !== m.thread || a.op !== m.operation || a.label !== m.action) {
      return bad(
        i,
        `action ${actions[i]} is "${a ? `${a.threadName}: ${a.op} · ${a.label}` : 'nothing'}" in this model, the file says "${m.thread}: ${m.operation} · ${m.action}" (the model changed)`,
      );
    }
  }
  let path: PathStep[];
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
  // Every label the file shows, derived again: kernel function, narration, preemption; then the summary.
  const again = buildTrace(model, { invariant: meta.invariant, message: meta.message, path });
  for (const s of again.steps) {
    const m = t.states[s.index]!['#meta'];
    const field = (name: string, want: unknown, got: unknown): ReplayOutcome | null =>
      JSON.stringify(want) === JSON.stringify(got)
        ? null
        : bad(s.index, `states[${s.index}].#meta.${name}: the file has ${JSON.stringify(want)}, the model gives ${JSON.stringify(got)}`);
    const diverged =
      field('kernelFunction', m.kernelFunction, s.kernelFunction) ??
      field('notes', m.notes ?? [], s.notes) ??
      field('preempted', m.preempted ?? false, s.preempted) ??
      field('index', m.index, s.index);
    if (diverged) return diverged;
  }
  const last = path.length - 1;
  if (meta.preemptions !== again.preemptions) return bad(last, `#meta.preemptions: the file has ${meta.preemptions}, the trace has ${again.preemptions}`);
  if (meta.operations !== again.operations) return bad(last, `#meta.operations: the file has ${meta.operations}, the trace has ${again.operations}`);
  const inv = findInvariant(meta.invariant);
  if (!inv && meta.invariant !== 'deadlock' && lockdep === undefined) return bad(last, `invariant "${meta.invariant}" is unknown to this mmcheck`);
  const description = `counterexample to ${meta.invariant} on ${meta.scenario}, kernel ${meta.kernel}`;
  if (meta.description !== description) return bad(0, `#meta.description: "${meta.description}", but the trace is a ${description}`);
  const lastState = path[last]!.state;
  const message = inv
    ? toEngineInvariant(inv, model.view(new Int32Array(model.stateWords))).check(lastState)
    : lockdep !== undefined
      ? model.lockdepWitness().check(lastState)
      : model.isDeadlock(lastState) && countSuccessors(model, lastState) === 0
        ? model.deadlockMessage(lastState)
        : null;
  if (message === null) return bad(last, `the last state does not violate ${meta.invariant}`);
  if (message !== meta.message) return bad(last, `${meta.invariant} is violated, but with "${message}", not "${meta.message}"`);
  if (keep) Object.assign(keep, { model, path });
  return { ok: true, steps: last, message };
}

/** The readable sections of a state record (every var but the action). */
function pick(s: Record<string, unknown>) {
  return Object.fromEntries(VARS.filter((v) => v !== 'action').map((v) => [v, s[v]]));
}

function countSuccessors(model: MMModel, s: Int32Array): number {
  let n = 0;
  model.successors(s, () => n++);
  return n;
}
