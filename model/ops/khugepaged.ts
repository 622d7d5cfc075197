/**
 * khugepaged's collapse of an anonymous range into a THP (mm/khugepaged.c,
 * mm/huge_memory.c before 4.8): the pmd goes from a PTE table to a huge
 * mapping, the one pmd transition that needs mmap_lock for write
 * (no-retract-under-read, F4; seed 004).
 *
 * Steps, as khugepaged_scan_mm_slot -> khugepaged_scan_pmd ->
 * collapse_huge_page read (4.4-6.2):
 *   1. mmap_read_trylock (a busy mm is skipped); the VMA and the pmd are
 *      checked (a table, not none or huge) and the PTEs scanned under the
 *      PT lock: present anonymous pages with no reference beyond their
 *      mapping (page_count == 1 + PageSwapCache: "can't collapse if
 *      there's a gup pin"), at least one writable; mmap_read_unlock; the
 *      THP allocated (collapse_huge_page allocates with no mmap_lock held).
 *   2. mmap_write_lock; hugepage_vma_revalidate, check_pmd_still_valid.
 *   3. anon_vma_lock_write; pmd_lock: pmdp_collapse_flush (the pmd none,
 *      the table kept); under the PT lock __collapse_huge_page_isolate
 *      (trylock_page each page, the refcount checked again); on failure the
 *      table goes back (pmd_populate) and everything is undone; else
 *      anon_vma_unlock_write, __collapse_huge_page_copy (data copied, the
 *      small pages unmapped and freed; none PTEs count MM_ANONPAGES + 1),
 *      and under pmd_lock the table deposited and set_pmd_at a huge pmd;
 *      mmap_write_unlock.
 * Steps 3's parts run with mmap_lock held for write and the pages isolated
 * and locked: no other thread can see between them.
 *
 * Each small page is copied into the subpage of its address. A PTE that maps
 * a page of a THP already (after a split) is not modelled here (scenario
 * validation: no collapse with fork or GUP). No swap-in
 * (__collapse_huge_page_swapin): a swap or migration entry fails the scan.
 */
import { DONE, type Kernel, SLEEP } from '../kernel.js';
import { set_huge_pmd } from '../kernel/huge_memory.js';
import {
  anon_vma_lock_write,
  anon_vma_unlock_write,
  mmap_read_lock,
  mmap_read_trylock,
  mmap_read_unlock,
  mmap_write_lock,
  mmap_write_unlock,
  trylock_page,
  unlock_page,
} from '../kernel/locking.js';
import { zap_present_page } from '../kernel/memory.js';
import { alloc_folio, put_page } from '../kernel/page_alloc.js';
import { pmd_populate, set_pmd } from '../kernel/pgalloc.js';
import { MM_ANONPAGES, MM_LIVE, PG_ANON, PG_DATA, PG_SWAPCACHE, TH_NEWPAGE, TH_PTE_TABLE, VMA_ANON_VMA, VMA_PRESENT } from '../layout.js';
import { pmdTable } from '../objects.js';
import type { ProgramBuilder } from '../program.js';
import { PTE_NONE, PTE_PRESENT, PTE_SPECIAL, PTE_WRITE, pteKind, pteTarget } from '../pte.js';

const KHUGEPAGED = 'mm/khugepaged.c';

/** Why a PTE range cannot be collapsed (khugepaged's SCAN_* results), or null. */
function scanProblem(k: Kernel, m: number, addrs: readonly number[], ignorePins: boolean): string | null {
  let writable = false;
  for (const a of addrs) {
    const e = k.pte(m, a);
    if (pteKind(e) === PTE_NONE || e & PTE_SPECIAL) continue; // none or the zero page: max_ptes_none is 511
    if (pteKind(e) !== PTE_PRESENT) return `SCAN_PTE_NON_PRESENT at ${k.addrName(m, a)} (no swap-in in the model)`;
    const pfn = pteTarget(e);
    if (!k.pageTest(pfn, PG_ANON)) return `SCAN_PAGE_ANON: pfn ${pfn} is not anonymous`;
    // "cannot use mapcount: can't collapse if there's a gup pin" (is_refcount_suitable from 5.8: the mapcount stands for 1 here).
    const expected = 1 + (k.pageTest(pfn, PG_SWAPCACHE) ? 1 : 0);
    if (!ignorePins && k.pageRef(pfn) !== expected) return `SCAN_PAGE_COUNT: pfn ${pfn} has refcount ${k.pageRef(pfn)}, not ${expected}: a GUP reference or another user`;
    if (e & PTE_WRITE) writable = true;
  }
  return writable ? null : 'SCAN_PAGE_RO: no writable PTE';
}

