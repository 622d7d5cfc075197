/**
 * fork(): dup_mmap() copies the parent's VMAs and page tables under the
 * parent's mmap_lock held for write, and (5.11, 57efa1fe5957) with
 * mm->write_protect_seq odd across copy_page_range of COW mappings.
 *
 * Without lockless readers (GUP-fast) in the scenario the copy is one step:
 * copy_pte_range holds both PT locks across the batch and, with mmap_lock
 * held for write, no fault or GUP-slow of the parent can run in between.
 * With GUP-fast present the copy is cut where GUP-fast can interleave: taking
 * the locks (seqcount odd), per page deciding to share or copy
 * (page_maybe_dma_pinned) and then doing it, and the end (seqcount even).
 * Both PT locks are held from the first PTE to the last, so the rmap walkers
 * (reclaim, migration, truncation) cannot come in between; they are dropped
 * only on -EAGAIN, when an early COW copy needs a page: copy_pte_range
 * allocates it with page_copy_prealloc() and tries the PTE again, and fork
 * fails with -ENOMEM when there is none (5.9-6.2).
 *
 * Sources: kernel/fork.c:dup_mmap, mm/memory.c:copy_one_pte (5.7, 5.8),
 * copy_present_pte/copy_present_page/copy_nonpresent_pte (5.9, 5.18, 5.19-6.2),
 * include/linux/rmap.h:page_try_dup_anon_rmap (5.19-6.2).
 */
import { BLOCKED, DISABLED, DONE, FAILED, type Kernel, SLEEP } from '../kernel.js';
import { int, threadLocals } from '../thread-locals.js';
import {
  MM_ANONPAGES,
  MM_FIXED_WORDS,
  MM_FLAGS,
  MM_LIVE,
  MM_RSS,
  MM_STATE,
  MM_SWAPENTS,
  MM_UNUSED,
  PG_ANON,
  PG_DATA,
  TH_NEWPAGE,
  VMA_ANON_VMA,
  VMA_DONTCOPY_SHIFT,
  VMA_PRESENT,
  VMA_WRITE,
} from '../layout.js';
import type { ProgramBuilder } from '../program.js';
import {
  MIGRATION_READ,
  PTE_DEVPRIV,
  PTE_MIGRATION,
  PTE_PRESENT,
  PTE_SPECIAL,
  PTE_SWAP,
  PTE_SWP_EXCLUSIVE,
  PTE_WRITE,
  pteKind,
  pteMigration,
  pteMigrationKind,
  ptePresent,
  pteTarget,
  pteDevPrivate,
} from '../pte.js';
import { anon_vma_lock_write, anon_vma_unlock_write, mmap_write_lock, mmap_write_unlock, pte_lock, pte_lock_hold, pte_unlock } from '../kernel/locking.js';
import { alloc_page, get_page, put_page } from '../kernel/page_alloc.js';
import { page_dup_rmap } from '../kernel/rmap.js';
import { swap_duplicate } from '../kernel/swapfile.js';
import { free_pgtables, pmd_none, pmd_populate, takeTableNoOom } from '../kernel/pgalloc.js';
import { copy_huge_pmd_migration, copy_huge_pmd_share } from '../kernel/huge_memory.js';
import { pmdIsMigration } from '../objects.js';

/** fork's locals: the address copy_pte_range is at, and its decision for it (1: copy the page for the child); new_page holds the preallocated page. */
const FORK_LOCALS = threadLocals('dup_mmap', { addr: int('aux2'), copy: int('aux') });

const WHERE = 'kernel/fork.c:dup_mmap -> mm/memory.c:copy_pte_range, mm/huge_memory.c:copy_huge_pmd (5.7-6.2)';

