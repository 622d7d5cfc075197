/**
 * mm/page_alloc.c and the page reference helpers of include/linux/mm.h:
 * allocating a frame, get_page and put_page (which frees the frame at zero).
 */
import { PGMAP_GHOST_BUDDY, pgmapGhost } from './memremap.js';
import type { Kernel } from '../kernel.js';
import { PG_COMPOUND, PG_MAP, PG_REF, PG_THP } from '../layout.js';
import { compoundTail } from '../objects.js';

/**
 * The free frame the allocator hands out next, or 0. The allocator may
 * return any free page; the model returns one that no thread still
 * remembers (a stale orig_pte or pfn) when there is one, so that free frames
 * are interchangeable and the model is symmetric in frame numbers (the
 * symmetry reduction relies on every action commuting with a renumbering);
 * otherwise the one remembered first. A folio's tails come from here too.
 */
function pickFree(k: Kernel): number {
  let best = 0;
  let bestPos = -1;
  for (let p = 1; p <= k.frames; p++) {
    if (!k.isFree(p)) continue;
    const pos = staleReference(k, p);
    if (pos === Infinity) return p;
    if (best === 0 || pos < bestPos) {
      best = p;
      bestPos = pos;
    }
  }
  return best;
}

/** alloc_page(): a free frame with _refcount 1, or 0 (OOM). */
export function alloc_page(k: Kernel): number {
  const p = pickFree(k);
  if (p) k.setPageWord(p, PG_REF, 1);
  return p;
}

/** The first thread local that still names pfn without a reference (orig_pte, a remembered pfn), as a position; Infinity if none. */
function staleReference(k: Kernel, pfn: number): number {
  const places = k.threadRemembered;
  for (let i = 0; i < places.length; i++) if (places.pfnAt(k.s, i) === pfn) return i;
  return Infinity;
}

/**
 * alloc_hugepage_vma() of a folio of nr pages: a head with _refcount 1
 * (PG_THP) and nr - 1 free frames as its tails (their compound word names
 * the head; a frame's number says nothing about contiguity in the model), or
 * 0 when there are not nr free frames.
 */
export function alloc_folio(k: Kernel, nr: number): number {
  if (nr > 1 && !k.folios) throw new Error('alloc_folio: a THP of several pages in a world without compound words (no THP VMA)');
  let free = 0;
  for (let p = 1; p <= k.frames; p++) if (k.isFree(p)) free++;
  if (free < nr) return 0;
  const head = alloc_page(k);
  k.setPageFlag(head, PG_THP);
  // Tails keep _refcount 0: get_page and put_page of a tail go to its head.
  for (let i = 1; i < nr; i++) k.setPageWord(pickFree(k), PG_COMPOUND, compoundTail(head, i));
  return head;
}

/** get_page() / folio_ref_add(): on the folio (compound_head). The zeropage is not refcounted in the model. */
export function get_page(k: Kernel, pfn: number, refs = 1): void {
  if (pfn === 0) return;
  const head = k.folioHead(pfn);
  k.setPageWord(head, PG_REF, k.pageWord(head, PG_REF) + refs);
}

/** put_page() / folio_put_refs(): on the folio; frees it at zero. A device page goes its release's way (model/kernel/memremap.ts). */
export function put_page(k: Kernel, pfn: number, refs = 1): void {
  if (pfn === 0) return;
  if (pfn > k.frames) {
    k.world.putDevicePage!(k, pfn, refs, false);
    return;
  }
  const head = k.folioHead(pfn);
  const left = k.pageWord(head, PG_REF) - refs;
  k.setPageWord(head, PG_REF, left);
  if (left <= 0) free_folio(k, head);
}

/**
 * __free_pages / free_compound_page: a freed frame is all zeroes, a
 * canonical free state; a folio's tails go with its head. A frame freed
 * while still mapped keeps _mapcount so that refcount-sane reports it.
 */
/** __free_pages of a page's last reference (free_folio's entry for a caller that has dropped the count itself). */
export function __free_pages(k: Kernel, pfn: number): void {
  free_folio(k, k.folioHead(pfn));
}

function free_folio(k: Kernel, head: number): void {
  if (k.pageTest(head, PG_THP)) for (const p of k.folioPages(head)) if (p !== head && p) free_frame(k, p);
  free_frame(k, head);
}

function free_frame(k: Kernel, pfn: number): void {
  // A device page here would go to the buddy allocator and its LRU (zone-device-never-lru).
  if (pfn > k.frames) pgmapGhost(k, PGMAP_GHOST_BUDDY);
  const map = k.pageMapcount(pfn);
  for (let i = 0; i < k.L.frameWords; i++) k.setPageWord(pfn, i, 0);
  k.setPageWord(pfn, PG_MAP, map);
}