/** khugepaged collapsing mm m's THP VMA (its only VMA, addresses `addrs`); khugepaged is kernel thread t. */
export function buildCollapse(b: ProgramBuilder, m: number, vma: number, addrs: readonly number[]): void {
  const SCAN = b.reserve(); // the operation starts at its first step
  const WRITE_LOCK = b.reserve();
  const COLLAPSE = b.reserve();
  // MUTANT collapse-under-read: the collapse holds mmap_lock for read only (F4 then fails).
  const underRead = b.ctx.mutants.has('collapse-under-read');
  const lockWhere = underRead ? 'MUTANT: mmap_read_lock' : 'mmap_write_lock';
  const unlock = (k: Kernel, t: number): void => (underRead ? mmap_read_unlock(k, t, m) : mmap_write_unlock(k, m));
  /** Gives up: the THP freed; the caller has released its locks. */
  const giveUp = (k: Kernel, t: number, why: string): number => {
    const thp = k.threadWord(t, TH_NEWPAGE);
    if (thp) put_page(k, thp);
    k.setThreadWord(t, TH_NEWPAGE, 0);
    if (k.narrate) k.note(`${why}: no collapse`);
    return DONE;
  };
  const live = (k: Kernel): boolean => k.mmState(m) === MM_LIVE && (k.s[k.L.vma(m, vma)]! & VMA_PRESENT) !== 0;

  b.define(SCAN, 'khugepaged_scan_pmd', `${KHUGEPAGED}:khugepaged_scan_mm_slot -> khugepaged_scan_pmd -> collapse_huge_page (4.8-6.2; mm/huge_memory.c before)`, (k, t) => {
    if (!live(k)) return giveUp(k, t, 'khugepaged_test_exit / no VMA');
    if (!mmap_read_trylock(k, t, m)) return giveUp(k, t, 'mmap_read_trylock fails (the mm is busy): skipped');
    const table = pmdTable(k.s[k.L.pmd(m)]!);
    const problem = table ? scanProblem(k, m, addrs, false) : `the pmd is ${k.s[k.L.pmd(m)] ? 'huge (SCAN_PMD_MAPPED)' : 'none (SCAN_PMD_NULL)'}`;
    mmap_read_unlock(k, t, m);
    if (problem) return giveUp(k, t, problem);
    // collapse_huge_page: "Before allocating the hugepage, release the mmap_lock read lock."
    const thp = alloc_folio(k, addrs.length);
    if (!thp) return giveUp(k, t, 'SCAN_ALLOC_HUGE_PAGE_FAIL');
    k.setThreadWord(t, TH_NEWPAGE, thp);
    if (k.narrate) k.note(`the PTEs qualify; mmap_read_unlock; khugepaged_alloc_page: THP pfn ${thp}`);
    return WRITE_LOCK;
  });

  b.define(WRITE_LOCK, `collapse_huge_page: ${lockWhere}`, `${KHUGEPAGED}:collapse_huge_page (4.8-6.2; mm/huge_memory.c before)`, (k, t) => {
    if (!live(k)) return giveUp(k, t, 'hugepage_vma_revalidate: the VMA is gone');
    if (!(underRead ? mmap_read_lock(k, t, m) : mmap_write_lock(k, t, m))) return SLEEP;
    // check_pmd_still_valid: a table still (the scan's table may have gone: MADV_DONTNEED of a huge pmd, munmap).
    if (!pmdTable(k.s[k.L.pmd(m)]!)) {
      unlock(k, t);
      return giveUp(k, t, 'check_pmd_still_valid: the pmd changed (SCAN_PMD_NULL)');
    }
    return COLLAPSE;
  });

  b.define(
    COLLAPSE,
    'collapse_huge_page: anon_vma_lock_write, pmdp_collapse_flush, isolate, copy, set_pmd_at',
    `${KHUGEPAGED}:collapse_huge_page -> __collapse_huge_page_isolate, __collapse_huge_page_copy (4.8-6.2; mm/huge_memory.c before)`,
    (k, t) => {
      const anonVma = (k.s[k.L.vma(m, vma)]! & VMA_ANON_VMA) !== 0;
      if (anonVma && !anon_vma_lock_write(k, t, vma)) return SLEEP;
      const pmd = k.s[k.L.pmd(m)]!;
      // pmd_lock: pmdp_collapse_flush; the table kept for the deposit (or to go back).
      set_pmd(k, t, m, 0);
      k.setThreadWord(t, TH_PTE_TABLE, pmdTable(pmd));
      // PT lock: __collapse_huge_page_isolate, the checks again now that no new GUP can come through this mm's tables.
      const problem = scanProblem(k, m, addrs, false);
      const locked: number[] = [];
      if (!problem)
        for (const a of addrs) {
          const e = k.pte(m, a);
          if (pteKind(e) !== PTE_PRESENT || e & PTE_SPECIAL) continue;
          if (!trylock_page(k, t, pteTarget(e))) break;
          locked.push(pteTarget(e));
        }
      const present = addrs.filter((a) => pteKind(k.pte(m, a)) === PTE_PRESENT && !(k.pte(m, a) & PTE_SPECIAL)).length;
      if (problem || locked.length < present) {
        for (const p of locked) unlock_page(k, p);
        pmd_populate(k, m, k.threadWord(t, TH_PTE_TABLE)); // "Use pmd_populate for that"
        k.setThreadWord(t, TH_PTE_TABLE, 0);
        if (anonVma) anon_vma_unlock_write(k, vma);
        unlock(k, t);
        return giveUp(k, t, `__collapse_huge_page_isolate: ${problem ?? 'a page is locked (SCAN_PAGE_LOCK)'}; the table goes back (pmd_populate)`);
      }
      if (anonVma) anon_vma_unlock_write(k, vma);
      // __collapse_huge_page_copy.
      const thp = k.threadWord(t, TH_NEWPAGE);
      const subpages = k.folioPages(thp);
      for (const [i, a] of addrs.entries()) {
        const e = k.pte(m, a);
        if (pteKind(e) !== PTE_PRESENT) {
          k.addRss(m, MM_ANONPAGES, 1); // the THP now backs it
          continue;
        }
        k.setPte(m, a, 0);
        if (e & PTE_SPECIAL) {
          k.addRss(m, MM_ANONPAGES, 1);
          continue;
        }
        const pfn = pteTarget(e);
        k.setPageWord(subpages[i]!, PG_DATA, k.pageWord(pfn, PG_DATA));
        unlock_page(k, pfn); // release_pte_page; the rss count stays: the THP takes it over
        zap_present_page(k, pfn, e);
      }
      // collapse's set_pmd_at adds no rss (set_huge_pmd's MM_ANONPAGES + nr is the fault's): the counts above are the THP's.
      k.addRss(m, MM_ANONPAGES, -addrs.length);
      set_huge_pmd(k, t, m, thp);
      k.setThreadWord(t, TH_NEWPAGE, 0);
      unlock(k, t);
      if (k.narrate)
        k.note(
          `pmdp_collapse_flush; the pages isolated and copied into the subpages of THP pfn ${thp}, the small pages freed; pmd_lock: the table deposited, set_pmd_at: a huge pmd`,
        );
      return DONE;
    },
  );
}