export function buildFork(b: ProgramBuilder, parent: number, child: number, split: boolean): void {
  if (!split) {
    // Nothing lockless runs: the whole copy is one step (the -EAGAIN retry included: nothing can change in between).
    b.step('dup_mmap', WHERE, (k, t) => {
      if (k.mmState(child) !== MM_UNUSED) return DISABLED;
      if (!mmap_write_lock(k, t, parent)) return SLEEP;
      if (!anon_vma_fork(k, t, parent)) return SLEEP;
      createChild(k, parent, child);
      if (!copyPmd(k, t, parent, child)) return forkFails(k, t, parent, child);
      pte_lock(k, t, parent); // copy_pte_range: the PT locks, held for the whole copy (this one step)
      for (let a = 0; a < k.addrs; a++) {
        if (!needsCopyTable(k, parent, a)) continue;
        let np = 0;
        if (decide(k, parent, a)) {
          // copy_present_pte: -EAGAIN; the locks dropped, page_copy_prealloc(), then the PTE again.
          np = alloc_page(k);
          if (np === 0) return forkFails(k, t, parent, child);
        }
        copyPte(k, parent, child, a, np);
      }
      k.startThreads(child);
      mmap_write_unlock(k, parent);
      return DONE;
    });
    return;
  }
  const START = b.reserve();
  const DECIDE = b.reserve();
  const APPLY = b.reserve();
  const PREALLOC = b.reserve();
  const END = b.reserve();
  // copy_huge_pmd with GUP-fast about: the test for a pin, then (pmd_lock, which GUP-fast does not take) the sharing.
  const HUGE_DECIDE = b.ctx.thp ? b.reserve() : -1;
  const HUGE_SHARE = b.ctx.thp ? b.reserve() : -1;
  // copy_huge_pmd on a maybe-pinned THP: spin_unlock, then __split_huge_pmd takes pmd_lock again (a migration may run between).
  const HUGE_SPLIT = b.ctx.thp ? b.reserve() : -1;
  const nextAddr = (k: Kernel, from: number): number => {
    for (let a = from; a < k.addrs; a++) if (needsCopyTable(k, parent, a) && k.pte(parent, a) !== 0) return a;
    return -1;
  };
  const lockTables = (k: Kernel, t: number): void => {
    pte_lock(k, t, parent); // lockdep: ptl taken under mmap_lock (the child's, spin_lock_nested, adds nothing)
    pte_lock_hold(k, t, parent);
    pte_lock_hold(k, t, child);
  };
  const unlockTables = (k: Kernel): void => {
    pte_unlock(k, parent);
    pte_unlock(k, child);
  };
  const seqcount = (k: Kernel): void => k.fn.write_protect_seq(k, parent);
  b.define(START, 'dup_mmap: mmap_write_lock', `${WHERE}; raw_write_seqcount_begin (5.11)`, (k, t) => {
    if (k.mmState(child) !== MM_UNUSED) return DISABLED;
    if (!mmap_write_lock(k, t, parent)) return SLEEP;
    if (!anon_vma_fork(k, t, parent)) return SLEEP;
    createChild(k, parent, child);
    if (HUGE_DECIDE >= 0 && k.hugePmd(parent) && !thpVmaSkipped(k, parent)) {
      seqcount(k); // copy_page_range: raw_write_seqcount_begin before copy_pmd_range (5.11)
      // copy_huge_pmd: pmd_lock of both pmds across the test and the sharing (the model's PT lock word stands for the
      // pmd lock of a huge pmd): a migration's set_pmd_migration_entry waits; lockless GUP-fast does not.
      lockTables(k, t);
      return HUGE_DECIDE;
    }
    if (!copyPmd(k, t, parent, child)) return forkFails(k, t, parent, child);
    seqcount(k);
    return firstPte(k, t);
  });
  /** copy_pte_range from the first PTE (both PT locks), or the end when there is none to copy. */
  const firstPte = (k: Kernel, t: number): number => {
    const a = nextAddr(k, 0);
    FORK_LOCALS.addr.set(k, t, a);
    if (a < 0) return END;
    // copy_pte_range: both PT locks (dst, then src) for the whole table.
    lockTables(k, t);
    return DECIDE;
  };
  if (HUGE_DECIDE >= 0) {
    b.define(HUGE_DECIDE, 'copy_huge_pmd: page_maybe_dma_pinned?', 'mm/huge_memory.c:copy_huge_pmd (5.9-6.2; page_try_dup_anon_rmap 5.19)', (k) => {
      const folio = k.hugePmdPfn(parent);
      if (folio && k.fn.copy_huge_pmd_splits(k, parent, folio)) {
        unlockTables(k);
        if (k.narrate) k.note(`copy_huge_pmd: THP pfn ${folio} may be pinned: spin_unlock, split the pmd, -EAGAIN: copy_pte_range`);
        return HUGE_SPLIT;
      }
      if (k.narrate) k.note(k.hugePmdPfn(parent) ? `copy_huge_pmd: THP pfn ${k.hugePmdPfn(parent)} is not pinned: share it` : 'copy_huge_pmd: the huge zero page');
      return HUGE_SHARE;
    });
    b.define(HUGE_SPLIT, 'copy_huge_pmd: __split_huge_pmd', 'mm/huge_memory.c:copy_huge_pmd -> __split_huge_pmd (5.9-6.2)', (k, t) => {
      // __split_huge_pmd: pmd_lock again; the pmd may be a PMD migration entry by now (__split_huge_pmd_locked splits that too).
      if (!pte_lock(k, t, parent)) return BLOCKED;
      k.fn.split_huge_pmd(k, t, parent);
      if (!copyPmd(k, t, parent, child)) {
        seqcount(k);
        return forkFails(k, t, parent, child);
      }
      return firstPte(k, t);
    });
    b.define(HUGE_SHARE, 'copy_huge_pmd: pmd_lock, share, pmdp_set_wrprotect', 'mm/huge_memory.c:copy_huge_pmd (4.4-6.2)', (k, t) => {
      const shared = copy_huge_pmd_share(k, parent, child);
      unlockTables(k);
      if (!shared) {
        seqcount(k);
        return forkFails(k, t, parent, child);
      }
      return END;
    });
  }
  b.define(DECIDE, 'copy_present_pte: page_maybe_dma_pinned?', 'mm/memory.c:copy_present_pte (5.9-6.2)', (k, t) => {
    const a = FORK_LOCALS.addr.get(k, t);
    const copy = decide(k, parent, a);
    if (copy && k.threadWord(t, TH_NEWPAGE) === 0) {
      // -EAGAIN: copy_pte_range drops both PT locks to allocate, then tries this PTE again.
      unlockTables(k);
      if (k.narrate) k.note(`${k.addrName(parent, a)}: the page may be pinned and there is no preallocated page: -EAGAIN, drop the PT locks`);
      return PREALLOC;
    }
    FORK_LOCALS.copy.set(k, t, copy ? 1 : 0);
    if (k.narrate) k.note(`${k.addrName(parent, a)}: ${copy ? 'the page may be pinned: copy it for the child' : 'share the page'}`);
    return APPLY;
  });
  b.define(APPLY, 'copy_present_pte: share or copy', 'mm/memory.c:copy_present_pte (5.7-6.2)', (k, t) => {
    const a = FORK_LOCALS.addr.get(k, t);
    let np = 0;
    if (FORK_LOCALS.copy.get(k, t) === 1) {
      // copy_present_page() consumes the preallocated page.
      np = k.threadWord(t, TH_NEWPAGE);
      k.setThreadWord(t, TH_NEWPAGE, 0);
    }
    copyPte(k, parent, child, a, np);
    const n = nextAddr(k, a + 1);
    FORK_LOCALS.addr.set(k, t, n);
    return n < 0 ? END : DECIDE;
  });
  b.define(PREALLOC, 'copy_pte_range: page_copy_prealloc', 'mm/memory.c:copy_pte_range -> page_copy_prealloc (5.9-6.2)', (k, t) => {
    const np = alloc_page(k);
    if (np === 0) {
      seqcount(k); // raw_write_seqcount_end: copy_page_range ends it whatever copy_p4d_range returned
      FORK_LOCALS.copy.set(k, t, 0);
      FORK_LOCALS.addr.set(k, t, 0);
      return forkFails(k, t, parent, child);
    }
    k.setThreadWord(t, TH_NEWPAGE, np);
    if (k.narrate) k.note(`preallocated pfn ${np}; retake the PT locks and try ${k.addrName(parent, FORK_LOCALS.addr.get(k, t))} again`);
    lockTables(k, t);
    return DECIDE;
  });
  b.define(END, 'dup_mmap: mmap_write_unlock', `${WHERE}; raw_write_seqcount_end (5.11)`, (k, t) => {
    const unused = k.threadWord(t, TH_NEWPAGE);
    if (unused) {
      // "if (unlikely(prealloc)) put_page(prealloc)": the retry shared the page after all.
      k.setThreadWord(t, TH_NEWPAGE, 0);
      put_page(k, unused);
      if (k.narrate) k.note(`the preallocated pfn ${unused} was not needed: put_page`);
    }
    unlockTables(k);
    seqcount(k);
    FORK_LOCALS.copy.set(k, t, 0);
    FORK_LOCALS.addr.set(k, t, 0);
    k.startThreads(child);
    mmap_write_unlock(k, parent);
    return DONE;
  });
}

