/**
 * The pmd is stable where the fault uses it (MM-SEMANTICS F2): with
 * mmap_lock only for read, a huge pmd can appear (a THP fault) or go
 * (MADV_DONTNEED's zap_huge_pmd) under a fault; the fault may use the pmd as
 * a PTE table only after one atomic read, taken after the last point where
 * it could change, found a table (pmd_trans_unstable, ad33bb04b2a6 in 4.5).
 * Before, __handle_mm_fault tested pmd_trans_huge(*pmd) and pte_offset_map
 * read the pmd again: a pmd zapped in between was walked as a table.
 * The fault records the misuse (model/kernel/huge_memory.ts bad_pmd).
 */
import { MM_FLAGS, MMF_GHOST_BAD_PMD } from '../model/layout.js';
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
    }
    return null;
  },
};
