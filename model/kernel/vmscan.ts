/**
 * mm/vmscan.c and the swap-out half of mm/rmap.c:try_to_unmap_one: what
 * reclaim does differently by release.
 */
import type { Kernel } from '../kernel.js';
import { PG_FLAGS, PG_MAP, PG_MAPPING, PG_RECLAIM, PG_WRITEBACK } from '../layout.js';
import { PG_LOCKED, WAITQ_WRITEBACK, waitKey } from '../locks.js';
import { mappingFile } from '../objects.js';
import { frame, threadLocals } from '../thread-locals.js';
import { i_mmap_lock_read, i_mmap_unlock_read, sleep_on, trylock_page, unlock_page } from './locking.js';
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

/** The page shrink_page_list holds locked (trylock_page) while page_referenced walks its rmap. */
const DIRECT_RECLAIM = threadLocals('try_to_free_pages', { page: frame('pfn') });

/**
 * Direct reclaim of an allocation when free memory is short ("reclaim":
 * "direct"): __alloc_pages_slowpath -> __alloc_pages_direct_reclaim ->
 * try_to_free_pages -> shrink_page_list. The model's LRU is the mapped
 * page-cache pages, in file order: reclaim trylocks the first it can
 * (a locked page is skipped), then page_referenced -> rmap_walk_file takes
 * the file's i_mmap_rwsem for read, with the page still locked; a reader
 * sleeps there while a writer holds or waits for it (writer-fair). The page
 * was referenced (young PTEs): it stays, and reclaim frees memory the model
 * does not track, so the allocation then succeeds. Two visits of the
 * allocating step: the trylock (ALLOC_RETRY), then the walk. Unmapped pages
 * are not scanned (page_referenced returns early: no rmap walk).
 * Returns 0 (go on and allocate), ALLOC_RETRY or ALLOC_SLEEP.
 * Read in mm/vmscan.c:shrink_page_list and mm/rmap.c:page_referenced,
 * rmap_walk_file (4.6); docs/kernel-notes.md#page-tables.
 */
/** The page this thread's direct reclaim holds locked (0: none): reclaim's own lock, not the allocation's caller's. */
export const reclaimingPage = (k: Kernel, t: number): number => DIRECT_RECLAIM.page.get(k, t);

export function direct_reclaim(k: Kernel, t: number): number {
  const held = DIRECT_RECLAIM.page.get(k, t);
  if (!held) {
    for (let f = 0; f < k.world.fileNames.length; f++) {
      for (let i = 0; i < k.L.shape.filePages; i++) {
        const p = k.cachePage(f, i);
        if (!p || k.pageWord(p, PG_MAP) === 0 || !trylock_page(k, t, p)) continue;
        DIRECT_RECLAIM.page.set(k, t, p);
        if (k.narrate) k.note(`direct reclaim: shrink_page_list: trylock_page(pfn ${p}), mapped: page_referenced walks its rmap`);
        return ALLOC_RETRY;
      }
    }
    if (k.narrate) k.note('direct reclaim: no mapped page-cache page to scan; reclaim frees memory the model does not track');
    return 0;
  }
  const f = mappingFile(k.pageWord(held, PG_MAPPING));
  if (f >= 0) {
    if (!i_mmap_lock_read(k, t, f)) return ALLOC_SLEEP;
    i_mmap_unlock_read(k, t, f);
  }
  unlock_page(k, held);
  DIRECT_RECLAIM.page.set(k, t, 0);
  if (k.narrate)
    k.note(
      `page_referenced: rmap_walk_file under ${f >= 0 ? k.world.fileNames[f] : 'its'} i_mmap_rwsem (read): referenced, activate_locked; reclaim frees memory the model does not track`,
    );
  return 0;
}
