/**
 * The pmd is stable where the fault uses it (MM-SEMANTICS F2): with
 * mmap_lock only for read, a huge pmd can appear (a THP fault) or go
 * (MADV_DONTNEED's zap_huge_pmd) under a fault; the fault may use the pmd as
 * a PTE table only after one atomic read, taken after the last point where
 * it could change, found a table (pmd_trans_unstable, ad33bb04b2a6 in 4.5).
 * Before, __handle_mm_fault tested pmd_trans_huge(*pmd) and pte_offset_map
 * read the pmd again: a pmd zapped in between was walked as a table.
 * The fault records the misuse (model/kernel/huge_memory.ts bad_pmd); and in
 * any state, a PTE where the pmd is none or huge was written through a pmd
 * that was not a table, whichever path wrote it.
 */
import { MM_FLAGS, MM_LIVE, MMF_GHOST_BAD_PMD } from '../model/layout.js';
import { formatPmd, pmdTable } from '../model/objects.js';
import { formatPte } from '../model/pte.js';
import type { MMInvariant } from './invariant.js';

export const pmdStable: MMInvariant = {
  name: 'pmd-stable',
  description: 'a fault walks a PTE table only if one atomic read of the pmd, after the last point it could change, found that table',
  reference: 'mm/memory.c:__handle_mm_fault, pmd_trans_unstable; ad33bb04b2a6 (4.5); docs/rules.md#page-tables',
  reads: ['mm'],
  when: 'always',
  defaultScenario: 'thp-pmd-race',
  check(v) {
    for (let m = 0; m < v.mms; m++) {
      if (v.mmWord(m, MM_FLAGS) & MMF_GHOST_BAD_PMD) return `a fault in ${v.mmName(m)} walked its pmd as a PTE table after the pmd had become none or huge`;
      // Whatever wrote it: a PTE exists only in a table, so an entry where the pmd is none or huge was written through a pmd that was not one.
      if (!v.pmdLevel || v.mmState(m) !== MM_LIVE) continue;
      const pmd = v.pmdWord(m);
      if (pmdTable(pmd)) continue;
      for (let a = 0; a < v.addrs; a++) {
        if (v.pte(m, a) !== 0)
          return `${v.addrName(m, a)} has a PTE (${formatPte(v.pte(m, a))}) but the pmd is ${formatPmd(pmd)}: it was written through a pmd that is not a PTE table`;
      }
    }
    return null;
  },
};
