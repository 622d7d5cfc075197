/**
 * mm/rmap.c and include/linux/rmap.h: the reverse-map counts of a page and,
 * from 5.19 (6c287605fd56), PG_anon_exclusive. The functions whose behaviour
 * changed have one implementation per period, named after the release that
 * introduced it (page_add_new_anon_rmap_5_19); kernel-functions.ts picks
 * one per model.
 */
import { GUP_PIN_COUNTING_BIAS } from '../gup.js';
import type { Kernel } from '../kernel.js';
import { PG_ANON, PG_ANON_EXCLUSIVE, PG_COMPOUND, PG_MAP, PG_SWAPBACKED, VMA_ANON_VMA } from '../layout.js';
import { withEntire } from '../objects.js';

/** anon_vma_prepare(): the VMA now has anonymous pages (fork must copy its page table). */
export function anon_vma_prepare(k: Kernel, m: number, a: number): void {
  const v = k.world.vmaOfAddr[a]!;
  k.s[k.L.vma(m, v)]! |= VMA_ANON_VMA;
}

/**
 * The mapcount page_*_rmap(page, compound) changes: a huge pmd maps the
 * folio (compound: the head's entire mapcount), a PTE maps one page (its
 * _mapcount).
 */
function addMapcount(k: Kernel, pfn: number, compound: boolean, n: number): void {
  if (!compound) k.setPageWord(pfn, PG_MAP, k.pageMapcount(pfn) + n);
  else if (!k.folios) throw new Error('a compound mapping in a world without compound words (no THP VMA)');
  else k.setPageWord(pfn, PG_COMPOUND, withEntire(k.pageWord(pfn, PG_COMPOUND), k.folioEntire(pfn) + n));
}

/** page_add_new_anon_rmap() up to 5.18: a fresh anon page (or THP, compound: PageAnon is the folio's, kept on each subpage), mapped once. */
export function page_add_new_anon_rmap_5_7(k: Kernel, pfn: number, compound = false): void {
  addMapcount(k, pfn, compound, 1);
  if (!compound) k.setPageFlag(pfn, PG_ANON | PG_SWAPBACKED);
  else for (const p of k.folioPages(pfn)) k.setPageFlag(p, PG_ANON | PG_SWAPBACKED);
}

/** 5.19: a fresh anon page is exclusive (__page_set_anon_rmap(exclusive=1)). */
export function page_add_new_anon_rmap_5_19(k: Kernel, pfn: number, compound = false): void {
  page_add_new_anon_rmap_5_7(k, pfn, compound);
  folio_set_anon_exclusive(k, pfn, compound, true);
}

/**
 * PageAnonExclusive of a page or, compound, of a pmd-mapped THP: the
 * kernel keeps it on the head; the model on every subpage alike
 * (model/kernel/huge_memory.ts).
 */
export function folio_set_anon_exclusive(k: Kernel, pfn: number, compound: boolean, on: boolean): void {
  if (!compound) setAnonExclusive(k, pfn, on);
  else for (const p of k.folioPages(pfn)) setAnonExclusive(k, p, on);
}

function setAnonExclusive(k: Kernel, pfn: number, on: boolean): void {
  if (on) k.setPageFlag(pfn, PG_ANON_EXCLUSIVE);
  else k.clearPageFlag(pfn, PG_ANON_EXCLUSIVE);
}

/** page_add_anon_rmap(page, flags) up to 5.18: RMAP_EXCLUSIVE does not exist; RMAP_COMPOUND (compound) maps a THP by its pmd. */
export function page_add_anon_rmap_5_7(k: Kernel, pfn: number, _exclusive: boolean, compound = false): void {
  addMapcount(k, pfn, compound, 1);
  k.setPageFlag(pfn, PG_ANON);
}

/** 5.19: RMAP_EXCLUSIVE marks the page (a pmd-mapped THP: compound) PageAnonExclusive. */
export function page_add_anon_rmap_5_19(k: Kernel, pfn: number, exclusive: boolean, compound = false): void {
  page_add_anon_rmap_5_7(k, pfn, exclusive, compound);
  if (exclusive) folio_set_anon_exclusive(k, pfn, compound, true);
}

/** page_move_anon_rmap() in 5.18: do_wp_page reuses the page; nothing to record. */
export function page_move_anon_rmap_5_18(_k: Kernel, _pfn: number, _compound = false): void {}

/** 5.19: a reused page (a pmd-mapped THP: compound) becomes exclusive (SetPageAnonExclusive). */
export function page_move_anon_rmap_5_19(k: Kernel, pfn: number, compound = false): void {
  folio_set_anon_exclusive(k, pfn, compound, true);
}

/** page_dup_rmap(page, compound). */
export function page_dup_rmap(k: Kernel, pfn: number, compound = false): void {
  addMapcount(k, pfn, compound, 1);
}

/** page_add_file_rmap(page, compound): compound maps a page-cache THP by a huge pmd (its entire mapcount). */
export function page_add_file_rmap(k: Kernel, pfn: number, compound = false): void {
  addMapcount(k, pfn, compound, 1);
}

/** page_remove_rmap(page, compound). */
export function page_remove_rmap(k: Kernel, pfn: number, compound = false): void {
  addMapcount(k, pfn, compound, -1);
}

/**
 * page_try_share_anon_rmap() (5.19, include/linux/rmap.h): swap-out and
 * migration make an exclusive page shared before its PTE becomes a swap or
 * migration entry; -EBUSY (false here) when the page may be pinned.
 */
export function page_try_share_anon_rmap(k: Kernel, pfn: number, compound = false): boolean {
  if (page_maybe_dma_pinned(k, pfn)) return false;
  folio_set_anon_exclusive(k, pfn, compound, false);
  return true;
}

/** page_maybe_dma_pinned() (include/linux/mm.h): _refcount >= GUP_PIN_COUNTING_BIAS on a small page. */
export function page_maybe_dma_pinned(k: Kernel, pfn: number): boolean {
  return k.pageRef(pfn) >= GUP_PIN_COUNTING_BIAS;
}
