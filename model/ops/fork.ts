/**
 * fork(): dup_mmap() copies the parent's VMAs and page tables under the
 * parent's mmap_lock held for write (and, from 5.11, write_protect_seq odd).
 * The whole page-table copy is one step: copy_pte_range() holds both PT locks
 * across the batch, and with mmap_lock held for write no fault or GUP-slow of
 * the parent can run in between.
 *
 * Sources: kernel/fork.c:dup_mmap, mm/memory.c:copy_one_pte (5.7, 5.8),
 * copy_present_pte/copy_present_page/copy_nonpresent_pte (5.9, 5.18, 5.19-6.2),
 * include/linux/rmap.h:page_try_dup_anon_rmap (5.19-6.2).
 */
import { BLOCKED, DISABLED, DONE, type Kernel } from '../kernel.js';
import {
  MM_ANONPAGES,
  MM_FLAGS,
  MM_LIVE,
  MM_RSS,
  MM_STATE,
  MM_SWAPENTS,
  MM_UNUSED,
  MMF_HAS_PINNED,
  PG_ANON,
  PG_ANON_EXCLUSIVE,
  PG_DATA,
  VMA_WRITE,
} from '../layout.js';
import type { ProgramBuilder } from '../program.js';
import { GUP_PIN_COUNTING_BIAS } from '../gup.js';
import {
  mapsNormalPage,
  PTE_PRESENT,
  PTE_SPECIAL,
  PTE_SWAP,
  PTE_SWP_EXCLUSIVE,
  PTE_WRITE,
  pteKind,
  ptePresent,
  pteTarget,
} from '../pte.js';

/** page_maybe_dma_pinned(): _refcount >= GUP_PIN_COUNTING_BIAS on a small page. */
export function maybeDmaPinned(k: Kernel, pfn: number): boolean {
  return k.pageRef(pfn) >= GUP_PIN_COUNTING_BIAS;
}

export function buildFork(b: ProgramBuilder, parent: number, child: number): void {
  b.step('dup_mmap', 'kernel/fork.c:dup_mmap -> mm/memory.c:copy_pte_range (5.7-6.2)', (k) => {
    if (k.mmState(child) !== MM_UNUSED) return DISABLED;
    if (!k.mmapWriteTrylock(parent)) return BLOCKED;
    // Pages the child must get its own copy of (checked first so that an
    // allocation failure fails the fork as a whole, as -ENOMEM would).
    const copies: number[] = [];
    for (let a = 0; a < k.addrs; a++) {
      const e = k.pte(parent, a);
      if (mapsNormalPage(e) && needsCopy(k, parent, pteTarget(e))) copies.push(a);
    }
    let free = 0;
    for (let p = 1; p <= k.frames; p++) if (k.isFree(p)) free++;
    if (free < copies.length) {
      k.mmapWriteUnlock(parent);
      k.note('fork: no memory for the early COW copies: -ENOMEM');
      return DONE;
    }
    k.setMmWord(child, MM_STATE, MM_LIVE);
    k.setMmWord(child, MM_FLAGS, 0);
    for (let c = 0; c < 4; c++) k.setMmWord(child, MM_RSS + c, 0);
    for (let v = 0; v < k.L.shape.vmas; v++) k.s[k.L.vma(child, v)] = k.s[k.L.vma(parent, v)]!;
    for (let a = 0; a < k.addrs; a++) copyPte(k, parent, child, a, copies.includes(a));
    k.startThreads(child);
    k.mmapWriteUnlock(parent);
    return DONE;
  });
}

/** Whether fork must give the child its own copy of an anon page now. */
function needsCopy(k: Kernel, parent: number, pfn: number): boolean {
  if (k.mutant('fork-shares-pinned')) return false;
  // page_needs_cow_for_dma(): MMF_HAS_PINNED && page_maybe_dma_pinned().
  const needsCowForDma = (k.mmWord(parent, MM_FLAGS) & MMF_HAS_PINNED) !== 0 && maybeDmaPinned(k, pfn);
  if (k.has('anon-exclusive')) {
    // page_try_dup_anon_rmap(): only an exclusive anon page can be pinned; -EBUSY -> copy.
    return k.pageTest(pfn, PG_ANON) && k.pageTest(pfn, PG_ANON_EXCLUSIVE) && needsCowForDma;
  }
  // 5.9 copy_present_page(): no PageAnon test.
  return k.has('fork-cow-pinned') && needsCowForDma;
}

function copyPte(k: Kernel, parent: number, child: number, a: number, copy: boolean): void {
  const e = k.pte(parent, a);
  const vmWrite = (k.vmaAt(parent, a) & VMA_WRITE) !== 0;
  const name = k.addrName(parent, a);
  switch (pteKind(e)) {
    case PTE_SWAP: {
      // copy_nonpresent_pte(): swap_duplicate; 5.19 clears the parent's swp exclusive bit.
      k.swapDuplicate(pteTarget(e));
      let ce = e;
      if (e & PTE_SWP_EXCLUSIVE) {
        ce = e & ~PTE_SWP_EXCLUSIVE;
        k.setPte(parent, a, ce);
      }
      k.setPte(child, a, ce);
      k.addRss(child, MM_SWAPENTS, 1);
      k.note(`${name}: swap entry duplicated (swap_duplicate)${e & PTE_SWP_EXCLUSIVE ? ', pte_swp_clear_exclusive in the parent' : ''}`);
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
  if (copy) {
    // copy_present_page(): the child gets a fresh exclusive copy, the parent keeps its PTE.
    const np = k.allocPage();
    k.setPageWord(np, PG_DATA, k.pageWord(pfn, PG_DATA));
    k.pageAddNewAnonRmap(np);
    k.setPte(child, a, ptePresent(np, vmWrite, true));
    k.addRss(child, MM_ANONPAGES, 1);
    k.note(`${name}: pfn ${pfn} may be DMA-pinned: the child gets its own copy pfn ${np} (copy_present_page)`);
    return;
  }
  let how = 'page_dup_rmap';
  if (k.has('anon-exclusive') && k.pageTest(pfn, PG_ANON_EXCLUSIVE)) {
    if (k.mutant('fork-keeps-exclusive')) how += ', MUTANT: PageAnonExclusive left set';
    else {
      k.clearPageFlag(pfn, PG_ANON_EXCLUSIVE);
      how += ', ClearPageAnonExclusive';
    }
  }
  k.getPage(pfn);
  k.pageDupRmap(pfn);
  k.addRss(child, k.mmCounter(pfn), 1);
  // is_cow_mapping && pte_write: write-protect the parent's PTE in place, and the child's.
  const shared = e & ~PTE_WRITE;
  if (e & PTE_WRITE) k.setPte(parent, a, shared);
  k.setPte(child, a, shared);
  k.note(`${name}: pfn ${pfn} shared with the child R/O (${how})`);
}
