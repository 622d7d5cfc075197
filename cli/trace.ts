/**
 * mmcheck trace replay|show|html FILE: work with saved counterexamples.
 */
import { writeFileSync } from 'node:fs';
import { checkTraceFile, fileSha256, TraceFileError, traceFromItf, type ItfTrace } from '../traces/itf.js';
import { traceToHtml } from '../traces/html.js';
import { renderTrace } from '../traces/render-text.js';
import { replayTrace } from '../traces/replay.js';
import { UsageError } from './usage.js';
import { InvariantFileError, loadInvariantFile } from '../invariants/invariant-file.js';
import { invariantSource } from '../invariants/registry.js';
import { checkJson, InputError, readText } from '../model/json-schema.js';

export function readTraceFile(file: string, forReplay = false): ItfTrace {
  try {
    return checkTraceFile(checkJson(readText(file, 'trace file'), file), forReplay);
  } catch (e) {
    if (e instanceof InputError) throw new UsageError(e.message);
    if (e instanceof TraceFileError) throw new UsageError(`${file}: ${e.message}`);
    throw e;
  }
}

/**
 * Replays a trace file. A trace of a user's invariant needs its invariant
 * file on the command line: replay never imports a module because a trace
 * file names it, and the file given must be the one the trace was made with
 * (its SHA-256).
 */
export async function traceReplay(file: string, invariantFiles: string[] = []): Promise<{ code: number; out: string }> {
  const t = readTraceFile(file, true);
  const meta = t['#meta'];
  for (const f of invariantFiles) {
    try {
      await loadInvariantFile(f);
    } catch (e) {
      if (e instanceof InvariantFileError) throw new UsageError(e.message);
      throw e;
    }
  }
  if (meta.invariantFile !== undefined) {
    const named = `${file}: its invariant ${meta.invariant} comes from ${meta.invariantFile}`;
    if (invariantFiles.length === 0) {
      throw new UsageError(`${named}; replay loads no module a trace file names: give it with --invariants-file (it is checked against the SHA-256 the trace records)`);
    }
    const src = invariantSource(meta.invariant);
    if (!src) return { code: 1, out: `diverged at step 0: ${named}, and the --invariants-file given does not define it` };
    const hash = fileSha256(src);
    if (meta.invariantFileSha256 !== hash) {
      return {
        code: 1,
        out: `diverged at step 0: ${named}; ${src} is not that file (SHA-256 ${hash.slice(0, 16)}..., the trace records ${(meta.invariantFileSha256 ?? 'none').slice(0, 16)}...)`,
      };
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
