/**
 * mm/rmap.c and include/linux/rmap.h: the reverse-map counts of a page and,
 * from 5.19 (6c287605fd56), PG_anon_exclusive. The functions whose behaviour
 * changed have one implementation per period, named after the release that
 * introduced it (page_add_new_anon_rmap_5_19); kernel-functions.ts picks
 * one per model.
 */
import { GUP_PIN_COUNTING_BIAS } from '../gup.js';
import type { Kernel } from '../kernel.js';
import { PG_ANON, PG_ANON_EXCLUSIVE, PG_MAP, PG_SWAPBACKED, VMA_ANON_VMA } from '../layout.js';

/** anon_vma_prepare(): the VMA now has anonymous pages (fork must copy its page table). */
export function anon_vma_prepare(k: Kernel, m: number, a: number): void {
  const v = k.world.vmaOfAddr[a]!;
  k.s[k.L.vma(m, v)]! |= VMA_ANON_VMA;
}

/** page_add_new_anon_rmap() up to 5.18: a fresh anon page, mapped once. */
export function page_add_new_anon_rmap_5_7(k: Kernel, pfn: number): void {
  k.setPageWord(pfn, PG_MAP, 1);
  k.setPageFlag(pfn, PG_ANON | PG_SWAPBACKED);
}

/** 5.19: a fresh anon page is exclusive (__page_set_anon_rmap(exclusive=1)). */
export function page_add_new_anon_rmap_5_19(k: Kernel, pfn: number): void {
  page_add_new_anon_rmap_5_7(k, pfn);
  k.setPageFlag(pfn, PG_ANON_EXCLUSIVE);
}

/** page_add_anon_rmap(page, flags) up to 5.18: RMAP_EXCLUSIVE does not exist. */
export function page_add_anon_rmap_5_7(k: Kernel, pfn: number, _exclusive: boolean): void {
  k.setPageWord(pfn, PG_MAP, k.pageMapcount(pfn) + 1);
  k.setPageFlag(pfn, PG_ANON);
}

/** 5.19: RMAP_EXCLUSIVE marks the page PageAnonExclusive. */
export function page_add_anon_rmap_5_19(k: Kernel, pfn: number, exclusive: boolean): void {
  page_add_anon_rmap_5_7(k, pfn, exclusive);
  if (exclusive) k.setPageFlag(pfn, PG_ANON_EXCLUSIVE);
}

/** page_move_anon_rmap() in 5.18: do_wp_page reuses the page; nothing to record. */
export function page_move_anon_rmap_5_18(_k: Kernel, _pfn: number): void {}

/** 5.19: a reused page becomes exclusive (SetPageAnonExclusive). */
export function page_move_anon_rmap_5_19(k: Kernel, pfn: number): void {
  k.setPageFlag(pfn, PG_ANON_EXCLUSIVE);
}

/** page_dup_rmap(). */
export function page_dup_rmap(k: Kernel, pfn: number): void {
  k.setPageWord(pfn, PG_MAP, k.pageMapcount(pfn) + 1);
}

/** page_add_file_rmap(). */
export function page_add_file_rmap(k: Kernel, pfn: number): void {
  k.setPageWord(pfn, PG_MAP, k.pageMapcount(pfn) + 1);
}

/** page_remove_rmap(). */
export function page_remove_rmap(k: Kernel, pfn: number): void {
  k.setPageWord(pfn, PG_MAP, k.pageMapcount(pfn) - 1);
}

/**
 * page_try_share_anon_rmap() (5.19, include/linux/rmap.h): swap-out and
 * migration make an exclusive page shared before its PTE becomes a swap or
 * migration entry; -EBUSY (false here) when the page may be pinned.
 */
export function page_try_share_anon_rmap(k: Kernel, pfn: number): boolean {
  if (page_maybe_dma_pinned(k, pfn)) return false;
  k.clearPageFlag(pfn, PG_ANON_EXCLUSIVE);
  return true;
}

/** page_maybe_dma_pinned() (include/linux/mm.h): _refcount >= GUP_PIN_COUNTING_BIAS on a small page. */
export function page_maybe_dma_pinned(k: Kernel, pfn: number): boolean {
  return k.pageRef(pfn) >= GUP_PIN_COUNTING_BIAS;
}