/**
 * dup_mmap() failed with -ENOMEM: copy_mm's mmput() tears the new mm down
 * (exit_mmap zaps what was copied); the parent keeps the PTEs the copy
 * write-protected, and its pages stay shared-then-unshared (not exclusive).
 */
function forkFails(k: Kernel, t: number, parent: number, child: number): number {
  for (let a = 0; a < k.addrs; a++) k.fn.zap_pte(k, child, a);
  free_pgtables(k, child);
  for (let v = 0; v < k.L.shape.vmas; v++) k.s[k.L.vma(child, v)] = 0;
  for (let w = 0; w < MM_FIXED_WORDS; w++) k.setMmWord(child, w, 0); // MM_UNUSED: the child never ran
  mmap_write_unlock(k, parent);
  if (k.narrate) k.note('page_copy_prealloc: no free page: copy_page_range returns -ENOMEM, fork fails; mmput() zaps the half-copied child');
  void t;
  return FAILED;
}

/**
 * anon_vma_fork() of each VMA with an anon_vma: anon_vma_clone takes the
 * root anon_vma's rwsem for write to link the child's (and drops it); false
 * when it must sleep for it.
 */
function anon_vma_fork(k: Kernel, t: number, parent: number): boolean {
  for (let v = 0; v < k.L.shape.vmas; v++) {
    if (!(k.s[k.L.vma(parent, v)]! & VMA_ANON_VMA)) continue;
    if (!anon_vma_lock_write(k, t, v)) return false;
    anon_vma_unlock_write(k, v);
  }
  return true;
}

