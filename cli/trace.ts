/**
 * mmcheck trace replay|show|html FILE: work with saved counterexamples.
 */
import { writeFileSync } from 'node:fs';
import { checkTraceFile, fileSha256, TraceFileError, traceFromItf, type ItfTrace } from '../traces/itf.js';
import { traceToHtml } from '../traces/html.js';
import { reproducer } from '../traces/reproducer.js';
import { renderTrace } from '../traces/render-text.js';
import { replayTrace } from '../traces/replay.js';
import { EXIT_OUTPUT_LOST, UsageError } from './usage.js';
import { DiffError, diffHtml, diffText, diffTrace, type TraceDiff } from '../traces/diff.js';
import type { TraceStep } from '../traces/trace.js';
import { type MutantName, resolveVariant, type SwitchName, type Variant, VariantError } from '../model/variants.js';
import { scenarioKernelProblem } from '../model/scenario.js';
import { checkOutputFile } from './check.js';
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

/**
 * Replays a trace file's interleaving on another kernel and shows where the
 * two first decide differently (traces/diff.ts).
 */
export function traceDiff(
  file: string,
  other: { kernel?: string; patch: string[]; revert: string[]; mutants: string[] },
  format: { json: boolean; html?: string },
): { code: number; out: string } {
  if (other.kernel === undefined && !other.patch.length && !other.revert.length && !other.mutants.length)
    throw new UsageError('trace diff needs the other kernel: --kernel VERSION, and or --patch, --revert, --mutant');
  if (format.html !== undefined) checkOutputFile('--html', format.html);
  const t = readTraceFile(file, true);
  const meta = t['#meta'];
  const a: Variant = { version: meta.kernel, epoch: meta.epoch, switches: new Set(meta.switches as SwitchName[]), mutants: new Set(meta.mutants as MutantName[]) };
  let b: Variant;
  try {
    b = resolveVariant({
      kernel: other.kernel ?? meta.kernel,
      patch: other.patch,
      revert: other.revert,
      mutants: [...(other.kernel === undefined ? meta.mutants : []), ...other.mutants],
    });
  } catch (e) {
    if (e instanceof VariantError) throw new UsageError(e.message);
    throw e;
  }
  const why = scenarioKernelProblem(meta.scenarioSpec, b.version);
  if (why) throw new UsageError(why);
  const label = [b.version, ...other.patch.map((p) => `+${p}`), ...other.revert.map((p) => `-${p}`), ...other.mutants.map((m) => `MUTANT ${m}`)].join(' ');
  let d: TraceDiff;
  try {
    d = diffTrace(t, a, b, label);
  } catch (e) {
    if (e instanceof DiffError) throw new UsageError(`${file}: ${e.message}`);
    throw e;
  }
  const notes: string[] = [];
  let code = 0;
  if (format.html !== undefined) {
    try {
      writeFileSync(format.html, diffHtml(d));
      notes.push(`wrote ${format.html}`);
    } catch (e) {
      code = EXIT_OUTPUT_LOST;
      notes.push(`error: could not write ${format.html}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
  }
  if (format.json) {
    const step = (s: TraceStep) => ({ action: s.action, kernelFunction: s.kernelFunction, notes: s.notes });
    const json = {
      ...d,
      rows: d.rows.map((r) => ({
        index: r.index,
        thread: r.a.thread,
        operation: r.a.operation,
        a: step(r.a),
        b: r.b.map(step),
        ...(r.note ? { note: r.note } : {}),
        differs: r.differs,
        reasoned: r.reasoned,
      })),
      ...(notes.length ? { notes } : {}),
    };
    return { code, out: JSON.stringify(json, null, 2) };
  }
  return { code, out: [diffText(d), ...notes].join('\n') };
}

export function traceHtml(file: string, out: string | undefined): { code: number; out: string } {
  if (!out) throw new UsageError('trace html needs -o OUT.html');
  checkOutputFile('-o', out);
  const t = traceFromItf(readTraceFile(file));
  try {
    writeFileSync(out, traceToHtml(t, { kernel: t.meta.kernel, scenario: t.meta.scenario, spec: t.meta.scenarioSpec, switches: t.meta.switches, mutants: t.meta.mutants }));
  } catch (e) {
    return { code: EXIT_OUTPUT_LOST, out: `error: could not write ${out}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}` };
  }
  return { code: 0, out: `wrote ${out} (${t.steps.length} steps)` };
}

/**
 * Writes a trace as a C program that performs its order on the running
 * kernel (traces/reproducer.ts). Exit 5 when the trace needs what user space
 * cannot order, with the reason; 1 when the file does not replay.
 */
export function traceReproducer(file: string, out: string | undefined): { code: number; out: string } {
  if (!out) throw new UsageError('trace reproducer needs -o OUT.c');
  checkOutputFile('-o', out);
  const t = readTraceFile(file, true);
  const keep: Parameters<typeof replayTrace>[1] = {};
  const r = replayTrace(t, keep);
  if (!r.ok) return { code: 1, out: `${file} does not replay on this mmcheck (step ${r.step}: ${r.reason}): no reproducer` };
  const meta = t['#meta'];
  const c = reproducer(keep.model!, meta.scenarioSpec, keep.path!, meta);
  if (!c.ok) return { code: 5, out: `not reproducible from user space: ${c.reason}` };
  try {
    writeFileSync(out, c.c);
  } catch (e) {
    return { code: EXIT_OUTPUT_LOST, out: `error: could not write ${out}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}` };
  }
  const what = c.observed.map((o) => `pipe "${o.ref}" reads ${o.fixed} when fixed, ${o.leaked} with the bug`).join('; ');
  return { code: 0, out: `wrote ${out}: ${c.ops} operations in the trace's order; ${what}\nbuild and run: gcc -O2 -Wall -o repro ${out} && ./repro` };
}
