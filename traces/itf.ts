/**
 * Trace files in the Informal Trace Format (ITF) that Apalache and Quint
 * write: "#meta", "vars", "states"; integers as {"#bigint": "..."}.
 * mmcheck's own metadata (tool, kernel and switches, scenario, invariant,
 * message) is in "#meta", and each state's "#meta" names the action taken,
 * the thread and the kernel function.
 */
import type { Variant } from '../model/variants.js';
import type { ReadableState } from './readable.js';
import type { Trace } from './trace.js';

export const TRACE_FORMAT_VERSION = 1;

export interface ItfMeta {
  format: 'ITF';
  'format-description': string;
  source: string;
  tool: string;
  'mmcheck-trace-version': number;
  kernel: string;
  epoch: string;
  switches: string[];
  mutants: string[];
  scenario: string;
  invariant: string;
  message: string;
  description: string;
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

const VARS = ['mms', 'files', 'pages', 'swap', 'gup', 'threads', 'action'] as const;

function stateRecord(r: ReadableState, action: string, meta: Record<string, unknown>) {
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

export function traceToItf(trace: Trace, ctx: { scenario: string; variant: Variant; toolVersion: string }) {
  const meta: ItfMeta = {
    format: 'ITF',
    'format-description': 'https://apalache-mc.org/docs/adr/015adr-trace.html',
    source: ctx.scenario,
    tool: `mmcheck ${ctx.toolVersion}`,
    'mmcheck-trace-version': TRACE_FORMAT_VERSION,
    kernel: ctx.variant.version,
    epoch: ctx.variant.epoch,
    switches: [...ctx.variant.switches],
    mutants: [...ctx.variant.mutants],
    scenario: ctx.scenario,
    invariant: trace.invariant,
    message: trace.message,
    description: `counterexample to ${trace.invariant} on ${ctx.scenario}, kernel ${ctx.variant.version}`,
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
      }),
    );
  }
  return { '#meta': meta, vars: [...VARS], states };
}
