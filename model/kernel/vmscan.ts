/**
 * mm/vmscan.c and the swap-out half of mm/rmap.c:try_to_unmap_one: what
 * reclaim does differently by release.
 */
import type { Kernel } from '../kernel.js';
import { page_maybe_dma_pinned } from './rmap.js';

/** shrink_page_list keeps a page out of the swap cache (keep_locked) when it may be pinned: 5.11, feb889fb40fa. */
export type ShrinkPageListKeepsPinned = (k: Kernel, pfn: number) => boolean;
export const shrink_page_list_keeps_pinned_5_7: ShrinkPageListKeepsPinned = () => false;
export const shrink_page_list_keeps_pinned_5_11: ShrinkPageListKeepsPinned = (k, pfn) => page_maybe_dma_pinned(k, pfn);

/** try_to_unmap_one: the swap PTE keeps the page's exclusivity (pte_swp_mkexclusive, 5.19, 1493a1913e34). */
export type SwapPteExclusive = (anonExclusive: boolean) => boolean;
export const swap_pte_exclusive_5_7: SwapPteExclusive = () => false;
export const swap_pte_exclusive_5_19: SwapPteExclusive = (anonExclusive) => anonExclusive;
