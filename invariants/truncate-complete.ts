/**
 * Truncation is complete (docs/rules.md#truncate-and-punch): once truncation of a file has
 * returned, no mapping of the file has any entry beyond the new end of file -
 * not a page-cache page, not a private COW copy, not the swap entry of one
 * (POSIX: truncate removes even private COWs; unmap_mapping_range with
 * even_cows). Checked whenever no truncation or hole punch of the file is in
 * progress (inode_lock free). Broken before 5.18 (5abfd71d936a) for swapped
 * private COW pages.
 */
import { F_I_RWSEM, MM_LIVE, VMA_PRESENT } from '../model/layout.js';
import { formatPte } from '../model/pte.js';
import type { MMInvariant } from './invariant.js';

export const truncateComplete: MMInvariant = {
  name: 'truncate-complete',
  description: 'after truncation returns, no mapping of the file has an entry beyond its end (private COWs and swap entries included)',
  reference: 'mm/shmem.c:shmem_setattr, mm/truncate.c:truncate_pagecache; 5abfd71d936a (5.18); docs/rules.md#truncate-and-punch',
  reads: ['mm', 'file'],
  when: 'always',
  defaultScenario: 'truncate-private-swap',
  check(v) {
    for (let f = 0; f < v.files; f++) {
      if (v.fileWord(f, F_I_RWSEM) !== 0) continue; // inode_lock held: a truncation is under way
      const size = v.fileSize(f);
      for (let m = 0; m < v.mms; m++) {
        if (v.mmState(m) !== MM_LIVE) continue;
        for (let a = 0; a < v.addrs; a++) {
          if (v.fileOf(a) !== f || !(v.vmaAt(m, a) & VMA_PRESENT) || v.fileIndex(a) < size) continue;
          const e = v.pte(m, a);
          if (e !== 0) {
            return `${v.addrName(m, a)} (page ${v.fileIndex(a)} of ${v.world.fileNames[f]}) is ${formatPte(e)} beyond the end of the file (${size} pages) after truncation returned`;
          }
        }
      }
    }
    return null;
  },
};
