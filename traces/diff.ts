/**
 * A trace's interleaving on another kernel (`mmcheck trace diff`): the same
 * thread and operation choices, replayed on another release or switch set,
 * and where the two kernels first decide differently.
 *
 * The trace fixes an order of (thread, operation) steps. An operation may
 * take a different number of steps on the other kernel (5.17's do_wp_page
 * sleeps in lock_page, 5.18's does not), so the replay follows the threads,
 * not the step numbers: a step that starts an operation in the trace starts
 * it on the other kernel (first finishing, in a row, what that thread still
 * had to do there); a step that continues one continues it, or is skipped
 * when the other kernel has already finished it. When the other kernel
 * cannot take a step (its thread sleeps, or the step is not enabled), the
 * replay stops there and says so.
 */
import { replayActions, ReplayError } from '../checker/path.js';
import type { PathStep } from '../checker/model.js';
import { findInvariant, toEngineInvariant } from '../invariants/registry.js';
import { TH_PC, TH_STATUS } from '../model/layout.js';
import type { Variant } from '../model/variants.js';
import { MMModel } from '../model/world.js';
import { buildTrace, type TraceStep } from './trace.js';
import type { ItfTrace } from './itf.js';

/** One step of the trace, and what the other kernel did for it. */
export interface DiffRow {
  /** The trace's step (1-based). */
  index: number;
  a: TraceStep;
  /** The other kernel's steps for it: none (skipped), one, or more (it first finished the thread's previous operation). */
  b: TraceStep[];
  /** Why b is not one matching step. */
  note?: string;
  /** The two kernels decide this step differently: another step, or another outcome (the fields it changes). */
  differs: boolean;
  /** The same step and outcome, narrated differently (the same decision for another reason). */
  reasoned: boolean;
}

export interface TraceDiff {
  invariant: string;
  scenario: string;
  a: string;
  b: string;
  rows: DiffRow[];
  /** The first row whose decisions differ, or null. */
  first: number | null;
  /** The trace's violation (at its last step). */
  aMessage: string;
  /** The first state of the other kernel's replay that violates the invariant, or null. */
  bViolation: { step: number; message: string } | null;
  /** Where the other kernel could not follow, and why. */
  stopped: { step: number; reason: string } | null;
}

export class DiffError extends Error {}

