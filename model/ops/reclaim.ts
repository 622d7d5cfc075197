/**
 * Reclaim of one anon page to swap, as kswapd's shrink_page_list() does it:
 * isolate and lock the page and add it to the swap cache; try_to_unmap()
 * each mapping (one PT lock each); pageout() writes it and unlocks it; on a
 * later pass __remove_mapping() frees it if nothing else holds a reference.
 *
 * The page is named by a mapping of it at the start (the LRU order is not
 * modelled). Isolation, trylock_page and add_to_swap are one step.
 *
 * Sources: mm/vmscan.c:shrink_page_list, mm/rmap.c:try_to_unmap_one
 * (5.7.14, 5.17-rc5, 5.19, 6.1.20, 6.2.12), include/linux/rmap.h:page_try_share_anon_rmap.
 */
import { BLOCKED, DISABLED, DONE, FAILED, type Kernel, SLEEP } from '../kernel.js';
import { MM_ANONPAGES, MM_SWAPENTS, PG_ANON, PG_ANON_EXCLUSIVE, PG_DATA, PG_DIRTY, PG_ISOLATED, PG_LOCKED, PG_SWAPCACHE, TH_PAGE, TH_PFN } from '../layout.js';
import type { ProgramBuilder } from '../program.js';
import { mapsNormalPage, PTE_DIRTY, PTE_PRESENT, PTE_SPECIAL, pteKind, pteSwap, pteTarget } from '../pte.js';
import { page_try_share_anon_rmap } from '../kernel/rmap.js';
import { anon_vma_lock_read, anon_vma_unlock_read, pte_lock, trylock_page, unlock_page } from '../kernel/locking.js';
import { get_page, put_page } from '../kernel/page_alloc.js';
import { PGMAP_GHOST_BUDDY, pgmapGhost } from '../kernel/memremap.js';
import { page_remove_rmap } from '../kernel/rmap.js';
import { add_to_swap_cache, delete_from_swap_cache, get_swap_page, swap_duplicate } from '../kernel/swapfile.js';

const VMSCAN = 'mm/vmscan.c:shrink_page_list';

/** Drops reclaim's hold on the page: putback_lru_page(). */
function putback(k: Kernel, t: number, pfn: number): void {
  k.clearPageFlag(pfn, PG_ISOLATED);
  k.setThreadWord(t, TH_PAGE, 0);
  put_page(k, pfn);
}

/**
 * pageout: MADV_PAGEOUT by the process itself (madvise_cold_or_pageout_pte_range
 * -> reclaim_pages -> shrink_page_list), which leaves pages mapped more than once alone.
 */
