/**
 * Terminal rendering of a trace: one block per step (thread, operation,
 * kernel function, what it decided, what changed), the violation last.
 */
import { styleText } from 'node:util';
import type { Trace } from './trace.js';

type Style = Parameters<typeof styleText>[0];

export function renderTrace(trace: Trace, color: boolean): string {
  const c = (style: Style, text: string) => (color ? styleText(style, text) : text);
  const lines: string[] = [];
  const threads = new Set(trace.steps.map((s) => s.thread));
  lines.push(c('bold', `Trace: ${trace.steps.length} step${trace.steps.length === 1 ? '' : 's'}, threads ${[...threads].join(', ')}`));
  for (const s of trace.steps) {
    lines.push(
      `${String(s.index).padStart(3)}  ${c('cyan', s.thread.padEnd(7))} ${s.operation} ${c('dim', '·')} ${c('bold', s.action)}  ${c('dim', s.kernelFunction)}`,
    );
    for (const n of s.notes) lines.push(`       ${c('yellow', n)}`);
    for (const ch of s.changes) {
      if (ch.field.startsWith('thread ')) continue;
      lines.push(`       ${ch.field}: ${c('red', ch.before)} -> ${c('green', ch.after)}`);
    }
  }
  lines.push(c(['bold', 'red'], `VIOLATED ${trace.invariant}: ${trace.message}`));
  return lines.join('\n');
}
