/**
 * khugepaged's collapse of an anonymous range into a THP (mm/khugepaged.c,
 * mm/huge_memory.c before 4.8): the pmd goes from a PTE table to a huge
 * mapping, the one pmd transition that needs mmap_lock for write
 * (no-retract-under-read, F4; seed 004).
 *
 * Steps, as khugepaged_scan_mm_slot -> khugepaged_scan_pmd ->
 * collapse_huge_page read (4.4-6.2):
 *   1. mmap_read_lock (down_read up to 4.15; from 4.16 mmap_read_trylock:
 *      a busy mm is skipped); the VMA and the pmd are
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
import { BLOCKED, DONE, type Kernel, SLEEP } from '../kernel.js';
import { set_huge_pmd } from '../kernel/huge_memory.js';
import { add_to_page_cache } from '../kernel/filemap.js';
import {
  anon_vma_lock_write,
  anon_vma_unlock_write,
  i_mmap_lock_read,
  i_mmap_lock_write,
  i_mmap_unlock_read,
  i_mmap_unlock_write,
  mmap_read_lock,
  mmap_read_trylock,
  mmap_read_unlock,
  mmap_write_lock,
  mmap_write_trylock,
  mmap_write_unlock,
  pte_lock,
  trylock_page,
  unlock_page,
} from '../kernel/locking.js';
import { zap_present_page } from '../kernel/memory.js';
import { alloc_folio, get_page, put_page } from '../kernel/page_alloc.js';
import { pmd_populate, pte_free_table, set_pmd } from '../kernel/pgalloc.js';
import {
  MM_ANONPAGES,
  MM_FLAGS,
  MM_LIVE,
  MMF_GHOST_RETRACTED,
  PG_ANON,
  PG_DATA,
  PG_MAPPING,
  PG_SWAPCACHE,
  PG_THP,
  TH_NEWPAGE,
  TH_PTE_TABLE,
  VMA_ANON_VMA,
  VMA_PRESENT,
} from '../layout.js';
import { pmdTable } from '../objects.js';
import type { ProgramBuilder } from '../program.js';
import { PTE_NONE, PTE_PRESENT, PTE_SPECIAL, PTE_WRITE, pteKind, pteTarget } from '../pte.js';

const KHUGEPAGED = 'mm/khugepaged.c';

/**
 * khugepaged_scan_mm_slot's mmap_lock: down_read (sleeps: SLEEP) up to 4.15, down_read_trylock from 4.16 (false: the mm
 * is busy and skipped). True when held.
 */
