/**
 * Trace files in the Informal Trace Format (ITF) that Apalache and Quint
 * write: "#meta", "vars", "states"; integers as {"#bigint": "..."}.
 * mmcheck's own metadata goes in "#meta": the tool version, the kernel
 * version with the exact switches and mutants, the scenario (its name and
 * its full definition, so the file replays even if the built-in changes),
 * the invariant and its message. Each state's "#meta" names the action
 * taken, its thread and kernel function, and the engine's action id.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { arr, bool, int, obj, opt, record, req, type Schema, SchemaError, str, validate } from '../model/json-schema.js';
import type { ScenarioSpec } from '../model/scenario.js';
import { SCENARIO_SCHEMA } from '../model/scenario-file.js';
import type { Variant } from '../model/variants.js';
import type { ReadableState } from '../model/readable.js';
import { MM_OBJECTS } from '../model/objects.js';
import type { Readable } from '../model/schema.js';
import { diff, locksHeld, type Trace } from './trace.js';

/**
 * Bumped when the file layout or the meaning of its fields changes. 2: each
 * step outcome is an action of its own (action ids changed), and the file
 * records its invariant file's SHA-256. 3: sleeping is an outcome of its own
 * (action ids changed again); locks show their holders, and each state
 * lists the locks per holder; i_rwsem is a field of its own.
 */
export const TRACE_FORMAT_VERSION = 3;
/** The versions `trace show` and `trace html` read (replay needs the current one: it re-runs action ids). */
const READABLE_VERSIONS = [1, 2, 3];

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
  /** SHA-256 of that file's contents: replay checks the file it is given against it. */
  invariantFileSha256?: string;
  /** lock-order: the dependency the trace takes ("A -> B": B taken while A is held). */
  lockDependency?: string;
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

/** The state's sections, in the schema's order (mms, pages, swap, gup, files, anon_vmas, threads), then the locks per holder and the action. */
const SECTIONS: readonly string[] = [...new Set(MM_OBJECTS.filter((o) => !o.readable.hidden).map((o) => o.readable.section))];
export const VARS: readonly string[] = [...SECTIONS, 'locks', 'action'];

