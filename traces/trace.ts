/**
 * A counterexample as a kernel developer reads it: for each step the thread,
 * the operation, the kernel function, what the step decided (narrated by
 * re-running it), which fields changed and which locks are held after it.
 */
import type { PathStep } from '../checker/model.js';
import type { MMModel, WaitFor } from '../model/world.js';
import { countPreemptions } from './minimize.js';
import { flatten, readableState, type ReadableState } from '../model/readable.js';

export interface Change {
  field: string;
  before: string;
  after: string;
}

export interface TraceStep {
  /** 1-based step number. */
  index: number;
  thread: string;
  /** The operation (menu entry) this step belongs to. */
  operation: string;
  /** The step, e.g. "do_wp_page". */
  action: string;
  /** Kernel source reference, e.g. "mm/memory.c:do_wp_page (5.7-6.2)". */
  kernelFunction: string;
  /** What the step decided, in the kernel's terms. */
  notes: string[];
  changes: Change[];
  /** Locks held once the step is done. */
  locks: string[];
  /** A switch away from a thread that could have continued its operation. */
  preempted: boolean;
  state: ReadableState;
  /** Engine action id (for replay). */
  actionId: number;
}

export interface Trace {
  invariant: string;
  message: string;
  initial: ReadableState;
  steps: TraceStep[];
  preemptions: number;
  /** Threads that took a step. */
  threads: string[];
  /** Operations started. */
  operations: number;
  /** False when the trace could not be proven minimal (the search for one was too large). */
  minimal: boolean;
  /** One of several traces of one violation (lock-order: one per acquisition of the cycle): names its file. */
  part?: string;
  /** lock-order: the dependency this trace takes ("A -> B": B taken while A is held). */
  lockDependency?: string;
  /** A deadlock's waits where the trace ends: who waits for what, held by whom, and the cycle (model/world.ts). */
  waitFor?: WaitFor;
}

/** The locks a readable state shows held, per holder ("T1: P mmap_lock (read), pfn 2 PG_locked"). */
export function locksHeld(r: ReadableState): string[] {
  if (r.locks) return Object.entries(r.locks).map(([t, held]) => `${t}: ${held.join(', ')}`);
  // Trace files before version 3 name no holders.
  const out: string[] = [];
  for (const [name, mm] of Object.entries(r.mms)) if (mm.mmap_lock !== 'unlocked') out.push(`${name} mmap_lock (${mm.mmap_lock})`);
  for (const [name, f] of Object.entries(r.files)) {
    if (f.flags.includes('i_rwsem')) out.push(`${name} i_rwsem`);
    if (f.i_mmap_rwsem !== 'unlocked') out.push(`${name} i_mmap_rwsem (${f.i_mmap_rwsem})`);
  }
  for (const [pfn, p] of Object.entries(r.pages)) if (p.flags.includes('locked')) out.push(`pfn ${pfn} PG_locked`);
  return out;
}

/** Field-by-field differences between two readable states. */
export function diff(before: ReadableState, after: ReadableState): Change[] {
  const prev = flatten(before);
  const next = flatten(after);
  const changes: Change[] = [];
  for (const key of new Set([...prev.keys(), ...next.keys()])) {
    const b = prev.get(key) ?? '(none)';
    const a = next.get(key) ?? '(freed)';
    if (a !== b) changes.push({ field: key, before: b, after: a });
  }
  return changes;
}

export function buildTrace(model: MMModel, v: { invariant: string; message: string; path: PathStep[] }, minimal = true): Trace {
  const initial = readableState(model, v.path[0]!.state);
  const steps: TraceStep[] = [];
  let prev = initial;
  for (let i = 1; i < v.path.length; i++) {
    const { action, state } = v.path[i]!;
    const before = v.path[i - 1]!.state;
    const info = model.actions[action]!;
    const narrated = model.narrate(before, action);
    const readable = readableState(model, state);
    const preempted = i >= 2 && countPreemptions(model, v.path.slice(i - 2, i + 1)) === 1;
    steps.push({
      index: i,
      thread: info.threadName,
      operation: info.op,
      action: info.label,
      kernelFunction: info.where,
      notes: narrated?.notes ?? [],
      changes: diff(prev, readable),
      locks: locksHeld(readable),
      preempted,
      state: readable,
      actionId: action,
    });
    prev = readable;
  }
  return {
    invariant: v.invariant,
    message: v.message,
    initial,
    steps,
    preemptions: steps.filter((s) => s.preempted).length,
    threads: [...new Set(steps.map((s) => s.thread))],
    operations: v.path.slice(1).filter((p) => model.actions[p.action]!.step === 0).length,
    minimal,
  };
}