function createChild(k: Kernel, parent: number, child: number): void {
  k.setMmWord(child, MM_STATE, MM_LIVE);
  k.setMmWord(child, MM_FLAGS, 0);
  for (let c = 0; c < 4; c++) k.setMmWord(child, MM_RSS + c, 0);
  for (let v = 0; v < k.L.shape.vmas; v++) k.s[k.L.vma(child, v)] = k.s[k.L.vma(parent, v)]!;
}

/**
 * copy_pmd_range with the PMD level modelled: a pmd that is none is skipped;
 * for a table, copy_pte_range -> pte_alloc_map_lock allocates the child's
 * table first (pte_alloc_one: no table left is -ENOMEM). False: fork fails.
 */
/**
 * copy_huge_pmd's test (the release's copy_huge_pmd_splits): a THP that may
 * be pinned is split in the parent and fork goes on at the PTE level
 * (-EAGAIN); true when it split, false when the huge pmd is to be shared.
 */
function splitPinnedHuge(k: Kernel, t: number, parent: number): boolean {
  const folio = k.hugePmdPfn(parent);
  if (!folio || !k.fn.copy_huge_pmd_splits(k, parent, folio)) return false;
  if (k.narrate) k.note(`copy_huge_pmd: THP pfn ${folio} may be pinned: split the pmd, -EAGAIN: copy_pte_range`);
  k.fn.split_huge_pmd(k, t, parent);
  return true;
}

