/**
 * Terminal rendering of a trace: one block per step - thread, operation,
 * kernel function (with its source file), what it decided, the fields that
 * changed (before -> after, coloured on a TTY), the locks held - and the
 * violated invariant with its message last.
 */
import { styleText } from 'node:util';
import { flatten } from '../model/readable.js';
import type { Trace } from './trace.js';

type Style = Parameters<typeof styleText>[0];

export interface RenderOptions {
  color: boolean;
  /** Show only this step (1-based). */
  step?: number;
  /** Show every field of the state after each step, not only what changed. */
  full?: boolean;
}

export function summaryLine(t: Trace): string {
  const plural = (n: number, w: string) => `${n} ${w}${n === 1 ? '' : 's'}`;
  if (t.steps.length === 0) return '0 steps: the initial state breaks it';
  return (
    `${plural(t.steps.length, 'step')}, ${plural(t.threads.length, 'thread')} (${t.threads.join(', ')}), ` +
    `${plural(t.operations, 'operation')}, ${plural(t.preemptions, 'preemption')}` +
    (t.minimal ? '' : ' (not proven minimal: the search for a shorter one was too large)')
  );
}

export function renderTrace(trace: Trace, opts: RenderOptions | boolean): string {
  const o: RenderOptions = typeof opts === 'boolean' ? { color: opts } : opts;
  const c = (style: Style, text: string) => (o.color ? styleText(style, text) : text);
  const lines: string[] = [];
  lines.push(c('bold', `Trace: ${summaryLine(trace)}`));
  for (const s of trace.steps) {
    if (o.step !== undefined && s.index !== o.step) continue;
    const mark = s.preempted ? c('magenta', ' [preempts]') : '';
    lines.push(`${String(s.index).padStart(3)}  ${c('cyan', s.thread.padEnd(9))} ${s.operation} ${c('dim', '·')} ${c('bold', s.action)}${mark}  ${c('dim', s.kernelFunction)}`);
    for (const n of s.notes) lines.push(`       ${c('yellow', n)}`);
    if (o.full) {
      for (const [k, v] of flatten(s.state)) lines.push(`       ${k}: ${v}`);
    } else {
      for (const ch of s.changes) {
        if (ch.field.startsWith('thread ')) continue;
        lines.push(`       ${ch.field}: ${c('red', ch.before)} -> ${c('green', ch.after)}`);
      }
    }
    if (s.locks.length) lines.push(`       ${c('dim', `locks held: ${s.locks.join('; ')}`)}`);
  }
  lines.push(c(['bold', 'red'], `VIOLATED ${trace.invariant}: ${trace.message}`));
  return lines.join('\n');
}
