/**
 * mm/vmscan.c and the swap-out half of mm/rmap.c:try_to_unmap_one: what
 * reclaim does differently by release.
 */
import type { Kernel } from '../kernel.js';
import { PG_FLAGS, PG_RECLAIM, PG_WRITEBACK } from '../layout.js';
import { PG_LOCKED, WAITQ_WRITEBACK, waitKey } from '../locks.js';
import { sleep_on } from './locking.js';
import { ALLOC_RETRY, ALLOC_SLEEP } from './pgalloc.js';
import { page_maybe_dma_pinned } from './rmap.js';

/** shrink_page_list keeps a page out of the swap cache (keep_locked) when it may be pinned: 5.11, feb889fb40fa. */
export type ShrinkPageListKeepsPinned = (k: Kernel, pfn: number) => boolean;
export const shrink_page_list_keeps_pinned_5_7: ShrinkPageListKeepsPinned = () => false;
export const shrink_page_list_keeps_pinned_5_11: ShrinkPageListKeepsPinned = (k, pfn) => page_maybe_dma_pinned(k, pfn);

/** try_to_unmap_one: the swap PTE keeps the page's exclusivity (pte_swp_mkexclusive, 5.19, 1493a1913e34). */
export type SwapPteExclusive = (anonExclusive: boolean) => boolean;
export const swap_pte_exclusive_5_7: SwapPteExclusive = () => false;
export const swap_pte_exclusive_5_19: SwapPteExclusive = (anonExclusive) => anonExclusive;

/**
 * The memcg charge of an allocation when the scenario's legacy (cgroup v1)
 * memory cgroup is at its limit: try_charge -> try_to_free_mem_cgroup_pages
 * -> shrink_page_list over the cgroup's LRU pages (here: the page-cache
 * pages). A page under writeback is, on the first pass, marked PG_reclaim
 * and kept (case 2); met again with PG_reclaim set, legacy memcg reclaim
 * (!sane_reclaim / !writeback_throttling_sane: no dirty throttling in v1)
 * waits for it: unlock_page, wait_on_page_writeback (case 3; c3b94f44fcb0).
 * shrink_page_list trylocks each page first: a locked page is skipped.
 * Without pages under writeback, reclaim frees clean memory the model does
 * not track and the charge succeeds. Returns 0 (charged), ALLOC_RETRY or
 * ALLOC_SLEEP (model/kernel/pgalloc.ts).
 * Read in mm/vmscan.c:shrink_page_list (4.9, 4.20, 5.0, 5.12) and
 * mm/memcontrol.c:try_charge; docs/kernel-notes.md.
 */
export function mem_cgroup_charge_reclaim(k: Kernel, t: number): number {
  let marked = false;
  let wait = -1;
  for (let f = 0; f < k.world.fileNames.length; f++) {
    for (let i = 0; i < k.L.shape.filePages; i++) {
      const p = k.cachePage(f, i);
      if (!p) continue;
      const flags = k.pageWord(p, PG_FLAGS);
      if (!(flags & PG_WRITEBACK) || flags & PG_LOCKED) continue; // not under writeback, or trylock_page fails
      if (!(flags & PG_RECLAIM)) {
        k.setPageWord(p, PG_FLAGS, flags | PG_RECLAIM);
        marked = true;
      } else if (wait < 0) wait = f;
    }
  }
  if (marked) {
    if (k.narrate) k.note('memcg at its limit: shrink_page_list meets pages under writeback: SetPageReclaim, keep them; try_charge retries');
    return ALLOC_RETRY;
  }
  if (wait >= 0) {
    if (k.narrate) k.note(`memcg at its limit: shrink_page_list meets a PG_reclaim page of ${k.world.fileNames[wait]} under writeback: wait_on_page_writeback`);
    sleep_on(k, t, waitKey(WAITQ_WRITEBACK, wait));
    return ALLOC_SLEEP;
  }
  if (k.narrate) k.note('memcg at its limit: reclaim frees clean memory; the charge succeeds');
  return 0;
}
