/**
 * A counterexample as a kernel developer reads it: for each step the thread,
 * the operation, the kernel function, what the step decided (narrated by
 * re-running it) and which fields changed.
 */
import type { Violation } from '../checker/model.js';
import type { MMModel } from '../model/world.js';
import { flatten, readableState, type ReadableState } from './readable.js';

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
  state: ReadableState;
  /** Engine action id (for replay). */
  actionId: number;
}

export interface Trace {
  invariant: string;
  message: string;
  initial: ReadableState;
  steps: TraceStep[];
}

export function buildTrace(model: MMModel, v: Violation): Trace {
  const initial = readableState(model, v.path[0]!.state);
  const steps: TraceStep[] = [];
  let prev = flatten(initial);
  for (let i = 1; i < v.path.length; i++) {
    const { action, state } = v.path[i]!;
    const before = v.path[i - 1]!.state;
    const info = model.actions[action]!;
    const narrated = model.narrate(before, action);
    const readable = readableState(model, state);
    const flat = flatten(readable);
    const changes: Change[] = [];
    const keys = new Set([...prev.keys(), ...flat.keys()]);
    for (const key of keys) {
      const b = prev.get(key) ?? '(none)';
      const a = flat.get(key) ?? '(freed)';
      if (a !== b) changes.push({ field: key, before: b, after: a });
    }
    steps.push({
      index: i,
      thread: info.threadName,
      operation: info.op,
      action: info.label,
      kernelFunction: info.where,
      notes: narrated?.notes ?? [],
      changes,
      state: readable,
      actionId: action,
    });
    prev = flat;
  }
  return { invariant: v.invariant, message: v.message, initial, steps };
}