/** Replays trace t's interleaving on `other`; `a` is the trace's own kernel. */
export function diffTrace(t: ItfTrace, a: Variant, other: Variant, otherLabel: string): TraceDiff {
  const meta = t['#meta'];
  const inv = findInvariant(meta.invariant);
  if (!inv) throw new DiffError(`trace diff works on traces of a state invariant; ${meta.invariant} is not one`);
  const ma = new MMModel(meta.scenarioSpec, a);
  const mb = new MMModel(meta.scenarioSpec, other);
  let pathA: PathStep[];
  try {
    pathA = replayActions(ma, [0, ...t.states.slice(1).map((s) => s['#meta'].actionId!)]);
  } catch (e) {
    if (e instanceof ReplayError) throw new DiffError(`the trace does not replay on its own kernel ${meta.kernel}: ${e.message}`);
    throw e;
  }
  const traceA = buildTrace(ma, { invariant: meta.invariant, message: meta.message, path: pathA });
  const checkB = toEngineInvariant(inv, mb.view(new Int32Array(mb.stateWords)));
  const pc = (m: MMModel, s: Int32Array, th: number) => s[m.layout.threadBase[th]! + TH_PC]!;

  const pathB: PathStep[] = [];
  mb.initialStates((s) => pathB.push({ action: 0, state: s.slice() }));
  /** The other kernel's step of thread th (from idle: of menu entry e), or null when it has none. */
  const stepB = (th: number, e: number): PathStep | null => {
    const cur = pathB[pathB.length - 1]!.state;
    let found: PathStep | null = null;
    mb.successors(cur, (next, act) => {
      const info = mb.actions[act]!;
      if (found || info.thread !== th || (pc(mb, cur, th) === 0 && info.entry !== e)) return;
      found = { action: act, state: next.slice() };
    });
    return found;
  };
  const why = (th: number): string => {
    const cur = pathB[pathB.length - 1]!.state;
    const status = cur[mb.layout.threadBase[th]! + TH_STATUS]!;
    return mb.world.describeThread(mb.view(cur), th) || (status ? 'its step is not enabled' : 'it is not running');
  };
  const rows: { index: number; b: number[]; note?: string }[] = [];
  let stopped: TraceDiff['stopped'] = null;
  let bViolation: TraceDiff['bViolation'] = null;
  const take = (st: PathStep): number => {
    pathB.push(st);
    const msg = checkB.check(st.state);
    if (msg !== null && !bViolation) bViolation = { step: pathB.length - 1, message: msg };
    return pathB.length - 1;
  };
  for (let i = 1; i < pathA.length && !stopped && !bViolation; i++) {
    const info = ma.actions[pathA[i]!.action]!;
    const th = info.thread;
    const starts = pc(ma, pathA[i - 1]!.state, th) === 0;
    const row: { index: number; b: number[]; note?: string } = { index: i, b: [] };
    rows.push(row);
    const name = info.threadName;
    if (starts) {
      // The other kernel first finishes what this thread still has to do there.
      while (pc(mb, pathB[pathB.length - 1]!.state, th) !== 0 && !bViolation) {
        const st = stepB(th, info.entry);
        if (!st) {
          stopped = { step: i, reason: `${otherLabel}: ${name} cannot finish its previous operation: ${why(th)}` };
          break;
        }
        row.b.push(take(st));
        row.note = `${otherLabel} takes more steps to finish ${name}'s previous operation`;
      }
      if (stopped || bViolation) break;
      const st = stepB(th, info.entry);
      if (!st) {
        stopped = { step: i, reason: `${otherLabel}: ${name} cannot start "${info.op}": ${why(th)}` };
        break;
      }
      row.b.push(take(st));
    } else if (pc(mb, pathB[pathB.length - 1]!.state, th) === 0) {
      row.note = `${otherLabel} has already finished "${info.op}": no step here`;
    } else {
      const st = stepB(th, info.entry);
      if (!st) {
        stopped = { step: i, reason: `${otherLabel}: ${name} cannot take this step of "${info.op}": ${why(th)}` };
        break;
      }
      row.b.push(take(st));
    }
  }
  const traceB = buildTrace(mb, { invariant: meta.invariant, message: '', path: pathB });
  const out: DiffRow[] = rows.map((r) => {
    const sa = traceA.steps[r.index - 1]!;
    const sb = r.b.map((j) => traceB.steps[j - 1]!);
    const differs = sb.length !== 1 || sb[0]!.action !== sa.action || JSON.stringify(sb[0]!.changes) !== JSON.stringify(sa.changes);
    const reasoned = !differs && JSON.stringify(sb[0]!.notes) !== JSON.stringify(sa.notes);
    return { index: r.index, a: sa, b: sb, ...(r.note ? { note: r.note } : {}), differs, reasoned };
  });
  const first = out.find((r) => r.differs)?.index ?? null;
  return { invariant: meta.invariant, scenario: meta.scenario, a: meta.kernel, b: otherLabel, rows: out, first, aMessage: meta.message, bViolation, stopped };
}

