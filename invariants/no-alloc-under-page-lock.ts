/**
 * No may-reclaim allocation under a page lock (seed 004, MM-SEMANTICS F1):
 * a GFP_KERNEL allocation may enter reclaim, and reclaim takes page locks
 * and waits on PG_writeback (legacy memcg) or takes i_mmap_rwsem (rmap
 * walks); an allocation made while holding a page-cache page's lock or
 * i_mmap_rwsem is the hazard behind the memcg/writeback deadlock
 * (63f3655f9501), Google's OOM deadlock and the DAX "rwr sandwich" of the
 * seed. The allocation sites record it (model/kernel/pgalloc.ts might_alloc,
 * as lockdep's fs_reclaim annotation does), whether or not reclaim runs.
 */
import { F_GHOST, GHOST_ALLOC_UNDER_LOCK } from '../model/layout.js';
import type { MMInvariant } from './invariant.js';

export const noAllocUnderPageLock: MMInvariant = {
  name: 'no-alloc-under-page-lock',
  description: "no allocation that may reclaim (a page table) runs while its thread holds a page-cache page's lock or i_mmap_rwsem",
  reference: 'mm/memory.c:alloc_set_pte (4.8-5.11), finish_fault (5.12-5.13); 63f3655f9501, e4dc3489143f; seed 004; docs/rules.md#page-tables',
  reads: ['file'],
  when: 'always',
  defaultScenario: 'memcg-writeback-abba',
  check(v) {
    for (let f = 0; f < v.files; f++) {
      if (v.fileWord(f, F_GHOST) & GHOST_ALLOC_UNDER_LOCK) {
        return `a page-table allocation (which may enter reclaim) ran with a page of ${v.world.fileNames[f]} locked or its i_mmap_rwsem held`;
      }
    }
    return null;
  },
};
