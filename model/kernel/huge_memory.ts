/**
 * Anonymous THP at the PMD level (mm/huge_memory.c): a huge pmd maps a
 * PMD-sized folio, which the model keeps as one frame (PG_THP) standing for
 * all the pages of the range (nr: the THP VMA's pages); its mapcount is the
 * entire mapcount. A huge pmd carries a deposited PTE table
 * (pgtable_trans_huge_deposit), withdrawn when it is zapped.
 */
import type { Kernel } from '../kernel.js';
import { MM_ANONPAGES, MMF_GHOST_BAD_PMD, MM_FLAGS, PG_MAP, TH_PTE_TABLE } from '../layout.js';
import { pmdHuge, pmdHugePfn, pmdTable } from '../objects.js';
import { put_page } from './page_alloc.js';
import { pte_free_table, set_pmd } from './pgalloc.js';

/** The pages a huge pmd maps (the THP VMA's length); 0 without a THP VMA. */
export const hugeNr = (k: Kernel): number => k.world.thpPages;

/**
 * __do_huge_pmd_anonymous_page under pmd_lock, the pmd still none:
 * deposit the thread's table, set_pmd_at a huge pmd of the folio,
 * page_add_new_anon_rmap (entire mapcount 1), add_mm_counter(MM_ANONPAGES, nr).
 */
export function set_huge_pmd(k: Kernel, t: number, m: number, folio: number): void {
  const table = k.threadWord(t, TH_PTE_TABLE);
  k.s[k.L.pgtable(table - 1)] = 2 + m; // pgtable_trans_huge_deposit
  k.setThreadWord(t, TH_PTE_TABLE, 0);
  k.fn.page_add_new_anon_rmap(k, folio);
  set_pmd(k, t, m, pmdHuge(folio));
  k.addRss(m, MM_ANONPAGES, hugeNr(k));
}

/** zap_huge_pmd: the huge pmd cleared under pmd_lock, its table withdrawn and freed, the folio unmapped and put. */
export function zap_huge_pmd(k: Kernel, m: number): boolean {
  const folio = pmdHugePfn(k.s[k.L.pmd(m)]!);
  if (!folio) return false;
  k.s[k.L.pmd(m)] = 0; // huge -> none: allowed under mmap_lock for read
  for (let i = 0; i < k.L.pgtables; i++) if (k.s[k.L.pgtable(i)] === 2 + m) k.s[k.L.pgtable(i)] = 0; // pgtable_trans_huge_withdraw, pte_free
  k.setPageWord(folio, PG_MAP, k.pageMapcount(folio) - 1);
  k.addRss(m, MM_ANONPAGES, -hugeNr(k));
  put_page(k, folio);
  if (k.narrate) k.note(`zap_huge_pmd: the huge pmd of pfn ${folio} cleared, its deposited table freed, MM_ANONPAGES-${hugeNr(k)}`);
  return true;
}

/** A fault used the pmd as a PTE table although it was none or huge by then (pmd-stable, F2). */
export function bad_pmd(k: Kernel, m: number): void {
  k.setMmWord(m, MM_FLAGS, k.mmWord(m, MM_FLAGS) | MMF_GHOST_BAD_PMD);
}

/**
 * MUTANT thp-fault-retracts-table: the THP fault, finding the pmd already
 * pointing at an empty PTE table, frees that table and maps the THP anyway
 * (what Hugh's huge tmpfs would have needed to do; the kernel never does it
 * under mmap_lock for read).
 */
export function retract_empty_table(k: Kernel, t: number, m: number): boolean {
  const w = k.s[k.L.pmd(m)]!;
  const table = pmdTable(w);
  if (!table) return false;
  for (let a = 0; a < k.addrs; a++) if (k.pte(m, a) !== 0) return false;
  set_pmd(k, t, m, 0);
  pte_free_table(k, table);
  if (k.narrate) k.note(`MUTANT: the empty PTE table ${table - 1} is taken from the pmd under mmap_lock for read`);
  return true;
}
