/**
 * The page-fault handler for a private anonymous mapping, as steps:
 * handle_pte_fault under the PT lock (do_anonymous_page, do_wp_page),
 * wp_page_copy (allocate and copy without the PT lock, then install under
 * it), and do_swap_page (swap cache lookup, page lock, map under the PT lock).
 *
 * The caller (a user access or GUP) holds mmap_lock for read, has read
 * orig_pte into TH_ORIG and the fault flags into FAULT_LOCALS.flags, and gets control
 * back through onDone when the fault returns (whatever it returned: the
 * caller retries its access).
 *
 * Sources: mm/memory.c of 5.7.14, 5.9.1, 5.17-rc5, 5.18.12, 5.19, 6.1.20, 6.2.12
 * (docs/kernel-notes.md).
 */
import { fallocEnd, fallocStart, formatPmd, pmdHuge, pmdHugePfn, pmdHugeRo, pmdIsHuge, pmdIsMigration, pmdMigrationPfn, pmdUnstable, pmdWithRo } from '../objects.js';
import { bad_pmd, do_set_pmd, retract_empty_table, set_huge_pmd, set_huge_zero_page } from '../kernel/huge_memory.js';
import { PG_LOCKED } from '../locks.js';
import { BLOCKED, type Kernel, SLEEP } from '../kernel.js';
import { int, threadLocals } from '../thread-locals.js';
import { do_wp_page_locked_5_7, SWAPIN_EXCLUSIVE, SWAPIN_WRITABLE, type WpFault } from '../kernel/memory.js';
import {
  F_FALLOC,
  F_FLAGS,
  F_GHOST,
  GHOST_DOUBLE_INSTALL,
  TH_PTE_TABLE,
  VMA_DONTCOPY_SHIFT,
  MM_ANONPAGES,
  MM_SWAPENTS,
  PG_DIRTY,
  RSS_NAMES,
  PG_ANON,
  PG_ANON_EXCLUSIVE,
  PG_THP,
  PG_DATA,
  PG_DEVFREE,
  PG_MAPPING,
  pageMappingWord,
  PG_SWAPBACKED,
  PG_SWAPCACHE,
  TH_NEWPAGE,
  TH_ORIG,
  TH_PAGE,
  TH_PFN,
  VMA_WRITE,
} from '../layout.js';
import type { ProgramBuilder, Run } from '../program.js';
import { formatPte, pteDevmap, PTE_DEVPRIV, PTE_DIRTY, PTE_MIGRATION, PTE_NONE, PTE_PRESENT, PTE_SWAP, PTE_WRITE, pteKind, ptePresent, pteTarget, pteZero } from '../pte.js';
import { migrate_devpriv_to_ram, PGMAP_ALIVE, PGMAP_FREED, PGMAP_GHOST_FREE_PAGE, PGMAP_GHOST_UAF, pgmapGhost, pgmapLife } from '../kernel/memremap.js';
import { add_to_page_cache } from '../kernel/filemap.js';
import { shmem_alloc_hugepage } from '../kernel/shmem.js';
import {
  filemap_invalidate_lock_shared,
  filemap_invalidate_unlock_shared,
  i_mmap_lock_read,
  i_mmap_unlock_read,
  lock_page,
  shmem_falloc_wait,
  trylock_page,
  unlock_page,
  wait_on_page_locked,
} from '../kernel/locking.js';
import { alloc_folio, alloc_page, get_page, put_page } from '../kernel/page_alloc.js';
import { anon_vma_prepare, page_add_file_rmap, page_remove_rmap } from '../kernel/rmap.js';
import { add_to_swap_cache } from '../kernel/swapfile.js';
import { ALLOC_OOM, ALLOC_RETRY, ALLOC_SLEEP, ALLOC_SPIN, pmd_none, pmd_populate, pte_free, pte_free_table } from '../kernel/pgalloc.js';

/** Fault flags and results kept in the thread's aux word while a fault runs. */
/** The fault's local: its flags (FAULT_FLAG_*) and, once it returns, its result bits (VM_FAULT_*); its caller sets the flags. */
export const FAULT_LOCALS = threadLocals('handle_mm_fault', { flags: int('aux') });

export const FAULT_FLAG_WRITE = 1;
export const FAULT_FLAG_UNSHARE = 2;
/** GUP's FOLL_COW (<= 6.0): a write fault on a !VM_WRITE vma succeeded. */
export const FOLL_COW = 4;
/** The fault returned VM_FAULT_WRITE (a write fault that made the page ours). */
export const VM_FAULT_WRITE = 8;
/** The fault returned VM_FAULT_OOM or VM_FAULT_SIGBUS. */
export const VM_FAULT_ERROR = 16;
/** The fault flags a caller sets; the rest are results. */
export const FAULT_FLAGS = FAULT_FLAG_WRITE | FAULT_FLAG_UNSHARE;

const MEMORY_C = 'mm/memory.c';

export interface Fault {
  /** Called from the caller's step once TH_ORIG and the flags are set: the fault's first pc. */
  enter(k: Kernel, t: number): number;
}

/**
 * Adds the fault steps for (m, a) to b. onDone runs inside the fault's last
 * step and returns the caller's next pc. fileVma: a is in a file mapping
 * (adds the ->fault and finish_fault steps).
 */
/** Where a fault is and what it meets: a THP VMA (and whether this fault's huge allocation fails), fault-around. */
export interface FaultSite {
  readonly thp: boolean;
  readonly fails: boolean;
  /** A read fault in a file VMA runs do_fault_around first (fault_around_bytes > PAGE_SIZE, ->map_pages). */
  readonly faultAround?: boolean;
}

