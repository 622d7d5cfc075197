/**
 * Dirty tracking: a page-cache page of a disk file that some PTE maps
 * writable is PG_dirty. A shared mapping's first write fault dirties the
 * page (->page_mkwrite, fault_dirty_shared_page), and writeback's
 * clear_page_dirty_for_io write-protects every PTE (page_mkclean, through
 * the file's rmap) before it cleans the page, so a store after writeback
 * faults and dirties the page again. A writable PTE of a clean page means a
 * later store is never written back: data loss.
 */
import { PG_DIRTY } from '../model/layout.js';
import { isWritable, pteTarget } from '../model/pte.js';
import type { MMInvariant } from './invariant.js';

export const dirtyTracked: MMInvariant = {
  name: 'dirty-tracked',
  description: 'a page-cache page of a disk file mapped writable by some PTE is PG_dirty (clear_page_dirty_for_io write-protects before it cleans)',
  reference: 'mm/page-writeback.c:clear_page_dirty_for_io -> mm/rmap.c:page_mkclean; mm/memory.c:wp_page_shared; docs/rules.md#page-tables',
  reads: ['mm', 'frame', 'file'],
  when: 'always',
  defaultScenario: 'memcg-writeback-shared-write',
  check(v) {
    for (let m = 0; m < v.mms; m++) {
      for (let a = 0; a < v.addrs; a++) {
        const e = v.pte(m, a);
        if (!isWritable(e)) continue;
        const pfn = pteTarget(e);
        // An FS_DAX page (6.15's refcounted DAX mapping) is the persistent memory itself: a store needs no writeback.
        if (pfn > v.frames) continue;
        const f = v.pageFile(pfn);
        if (f < 0 || v.world.fileShmem[f]) continue;
        if (!(v.pageFlags(pfn) & PG_DIRTY))
          return `${v.addrName(m, a)} maps pfn ${pfn} of ${v.world.fileNames[f]} writable, but the page is clean: a store there is never written back`;
      }
    }
    return null;
  },
};
