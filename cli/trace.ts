/**
 * mmcheck trace replay|show|html FILE: work with saved counterexamples.
 */
import { writeFileSync } from 'node:fs';
import { checkTraceFile, TraceFileError, traceFromItf, type ItfTrace } from '../traces/itf.js';
import { traceToHtml } from '../traces/html.js';
import { renderTrace } from '../traces/render-text.js';
import { replayTrace } from '../traces/replay.js';
import { UsageError } from './usage.js';
import { InvariantFileError, loadInvariantFile } from '../invariants/invariant-file.js';
import { findInvariant } from '../invariants/registry.js';
import { checkJson, InputError, readText } from '../model/json-schema.js';

export function readTraceFile(file: string): ItfTrace {
  try {
    return checkTraceFile(checkJson(readText(file, 'trace file'), file));
  } catch (e) {
    if (e instanceof InputError) throw new UsageError(e.message);
    if (e instanceof TraceFileError) throw new UsageError(`${file}: ${e.message}`);
    throw e;
  }
}

export async function traceReplay(file: string): Promise<{ code: number; out: string }> {
  const t = readTraceFile(file);
  const meta = t['#meta'];
  if (meta.invariantFile && !findInvariant(meta.invariant)) {
    try {
      await loadInvariantFile(meta.invariantFile);
    } catch (e) {
      if (e instanceof InvariantFileError) throw new UsageError(`${file}: its invariant ${meta.invariant} comes from ${meta.invariantFile}, which does not load: ${e.message}`);
      throw e;
    }
  }
  const r = replayTrace(t);
  if (r.ok) return { code: 0, out: `replayed ${r.steps} steps: ${t['#meta'].invariant} is violated: ${r.message}` };
  return { code: 1, out: `diverged at step ${r.step}: ${r.reason}` };
}

export function traceShow(file: string, step: number | undefined, full: boolean, color: boolean): { code: number; out: string } {
  const t = traceFromItf(readTraceFile(file));
  if (step !== undefined && (step < 1 || step > t.steps.length)) throw new UsageError(`--step ${step}: the trace has steps 1 to ${t.steps.length}`);
  const head = `${t.meta.invariant} on scenario ${t.meta.scenario}, kernel ${t.meta.kernel} (${t.meta.switches.join(', ') || 'no switches'}${t.meta.mutants.length ? `; MUTANT ${t.meta.mutants.join(', ')}` : ''}), ${t.meta.tool}`;
  return { code: 0, out: `${head}\n${renderTrace(t, { color, step, full })}` };
}

export function traceHtml(file: string, out: string | undefined): { code: number; out: string } {
  if (!out) throw new UsageError('trace html needs -o OUT.html');
  const t = traceFromItf(readTraceFile(file));
  try {
    writeFileSync(out, traceToHtml(t, { kernel: t.meta.kernel, scenario: t.meta.scenario }));
  } catch (e) {
    throw new UsageError(`cannot write ${out}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  return { code: 0, out: `wrote ${out} (${t.steps.length} steps)` };
}
