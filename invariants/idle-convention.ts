/**
 * Every "is this device page unused?" test agrees with the put path (seed
 * 002): ZONE_DEVICE pages were idle at _refcount 1, not 0, and Dan
 * Williams's review of the 2020 RFC was that each test - dax_busy_page's
 * "> 1", break_layouts' "== 1", the put path's wake-up - must change
 * together. Checked on each FS_DAX page nothing holds (no mapping that takes
 * a reference, no GUP reference, no thread): its _refcount must be the
 * count the idle tests expect (1 up to 6.14, 0 from 6.15) and the count at
 * which the release's put path wakes the waiters. The RFC left the page at 1
 * and the tests at 1 but woke at 0: violated in its initial state.
 */
import { deviceHolders } from '../model/kernel/memremap.js';
import { PG_REF } from '../model/layout.js';
import type { MMInvariant } from './invariant.js';

export const idleConvention: MMInvariant = {
  name: 'idle-convention',
  description: 'an FS_DAX page nothing holds sits at the count the idle tests expect, which is the count at which the put path wakes (1 with 1, 0 with 0)',
  reference: 'fs/dax.c:dax_busy_page; fs/ext4/inode.c:ext4_break_layouts; mm/memremap.c (put paths); seed 002 (Dan Williams on the RFC)',
  reads: ['mm', 'frame', 'devframe', 'gup', 'thread'],
  when: 'always',
  defaultScenario: 'fsdax-unpin-break-layouts',
  check(v) {
    if (v.world.fsdaxIdle < 0) return null;
    for (let d = 1; d <= v.devFrames; d++) {
      const pfn = v.frames + d;
      const h = deviceHolders(v, pfn);
      if (h.maps + h.gup + h.held > 0) continue;
      const ref = v.pageWord(pfn, PG_REF);
      if (ref !== v.world.fsdaxIdle || ref !== v.world.fsdaxWakeAt)
        return `pfn ${pfn} is held by nothing at _refcount ${ref}; the idle tests (dax_busy_page, break_layouts) expect ${v.world.fsdaxIdle}, the put path wakes at ${v.world.fsdaxWakeAt}`;
    }
    return null;
  },
};
