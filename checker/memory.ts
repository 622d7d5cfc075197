/**
 * How much memory a search may use by default: most of what the machine (or
 * the container's cgroup) allows, so that a world too large for it stops as
 * "incomplete, stopped by memory", with its statistics, before the kernel's
 * OOM killer or a failed allocation ends the process without a word.
 */
import { readFileSync } from 'node:fs';
import { totalmem } from 'node:os';

/** The share of the available memory a search may use when --max-memory is not given. */
const DEFAULT_SHARE = 0.8;

function cgroupLimit(): number {
  for (const file of ['/sys/fs/cgroup/memory.max', '/sys/fs/cgroup/memory/memory.limit_in_bytes']) {
    try {
      const text = readFileSync(file, 'utf8').trim();
      const n = Number(text);
      if (text !== 'max' && Number.isFinite(n) && n > 0) return n;
    } catch {
      // no such controller here
    }
  }
  return Infinity;
}

export function defaultMemoryCap(): number {
  return Math.floor(DEFAULT_SHARE * Math.min(totalmem(), cgroupLimit()));
}
