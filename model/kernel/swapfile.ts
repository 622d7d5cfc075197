/**
 * mm/swapfile.c and mm/swap_state.c: swap slots (swap_map counts and
 * SWAP_HAS_CACHE) and the swap cache.
 */
import type { Kernel } from '../kernel.js';
import { PG_DIRTY, PG_PRIVATE, PG_SWAPCACHE, SWAP_HAS_CACHE } from '../layout.js';
import { get_page, put_page } from './page_alloc.js';
import { page_locked } from './locking.js';

/** get_swap_page(): a free slot, reserved with SWAP_HAS_CACHE; -1 when swap is full. */
export function get_swap_page(k: Kernel): number {
  for (let i = 0; i < k.swapSlots; i++) {
    if (k.swapMap(i) === 0) {
      k.setSwapMap(i, SWAP_HAS_CACHE);
      return i;
    }
  }
  return -1;
}

/** swap_duplicate(). */
export function swap_duplicate(k: Kernel, slot: number): void {
  k.setSwapMap(slot, k.swapMap(slot) + 1);
}

/** swap_free(): one entry fewer; the slot is free once unused and uncached. */
export function swap_free(k: Kernel, slot: number): void {
  k.setSwapMap(slot, k.swapMap(slot) - 1);
}

/** add_to_swap_cache(): the cache holds one reference. */
export function add_to_swap_cache(k: Kernel, pfn: number, slot: number): void {
  k.setPageFlag(pfn, PG_SWAPCACHE);
  k.setPageWord(pfn, PG_PRIVATE, slot + 1);
  k.setSwapMap(slot, k.swapMap(slot) | SWAP_HAS_CACHE);
  get_page(k, pfn);
}

/** delete_from_swap_cache(): drops the cache's reference (put_swap_page frees an unused slot). */
export function delete_from_swap_cache(k: Kernel, pfn: number): void {
  const slot = k.pageSwapSlot(pfn);
  k.clearPageFlag(pfn, PG_SWAPCACHE);
  k.setPageWord(pfn, PG_PRIVATE, 0);
  k.setSwapMap(slot, k.swapMap(slot) & ~SWAP_HAS_CACHE);
  put_page(k, pfn);
}

/**
 * try_to_free_swap(): drop a swapcache page's slot when no swap entry uses
 * it any more (not under writeback: writeback is synchronous here).
 */
export function try_to_free_swap(k: Kernel, pfn: number): boolean {
  if (!k.pageTest(pfn, PG_SWAPCACHE)) return false;
  if (k.swapCount(k.pageSwapSlot(pfn)) > 0) return false;
  k.setPageFlag(pfn, PG_DIRTY); // SetPageDirty (before: dropping the cache's reference may free it)
  delete_from_swap_cache(k, pfn);
  return true;
}

/**
 * free_swap_and_cache(): drop one entry; when only the cache is left and the
 * cached page is unmapped and unlocked, __try_to_reclaim_swap(TTRS_UNMAPPED)
 * frees it from the cache.
 */
export function free_swap_and_cache(k: Kernel, slot: number): void {
  swap_free(k, slot);
  if (k.swapMap(slot) !== SWAP_HAS_CACHE) return;
  const pfn = k.swapCachePage(slot);
  if (pfn === 0 || page_locked(k, pfn) || k.pageMapcount(pfn) > 0) return;
  try_to_free_swap(k, pfn);
}

/** free_swap_cache() (mm/swap_state.c): an unmapped swapcache page whose slot is unused leaves the cache. */
export function free_swap_cache(k: Kernel, pfn: number): void {
  if (k.pageTest(pfn, PG_SWAPCACHE) && k.pageMapcount(pfn) === 0 && !page_locked(k, pfn)) try_to_free_swap(k, pfn);
}

/**
 * reuse_swap_page() (<= 5.17): reuse iff mapcount + swapcount <= 1; GUP
 * references are not counted. At count 1 it also drops the page from the
 * swap cache. Caller holds the page lock.
 */
export function reuse_swap_page(k: Kernel, pfn: number): boolean {
  const swapcache = k.pageTest(pfn, PG_SWAPCACHE);
  // page_trans_huge_map_swapcount (4.6-5.17): a page of a THP counts its folio's largest subpage mapcount plus the entire mapcount.
  const count = k.page_trans_huge_mapcount(pfn) + (swapcache ? k.swapCount(k.pageSwapSlot(pfn)) : 0);
  if (count === 1 && swapcache) {
    k.setPageFlag(pfn, PG_DIRTY);
    delete_from_swap_cache(k, pfn);
  }
  return count <= 1;
}