function copyPmd(k: Kernel, t: number, parent: number, child: number): boolean {
  if (k.L.pgtables === 0 || pmd_none(k, parent)) return true;
  if (k.hugePmds > 0 && (k.hugePmd(parent) || pmdIsMigration(k.s[k.L.pmd(parent)]!)) && thpVmaSkipped(k, parent)) {
    if (k.narrate) k.note('dup_mmap: the THP VMA is VM_DONTCOPY: skipped');
    return true;
  }
  // copy_huge_pmd: share the THP (or the huge zero page), or (a maybe-pinned THP, 5.9 on) split the pmd and copy at the PTE level.
  if (k.hugePmds > 0 && k.hugePmd(parent) && !splitPinnedHuge(k, t, parent)) return copy_huge_pmd_share(k, parent, child);
  if (k.hugePmds > 0 && pmdIsMigration(k.s[k.L.pmd(parent)]!)) return copy_huge_pmd_migration(k, parent, child);
  let copies = false;
  for (let a = 0; a < k.addrs; a++) if (needsCopyTable(k, parent, a)) copies = true;
  if (!copies) return true;
  // Charged and reclaiming like any table (might_alloc), but fork's one step cannot wait for the OOM killer: no table is -ENOMEM.
  // (Under "reclaim": "direct" it does not reclaim either: validation keeps such forks to a process with no table to copy.)
  const table = k.world.oom || k.world.directReclaim ? takeTableNoOom(k) : k.fn.pte_alloc_one(k, t);
  if (table <= 0) {
    if (k.narrate) k.note('copy_pte_range: no page table for the child: -ENOMEM');
    return false;
  }
  pmd_populate(k, child, table);
  if (k.narrate) k.note(`copy_pte_range: the child's PTE table ${table - 1} (pte_alloc_map_lock)`);
  return true;
}

/** dup_mmap skips a VM_DONTCOPY VMA (MADV_DONTFORK): the model keeps the flag per page of its VMA word. */
function dontcopy(k: Kernel, m: number, a: number): boolean {
  const v = k.world.vmaOfAddr[a]!;
  return v >= 0 && ((k.s[k.L.vma(m, v)]! >>> (VMA_DONTCOPY_SHIFT + a - k.world.vmaStart[v]!)) & 1) === 1;
}

/** The THP VMA (the only VMA of a THP scenario) is VM_DONTCOPY throughout: fork copies nothing of its pmd. */
function thpVmaSkipped(k: Kernel, m: number): boolean {
  for (let a = 0; a < k.addrs; a++) if (k.vmaPresent(m, a) && !dontcopy(k, m, a)) return false;
  return true;
}

/**
 * vma_needs_copy(): a VMA whose page table fork copies. A shared or
 * untouched private file mapping is not copied: the child faults pages in.
 */
function needsCopyTable(k: Kernel, parent: number, a: number): boolean {
  const v = k.world.vmaOfAddr[a]!;
  if (v < 0) return false;
  const w = k.s[k.L.vma(parent, v)]!;
  if (!(w & VMA_PRESENT)) return false;
  if (dontcopy(k, parent, a)) return false;
  return k.world.vmaFile[v]! < 0 || (w & VMA_ANON_VMA) !== 0;
}

/** Whether fork must give the child its own copy of the page mapped at (parent, a) now (the release's copy_present_pte). */
function decide(k: Kernel, parent: number, a: number): boolean {
  return k.fn.copy_present_pte_needs_copy(k, parent, a);
}