function stateRecord(r: ReadableState, action: string, meta: ItfStateMeta) {
  const sections = r as unknown as Record<string, unknown>;
  return {
    '#meta': meta,
    ...Object.fromEntries(SECTIONS.map((v) => [v, toItf(sections[v] ?? {})])),
    locks: r.locks ?? {},
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
    ...(ctx.invariantFile ? { invariantFile: ctx.invariantFile, invariantFileSha256: fileSha256(ctx.invariantFile) } : {}),
    message: trace.message,
    ...(trace.lockDependency ? { lockDependency: trace.lockDependency } : {}),
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

/** SHA-256 of a file's contents, in hex. */
export function fileSha256(file: string): string {
  return createHash('sha256').update(readFileSync(file)).digest('hex');
}

const BIGINT = obj({ '#bigint': req(str('an integer as text')) }, 'an ITF integer');
const STRINGS = arr(str());
/** The JSON schema of a readable value, as the state schema declares it (integers are ITF big integers). */
function readableJson(j: Readable['json']): Schema {
  if (j === 'int') return BIGINT;
  if (j === 'string') return str();
  if (j === 'strings') return STRINGS;
  if (j === 'bool') return bool();
  if ('record' in j) return record(readableJson(j.record));
  return obj(Object.fromEntries(Object.entries(j.object).map(([k, x]) => [k, req(readableJson(x))])));
}

/** A state's sections (mms, pages, ...), from the state schema (model/objects.ts): what readableState writes. */
const STATE_SECTIONS = Object.fromEntries(
  MM_OBJECTS.filter((o) => !o.readable.hidden).map((o) => {
    if (o.readable.value) return [o.readable.section, req(record(readableJson(o.readable.json ?? 'string')))];
    const props: Record<string, { schema: Schema; optional?: boolean }> = {};
    for (const f of o.fields) {
      if (!f.readable) continue;
      if (!f.readable.key) throw new Error(`${o.kind}.${f.name}: a readable field needs a key`);
      props[f.readable.key] = f.readable.optional ? opt(readableJson(f.readable.json)) : req(readableJson(f.readable.json));
    }
    // Sections added in version 3 (anon_vmas) are absent from older files.
    return [o.readable.section, o.readable.mayBeAbsent ? opt(record(obj(props))) : req(record(obj(props)))];
  }),
);
const STATE_META = obj({
  index: req(int()),
  thread: opt(str()),
  operation: opt(str()),
  action: opt(str()),
  kernelFunction: opt(str()),
  notes: opt(STRINGS),
  actionId: opt(int('', 0)),
  preempted: opt(bool()),
});
/** The shape of an mmcheck ITF trace file, checked before anything reads it. */
export const TRACE_SCHEMA: Schema = obj({
  '#meta': req(
    obj({
      format: req(str('', { enum: ['ITF'] })),
      'format-description': opt(str()),
      source: req(str()),
      description: req(str()),
      tool: req(str()),
      'mmcheck-trace-version': req(int()),
      kernel: req(str()),
      epoch: req(str()),
      switches: req(STRINGS),
      mutants: req(STRINGS),
      scenario: req(str()),
      scenarioSpec: req(SCENARIO_SCHEMA),
      invariant: req(str()),
      invariantFile: opt(str()),
      invariantFileSha256: opt(str()),
      lockDependency: opt(str()),
      message: req(str()),
      preemptions: req(int('', 0)),
      operations: req(int('', 0)),
      minimal: req(bool()),
    }),
  ),
  vars: req(STRINGS),
  states: req(
    arr(
      obj({
        '#meta': req(STATE_META),
        ...STATE_SECTIONS,
        locks: opt(record(STRINGS)),
        action: req(str()),
      }),
      'the initial state, then one per step',
      1,
    ),
  ),
});

/**
 * Checks a parsed file is an mmcheck ITF trace this version can read (every
 * field of the right type); throws TraceFileError with the field and the
 * reason. forReplay: only the current format (replay re-runs action ids).
 */
export function checkTraceFile(json: unknown, forReplay = false): ItfTrace {
  const fail = (why: string): never => {
    throw new TraceFileError(why);
  };
  if (!json || typeof json !== 'object' || Array.isArray(json)) fail('not a JSON object');
  const t = json as Partial<ItfTrace>;
  const meta = t['#meta'] as Partial<ItfMeta> | undefined;
  if (!meta || typeof meta !== 'object') fail('not an ITF trace (needs "#meta", "vars" and "states")');
  const v = meta!['mmcheck-trace-version'];
  if (v === undefined) fail('an ITF trace, but not one written by mmcheck (no "mmcheck-trace-version" in #meta)');
  const known = forReplay ? [TRACE_FORMAT_VERSION] : READABLE_VERSIONS;
  if (typeof v !== 'number' || !known.includes(v)) {
    const newer = typeof v === 'number' && v > TRACE_FORMAT_VERSION;
    fail(
      `#meta.mmcheck-trace-version: ${JSON.stringify(v)} is not a trace format this mmcheck ${forReplay ? 'replays' : 'reads'} (${known.join(', ')})` +
        (newer
          ? `: it was written by ${String(meta!.tool ?? 'a newer mmcheck')}`
          : typeof v === 'number' && v >= 1 && v < TRACE_FORMAT_VERSION
            ? ': an older mmcheck wrote it; check again to get a new trace'
            : ''),
    );
  }
  try {
    validate(json, TRACE_SCHEMA);
  } catch (e) {
    if (e instanceof SchemaError) fail(e.message);
    throw e;
  }
  t.states!.forEach((s, i) => {
    if (i > 0 && typeof s['#meta'].actionId !== 'number') fail(`states[${i}].#meta.actionId: missing (every step names its action)`);
  });
  return t as ItfTrace;
}

/** A trace read back from a file, for showing and drawing (changes and locks recomputed). */
export function traceFromItf(t: ItfTrace): Trace & { meta: ItfMeta } {
  // Every var but the action (older files lack the sections added since: anon_vmas, locks).
  const states = t.states.map(
    (s) =>
      fromItf(
        Object.fromEntries(VARS.filter((v) => v !== 'action' && (s as Record<string, unknown>)[v] !== undefined).map((v) => [v, (s as Record<string, unknown>)[v]])),
      ) as ReadableState,
  );
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
