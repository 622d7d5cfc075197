/**
 * Footprints for partial-order reduction: the objects each operation's steps
 * may read or write, one bit each - an mm (its page table, VMAs, rss, locks),
 * all page frames (and the allocator), the swap slots, the GUP references, a
 * file (page cache, size, locks) and each thread's own locals. They are
 * static and conservative: a step that may touch an object (through an rmap
 * walk, a zap that detaches GUP references, the allocator) declares it.
 *
 * An action is only reduced when no other thread can ever touch its objects
 * and no checked invariant reads them (checker/reduce.ts). In this model every
 * step that does kernel work touches page frames, which every other thread may
 * touch too; the reduction therefore rarely applies here - it is exact and
 * sound, and it pays off on models with thread-local steps.
 */
import type { PorInfo } from '../checker/reduce.js';
import type { MenuEntry, ScenarioSpec } from './scenario.js';

export const OBJ_FRAMES = 1 << 4;
export const OBJ_SWAP = 1 << 5;
export const OBJ_GUP = 1 << 6;
export const objMm = (m: number): number => 1 << m; // bits 0-3
export const objFile = (f: number): number => 1 << (7 + f); // bits 7-9
export const objThread = (t: number): number => 1 << (10 + t); // bits 10-30

export const OBJ_ALL_MMS = 0xf;
export const OBJ_ALL_FILES = 0x7 << 7;

/** Objects of thread t's menu entry e. */
export function entryObjects(sc: ScenarioSpec, t: number, e: MenuEntry): number {
  const mmOf = (name: string | null) => (name === null ? -1 : sc.processes.indexOf(name));
  const m = mmOf(sc.threads[t]!.mm);
  const mine = objThread(t) | (m >= 0 ? objMm(m) : 0);
  const fileBits = OBJ_ALL_FILES;
  switch (e.op) {
    case 'put':
    case 'device-write':
      return mine | OBJ_FRAMES | OBJ_GUP;
    case 'fork': {
      let o = mine | objMm(sc.processes.indexOf(e.child)) | OBJ_FRAMES | OBJ_SWAP;
      sc.threads.forEach((u, i) => {
        if (u.mm === e.child) o |= objThread(i);
      });
      return o;
    }
    case 'exit': {
      let o = mine | OBJ_FRAMES | OBJ_SWAP | OBJ_GUP;
      sc.threads.forEach((u, i) => {
        if (u.mm !== null && mmOf(u.mm) === m) o |= objThread(i);
      });
      return o;
    }
    case 'reclaim':
    case 'pageout':
    case 'migrate':
    case 'truncate':
    case 'punch':
      return mine | OBJ_ALL_MMS | OBJ_FRAMES | OBJ_SWAP | OBJ_GUP | fileBits;
    default:
      // Faults, GUP, mprotect, munmap, MADV_DONTNEED: the mm, frames, swap, files, GUP.
      return mine | OBJ_FRAMES | OBJ_SWAP | OBJ_GUP | fileBits;
  }
}

/** Objects each invariant reads. */
export const INVARIANT_READS: Record<string, number> = {
  'anon-exclusive': OBJ_ALL_MMS | OBJ_FRAMES | OBJ_GUP | OBJ_SWAP,
  'pin-coherent': OBJ_ALL_MMS | OBJ_FRAMES | OBJ_GUP | OBJ_SWAP,
  'cow-isolation': OBJ_ALL_MMS | OBJ_FRAMES | OBJ_GUP | OBJ_SWAP,
  // rss-consistent and refcount-sane read every thread (quiescence, held references).
  'rss-consistent': ~0 >>> 1,
  'refcount-sane': ~0 >>> 1,
  'truncate-complete': OBJ_ALL_MMS | OBJ_ALL_FILES,
  'punch-keeps-cow': OBJ_ALL_MMS | OBJ_ALL_FILES | OBJ_FRAMES,
  'no-stale-migration': OBJ_ALL_FILES,
};

export function porInfo(sc: ScenarioSpec, actionThread: number[], actionEntry: number[], invariants: readonly string[]): PorInfo | undefined {
  if (sc.threads.length > 20) return undefined; // one bit per thread
  let visible = 0;
  for (const name of invariants) visible |= INVARIANT_READS[name] ?? ~0 >>> 1;
  const objects = new Uint32Array(actionThread.length);
  actionThread.forEach((t, a) => {
    objects[a] = entryObjects(sc, t, sc.threads[t]!.menu[actionEntry[a]!]!);
  });
  return { actionThread: Int32Array.from(actionThread), actionObjects: objects, visibleObjects: visible };
}