function khugepagedScanLock(b: ProgramBuilder): (k: Kernel, t: number, m: number) => boolean | typeof SLEEP {
  if (b.has('khugepaged-scan-trylock')) return (k, t, m) => mmap_read_trylock(k, t, m);
  return (k, t, m) => mmap_read_lock(k, t, m) || SLEEP;
}

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

  const scanLock = khugepagedScanLock(b);
  b.define(SCAN, 'khugepaged_scan_pmd', `${KHUGEPAGED}:khugepaged_scan_mm_slot -> khugepaged_scan_pmd -> collapse_huge_page (4.8-6.2; mm/huge_memory.c before)`, (k, t) => {
    if (!live(k)) return giveUp(k, t, 'khugepaged_test_exit / no VMA');
    const locked = scanLock(k, t, m);
    if (locked === SLEEP) return SLEEP;
    if (!locked) return giveUp(k, t, 'mmap_read_trylock fails (the mm is busy): skipped');
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

/**
 * khugepaged's collapse of a huge shmem file's small pages into a THP, and
 * the retraction of the PTE tables that mapped them (mm/khugepaged.c:
 * khugepaged_scan_shmem -> collapse_shmem 4.8-5.3, khugepaged_scan_file ->
 * collapse_file 5.4 on; read in 4.8.17, 6.2 and 6.14). mm m maps file f
 * at `addrs` (its THP VMA: the file's one huge range). Steps:
 *   1. khugepaged_scan_file: mmap_read_lock (a trylock from 4.16) to find the VMA, released
 *      before the page-cache scan; no page of the range may be part of a
 *      THP (SCAN_PAGE_COMPOUND) or have a reference beyond the page cache
 *      and its mappings (SCAN_PAGE_COUNT), and one page must be present
 *      (max_ptes_none); the THP allocated and locked (__SetPageLocked).
 *   2. collapse_file's loop: each page trylock_page'd (shmem:
 *      SCAN_PAGE_LOCK), get_page, isolated, unmapped from every PTE
 *      (unmap_mapping_range up to 5.x, try_to_unmap in 6.x: the unmap is not
 *      undone on failure), its refcount checked again (page_ref_freeze:
 *      the page cache's and ours only), and its slot replaced by the THP's
 *      subpage; holes are filled. On success the data is copied, the old
 *      pages freed; the THP stays locked. The old pages are locked and
 *      frozen and the THP locked while the loop runs: no fault can see
 *      between its parts (a fault waits for the page lock).
 *   3. retract_page_tables with the THP still locked, then unlock_page.
 *      (khugepaged_test_exit in it came in 5.9; the model's exit zaps in
 *      one step, so testing it on every release changes nothing.)
 *      Up to 6.5: i_mmap_lock_write; for each VMA of the file without an
 *      anon_vma whose pmd points at a PTE table, mmap_write_trylock (a
 *      fault holds mmap_lock and then waits for our page lock: the "lock
 *      inversion" of the comment), pmd_lock, pmdp_collapse_flush,
 *      pte_free; a busy mm keeps its table (khugepaged_add_pte_mapped_thp:
 *      the later collapse_pte_mapped_thp is not modelled). From 6.6
 *      (1d65b771bc08): i_mmap_lock_read and no mmap_lock: pmd_lock and
 *      the PT lock, the anon_vma checked again, pmdp_collapse_flush,
 *      pte_free_defer. 6.5's pte_offset_map_lock revalidates the pmd under
 *      the PT lock; the model's PTE walkers read the pmd and take the PT
 *      lock in one step, which is that guarantee (F4's release limit).
 * 4.8's collapse_shmem froze the new page at refcount 0 (a fault's
 * find_get_page spins on it); the model keeps its references and the
 * fault sleeps on its page lock instead: both wait until the collapse ends.
 */
export function buildCollapseFile(b: ProgramBuilder, m: number, f: number, addrs: readonly number[]): void {
  const SCAN = b.reserve(); // the operation starts at its first step
  const REPLACE = b.reserve();
  const I_MMAP = b.reserve();
  const RETRACT = b.reserve();
  const lockless = b.has('retract-without-mmap-lock') || b.ctx.mutants.has('retract-without-trylock');
  // Without 6.5's revalidation a lockless retract is the F4 hazard: recorded by set_pmd as no-retract-under-read's ghost.
  const revalidated = b.has('pte-offset-map-revalidate');
  const sleeps = b.ctx.mutants.has('retract-write-lock');
  const nr = addrs.length;
  const live = (k: Kernel, mm: number): boolean => k.mmState(mm) === MM_LIVE && k.vmaPresent(mm, addrs[0]!);
  const giveUp = (k: Kernel, t: number, why: string): number => {
    const thp = k.threadWord(t, TH_NEWPAGE);
    if (thp) {
      unlock_page(k, thp);
      put_page(k, thp);
    }
    k.setThreadWord(t, TH_NEWPAGE, 0);
    if (k.narrate) k.note(`${why}: no collapse`);
    return DONE;
  };

  const scanLock = khugepagedScanLock(b);
  b.define(SCAN, 'khugepaged_scan_file', `${KHUGEPAGED}:khugepaged_scan_mm_slot -> khugepaged_scan_file (khugepaged_scan_shmem before 5.4; 4.8-6.2)`, (k, t) => {
    if (!live(k, m)) return giveUp(k, t, 'khugepaged_test_exit / no VMA');
    const locked = scanLock(k, t, m);
    if (locked === SLEEP) return SLEEP;
    if (!locked) return giveUp(k, t, 'mmap_read_trylock fails (the mm is busy): skipped');
    mmap_read_unlock(k, t, m); // "mmap_read_unlock(mm); ... khugepaged_scan_file(...)"
    let present = 0;
    for (let i = 0; i < nr; i++) {
      const p = k.cachePage(f, i);
      if (!p) continue;
      if (k.pageTest(k.folioHead(p), PG_THP)) return giveUp(k, t, `pfn ${p} is part of a THP already (SCAN_PAGE_COMPOUND / SCAN_PTE_MAPPED_HUGEPAGE)`);
      // "if (page_count(page) != 1 + page_mapcount(page))": a GUP reference, or a fault holding the page.
      if (k.pageRef(p) !== 1 + k.pageMapcount(p)) return giveUp(k, t, `SCAN_PAGE_COUNT: pfn ${p} has refcount ${k.pageRef(p)}, mapcount ${k.pageMapcount(p)}`);
      present++;
    }
    if (!present) return giveUp(k, t, 'SCAN_EXCEED_NONE_PTE: no page of the range is present');
    const thp = alloc_folio(k, nr);
    if (!thp) return giveUp(k, t, 'SCAN_ALLOC_HUGE_PAGE_FAIL');
    trylock_page(k, t, thp); // __SetPageLocked: nobody else sees it yet
    k.setThreadWord(t, TH_NEWPAGE, thp);
    if (k.narrate) k.note(`mmap_read_unlock; the page cache of ${k.world.fileNames[f]} qualifies (${present} page(s)); a new THP pfn ${thp}, locked`);
    return REPLACE;
  });

  b.define(
    REPLACE,
    'collapse_file: lock, unmap and replace the pages',
    `${KHUGEPAGED}:collapse_file (collapse_shmem before 5.4; 4.8-6.2) -> try_to_unmap / unmap_mapping_range`,
    (k, t) => {
      const thp = k.threadWord(t, TH_NEWPAGE);
      const old: number[] = [];
      let problem: string | null = null;
      for (let i = 0; i < nr && !problem; i++) {
        const p = k.cachePage(f, i);
        if (!p) continue; // a hole: filled with the THP's subpage
        if (k.pageTest(k.folioHead(p), PG_THP)) problem = `SCAN_PAGE_COMPOUND: pfn ${p}`;
        else if (!trylock_page(k, t, p)) problem = `SCAN_PAGE_LOCK: pfn ${p} is locked`;
        else {
          get_page(k, p);
          old.push(p);
          unmapEverywhere(k, p);
          // page_ref_freeze(page, 3): the page cache's, isolate_lru_page's (not modelled) and ours.
          if (k.pageRef(p) !== 2) problem = `SCAN_PAGE_COUNT: pfn ${p} has refcount ${k.pageRef(p)} after the unmap`;
        }
      }
      if (problem) {
        for (const p of old) {
          unlock_page(k, p);
          put_page(k, p);
        }
        return giveUp(k, t, `${problem}; the pages go back (their PTEs stay unmapped)`);
      }
      const subpages = k.folioPages(thp);
      for (let i = 0; i < nr; i++) {
        const p = k.cachePage(f, i);
        k.setPageWord(subpages[i]!, PG_DATA, p ? k.pageWord(p, PG_DATA) : 0); // copy_highpage, or clear_highpage for a hole
        if (p) {
          // page->mapping = NULL, unlock_page, put_page: ours; the page cache's with it (page_ref_unfreeze(page, 1)).
          k.setPageWord(p, PG_MAPPING, 0);
          k.setCacheSlot(f, i, 0);
          unlock_page(k, p);
          put_page(k, p, 2);
        }
        add_to_page_cache(k, f, i, subpages[i]!);
      }
      if (k.narrate) k.note(`the pages of ${k.world.fileNames[f]} locked, unmapped, replaced in the page cache by THP pfn ${thp} (still locked) and copied; the old pages freed`);
      return I_MMAP;
    },
  );

  const retractWhere = lockless
    ? `${KHUGEPAGED}:retract_page_tables (6.6-6.14${lockless && !b.has('retract-without-mmap-lock') ? '; MUTANT on an older release' : ''})`
    : `${KHUGEPAGED}:retract_page_tables (4.8-6.5)`;
  const retractLabel = lockless
    ? 'retract_page_tables: pmd_lock, pmdp_collapse_flush'
    : sleeps
      ? 'retract_page_tables: MUTANT mmap_write_lock'
      : 'retract_page_tables: mmap_write_trylock';
  // i_mmap_rwsem first, a step of its own: it may sleep, and (the mutant) the retraction may sleep holding it.
  b.define(I_MMAP, lockless ? 'retract_page_tables: i_mmap_lock_read' : 'retract_page_tables: i_mmap_lock_write', retractWhere, (k, t) =>
    (lockless ? i_mmap_lock_read(k, t, f) : i_mmap_lock_write(k, t, f)) ? RETRACT : SLEEP,
  );
  b.define(RETRACT, retractLabel, retractWhere, (k, t) => {
    const notes: string[] = [];
    for (let mm = 0; mm < k.world.mmNames.length; mm++) {
      if (!live(k, mm)) continue;
      const v = k.L.vma(mm, k.world.vmaOfAddr[addrs[0]!]!);
      if (k.s[v]! & VMA_ANON_VMA) {
        notes.push(`${k.mmName(mm)} has an anon_vma: skipped`);
        continue;
      }
      const table = pmdTable(k.s[k.L.pmd(mm)]!);
      if (!table) continue; // find_pmd_or_thp_or_none: none or huge
      if (lockless) {
        // pmd_lock, then the PT lock (the model's PT lock word: a holder across steps would make us spin).
        if (!pte_lock(k, t, mm)) return BLOCKED;
        // Walkers recheck pmd_same under the PT lock (6.5). Without that (the mutant), F4's lock discipline is all that
        // protects them, and the model's walkers are atomic: the mutant breaks the rule, not a walker (a discipline check).
        if (revalidated) k.s[k.L.pmd(mm)] = 0;
        else set_pmd(k, t, mm, 0);
        pte_free_table(k, table);
        k.setMmWord(mm, MM_FLAGS, k.mmWord(mm, MM_FLAGS) | MMF_GHOST_RETRACTED);
        notes.push(`${k.mmName(mm)}: pmd_lock, PT lock, pmdp_collapse_flush: PTE table ${table - 1} retracted without mmap_lock (pte_free_defer)`);
        continue;
      }
      if (sleeps) {
        if (!mmap_write_lock(k, t, mm)) return SLEEP;
      } else if (!mmap_write_trylock(k, t, mm)) {
        notes.push(`mmap_write_trylock(${k.mmName(mm)}) fails: khugepaged_add_pte_mapped_thp, the table stays (a later pass is not modelled)`);
        continue;
      }
      set_pmd(k, t, mm, 0);
      mmap_write_unlock(k, mm);
      pte_free_table(k, table);
      k.setMmWord(mm, MM_FLAGS, k.mmWord(mm, MM_FLAGS) | MMF_GHOST_RETRACTED);
      notes.push(`${k.mmName(mm)}: mmap_write_${sleeps ? 'lock (MUTANT)' : 'trylock'}, pmd_lock, pmdp_collapse_flush: PTE table ${table - 1} retracted, pte_free`);
    }
    if (lockless) i_mmap_unlock_read(k, t, f);
    else i_mmap_unlock_write(k, f);
    const thp = k.threadWord(t, TH_NEWPAGE);
    unlock_page(k, thp);
    put_page(k, thp); // the allocation's reference: the page cache holds the THP (nr references)
    k.setThreadWord(t, TH_NEWPAGE, 0);
    if (k.narrate) k.note(`${notes.length ? `${notes.join('; ')}; ` : 'no PTE table to retract; '}unlock_page(THP pfn ${thp}): the next fault maps it with a huge pmd`);
    return DONE;
  });
}

/** try_to_unmap of a small page-cache page: every PTE that maps it cleared, with its rmap, rss and reference. */
function unmapEverywhere(k: Kernel, pfn: number): void {
  for (let mm = 0; mm < k.world.mmNames.length; mm++) {
    for (let a = 0; a < k.addrs; a++) {
      const e = k.pte(mm, a);
      if (pteKind(e) !== PTE_PRESENT || e & PTE_SPECIAL || pteTarget(e) !== pfn) continue;
      k.setPte(mm, a, 0);
      zap_present_page(k, pfn, e);
      k.addRss(mm, k.mmCounter(pfn), -1);
      k.detachGup(mm, a);
    }
  }
}