/** The diff as text: the first divergent decision, what each kernel concludes, then the steps. */
export function diffText(d: TraceDiff): string {
  const lines = [`${d.scenario}, ${d.invariant}: the trace's interleaving on ${d.a} and on ${d.b}`];
  const row = d.rows.find((r) => r.index === d.first);
  if (row) {
    lines.push('', `first divergent decision, step ${row.index} (${row.a.thread}: ${row.a.operation} · ${row.a.action}):`);
    lines.push(`  ${d.a}: ${decision(row.a)}`);
    lines.push(`  ${d.b}: ${row.b.length ? row.b.map(decision).join('; then ') : (row.note ?? 'no step')}`);
  } else lines.push('', 'the two kernels decide alike at every step of the trace');
  lines.push('', `${d.a}: ${d.invariant} violated at step ${d.rows.length ? d.rows[d.rows.length - 1]!.index : 0}: ${d.aMessage}`);
  if (d.bViolation) lines.push(`${d.b}: ${d.invariant} violated at its step ${d.bViolation.step}: ${d.bViolation.message}`);
  else if (d.stopped) lines.push(`${d.b}: stops at step ${d.stopped.step}: ${d.stopped.reason}; ${d.invariant} held until there`);
  else lines.push(`${d.b}: ${d.invariant} holds along this interleaving`);
  lines.push('', 'step by step:');
  for (const r of d.rows) {
    const mark = r.differs ? '   <- decides differently' : r.reasoned ? '   <- the same outcome, another reason' : '';
    lines.push(`${String(r.index).padStart(3)}  ${r.a.thread.padEnd(8)} ${r.a.operation} · ${r.a.action}${mark}`);
    lines.push(`       ${d.a}: ${decision(r.a)}`);
    const bText = r.b.length ? r.b.map((s) => `${s.action === r.a.action ? '' : `${s.action}: `}${decision(s)}`).join(' | ') : '(no step)';
    lines.push(`       ${d.b}: ${bText}${r.note ? `   [${r.note}]` : ''}`);
  }
  if (d.stopped) lines.push(`  ${d.stopped.reason}`);
  return lines.join('\n');
}

/** A step's decision: its narration, or its label when it narrates nothing. */
function decision(s: TraceStep): string {
  return s.notes.length ? s.notes.join('; ') : `(${s.action})`;
}

const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** One self-contained page: the two kernels side by side, the first divergent step marked. */
export function diffHtml(d: TraceDiff): string {
  const cell = (steps: TraceStep[], note?: string) =>
    steps.length
      ? steps.map((s) => `<div><b>${esc(s.action)}</b> <small>${esc(s.kernelFunction)}</small><br>${s.notes.map(esc).join('<br>')}</div>`).join('<hr>') +
        (note ? `<p><i>${esc(note)}</i></p>` : '')
      : `<i>${esc(note ?? 'no step')}</i>`;
  const rows = d.rows
    .map(
      (r) =>
        `<tr class="${r.differs ? 'differs' : ''}${r.index === d.first ? ' first' : ''}" id="step-${r.index}"><td>${r.index}</td><td>${esc(r.a.thread)}</td><td>${esc(r.a.operation)}</td><td>${cell([r.a])}</td><td>${cell(r.b, r.note)}</td></tr>`,
    )
    .join('\n');
  const bEnd = d.bViolation
    ? `violated at its step ${d.bViolation.step}: ${d.bViolation.message}`
    : d.stopped
      ? `stops at step ${d.stopped.step}: ${d.stopped.reason}`
      : 'holds along this interleaving';
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>mmcheck trace diff: ${esc(d.scenario)} on ${esc(d.a)} and ${esc(d.b)}</title>
<style>body{font:14px system-ui,sans-serif;margin:1.5em}table{border-collapse:collapse;width:100%;table-layout:fixed}td,th{border:1px solid #ccc;padding:.4em;vertical-align:top;overflow-wrap:anywhere}
th:nth-child(1),td:nth-child(1){width:3em}th:nth-child(2),td:nth-child(2){width:5em}th:nth-child(3),td:nth-child(3){width:14em}tr.differs td{background:#fff8e1}tr.first td{background:#ffe0b2}small{color:#666}</style></head><body>
<h1>${esc(d.scenario)}, ${esc(d.invariant)}: ${esc(d.a)} and ${esc(d.b)}</h1>
<p>${d.first === null ? 'The two kernels decide alike at every step.' : `First divergent decision: <a href="#step-${d.first}">step ${d.first}</a>.`}</p>
<p><b>${esc(d.a)}</b>: violated: ${esc(d.aMessage)}<br><b>${esc(d.b)}</b>: ${esc(bEnd)}</p>
<table><tr><th>step</th><th>thread</th><th>operation</th><th>${esc(d.a)}</th><th>${esc(d.b)}</th></tr>
${rows}
</table></body></html>
`;
}
