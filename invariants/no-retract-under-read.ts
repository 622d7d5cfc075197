/**
 * No PTE table is taken away under mmap_lock for read (MM-SEMANTICS F4):
 * with mmap_lock for read the pmd may go none -> table, none -> huge,
 * huge -> none (MADV_DONTNEED) or huge -> table (a split); a table may be
 * replaced (by a huge pmd: khugepaged's collapse) or freed only under
 * mmap_lock for write, since a fault holding it for read may be using the
 * table. That is why seed 004's huge tmpfs could not map a huge page over a
 * table another fault had exposed "for an instant". Release limits: file-THP
 * retract_page_tables takes mmap_write_trylock up to 6.5; from 6.6
 * (1d65b771bc08) it takes none, under pmd_lock and the PT lock, because 6.5's
 * pte_offset_map_lock (0d940a9b270b) rechecks the pmd under the PT lock:
 * from then on that retraction is not this rule's (pmd-stable still
 * applies). Recorded by set_pmd (model/kernel/pgalloc.ts).
 */
import { MM_FLAGS, MMF_GHOST_RETRACT } from '../model/layout.js';
import type { MMInvariant } from './invariant.js';

export const noRetractUnderRead: MMInvariant = {
  name: 'no-retract-under-read',
  description:
    'a pmd that points at a PTE table loses it (becomes huge or none) only under mmap_lock for write (from 6.6 also retract_page_tables, whose walkers revalidate the pmd)',
  reference: 'mm/khugepaged.c:collapse_huge_page (mmap_write_lock), retract_page_tables (mmap_write_trylock up to 6.5; 1d65b771bc08); seed 004; docs/rules.md#page-tables',
  reads: ['mm'],
  when: 'always',
  defaultScenario: 'thp-pmd-race',
  check(v) {
    for (let m = 0; m < v.mms; m++) {
      if (v.mmWord(m, MM_FLAGS) & MMF_GHOST_RETRACT) return `the pmd of ${v.mmName(m)} lost its PTE table without mmap_lock for write`;
    }
    return null;
  },
};