export function buildFault(b: ProgramBuilder, m: number, a: number, onDone: Run, fileVma = false, huge: FaultSite = { thp: false, fails: false }): Fault {
  const PTL = b.reserve();
  // do_wp_page sleeps in lock_page only up to 5.8 (reuse_swap_page under the page lock).
  const WP_LOCK = !b.has('wp-page-count') && !b.has('cow-page-count') ? b.reserve() : -1;
  const WP_COPY = b.reserve();
  const WP_INSTALL = b.reserve();
  const SWAP_LOOKUP = b.ctx.swap ? b.reserve() : -1;
  const SWAP_LOCK = b.ctx.swap ? b.reserve() : -1;
  const SWAP_MAP = b.ctx.swap ? b.reserve() : -1;
  const MIGRATION_WAIT = b.ctx.migration ? b.reserve() : -1;
  // A device-private entry: do_swap_page's is_device_private_entry branch, then the driver's ->migrate_to_ram.
  const DP_LOOK = b.ctx.devicePrivate ? b.reserve() : -1;
  const DP_MIGRATE = b.ctx.devicePrivate ? b.reserve() : -1;
  const faultRef = b.ctx.devicePrivate && b.has('device-private-fault-ref');
  const FILE_FAULT = fileVma ? b.reserve() : -1;
  const FILE_FINISH = fileVma ? b.reserve() : -1;
  // ->page_mkwrite of a disk file's shared mapping (ext4_page_mkwrite -> block_page_mkwrite: lock_page, set_page_dirty).
  const diskShared = fileVma && b.ctx.sharedDiskAt(a);
  const MKWRITE = diskShared ? b.reserve() : -1;
  const WP_MKWRITE = diskShared ? b.reserve() : -1;
  // The PMD level (seed 004): where the PTE table is allocated, by release (docs/kernel-notes.md#page-tables).
  const tables = b.ctx.pageTables;
  // Hugh's huge tmpfs 09/31 (mmotm, April 2016) had the same order as 7267ec008b5c: the table after ->fault.
  const postponed = (tables || fileVma) && (b.has('postpone-pte-alloc') || b.has('avoid-premature-exposure'));
  /** Where-strings for Hugh's patch on a release before 4.8: the functions are those of 7267ec008b5c, the release is not. */
  const rel = (range: string): string => (b.has('postpone-pte-alloc') ? range : 'the allocation after ->fault of huge tmpfs 09/31, on 4.6; mainline has it from 4.8');
  const EARLY_ALLOC = tables ? b.reserve() : -1;
  // __pte_alloc's second half: pmd_lock, then populate if the pmd is still none, else pte_free (another thread populated it meanwhile).
  const EARLY_POPULATE = tables ? b.reserve() : -1;
  const PREALLOC = tables && fileVma && b.has('fault-prealloc-pte') ? b.reserve() : -1;
  const LOCKED_ALLOC = tables && fileVma && postponed ? b.reserve() : -1;
  const LOCKED_POPULATE = LOCKED_ALLOC >= 0 ? b.reserve() : -1;
  // do_fault_around: a prealloc (4.8+, pmd none), then ->map_pages maps the window's cached, unlocked pages.
  const FA_PREALLOC = fileVma && huge.faultAround && tables && postponed ? b.reserve() : -1;
  const FA_MAP = fileVma && huge.faultAround ? b.reserve() : -1;
  // 4.8-4.9 free an unused fault-around prealloc right after ->map_pages; from 4.10 it lives to the end of do_fault (b0b9b3df27d1).
  const faPreallocKept = FA_MAP >= 0 && b.has('stop-leaking-pagetables');
  // A THP VMA: do_huge_pmd_anonymous_page (unless this fault's huge allocation fails), and the pmd checks after __pte_alloc.
  const HUGE_ALLOC = huge.thp && !huge.fails && !fileVma ? b.reserve() : -1;
  // A huge shmem mapping: ->fault may put a THP in the page cache, which finish_fault maps with a huge pmd (do_set_pmd, 4.8 on).
  const hugeFile = huge.thp && fileVma;
  // A write (or unshare) fault on a R/O huge pmd: wp_huge_pmd -> do_huge_pmd_wp_page (any fault in a THP scenario: GUP's too).
  const HUGE_WP = b.ctx.thp ? b.reserve() : -1;
  const thpCopies = b.ctx.thp && !b.has('thp-cow-split');
  const HUGE_SET = HUGE_ALLOC >= 0 ? b.reserve() : -1;
  const retracts = b.ctx.mutants.has('thp-fault-retracts-table');
  // Before 4.5 (ad33bb04b2a6) the fault tests pmd_trans_huge(*pmd) and then reads the pmd again in pte_offset_map.
  const reread = b.ctx.thp && (!b.has('fault-pmd-trans-unstable') || b.ctx.mutants.has('pmd-check-reread'));
  const PMD_CHECK = reread ? b.reserve() : -1;
  const PTE_MAP = reread ? b.reserve() : -1;
  // A THP that migrates (4.14 on): the fault may meet a PMD migration entry and wait for the migration (pmd_migration_entry_wait).
  const PMD_MIGRATION_WAIT = b.ctx.thp && b.ctx.migration ? b.reserve() : -1;
  // MUTANT pmd-unstable-misses-migration: pmd_trans_unstable without 84c3fc4e9c56's !pmd_present test takes a migration entry for a table.
  const missesMigration = b.ctx.mutants.has('pmd-unstable-misses-migration');

  const flags = (k: Kernel, t: number): number => FAULT_LOCALS.flags.get(k, t);
  /** The THP VMA still spans the huge range: VM_DONTCOPY on none or all of its pages (else the kernel's VMA was split). */
  const thpSuitable = (k: Kernel): boolean => {
    const dontcopy = k.s[k.L.vma(m, k.world.vmaOfAddr[a]!)]! >>> VMA_DONTCOPY_SHIFT;
    return dontcopy === 0 || dontcopy === (1 << k.world.thpPages) - 1;
  };
  /** do_swap_page's reason, filled when narrating (one object per fault, not one per state). */
  const why = { text: '' };
  const setResult = (k: Kernel, t: number, bit: number): void => {
    FAULT_LOCALS.flags.set(k, t, flags(k, t) | bit);
  };
  const vmWrite = (k: Kernel): boolean => (k.vmaAt(m, a) & VMA_WRITE) !== 0;
  /** Drops the thread's held page references and returns to the caller. */
  const finish = (k: Kernel, t: number): number => {
    // do_fault: an unused vmf->prealloc_pte is freed on the way out (pte_free).
    if (tables && k.threadWord(t, TH_PTE_TABLE)) {
      pte_free(k, t);
      if (k.narrate) k.note('the unused prealloc_pte is freed (pte_free)');
    }
    const p = k.threadWord(t, TH_PAGE);
    if (p) put_page(k, p);
    const n = k.threadWord(t, TH_NEWPAGE);
    if (n) put_page(k, n);
    k.setThreadWord(t, TH_PAGE, 0);
    k.setThreadWord(t, TH_NEWPAGE, 0);
    return onDone(k, t);
  };

  // ---- do_anonymous_page --------------------------------------------------
  const doAnonymousPage = (k: Kernel, t: number): number => {
    if (!(flags(k, t) & FAULT_FLAG_WRITE)) {
      k.setPte(m, a, pteZero());
      if (k.narrate) k.note('do_anonymous_page: read fault maps the shared zeropage R/O (no rss)');
      return finish(k, t);
    }
    const pfn = alloc_page(k);
    if (pfn === 0) {
      if (k.narrate) k.note('do_anonymous_page: no free page: VM_FAULT_OOM');
      setResult(k, t, VM_FAULT_ERROR);
      return finish(k, t);
    }
    k.setPageWord(pfn, PG_DATA, 0);
    k.fn.page_add_new_anon_rmap(k, pfn);
    anon_vma_prepare(k, m, a);
    k.addRss(m, MM_ANONPAGES, 1);
    k.setPte(m, a, ptePresent(pfn, vmWrite(k), true));
    if (k.narrate) k.note(`do_anonymous_page: new zeroed page pfn ${pfn}, page_add_new_anon_rmap${exclusiveNote(k, pfn)}, MM_ANONPAGES+1`);
    return finish(k, t);
  };

  // ---- do_wp_page (PT lock held) ---------------------------------------------
  /** wp_page_reuse(): make the same PTE young, dirty and (if VM_WRITE) writable. */
  const reuse = (k: Kernel, t: number, why: string): number => {
    const orig = k.threadWord(t, TH_ORIG);
    if (flags(k, t) & FAULT_FLAG_UNSHARE) {
      if (k.narrate) k.note(`do_wp_page: ${why}: unshare is a no-op, the PTE stays R/O`);
      return finish(k, t);
    }
    k.setPte(m, a, orig | PTE_DIRTY | (vmWrite(k) ? PTE_WRITE : 0));
    setResult(k, t, VM_FAULT_WRITE);
    if (!vmWrite(k)) setResult(k, t, FOLL_COW);
    if (k.narrate) k.note(`do_wp_page: ${why}: wp_page_reuse`);
    return finish(k, t);
  };
  /** copy: get_page(old), drop the PT lock, wp_page_copy. */
  const copy = (k: Kernel, t: number, old: number, why: string): number => {
    if (old) {
      get_page(k, old);
      k.setThreadWord(t, TH_PAGE, old);
    }
    if (k.narrate) k.note(`do_wp_page: ${why}: copy (wp_page_copy)`);
    return WP_COPY;
  };

  /** do_wp_page's ways out (model/kernel/memory.ts): the release's do_wp_page decides which. */
  const wpf: WpFault = {
    m,
    a,
    unshare: (k, t) => (flags(k, t) & FAULT_FLAG_UNSHARE) !== 0,
    reuse,
    copy,
    shared: (k, t) => {
      const orig = k.threadWord(t, TH_ORIG);
      if (WP_MKWRITE >= 0) {
        // wp_page_shared: get_page, drop the PT lock, do_page_mkwrite (it sleeps for the page lock).
        get_page(k, pteTarget(orig));
        k.setThreadWord(t, TH_PAGE, pteTarget(orig));
        return WP_MKWRITE;
      }
      // wp_page_shared() of a shmem page (no ->page_mkwrite): the same page made writable.
      k.setPte(m, a, orig | PTE_DIRTY | PTE_WRITE);
      k.setPageFlag(pteTarget(orig), PG_DIRTY);
      setResult(k, t, VM_FAULT_WRITE);
      if (k.narrate) k.note('do_wp_page: shared mapping: wp_page_shared, the PTE made writable');
      return finish(k, t);
    },
    done: (k, t) => finish(k, t),
    lockPage: WP_LOCK,
  };
  const doWpPage = (k: Kernel, t: number): number => k.fn.do_wp_page(k, t, wpf);

  b.define(PTL, 'handle_pte_fault', `${MEMORY_C}:handle_pte_fault (5.7-6.2)`, (k, t) => {
    const orig = k.threadWord(t, TH_ORIG);
    const cur = k.pte(m, a);
    if (cur !== orig) {
      if (k.narrate) k.note(`!pte_same: ${formatPte(cur)} is not orig_pte ${formatPte(orig)}: return, the access retries`);
      return finish(k, t);
    }
    const f = flags(k, t);
    if (pteKind(cur) === PTE_NONE) {
      if (f & FAULT_FLAG_UNSHARE) return finish(k, t);
      return doAnonymousPage(k, t);
    }
    if (pteKind(cur) !== PTE_PRESENT) return finish(k, t);
    if (f & (FAULT_FLAG_WRITE | FAULT_FLAG_UNSHARE)) {
      if (!(cur & PTE_WRITE)) return doWpPage(k, t);
      if (f & FAULT_FLAG_WRITE) k.setPte(m, a, cur | PTE_DIRTY);
      if (k.narrate) k.note('the PTE is already writable: pte_mkdirty');
      return finish(k, t);
    }
    if (k.narrate) k.note('spurious read fault: the PTE is present');
    return finish(k, t);
  });

  if (WP_LOCK >= 0)
    b.define(WP_LOCK, 'do_wp_page: lock_page', `${MEMORY_C}:do_wp_page (5.7-5.8)`, (k, t) => {
      const pfn = k.threadWord(t, TH_PAGE);
      if (!lock_page(k, t, pfn)) return SLEEP;
      // PT lock retaken.
      const orig = k.threadWord(t, TH_ORIG);
      if (k.pte(m, a) !== orig) {
        unlock_page(k, pfn);
        if (k.narrate) k.note('PTE changed while sleeping on the page lock: unlock, put_page, return');
        return finish(k, t);
      }
      put_page(k, pfn);
      k.setThreadWord(t, TH_PAGE, 0);
      return do_wp_page_locked_5_7(k, t, wpf, pfn);
    });

  /**
   * ->page_mkwrite of a disk file (ext4_page_mkwrite): lock_page; a page
   * that left the file meanwhile (truncated) gives VM_FAULT_NOPAGE and the
   * access retries; else set_page_dirty, the page still locked. Returns null
   * (go on), SLEEP, or the fault's way out (a pc: 0 may be one).
   */
  const page_mkwrite = (k: Kernel, t: number, pfn: number): number | null => {
    if (!lock_page(k, t, pfn)) return SLEEP;
    if (k.pageFile(pfn) !== k.fileOf(a)) {
      unlock_page(k, pfn);
      if (k.narrate) k.note('->page_mkwrite: the page left the file (truncated): VM_FAULT_NOPAGE, the access retries');
      return finish(k, t);
    }
    k.setPageFlag(pfn, PG_DIRTY);
    return null;
  };
  if (WP_MKWRITE >= 0)
    b.define(
      WP_MKWRITE,
      'wp_page_shared: ->page_mkwrite: lock_page',
      `${MEMORY_C}:wp_page_shared -> do_page_mkwrite -> fs/ext4/inode.c:ext4_page_mkwrite; finish_mkwrite_fault, fault_dirty_shared_page (4.4-6.2)`,
      (k, t) => {
        const pfn = k.threadWord(t, TH_PAGE);
        const r = page_mkwrite(k, t, pfn);
        if (r !== null) return r;
        // finish_mkwrite_fault: the PT lock again, and the PTE must be the one the fault began with.
        const orig = k.threadWord(t, TH_ORIG);
        if (k.pte(m, a) !== orig) {
          unlock_page(k, pfn);
          if (k.narrate) k.note('->page_mkwrite: page locked and dirtied; !pte_same: the PTE changed meanwhile: return, the access retries');
          return finish(k, t);
        }
        k.setPte(m, a, orig | PTE_DIRTY | PTE_WRITE);
        setResult(k, t, VM_FAULT_WRITE);
        unlock_page(k, pfn); // fault_dirty_shared_page
        if (k.narrate) k.note('->page_mkwrite: lock_page, set_page_dirty; finish_mkwrite_fault: wp_page_reuse makes the PTE writable; fault_dirty_shared_page: unlock_page');
        return finish(k, t);
      },
    );

  b.define(WP_COPY, 'wp_page_copy: alloc and copy', `${MEMORY_C}:wp_page_copy (5.7-6.2)`, (k, t) => {
    const old = k.threadWord(t, TH_PAGE);
    const pfn = alloc_page(k);
    if (pfn === 0) {
      if (k.narrate) k.note('wp_page_copy: no free page: VM_FAULT_OOM');
      setResult(k, t, VM_FAULT_ERROR);
      return finish(k, t);
    }
    // cow_user_page() / alloc_zeroed_user_highpage_movable(): no PT lock held.
    const data = old ? k.pageWord(old, PG_DATA) : 0;
    k.setPageWord(pfn, PG_DATA, data);
    k.setThreadWord(t, TH_NEWPAGE, pfn);
    if (k.narrate) k.note(old ? `copy data ${data} of pfn ${old} into new pfn ${pfn}` : `new zeroed pfn ${pfn}`);
    return WP_INSTALL;
  });

  b.define(WP_INSTALL, 'wp_page_copy: install', `${MEMORY_C}:wp_page_copy (5.7-6.2)`, (k, t) => {
    const orig = k.threadWord(t, TH_ORIG);
    const old = k.threadWord(t, TH_PAGE);
    const pfn = k.threadWord(t, TH_NEWPAGE);
    if (k.pte(m, a) !== orig) {
      if (k.narrate) k.note('!pte_same: another thread changed the PTE: free the copy, return');
      return finish(k, t);
    }
    const unshare = (flags(k, t) & FAULT_FLAG_UNSHARE) !== 0;
    if (!old) k.addRss(m, MM_ANONPAGES, 1);
    else if (!k.pageTest(old, PG_ANON)) {
      k.addRss(m, k.mmCounter(old), -1);
      k.addRss(m, MM_ANONPAGES, 1);
    }
    k.fn.page_add_new_anon_rmap(k, pfn);
    anon_vma_prepare(k, m, a);
    k.setPte(m, a, ptePresent(pfn, !unshare && vmWrite(k), !unshare));
    k.setThreadWord(t, TH_NEWPAGE, 0); // its reference is now the mapping's
    // The old page loses this mapping and the mapping's reference ("new_page = old_page; put_page").
    if (old) k.fn.wp_page_copy_release(k, old);
    if (!unshare) setResult(k, t, VM_FAULT_WRITE);
    if (!unshare && !vmWrite(k)) setResult(k, t, FOLL_COW);
    if (k.narrate)
      k.note(`map new pfn ${pfn} ${unshare ? 'R/O (unshare)' : 'writable'}, page_add_new_anon_rmap${exclusiveNote(k, pfn)}${old ? `, page_remove_rmap(pfn ${old})` : ''}`);
    return finish(k, t);
  });

  // ---- do_swap_page ----------------------------------------------------------------
  if (SWAP_LOOKUP >= 0)
    b.define(SWAP_LOOKUP, 'do_swap_page: lookup_swap_cache', `${MEMORY_C}:do_swap_page (5.7-6.2)`, (k, t) => {
      const orig = k.threadWord(t, TH_ORIG);
      const slot = pteTarget(orig);
      let pfn = k.swapCachePage(slot);
      if (pfn) {
        get_page(k, pfn);
        if (k.narrate) k.note(`found pfn ${pfn} in the swap cache`);
      } else {
        if (k.swapCount(slot) === 0) {
          // __read_swap_cache_async: the entry was freed meanwhile.
          if (k.narrate) k.note('swap entry no longer in use: return, the access retries');
          return finish(k, t);
        }
        // swapin_readahead -> __read_swap_cache_async: new page, add to the swap cache, read it.
        pfn = alloc_page(k);
        if (pfn === 0) {
          setResult(k, t, VM_FAULT_ERROR);
          if (k.narrate) k.note('no free page: VM_FAULT_OOM');
          return finish(k, t);
        }
        k.setPageFlag(pfn, PG_SWAPBACKED);
        add_to_swap_cache(k, pfn, slot);
        k.setPageWord(pfn, PG_DATA, k.swapData(slot));
        if (k.narrate) k.note(`swapin_readahead: read slot ${slot} into new pfn ${pfn} (in the swap cache)`);
      }
      k.setThreadWord(t, TH_PAGE, pfn);
      return SWAP_LOCK;
    });

  if (SWAP_LOCK >= 0)
    b.define(SWAP_LOCK, 'do_swap_page: lock_page', `${MEMORY_C}:do_swap_page (5.7-6.2)`, (k, t) => {
      const pfn = k.threadWord(t, TH_PAGE);
      if (!lock_page(k, t, pfn)) return SLEEP; // lock_page_or_retry
      const slot = pteTarget(k.threadWord(t, TH_ORIG));
      if (!k.pageTest(pfn, PG_SWAPCACHE) || k.pageSwapSlot(pfn) !== slot) {
        unlock_page(k, pfn);
        if (k.narrate) k.note('the page left the swap cache meanwhile: out_page, the access retries');
        return finish(k, t);
      }
      return SWAP_MAP;
    });

  if (SWAP_MAP >= 0)
    b.define(SWAP_MAP, 'do_swap_page: map', `${MEMORY_C}:do_swap_page (5.7-6.2)`, (k, t) => {
      const orig = k.threadWord(t, TH_ORIG);
      const pfn = k.threadWord(t, TH_PAGE);
      if (k.pte(m, a) !== orig) {
        unlock_page(k, pfn);
        if (k.narrate) k.note('!pte_same: out_nomap');
        return finish(k, t);
      }
      const slot = pteTarget(orig);
      let write = (flags(k, t) & FAULT_FLAG_WRITE) !== 0;
      // The release's rule (model/kernel/memory.ts: do_swap_page_reuse_*); swap_free is part of it.
      const bits = k.fn.do_swap_page_reuse(k, pfn, orig, write, why);
      const exclusive = (bits & SWAPIN_EXCLUSIVE) !== 0;
      const makeWritable = (bits & SWAPIN_WRITABLE) !== 0;
      k.addRss(m, MM_ANONPAGES, 1);
      k.addRss(m, MM_SWAPENTS, -1);
      k.fn.page_add_anon_rmap(k, pfn, exclusive);
      k.setPte(m, a, ptePresent(pfn, makeWritable && vmWrite(k), makeWritable));
      k.setThreadWord(t, TH_PAGE, 0); // our reference is now the mapping's
      if (makeWritable) {
        setResult(k, t, VM_FAULT_WRITE);
        write = false;
      }
      unlock_page(k, pfn);
      if (k.narrate)
        k.note(
          `map pfn ${pfn} ${makeWritable ? 'writable' : 'R/O'}${k.pageTest(pfn, PG_ANON_EXCLUSIVE) ? ' exclusive' : ''} (${why.text}), swap_free(slot ${slot}), MM_ANONPAGES+1 MM_SWAPENTS-1`,
        );
      if (write) {
        // The write fault is not resolved: do_wp_page with the PT lock still held.
        k.setThreadWord(t, TH_ORIG, k.pte(m, a));
        return doWpPage(k, t);
      }
      return finish(k, t);
    });

  // ---- do_swap_page -> migration_entry_wait ----------------------------------------
  if (MIGRATION_WAIT >= 0)
    b.define(MIGRATION_WAIT, 'migration_entry_wait', 'mm/migrate.c:migration_entry_wait (5.7-6.2)', (k, t) => {
      const orig = k.threadWord(t, TH_ORIG);
      if (k.pte(m, a) === orig && !wait_on_page_locked(k, t, pteTarget(orig))) return SLEEP;
      if (k.narrate) k.note('the migration entry is gone or its page unlocked: return, the access retries');
      return finish(k, t);
    });

  if (PMD_MIGRATION_WAIT >= 0)
    b.define(PMD_MIGRATION_WAIT, 'pmd_migration_entry_wait', 'mm/memory.c:__handle_mm_fault -> mm/migrate.c:pmd_migration_entry_wait (4.14-6.2)', (k, t) => {
      // Under pmd_lock: still a migration entry? Then sleep until its page is unlocked (the migration's end).
      const pmd = k.s[k.L.pmd(m)]!;
      if (pmdIsMigration(pmd) && !wait_on_page_locked(k, t, pmdMigrationPfn(pmd))) return SLEEP;
      if (k.narrate) k.note('the PMD migration entry is gone or its THP unlocked: return 0, the access retries');
      return finish(k, t);
    });

  // ---- do_fault: do_read_fault / do_cow_fault / do_shared_fault ---------------------
  /**
   * __dax_fault for a COW fault with no page-cache page (4.4-4.6): the copy
   * is filled from persistent memory (copy_user_bh), and with no page to lock
   * ->fault returns VM_FAULT_LOCKED holding i_mmap_rwsem for read, "to
   * protect against truncate"; do_cow_fault drops it after installing the
   * copy. ext4_dax_fault's own i_mmap_sem is released before it returns (not
   * modelled: the window is after it). fs/dax.c:__dax_fault,
   * mm/memory.c:do_cow_fault (4.6).
   */
  const daxCowFault = (k: Kernel, t: number, f: number, index: number): number => {
    if (!i_mmap_lock_read(k, t, f)) return SLEEP;
    const cow = alloc_page(k);
    if (cow === 0) {
      i_mmap_unlock_read(k, t, f);
      setResult(k, t, VM_FAULT_ERROR);
      return finish(k, t);
    }
    const data = k.world.fileDisk[f]![index] ?? 0;
    k.setPageWord(cow, PG_DATA, data);
    k.setThreadWord(t, TH_NEWPAGE, cow);
    if (k.narrate) k.note(`__dax_fault: copy_user_bh: pmem data ${data} into new anon pfn ${cow}; no page to lock: return holding ${k.world.fileNames[f]} i_mmap_rwsem (read)`);
    return FILE_FINISH;
  };
  /**
   * ext4_dax_huge_fault -> dax_iomap_pte_fault on an fsdax file (5.7 on):
   * the invalidate lock for read (break_layouts holds it for write while it
   * scans), the DAX entry's pfn, and the PTE: up to 6.14 vmf_insert_mixed ->
   * insert_pfn, a devmap PTE with no reference, mapcount or rss; from 6.15
   * (38607c62b34b) vmf_insert_page_mkwrite -> insert_page: a reference,
   * page_add_file_rmap and MM_FILEPAGES. No page lock (the entry lock is not
   * modelled: one step).
   * A device-dax (drivers/dax/device.c:dev_dax_huge_fault ->
   * __dev_dax_pte_fault, under dax_read_lock, not modelled) maps the same
   * way (6.15: aed877c2b425), and once kill_dev_dax has run, check_vma's
   * dax_alive fails: VM_FAULT_SIGBUS.
   */
  const daxPteFault = (k: Kernel, t: number, f: number, index: number): number => {
    const devdax = k.world.devType === 'generic';
    const fn = devdax ? '__dev_dax_pte_fault' : 'dax_iomap_pte_fault';
    if (devdax && pgmapLife(k) !== PGMAP_ALIVE) {
      if (k.narrate) k.note('dev_dax_huge_fault: check_vma: !dax_alive (kill_dev_dax ran): VM_FAULT_SIGBUS');
      setResult(k, t, VM_FAULT_ERROR);
      return finish(k, t);
    }
    if (!devdax && !filemap_invalidate_lock_shared(k, t, f)) return SLEEP;
    const pfn = k.cachePage(f, index);
    const writable = k.isSharedMapping(a) && vmWrite(k);
    if (k.pte(m, a) === 0) {
      if (k.world.daxMapsRefcounted) {
        get_page(k, pfn);
        page_add_file_rmap(k, pfn);
        k.setPageWord(pfn, PG_MAPPING, pageMappingWord(f, index));
        k.addRss(m, k.mmCounter(pfn), 1);
        k.setPte(m, a, ptePresent(pfn, writable, true));
      } else k.setPte(m, a, pteDevmap(pfn, writable));
      if (k.narrate)
        k.note(
          `${fn}: pfn ${pfn} of ${k.world.fileNames[f]} mapped (${k.world.daxMapsRefcounted ? 'insert_page: a reference, rmap, MM_FILEPAGES' : 'insert_pfn: a devmap PTE, no reference'})`,
        );
    }
    if (!devdax) filemap_invalidate_unlock_shared(k, t, f);
    if (flags(k, t) & FAULT_FLAG_WRITE) setResult(k, t, VM_FAULT_WRITE);
    return finish(k, t);
  };
  /** The fault's page lock, or for a DAX COW fault without a page its i_mmap_rwsem, released (do_cow_fault's exits). */
  const unlockFaultPage = (k: Kernel, t: number, pfn: number): void => {
    if (pfn) unlock_page(k, pfn);
    else i_mmap_unlock_read(k, t, k.fileOf(a));
  };
  if (fileVma) {
    b.define(FILE_FAULT, '__do_fault: ->fault', 'mm/memory.c:__do_fault -> mm/shmem.c:shmem_fault, mm/filemap.c:filemap_fault (4.4-6.2)', (k, t) => {
      const f = k.fileOf(a);
      const index = k.fileIndex(a);
      if (k.world.fileDevice[f]) return daxPteFault(k, t, f, index);
      if (index >= k.fileSize(f)) {
        if (k.narrate) k.note(`index ${index} is beyond i_size (${k.fileSize(f)} pages): SIGBUS`);
        setResult(k, t, VM_FAULT_ERROR);
        return finish(k, t);
      }
      const fflags = k.fileWord(f, F_FLAGS);
      if (k.world.fileShmem[f] && fflags & F_FALLOC && index >= fallocStart(fflags) && index < fallocEnd(fflags)) {
        // shmem_fault: refrain from faulting into a hole being punched: sleep on shmem_falloc_waitq.
        shmem_falloc_wait(k, t, f);
        return SLEEP;
      }
      const cached = k.cachePage(f, index);
      const cowFault = (flags(k, t) & FAULT_FLAG_WRITE) !== 0 && !k.isSharedMapping(a);
      if (!cached && cowFault && k.world.fileDax[f]) return daxCowFault(k, t, f, index);
      // A huge shmem miss: the subpage of the index, its THP locked and in the page cache (the fault's reference is the allocation's).
      let pfn = cached || (hugeFile ? shmem_alloc_hugepage(k, t, f, index) : 0);
      if (cached) {
        if (!lock_page(k, t, pfn)) return SLEEP; // find_lock_page
        get_page(k, pfn);
        if (k.narrate) k.note(`page cache hit: pfn ${pfn}, locked`);
      } else if (!pfn) {
        pfn = alloc_page(k);
        if (pfn === 0) {
          setResult(k, t, VM_FAULT_ERROR);
          return finish(k, t);
        }
        // A DAX file's page-cache pages are holes (dax_load_hole: zeroed); validation keeps reads of written pmem out.
        const data = k.world.fileShmem[f] || k.world.fileDax[f] ? 0 : (k.world.fileDisk[f]![index] ?? 0);
        k.setPageWord(pfn, PG_DATA, data);
        add_to_page_cache(k, f, index, pfn);
        trylock_page(k, t, pfn); // __folio_set_locked: a new page, nobody else sees it yet
        if (k.narrate)
          k.note(
            `page cache miss: new pfn ${pfn} (${k.world.fileShmem[f] ? 'shmem_alloc_and_acct_page, zeroed' : k.world.fileDax[f] ? 'dax_load_hole: a zeroed page for the hole' : `read from disk: ${data}`}), added to the page cache`,
          );
      }
      k.setThreadWord(t, TH_PAGE, pfn);
      if (MKWRITE >= 0 && flags(k, t) & FAULT_FLAG_WRITE) {
        // do_shared_fault: "Check if the backing address space wants to know that the page is about to become writable".
        unlock_page(k, pfn);
        return MKWRITE;
      }
      if (cowFault) {
        // do_cow_fault allocates the copy before __do_fault (4.4-6.2); here it follows the lookup in the same
        // step, which is undone and run again when lock_page sleeps: no interleaving sees it made under the lock.
        const cow = alloc_page(k);
        if (cow === 0) {
          unlock_page(k, pfn);
          setResult(k, t, VM_FAULT_ERROR);
          return finish(k, t);
        }
        k.setPageWord(cow, PG_DATA, k.pageWord(pfn, PG_DATA));
        k.setThreadWord(t, TH_NEWPAGE, cow);
        if (k.narrate) k.note(`do_cow_fault: copy pfn ${pfn} into new anon pfn ${cow}`);
      }
      return FILE_FINISH;
    });

    if (MKWRITE >= 0)
      b.define(
        MKWRITE,
        'do_shared_fault: unlock_page, ->page_mkwrite: lock_page',
        `${MEMORY_C}:do_shared_fault -> do_page_mkwrite -> fs/ext4/inode.c:ext4_page_mkwrite (4.4-6.2)`,
        (k, t) => {
          const pfn = k.threadWord(t, TH_PAGE);
          const r = page_mkwrite(k, t, pfn);
          if (r !== null) return r;
          if (k.narrate) k.note(`->page_mkwrite: pfn ${pfn} locked again, set_page_dirty`);
          return FILE_FINISH; // the page stays locked for finish_fault
        },
      );

    const finishWhere = postponed
      ? b.has('finish-fault-cleanup')
        ? 'mm/memory.c:finish_fault -> do_set_pte (5.12-6.2)'
        : `mm/memory.c:do_read_fault/do_cow_fault/do_shared_fault -> alloc_set_pte (${rel('4.8-4.9')}); finish_fault -> alloc_set_pte (4.10-5.11)`
      : 'mm/memory.c:do_read_fault/do_cow_fault/do_shared_fault -> do_set_pte (4.4-4.7)';
    const recheck = !b.ctx.mutants.has('fault-no-pte-recheck');
    // alloc_set_pte (4.8-5.11) and finish_fault from 5.14 install vmf->prealloc_pte; 5.12-5.13's finish_fault ignores it (f9ce0be71d1f).
    const usesPrealloc = !b.has('finish-fault-cleanup') || b.has('finish-fault-prealloc');
    const finishLabel = !postponed ? 'do_set_pte' : b.has('finish-fault-cleanup') ? 'finish_fault' : 'alloc_set_pte';
    b.define(FILE_FINISH, finishLabel, finishWhere, (k, t) => {
      const pfn = k.threadWord(t, TH_PAGE);
      const cow = k.threadWord(t, TH_NEWPAGE);
      const orig = k.threadWord(t, TH_ORIG);
      if (hugeFile && !cow && pmd_none(k, m) && k.pageTest(k.folioHead(pfn), PG_THP)) {
        // PageTransCompound(page) on a none pmd: do_set_pmd maps the THP whole (the pmd is none: it cannot fall back here).
        const folio = k.folioHead(pfn);
        const writable = k.isSharedMapping(a) && vmWrite(k);
        if (!do_set_pmd(k, t, m, folio, writable)) throw new Error('do_set_pmd: the pmd changed within a step');
        k.setThreadWord(t, TH_PAGE, 0);
        if (flags(k, t) & FAULT_FLAG_WRITE) setResult(k, t, VM_FAULT_WRITE);
        unlock_page(k, pfn);
        if (k.narrate)
          k.note(
            `do_set_pmd: the pmd is none and pfn ${pfn} is a page of THP pfn ${folio}: a ${writable ? 'writable' : 'R/O'} huge pmd maps it whole, page_add_file_rmap(compound), ${RSS_NAMES[k.fn.file_thp_counter(k, folio)]}+${k.world.thpPages}`,
          );
        return finish(k, t);
      }
      if (pmd_none(k, m)) {
        // The table is allocated now, with the page locked, unless a prealloc_pte is used (by release).
        if (!(usesPrealloc && k.threadWord(t, TH_PTE_TABLE))) return built(LOCKED_ALLOC, 'the PTE-table allocation after ->fault');
        pmd_populate(k, m, k.threadWord(t, TH_PTE_TABLE));
        k.setThreadWord(t, TH_PTE_TABLE, 0);
        if (k.narrate) k.note('pmd none: the prealloc_pte is installed under pmd_lock (pmd_populate)');
      }
      // pmd_devmap_trans_unstable (finish_fault 5.12-6.2; pte_alloc_one_map's pmd_trans_unstable 4.8-5.11): another fault's
      // do_set_pmd made the pmd huge while this one slept for the page: VM_FAULT_NOPAGE, the access retries through the pmd.
      if (hugeFile && pmdUnstable(k.s[k.L.pmd(m)]!)) {
        unlockFaultPage(k, t, pfn);
        if (k.narrate) k.note(`the pmd is ${formatPmd(k.s[k.L.pmd(m)]!)} now (pmd_devmap_trans_unstable): VM_FAULT_NOPAGE, the access retries`);
        return finish(k, t);
      }
      if (recheck && k.pte(m, a) !== orig) {
        unlockFaultPage(k, t, pfn);
        if (k.narrate) k.note('!pte_none: someone else mapped it: return, the access retries');
        return finish(k, t);
      }
      const write = (flags(k, t) & FAULT_FLAG_WRITE) !== 0;
      const shared = k.isSharedMapping(a);
      if (cow) {
        k.fn.page_add_new_anon_rmap(k, cow);
        anon_vma_prepare(k, m, a);
        k.setPte(m, a, ptePresent(cow, vmWrite(k), true));
        k.addRss(m, MM_ANONPAGES, 1);
        k.setThreadWord(t, TH_NEWPAGE, 0);
        if (k.narrate) k.note(`map the private copy pfn ${cow} ${vmWrite(k) ? 'writable' : 'R/O and dirty (no VM_WRITE: a forced write)'}, MM_ANONPAGES+1`);
      } else {
        if (k.pte(m, a) !== orig) k.setFileWord(k.fileOf(a), F_GHOST, k.fileWord(k.fileOf(a), F_GHOST) | GHOST_DOUBLE_INSTALL);
        const writable = do_set_pte(k, a, pfn, write);
        if (shared && write) k.setPageFlag(pfn, PG_DIRTY);
        k.setThreadWord(t, TH_PAGE, 0);
        if (k.narrate) k.note(`map page-cache pfn ${pfn} ${writable ? 'writable' : 'R/O'}, page_add_file_rmap, ${RSS_NAMES[k.mmCounter(pfn)]}+1`);
      }
      if (write) setResult(k, t, VM_FAULT_WRITE);
      unlockFaultPage(k, t, pfn);
      return finish(k, t);
    });
  }

  if (DP_LOOK >= 0) {
    b.define(
      DP_LOOK,
      faultRef ? 'do_swap_page: pte_offset_map_lock, pte_same, get_page' : 'do_swap_page: device_private_entry_to_page',
      faultRef ? `${MEMORY_C}:do_swap_page (6.1-6.2; 16ce101db85d)` : `${MEMORY_C}:do_swap_page (5.7-6.0)`,
      (k, t) => {
        const orig = k.threadWord(t, TH_ORIG);
        const pfn = pteTarget(orig);
        if (!faultRef) {
          // No PT lock, no reference: only pte_unmap_same, which compares nothing where a pte_t fits a long (x86-64).
          k.setThreadWord(t, TH_PFN, pfn);
          if (k.narrate) k.note(`vmf->page = pfn ${pfn}: no PT lock, no reference on it`);
          return DP_MIGRATE;
        }
        if (k.pte(m, a) !== orig) {
          if (k.narrate) k.note('!pte_same: the entry changed: return, the access retries');
          return finish(k, t);
        }
        get_page(k, pfn);
        k.setThreadWord(t, TH_PAGE, pfn);
        if (k.narrate) k.note(`pte_same under the PT lock: get_page(pfn ${pfn}), pte_unmap_unlock`);
        return DP_MIGRATE;
      },
    );
    b.define(
      DP_MIGRATE,
      'page->pgmap->ops->migrate_to_ram',
      `${MEMORY_C}:do_swap_page -> lib/test_hmm.c:dmirror_devmem_fault -> mm/migrate_device.c:migrate_vma_setup (5.7-6.2)`,
      (k, t) => {
        const pfn = k.threadWord(t, TH_PAGE) || k.threadWord(t, TH_PFN);
        k.setThreadWord(t, TH_PFN, 0);
        if (pgmapLife(k) === PGMAP_FREED) {
          pgmapGhost(k, PGMAP_GHOST_UAF);
          if (k.narrate) k.note(`pfn ${pfn}'s pgmap was freed by its driver: page->pgmap->ops->migrate_to_ram is a use after free`);
          return finish(k, t);
        }
        if (k.pageTest(pfn, PG_DEVFREE)) {
          pgmapGhost(k, PGMAP_GHOST_FREE_PAGE);
          if (k.narrate) k.note(`pfn ${pfn} is free (->page_free put it back on the driver's list): migrate_to_ram reads its zone_device_data, now the free list's link`);
          return finish(k, t);
        }
        const why = migrate_devpriv_to_ram(k, m, a, pfn, faultRef);
        if (why && k.narrate) k.note(`${why}: return, the access retries`);
        return finish(k, t); // 6.1: put_page of the fault's reference (TH_PAGE)
      },
    );
  }

  /**
   * do_set_pte (set_pte_range from 6.3) of a page-cache page at x: the rmap,
   * the rss counter and the PTE. A shared mapping is writable unless the
   * filesystem wants write notification (disk files). Returns writable.
   */
  const do_set_pte = (k: Kernel, x: number, pfn: number, write: boolean): boolean => {
    const shared = k.isSharedMapping(x);
    page_add_file_rmap(k, pfn);
    k.addRss(m, k.mmCounter(pfn), 1);
    const writable = shared && vmWrite(k) && (write || k.world.fileShmem[k.fileOf(x)]!);
    k.setPte(m, x, ptePresent(pfn, writable, shared && write));
    return writable;
  };

  // ---- the PTE table: allocation by release (seed 004) -------------------------------
  /** pte_offset_map, orig_pte read again: on to the PTE-level fault. */
  const mapPte = (k: Kernel, t: number): number => {
    const orig = k.pte(m, a);
    k.setThreadWord(t, TH_ORIG, orig);
    return pteKind(orig) === PTE_NONE && FILE_FAULT >= 0 ? (FA_MAP >= 0 ? FA_MAP : FILE_FAULT) : PTL;
  };
  /** After do_fault_around: the ->fault path (__do_fault preallocates first from 5.0). */
  const toFault = (): number => (PREALLOC >= 0 ? PREALLOC : FILE_FAULT);
  /**
   * Once __pte_alloc returned: from 4.5 one atomic read (pmd_trans_unstable:
   * none or huge means retry) before pte_offset_map; before, a
   * pmd_trans_huge(*pmd) test, then pte_offset_map reads the pmd again.
   */
  const afterTable = (k: Kernel, t: number): number => {
    if (reread) return PMD_CHECK;
    const pmd = k.s[k.L.pmd(m)]!;
    if (missesMigration && pmdIsMigration(pmd)) {
      bad_pmd(k, m);
      if (k.narrate) k.note(`MUTANT: pmd_trans_unstable tests none and huge only: the ${formatPmd(pmd)} is walked as a PTE table`);
      return finish(k, t);
    }
    if (b.ctx.thp && !pmdUnstable(pmd)) return mapPte(k, t);
    if (b.ctx.thp) {
      if (k.narrate) k.note(`pmd_trans_unstable: the pmd is ${formatPmd(k.s[k.L.pmd(m)]!)}: return 0, the access retries`);
      return finish(k, t);
    }
    return mapPte(k, t);
  };
  /**
   * pte_alloc_one (may reclaim: the step runs again while reclaim retries,
   * or sleeps), then `got` with the table; on failure the fault returns
   * VM_FAULT_OOM (unlocking the page it holds locked).
   */
  const allocate = (k: Kernel, t: number, self: number, locked: boolean, got: (table: number) => number): number => {
    const r = k.fn.pte_alloc_one(k, t);
    if (r === ALLOC_SLEEP) return SLEEP;
    if (r === ALLOC_SPIN) return BLOCKED;
    if (r === ALLOC_RETRY) return self;
    if (r === ALLOC_OOM) {
      if (k.narrate) k.note('no PTE table: VM_FAULT_OOM');
      if (locked) unlockFaultPage(k, t, k.threadWord(t, TH_PAGE));
      setResult(k, t, VM_FAULT_ERROR);
      return finish(k, t);
    }
    if (k.narrate) k.note(`pte_alloc_one: PTE table ${r - 1}${!locked ? '' : k.threadWord(t, TH_PAGE) ? ', with the page locked' : ', holding i_mmap_rwsem'}`);
    return got(r);
  };
  /**
   * __pte_alloc's second half, under pmd_lock, a step after pte_alloc_one:
   * install the table the thread holds if the pmd is still none, else
   * pte_free it (another thread populated the pmd meanwhile, or a THP
   * fault made it huge). The table is held in the thread's prealloc word
   * between the two steps.
   */
  const leaks = b.ctx.mutants.has('pte-alloc-leaks');
  const populateHeld = (k: Kernel, t: number): void => {
    const table = k.threadWord(t, TH_PTE_TABLE);
    k.setThreadWord(t, TH_PTE_TABLE, 0);
    if (pmd_populate(k, m, table)) {
      if (k.narrate) k.note('pmd_lock: the pmd is still none: pmd_populate');
      return;
    }
    if (leaks) {
      if (k.narrate) k.note('MUTANT: the pmd was populated meanwhile, and the new table is dropped without pte_free');
      return;
    }
    pte_free_table(k, table);
    if (k.narrate) k.note(`pmd_lock: the pmd was populated meanwhile (${formatPmd(k.s[k.L.pmd(m)]!)}): pte_free`);
  };
  /** The same in one step (5.12-5.13, whose finish_fault allocates while the thread still holds an unused prealloc_pte). */
  const populate = (k: Kernel, table: number): void => {
    if (!pmd_populate(k, m, table)) throw new Error('__pte_alloc: the pmd changed within a step');
    if (k.narrate) k.note('pmd_lock: the pmd is still none: pmd_populate');
  };
  if (tables) {
    const early = postponed
      ? ['do_anonymous_page: pte_alloc', `mm/memory.c:do_anonymous_page -> __pte_alloc (${rel('4.8-5.15; pmd_install 5.16-6.2')})`]
      : ['__handle_mm_fault: pte_alloc', 'mm/memory.c:__handle_mm_fault -> __pte_alloc (4.4-4.7)'];
    b.define(EARLY_ALLOC, early[0]!, early[1]!, (k, t) => {
      if (pmd_none(k, m))
        return allocate(k, t, EARLY_ALLOC, false, (table) => {
          k.setThreadWord(t, TH_PTE_TABLE, table);
          return EARLY_POPULATE;
        });
      if (k.narrate) k.note(`the pmd is not none (${formatPmd(k.s[k.L.pmd(m)]!)}): no table to allocate`);
      return afterTable(k, t);
    });
    b.define(EARLY_POPULATE, '__pte_alloc: pmd_lock, pmd_populate', early[1]!, (k, t) => {
      populateHeld(k, t);
      return afterTable(k, t);
    });
  }
  if (reread) {
    b.define(PMD_CHECK, '__handle_mm_fault: pmd_trans_huge(*pmd)', 'mm/memory.c:__handle_mm_fault (4.4)', (k, t) => {
      if (pmdIsHuge(k.s[k.L.pmd(m)]!)) {
        if (k.narrate) k.note('a huge pmd materialized from under us: return 0, the access retries');
        return finish(k, t);
      }
      return PTE_MAP;
    });
    b.define(PTE_MAP, 'pte_offset_map(pmd)', 'mm/memory.c:__handle_mm_fault -> pte_offset_map (4.4)', (k, t) => {
      const pmd = k.s[k.L.pmd(m)]!;
      if (pmd === 0 || pmdIsHuge(pmd)) {
        bad_pmd(k, m);
        if (k.narrate)
          k.note(
            `pte_offset_map reads the pmd again: ${formatPmd(pmd)}, not a PTE table: handle_pte_fault walks a bogus page table (the pmd changed after the pmd_trans_huge test)`,
          );
        return finish(k, t);
      }
      return mapPte(k, t);
    });
  }
  if (HUGE_ALLOC >= 0) {
    b.define(
      HUGE_ALLOC,
      'do_huge_pmd_anonymous_page: alloc_hugepage_vma, pte_alloc_one',
      'mm/huge_memory.c:do_huge_pmd_anonymous_page -> __do_huge_pmd_anonymous_page (4.4-6.2)',
      (k, t) => {
        // No pmd test here: __handle_mm_fault saw it none; __do_huge_pmd_anonymous_page tests it again under pmd_lock (HUGE_SET).
        // A read fault with transparent_hugepage_use_zero_page (the default) maps the huge zero page: no THP to allocate.
        const zero = !(flags(k, t) & FAULT_FLAG_WRITE);
        let folio = 0;
        if (!zero) {
          folio = alloc_folio(k, k.world.thpPages);
          if (folio === 0) {
            if (k.narrate) k.note('no huge page: VM_FAULT_FALLBACK to a PTE table');
            return EARLY_ALLOC;
          }
          k.setThreadWord(t, TH_NEWPAGE, folio);
        }
        // A table to deposit (THP scenarios have no reclaim: never ALLOC_RETRY or ALLOC_SLEEP).
        const r = k.fn.pte_alloc_one(k, t);
        if (r <= 0) {
          setResult(k, t, VM_FAULT_ERROR);
          if (k.narrate) k.note('no page table to deposit: VM_FAULT_OOM');
          return finish(k, t);
        }
        k.setThreadWord(t, TH_PTE_TABLE, r);
        if (k.narrate)
          k.note(
            zero
              ? `a read fault: mm_get_huge_zero_page, PTE table ${r - 1} to deposit`
              : `a THP of ${k.world.thpPages} page(s) (pfn ${folio}, zeroed) and PTE table ${r - 1} to deposit`,
          );
        return HUGE_SET;
      },
    );
    b.define(HUGE_SET, 'do_huge_pmd_anonymous_page: pmd_lock, set_pmd_at', 'mm/huge_memory.c:__do_huge_pmd_anonymous_page (4.4-6.2)', (k, t) => {
      const folio = k.threadWord(t, TH_NEWPAGE);
      if (retracts) retract_empty_table(k, t, m);
      if (!pmd_none(k, m)) {
        if (k.narrate) k.note('pmd_lock: the pmd is no longer none: the THP and the table are released, return 0 (the access retries)');
        return finish(k, t);
      }
      if (!folio) {
        set_huge_zero_page(k, t, m, k.threadWord(t, TH_PTE_TABLE));
        if (k.narrate) k.note('pmd_lock: set_huge_zero_page: a R/O huge pmd of the huge zero page, the table deposited (no rss)');
        return finish(k, t);
      }
      set_huge_pmd(k, t, m, folio);
      anon_vma_prepare(k, m, a);
      k.setThreadWord(t, TH_NEWPAGE, 0);
      if (k.narrate) k.note(`pmd_lock: set_pmd_at: a huge pmd maps pfn ${folio}${vmWrite(k) ? ' writable' : ''}, the table deposited, MM_ANONPAGES+${k.world.thpPages}`);
      return finish(k, t);
    });
  }
  /**
   * do_huge_pmd_wp_page on the huge zero pmd: up to 5.7 "goto alloc": a new
   * zeroed THP mapped writable (MM_ANONPAGES + nr); from 5.8 "goto fallback"
   * for a write and (5.19 on) an unshare alike: the pmd is split (the zero
   * page in each PTE) and the PTE-level fault copies the one page (6.2's R/O
   * long-term pin of the zero page in a COW mapping unshares that way).
   * Read in mm/huge_memory.c of 5.7.14, 5.8.1, 6.2.
   */
  const hugeZeroWp = (k: Kernel, t: number, unshare: boolean): number => {
    if (thpCopies && !unshare) {
      const thp = alloc_folio(k, k.world.thpPages);
      if (thp) {
        k.fn.page_add_new_anon_rmap(k, thp, true);
        anon_vma_prepare(k, m, a);
        k.s[k.L.pmd(m)] = pmdHuge(thp, !vmWrite(k)); // maybe_pmd_mkwrite: R/O without VM_WRITE (a forced write)
        k.addRss(m, MM_ANONPAGES, k.world.thpPages);
        setResult(k, t, VM_FAULT_WRITE);
        if (!vmWrite(k)) setResult(k, t, FOLL_COW);
        if (k.narrate)
          k.note(
            `do_huge_pmd_wp_page: the huge zero page: a new zeroed THP pfn ${thp} mapped ${vmWrite(k) ? 'writable' : 'R/O and dirty (no VM_WRITE)'}, MM_ANONPAGES+${k.world.thpPages}`,
          );
        return finish(k, t);
      }
    }
    k.fn.split_huge_pmd(k, t, m);
    if (k.narrate) k.note('do_huge_pmd_wp_page: the huge zero page: split, VM_FAULT_FALLBACK to the PTE level');
    return mapPte(k, t);
  };
  if (HUGE_WP >= 0)
    b.define(HUGE_WP, 'do_huge_pmd_wp_page', 'mm/memory.c:wp_huge_pmd -> mm/huge_memory.c:do_huge_pmd_wp_page (4.4-6.2)', (k, t) => {
      // pmd_lock: the pmd must still be the one the fault read (pmd_same: still huge, the same THP, still R/O).
      const orig = k.s[k.L.pmd(m)]!;
      if (!pmdIsHuge(orig) || k.mapped(m, a) !== k.threadWord(t, TH_ORIG)) {
        if (k.narrate) k.note('!pmd_same: the pmd changed: return, the access retries');
        return finish(k, t);
      }
      const folio = pmdHugePfn(orig);
      const unshare = (flags(k, t) & FAULT_FLAG_UNSHARE) !== 0;
      if (!folio) return hugeZeroWp(k, t, unshare);
      // 4.14 on: the THP's page lock around the reuse test (a migration holding it makes the fault sleep, then retry: pmd_same).
      const locked = k.fn.huge_wp_page_lock(k, folio);
      if (locked && !lock_page(k, t, folio)) return SLEEP;
      const why = k.fn.huge_wp_reuse(k, folio);
      if (locked) unlock_page(k, folio);
      if (why) {
        if (unshare) {
          if (k.narrate) k.note(`do_huge_pmd_wp_page: ${why}: unshare is a no-op`);
          return finish(k, t);
        }
        k.s[k.L.pmd(m)] = pmdWithRo(orig, !vmWrite(k)); // maybe_pmd_mkwrite(pmd_mkdirty(...)), pmdp_set_access_flags
        setResult(k, t, VM_FAULT_WRITE);
        if (!vmWrite(k)) setResult(k, t, FOLL_COW);
        if (k.narrate) k.note(`do_huge_pmd_wp_page: ${why}: reuse the THP pfn ${folio}, the huge pmd made writable`);
        return finish(k, t);
      }
      if (thpCopies && !unshare) {
        // <= 5.7: a new THP, the whole of it copied (copy_user_huge_page); the old one unmapped and put.
        const copy = alloc_folio(k, k.world.thpPages);
        if (copy) {
          const from = k.folioPages(folio);
          k.folioPages(copy).forEach((p, i) => k.setPageWord(p, PG_DATA, k.pageWord(from[i]!, PG_DATA)));
          k.fn.page_add_new_anon_rmap(k, copy, true);
          k.s[k.L.pmd(m)] = pmdHuge(copy, !vmWrite(k));
          page_remove_rmap(k, folio, true);
          put_page(k, folio);
          setResult(k, t, VM_FAULT_WRITE);
          if (!vmWrite(k)) setResult(k, t, FOLL_COW);
          if (k.narrate) k.note(`do_huge_pmd_wp_page: THP pfn ${folio} is shared: copy it whole into new THP pfn ${copy} (copy_user_huge_page), map it writable`);
          return finish(k, t);
        }
        // 4.5-5.7: do_huge_pmd_wp_page_fallback needs nr small pages, as many free frames as the THP: it fails alike, and
        // VM_FAULT_OOM there means split_huge_pmd and VM_FAULT_FALLBACK (4.4's split_huge_page: refused for a THP of several pages).
        if (k.narrate) k.note('do_huge_pmd_wp_page: no huge page for the copy (nor the small pages of do_huge_pmd_wp_page_fallback): split_huge_pmd');
      }
      // 5.8 (3917c80280c9): __split_huge_pmd and VM_FAULT_FALLBACK: the PTE-level fault copies the one page.
      k.fn.split_huge_pmd(k, t, m);
      if (k.narrate) k.note(`do_huge_pmd_wp_page: ${unshare ? 'unshare' : `THP pfn ${folio} not reusable`}: split, VM_FAULT_FALLBACK to the PTE level`);
      return mapPte(k, t);
    });
  if (FA_PREALLOC >= 0)
    b.define(FA_PREALLOC, 'do_fault_around: prealloc_pte = pte_alloc_one', 'mm/memory.c:do_fault_around (4.8-6.2)', (k, t) => {
      if (!pmd_none(k, m) || k.threadWord(t, TH_PTE_TABLE)) return FA_MAP;
      const r = k.fn.pte_alloc_one(k, t);
      if (r === ALLOC_SLEEP) return SLEEP;
      if (r === ALLOC_SPIN) return BLOCKED;
      if (r === ALLOC_RETRY) return FA_PREALLOC;
      if (r === ALLOC_OOM) {
        if (k.narrate) k.note('no table for fault-around: skip ->map_pages');
        return toFault();
      }
      k.setThreadWord(t, TH_PTE_TABLE, r);
      if (k.narrate) k.note(`prealloc_pte: PTE table ${r - 1}`);
      return FA_MAP;
    });
  if (FA_MAP >= 0)
    b.define(FA_MAP, 'do_fault_around: ->map_pages', 'mm/memory.c:do_fault_around -> mm/filemap.c:filemap_map_pages (4.4-6.2)', (k, t) => {
      // filemap_map_pages: each page of the window (the VMA here: fault_around_bytes is 64 KiB) that is cached, not mapped and trylocks.
      const v = k.world.vmaOfAddr[a]!;
      const start = k.world.vmaStart[v]!;
      const mapped: number[] = [];
      for (let x = start; x < k.addrs && k.world.vmaOfAddr[x] === v; x++) {
        if (k.pte(m, x) !== 0) continue;
        const pfn = k.cachePage(k.fileOf(x), k.fileIndex(x));
        if (!pfn || k.pageTest(pfn, PG_LOCKED)) continue;
        if (pmd_none(k, m)) {
          const table = k.threadWord(t, TH_PTE_TABLE);
          if (!table) break; // no table (4.8+: the prealloc failed): nothing can be mapped
          pmd_populate(k, m, table); // alloc_set_pte -> pte_alloc_one_map (4.8-5.11); filemap_map_pmd (5.12-)
          k.setThreadWord(t, TH_PTE_TABLE, 0);
        }
        get_page(k, pfn);
        do_set_pte(k, x, pfn, false);
        mapped.push(x);
      }
      if (!mapped.length && !faPreallocKept && k.threadWord(t, TH_PTE_TABLE)) {
        pte_free(k, t);
        if (k.narrate) k.note('->map_pages mapped nothing; the unused prealloc_pte is freed here (4.8-4.9)');
      } else if (k.narrate) k.note(mapped.length ? `->map_pages maps ${mapped.map((x) => k.addrName(m, x)).join(', ')} (trylock_page each)` : '->map_pages maps nothing');
      if (k.pte(m, a) !== k.threadWord(t, TH_ORIG)) {
        if (k.narrate) k.note('the faulting address is mapped: VM_FAULT_NOPAGE, no ->fault');
        return finish(k, t);
      }
      return toFault();
    });
  if (PREALLOC >= 0)
    b.define(PREALLOC, '__do_fault: prealloc_pte = pte_alloc_one', 'mm/memory.c:__do_fault (5.0-6.2; 4.9.152, 4.14.94, 4.19.16, 4.20.3)', (k, t) =>
      pmd_none(k, m) && !k.threadWord(t, TH_PTE_TABLE)
        ? allocate(k, t, PREALLOC, false, (table) => {
            k.setThreadWord(t, TH_PTE_TABLE, table);
            return FILE_FAULT;
          })
        : FILE_FAULT,
    );
  if (LOCKED_ALLOC >= 0) {
    const cleanup = b.has('finish-fault-cleanup');
    b.define(
      LOCKED_ALLOC,
      cleanup ? 'finish_fault: pte_alloc (page locked)' : 'pte_alloc_one_map: pte_alloc (page locked)',
      cleanup ? 'mm/memory.c:finish_fault -> pte_alloc -> __pte_alloc (5.12-6.2)' : `mm/memory.c:alloc_set_pte -> pte_alloc_one_map -> __pte_alloc (${rel('4.8-5.11')})`,
      (k, t) =>
        // 5.12-5.13 allocate anew even when __do_fault preallocated: that one is freed at the end of do_fault.
        pmd_none(k, m)
          ? allocate(k, t, LOCKED_ALLOC, true, (table) => {
              if (k.threadWord(t, TH_PTE_TABLE)) {
                populate(k, table);
                return FILE_FINISH;
              }
              k.setThreadWord(t, TH_PTE_TABLE, table);
              return LOCKED_POPULATE;
            })
          : FILE_FINISH,
    );
    b.define(
      LOCKED_POPULATE,
      '__pte_alloc: pmd_lock, pmd_populate (page locked)',
      cleanup ? 'mm/memory.c:finish_fault -> pte_alloc -> __pte_alloc (5.12-6.2)' : `mm/memory.c:alloc_set_pte -> pte_alloc_one_map -> __pte_alloc (${rel('4.8-5.11')})`,
      (k, t) => {
        populateHeld(k, t);
        return FILE_FINISH;
      },
    );
  }

  return {
    enter(k: Kernel, t: number): number {
      const orig = k.threadWord(t, TH_ORIG);
      if (tables && pmd_none(k, m)) {
        // A THP VMA: create_huge_pmd first (a fault whose huge allocation fails falls back to a PTE table). A VMA that
        // MADV_DONTFORK split no longer covers the huge range (transhuge_vma_suitable): no THP.
        if (HUGE_ALLOC >= 0 && thpSuitable(k)) return HUGE_ALLOC;
        if (HUGE_ALLOC >= 0 && k.narrate) k.note('transhuge_vma_suitable: MADV_DONTFORK split the VMA below the huge range: no THP, a PTE table');
        if (huge.thp && !fileVma && k.narrate) k.note("do_huge_pmd_anonymous_page: no huge page (this fault's THP allocation fails): VM_FAULT_FALLBACK to a PTE table");
        if (hugeFile && k.narrate) k.note('create_huge_pmd: shmem has no ->huge_fault: VM_FAULT_FALLBACK (->fault, then do_set_pmd)');
        // No PTE table: before 4.8 every fault allocates it first; from 4.8 a file fault does only after ->fault (7267ec008b5c).
        if (postponed && FILE_FAULT >= 0) return FA_PREALLOC >= 0 ? FA_PREALLOC : toFault();
        return EARLY_ALLOC;
      }
      // __handle_mm_fault: is_swap_pmd -> pmd_migration_entry_wait (4.14 on), then return 0: the access retries.
      if (PMD_MIGRATION_WAIT >= 0 && pmdIsMigration(k.s[k.L.pmd(m)]!)) return PMD_MIGRATION_WAIT;
      if (b.ctx.thp && pmdIsHuge(k.s[k.L.pmd(m)]!)) {
        const pmd = k.s[k.L.pmd(m)]!;
        if (flags(k, t) & (FAULT_FLAG_WRITE | FAULT_FLAG_UNSHARE) && pmdHugeRo(pmd)) {
          // vmf->orig_pmd, kept as the entry the huge pmd amounts to (a PTE-typed word: the symmetry renames its frame).
          k.setThreadWord(t, TH_ORIG, k.mapped(m, a));
          return HUGE_WP;
        }
        // A huge pmd appeared since the access looked (or maps it as wanted): the access retries through it.
        if (k.narrate) k.note('the pmd is huge: return, the access retries');
        return finish(k, t);
      }
      switch (pteKind(orig)) {
        case PTE_SWAP:
          return built(SWAP_LOOKUP, 'do_swap_page');
        case PTE_MIGRATION:
          return built(MIGRATION_WAIT, 'migration_entry_wait');
        case PTE_DEVPRIV:
          return built(DP_LOOK, 'do_swap_page: device-private entry');
        case PTE_NONE:
          return FILE_FAULT >= 0 ? (FA_MAP >= 0 ? FA_MAP : FILE_FAULT) : PTL;
        default:
          return PTL;
      }
    },
  };
}

/** A step that was not built for this kernel and scenario (BuildContext) is never the next one. */
function built(pc: number, what: string): number {
  if (pc < 0) throw new Error(`${what}: the step was not built for this kernel and scenario`);
  return pc;
}

/** For the narration: what page_add_new_anon_rmap did. */
function exclusiveNote(k: Kernel, pfn: number): string {
  return k.pageTest(pfn, PG_ANON_EXCLUSIVE) ? ' (PageAnonExclusive)' : '';
}
