/**
 * mm/mprotect.c: whether change_pte_range may give a PTE the write bit at
 * once when mprotect adds PROT_WRITE to a private mapping.
 */
import type { Kernel } from '../kernel.js';
import { PG_ANON, PG_ANON_EXCLUSIVE } from '../layout.js';
import { mapsNormalPage, PTE_DIRTY, pteTarget } from '../pte.js';

export type CanChangePteWritable = (k: Kernel, pte: number) => boolean;

/** <= 5.19: never; the next write faults (a private mapping's vm_page_prot has no write bit). */
export const can_change_pte_writable_5_7: CanChangePteWritable = () => false;

/** 6.0 (64fe24a3e05e): a dirty PTE of an exclusive anon page. */
export const can_change_pte_writable_6_0: CanChangePteWritable = (k, pte) => {
  if (!mapsNormalPage(pte) || !(pte & PTE_DIRTY)) return false;
  const pfn = pteTarget(pte);
  return k.pageTest(pfn, PG_ANON) && k.pageTest(pfn, PG_ANON_EXCLUSIVE);
};

/** 6.2 (d84887739d5c): a clean one too. */
export const can_change_pte_writable_6_2: CanChangePteWritable = (k, pte) => {
  if (!mapsNormalPage(pte)) return false;
  const pfn = pteTarget(pte);
  return k.pageTest(pfn, PG_ANON) && k.pageTest(pfn, PG_ANON_EXCLUSIVE);
};

/**
 * change_huge_pmd: whether an anon huge pmd gets the write bit at once. Up to
 * 6.1 never (it even BUG_ONs on a writable anon pmd that is not a NUMA
 * savedwrite); 6.2 (the 'mprotect-clean-anon-write' series) tries
 * can_change_pmd_writable: an exclusive anon THP (not the huge zero page).
 * Read in mm/huge_memory.c:change_huge_pmd of 5.9.1, 5.19, 6.1.15 and 6.2.
 */
export type CanChangePmdWritable = (k: Kernel, folio: number) => boolean;
export const can_change_pmd_writable_4_4: CanChangePmdWritable = () => false;
export const can_change_pmd_writable_6_2: CanChangePmdWritable = (k, folio) => folio !== 0 && k.pageTest(folio, PG_ANON) && k.pageTest(folio, PG_ANON_EXCLUSIVE);