export function buildReclaim(b: ProgramBuilder, m: number, a: number, pageout = false): void {
  const START = b.reserve();
  const UNMAP = b.reserve();
  const PAGEOUT = b.reserve();
  const FREE = b.reserve();

  const via = pageout ? 'mm/madvise.c:madvise_cold_or_pageout_pte_range -> ' : '';
  // MUTANT pageout-zone-device: MADV_PAGEOUT without 3218f8712d6b's is_zone_device_page check.
  const zoneDeviceIsolated = pageout && b.ctx.mutants.has('pageout-zone-device');
  b.define(START, pageout ? 'madvise_pageout: add_to_swap' : 'shrink_page_list: add_to_swap', `${via}${VMSCAN} (5.7-6.2)`, (k, t) => {
    const e = k.pte(m, a);
    if (!mapsNormalPage(e)) return DISABLED;
    const pfn = pteTarget(e);
    if (pfn > k.frames) {
      // A MEMORY_DEVICE_COHERENT page is on no LRU list: kswapd never meets it, and MADV_PAGEOUT skips it (6.0, 3218f8712d6b).
      if (!zoneDeviceIsolated) {
        if (!pageout) return DISABLED;
        if (k.narrate) k.note(`madvise_cold_or_pageout_pte_range: pfn ${pfn} is_zone_device_page: skipped`);
        return DONE;
      }
      pgmapGhost(k, PGMAP_GHOST_BUDDY);
      if (k.narrate) k.note(`MUTANT: madvise_cold_or_pageout_pte_range isolates device pfn ${pfn} as an LRU page`);
    }
    if (!k.pageTest(pfn, PG_ANON) || k.pageTest(pfn, PG_LOCKED) || k.pageTest(pfn, PG_ISOLATED)) return DISABLED;
    if (pageout && k.pageMapcount(pfn) !== 1) return DISABLED; // do not interfere with other mappings
    const inCache = k.pageTest(pfn, PG_SWAPCACHE);
    if (!inCache && k.fn.shrink_page_list_keeps_pinned(k, pfn)) return DISABLED; // keep_locked
    const slot = inCache ? k.pageSwapSlot(pfn) : get_swap_page(k);
    if (slot < 0) return DISABLED; // swap full: activate
    get_page(k, pfn); // isolate_lru_page
    k.setPageFlag(pfn, PG_ISOLATED);
    trylock_page(k, t, pfn);
    k.setThreadWord(t, TH_PAGE, pfn);
    k.setThreadWord(t, TH_PFN, pfn);
    if (!inCache) {
      add_to_swap_cache(k, pfn, slot);
      k.setPageFlag(pfn, PG_DIRTY);
      if (k.narrate) k.note(`isolate pfn ${pfn}, trylock_page, add_to_swap: swap slot ${slot}, swap cache +1 ref`);
    } else if (k.narrate) k.note(`isolate pfn ${pfn}, trylock_page: already in the swap cache (slot ${slot})`);
    return nextMapping(k, pfn) ? UNMAP : PAGEOUT;
  });

  b.define(UNMAP, 'try_to_unmap_one', 'mm/rmap.c:try_to_unmap_one (5.7-6.2)', (k, t) => {
    const pfn = k.threadWord(t, TH_PAGE);
    // The rmap walk, one mapping per step (each under its PT lock): anon_vma order, parent first.
    const at = nextMapping(k, pfn);
    if (at) {
      // rmap_walk_anon: the root anon_vma's rwsem for read (the model takes it per mapping, the kernel across the walk).
      const v = k.world.vmaOfAddr[at[1]]!;
      if (!anon_vma_lock_read(k, t, v)) return SLEEP;
      if (!pte_lock(k, t, at[0])) return BLOCKED; // page_vma_mapped_walk: spin on the PT lock
      const ok = unmapOne(k, t, pfn, at[0], at[1], k.pte(at[0], at[1]));
      anon_vma_unlock_read(k, t, v);
      if (!ok) return fail(k, t, pfn);
    }
    return nextMapping(k, pfn) ? UNMAP : PAGEOUT;
  });

  b.define(PAGEOUT, 'pageout: swap_writepage', `${VMSCAN} -> pageout (5.7-6.2)`, (k, t) => {
    const pfn = k.threadWord(t, TH_PAGE);
    const slot = k.pageSwapSlot(pfn);
    k.setSwapData(slot, k.pageWord(pfn, PG_DATA));
    k.clearPageFlag(pfn, PG_DIRTY);
    unlock_page(k, pfn); // end_page_writeback, then unlock_page (swap_writepage completes at once in the model)
    putback(k, t, pfn);
    if (k.narrate) k.note(`write pfn ${pfn} to swap slot ${slot}, unlock_page; the page stays in the swap cache`);
    return FREE;
  });

  b.define(FREE, 'shrink_page_list: __remove_mapping', `${VMSCAN} -> __remove_mapping (5.7-6.2)`, (k, t) => {
    const pfn = k.threadWord(t, TH_PFN);
    k.setThreadWord(t, TH_PFN, 0);
    if (!k.pageTest(pfn, PG_SWAPCACHE) || k.pageMapcount(pfn) > 0 || k.pageTest(pfn, PG_LOCKED | PG_DIRTY)) {
      if (k.narrate) k.note(`pfn ${pfn} is mapped, locked, dirty or gone: keep`);
      return DONE;
    }
    // page_ref_freeze(page, 1 + isolation): only the swap cache may hold it.
    if (k.pageRef(pfn) !== 1) {
      if (k.narrate) k.note(`pfn ${pfn}: page_ref_freeze fails, _refcount ${k.pageRef(pfn)} (someone holds a reference): keep`);
      return DONE;
    }
    delete_from_swap_cache(k, pfn);
    if (k.narrate) k.note(`pfn ${pfn} removed from the swap cache and freed`);
    return DONE;
  });
}

/** The next (mm, addr) mapping pfn, in rmap walk order, or null. */
function nextMapping(k: Kernel, pfn: number): [number, number] | null {
  for (let mm = 0; mm < k.mms; mm++) {
    for (let addr = 0; addr < k.addrs; addr++) {
      const e = k.pte(mm, addr);
      if (pteKind(e) === PTE_PRESENT && !(e & PTE_SPECIAL) && pteTarget(e) === pfn) return [mm, addr];
    }
  }
  return null;
}

/** Unmaps one PTE; false when the unmap must fail (5.19+: the page may be pinned). */
function unmapOne(k: Kernel, t: number, pfn: number, mm: number, addr: number, e: number): boolean {
  const slot = k.pageSwapSlot(pfn);
  const anonExclusive = k.pageTest(pfn, PG_ANON_EXCLUSIVE); // set from 5.19 only
  // ptep_clear_flush(), then swap_duplicate().
  if (e & PTE_DIRTY) k.setPageFlag(pfn, PG_DIRTY);
  // page_try_share_anon_rmap(): -EBUSY when maybe pinned; restore the PTE, fail.
  if (anonExclusive && !page_try_share_anon_rmap(k, pfn)) {
    if (k.narrate) k.note(`${k.addrName(mm, addr)}: page_try_share_anon_rmap: pfn ${pfn} may be pinned: restore the PTE, fail`);
    return false;
  }
  swap_duplicate(k, slot);
  k.addRss(mm, MM_ANONPAGES, -1);
  k.addRss(mm, MM_SWAPENTS, 1);
  const swpExclusive = k.fn.swap_pte_exclusive(anonExclusive);
  k.setPte(mm, addr, pteSwap(slot, swpExclusive));
  page_remove_rmap(k, pfn);
  put_page(k, pfn);
  if (k.narrate) k.note(`${k.addrName(mm, addr)}: PTE -> swap(slot ${slot}${swpExclusive ? ', exclusive' : ''}), MM_ANONPAGES-1 MM_SWAPENTS+1, page_remove_rmap`);
  void t;
  return true;
}

/** try_to_unmap() failed: activate_locked: unlock, put back. */
function fail(k: Kernel, t: number, pfn: number): number {
  unlock_page(k, pfn);
  putback(k, t, pfn);
  k.setThreadWord(t, TH_PFN, 0);
  return FAILED;
}
