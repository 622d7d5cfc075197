/**
 * Trace files in the Informal Trace Format (ITF) that Apalache and Quint
 * write: "#meta", "vars", "states"; integers as {"#bigint": "..."}.
 * mmcheck's own metadata goes in "#meta": the tool version, the kernel
 * version with the exact switches and mutants, the scenario (its name and
 * its full definition, so the file replays even if the built-in changes),
 * the invariant and its message. Each state's "#meta" names the action
 * taken, its thread and kernel function, and the engine's action id.
 */
import type { ScenarioSpec } from '../model/scenario.js';
import type { Variant } from '../model/variants.js';
import type { ReadableState } from '../model/readable.js';
import { diff, locksHeld, type Trace } from './trace.js';

/** Bumped when the file layout changes; older files are read as long as the reader knows their version. */
export const TRACE_FORMAT_VERSION = 1;

export interface ItfMeta {
  format: 'ITF';
  'format-description': string;
  source: string;
  description: string;
  tool: string;
  'mmcheck-trace-version': number;
  kernel: string;
  epoch: string;
  switches: string[];
  mutants: string[];
  scenario: string;
  scenarioSpec: ScenarioSpec;
  invariant: string;
  /** The invariant file that defines `invariant`, when it is not a built-in. */
  invariantFile?: string;
  message: string;
  preemptions: number;
  operations: number;
  minimal: boolean;
}

export interface ItfStateMeta {
  index: number;
  thread?: string;
  operation?: string;
  action?: string;
  kernelFunction?: string;
  notes?: string[];
  actionId?: number;
  preempted?: boolean;
}

export interface ItfTrace {
  '#meta': ItfMeta;
  vars: string[];
  states: (Record<string, unknown> & { '#meta': ItfStateMeta })[];
}

/** ITF value encoding: numbers become {"#bigint"}, containers recurse. */
export function toItf(x: unknown): unknown {
  if (typeof x === 'number') return { '#bigint': String(x) };
  if (Array.isArray(x)) return x.map(toItf);
  if (x && typeof x === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(x)) out[k] = toItf(v);
    return out;
  }
  return x;
}

/** The inverse of toItf. */
export function fromItf(x: unknown): unknown {
  if (Array.isArray(x)) return x.map(fromItf);
  if (x && typeof x === 'object') {
    const o = x as Record<string, unknown>;
    if ('#bigint' in o) return Number(o['#bigint']);
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(o)) out[k] = fromItf(v);
    return out;
  }
  return x;
}

export const VARS = ['mms', 'files', 'pages', 'swap', 'gup', 'threads', 'action'] as const;

function stateRecord(r: ReadableState, action: string, meta: ItfStateMeta) {
  return {
    '#meta': meta,
    mms: toItf(r.mms),
    files: toItf(r.files),
    pages: toItf(r.pages),
    swap: toItf(r.swap),
    gup: toItf(r.gup),
    threads: toItf(r.threads),
    action,
  };
}

export function traceToItf(trace: Trace, ctx: { scenario: ScenarioSpec; variant: Variant; toolVersion: string; invariantFile?: string }): ItfTrace {
  const meta: ItfMeta = {
    format: 'ITF',
    'format-description': 'https://apalache-mc.org/docs/adr/015adr-trace.html',
    source: ctx.scenario.name,
    description: `counterexample to ${trace.invariant} on ${ctx.scenario.name}, kernel ${ctx.variant.version}`,
    tool: `mmcheck ${ctx.toolVersion}`,
    'mmcheck-trace-version': TRACE_FORMAT_VERSION,
    kernel: ctx.variant.version,
    epoch: ctx.variant.epoch,
    switches: [...ctx.variant.switches],
    mutants: [...ctx.variant.mutants],
    scenario: ctx.scenario.name,
    scenarioSpec: ctx.scenario,
    invariant: trace.invariant,
    ...(ctx.invariantFile ? { invariantFile: ctx.invariantFile } : {}),
    message: trace.message,
    preemptions: trace.preemptions,
    operations: trace.operations,
    minimal: trace.minimal,
  };
  const states = [stateRecord(trace.initial, 'init', { index: 0 })];
  for (const s of trace.steps) {
    states.push(
      stateRecord(s.state, `${s.operation} · ${s.action}`, {
        index: s.index,
        thread: s.thread,
        operation: s.operation,
        action: s.action,
        kernelFunction: s.kernelFunction,
        notes: s.notes,
        actionId: s.actionId,
        preempted: s.preempted,
      }),
    );
  }
  return { '#meta': meta, vars: [...VARS], states };
}

export class TraceFileError extends Error {}

/** Checks a parsed file is an mmcheck ITF trace this version can read; throws TraceFileError with the reason. */
export function checkTraceFile(json: unknown): ItfTrace {
  const fail = (why: string): never => {
    throw new TraceFileError(why);
  };
  if (!json || typeof json !== 'object') fail('not a JSON object');
  const t = json as Partial<ItfTrace>;
  if (!t['#meta'] || !Array.isArray(t.states) || !Array.isArray(t.vars)) fail('not an ITF trace (needs "#meta", "vars" and "states")');
  const meta = t['#meta'] as Partial<ItfMeta>;
  const v = meta['mmcheck-trace-version'];
  if (v === undefined) fail('an ITF trace, but not one written by mmcheck (no "mmcheck-trace-version" in #meta)');
  if (typeof v !== 'number' || v > TRACE_FORMAT_VERSION) {
    fail(`written by ${meta.tool ?? 'a newer mmcheck'} in trace format ${String(v)}; this mmcheck reads formats up to ${TRACE_FORMAT_VERSION}`);
  }
  for (const k of ['kernel', 'switches', 'mutants', 'scenarioSpec', 'invariant', 'message'] as const) {
    if (meta[k] === undefined) fail(`#meta has no "${k}"`);
  }
  t.states!.forEach((s, i) => {
    for (const name of t.vars!) if (!(name in s)) fail(`state ${i} has no variable "${name}"`);
    if (i > 0 && typeof s['#meta']?.actionId !== 'number') fail(`state ${i} has no action id in its #meta`);
  });
  return t as ItfTrace;
}

/** A trace read back from a file, for showing and drawing (changes and locks recomputed). */
export function traceFromItf(t: ItfTrace): Trace & { meta: ItfMeta } {
  const states = t.states.map((s) => fromItf({ mms: s.mms, files: s.files, pages: s.pages, swap: s.swap, gup: s.gup, threads: s.threads }) as ReadableState);
  const steps = t.states.slice(1).map((s, i) => {
    const m = s['#meta'];
    return {
      index: m.index,
      thread: m.thread ?? '?',
      operation: m.operation ?? '?',
      action: m.action ?? '?',
      kernelFunction: m.kernelFunction ?? '',
      notes: m.notes ?? [],
      changes: diff(states[i]!, states[i + 1]!),
      locks: locksHeld(states[i + 1]!),
      preempted: m.preempted ?? false,
      state: states[i + 1]!,
      actionId: m.actionId ?? -1,
    };
  });
  const meta = t['#meta'];
  return {
    meta,
    invariant: meta.invariant,
    message: meta.message,
    initial: states[0]!,
    steps,
    preemptions: meta.preemptions ?? steps.filter((s) => s.preempted).length,
    threads: [...new Set(steps.map((s) => s.thread))],
    operations: meta.operations ?? new Set(steps.map((s) => `${s.thread}\u0000${s.operation}`)).size,
    minimal: meta.minimal ?? false,
  };
}