function copyPte(k: Kernel, parent: number, child: number, a: number, np: number): void {
  const e = k.pte(parent, a);
  const vmWrite = (k.vmaAt(parent, a) & VMA_WRITE) !== 0;
  const name = k.addrName(parent, a);
  switch (pteKind(e)) {
    case PTE_SWAP: {
      // copy_nonpresent_pte(): swap_duplicate; 5.19 clears the parent's swp exclusive bit.
      swap_duplicate(k, pteTarget(e));
      let ce = e;
      if (e & PTE_SWP_EXCLUSIVE) {
        ce = e & ~PTE_SWP_EXCLUSIVE;
        k.setPte(parent, a, ce);
      }
      k.setPte(child, a, ce);
      k.addRss(child, MM_SWAPENTS, 1);
      if (k.narrate) k.note(`${name}: swap entry duplicated (swap_duplicate)${e & PTE_SWP_EXCLUSIVE ? ', pte_swp_clear_exclusive in the parent' : ''}`);
      return;
    }
    case PTE_MIGRATION: {
      // copy_nonpresent_pte(): a writable or read-exclusive entry becomes readable in both (COW mapping).
      const pfn = pteTarget(e);
      let ce = e;
      if (pteMigrationKind(e) !== MIGRATION_READ && !k.isSharedMapping(a)) {
        ce = pteMigration(pfn, MIGRATION_READ);
        k.setPte(parent, a, ce);
      }
      k.setPte(child, a, ce);
      k.addRss(child, k.mmCounter(pfn), 1);
      if (k.narrate) k.note(`${name}: migration entry copied`);
      return;
    }
    case PTE_DEVPRIV: {
      // copy_nonpresent_pte(): is_device_private_entry: get_page, page_dup_rmap (5.19: page_try_dup_anon_rmap, which
      // cannot fail: a device-private page is never pinned), rss; a writable entry becomes readable in both (COW mapping).
      const pfn = pteTarget(e);
      const dup = k.fn.page_try_dup_anon_rmap(k, pfn);
      get_page(k, pfn);
      page_dup_rmap(k, pfn);
      k.addRss(child, k.mmCounter(pfn), 1);
      const ce = !k.isSharedMapping(a) ? pteDevPrivate(pfn, false) : e;
      if (ce !== e) k.setPte(parent, a, ce);
      k.setPte(child, a, ce);
      if (k.narrate) k.note(`${name}: device-private entry of pfn ${pfn} shared with the child${ce !== e ? ', both made readable' : ''} (page_dup_rmap${dup})`);
      return;
    }
    case PTE_PRESENT:
      break;
    default:
      return;
  }
  if (e & PTE_SPECIAL) {
    k.setPte(child, a, e); // the zeropage: vm_normal_page() == NULL, no rss, already R/O
    return;
  }
  const pfn = pteTarget(e);
  if (np) {
    // copy_present_page(): the child gets a fresh exclusive copy (the preallocated page), the parent keeps its PTE.
    k.setPageWord(np, PG_DATA, k.pageWord(pfn, PG_DATA));
    k.fn.page_add_new_anon_rmap(k, np);
    k.setPte(child, a, ptePresent(np, vmWrite, true));
    k.addRss(child, MM_ANONPAGES, 1);
    if (k.narrate) k.note(`${name}: pfn ${pfn} may be DMA-pinned: the child gets its own copy pfn ${np} (copy_present_page)`);
    return;
  }
  const dup = k.fn.page_try_dup_anon_rmap(k, pfn);
  get_page(k, pfn);
  page_dup_rmap(k, pfn);
  k.addRss(child, k.mmCounter(pfn), 1);
  // is_cow_mapping && pte_write: write-protect the parent's PTE in place, and the child's.
  const cow = !k.isSharedMapping(a);
  const ce = cow ? e & ~PTE_WRITE : e;
  if (cow && e & PTE_WRITE) k.setPte(parent, a, ce);
  k.setPte(child, a, ce);
  if (k.narrate) k.note(`${name}: pfn ${pfn} shared with the child${cow ? ' R/O' : ''} (${k.pageTest(pfn, PG_ANON) ? 'page_dup_rmap' : 'page_dup_file_rmap'}${dup})`);
}
