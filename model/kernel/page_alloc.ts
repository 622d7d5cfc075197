/**
 * mm/page_alloc.c and the page reference helpers of include/linux/mm.h:
 * allocating a frame, get_page and put_page (which frees the frame at zero).
 */
import type { Kernel } from '../kernel.js';
import { PG_MAP, PG_REF, PG_WORDS } from '../layout.js';

/**
 * alloc_page(): a free frame with _refcount 1, or 0 (OOM). The allocator
 * may return any free page; the model returns one that no thread still
 * remembers (a stale orig_pte or pfn) when there is one, so that free frames
 * are interchangeable and the model is symmetric in frame numbers (the
 * symmetry reduction relies on it); otherwise the one remembered first.
 */
export function alloc_page(k: Kernel): number {
  let best = 0;
  let bestPos = -1;
  for (let p = 1; p <= k.frames; p++) {
    if (k.pageRef(p) !== 0) continue;
    const pos = staleReference(k, p);
    if (pos === Infinity) {
      best = p;
      break;
    }
    if (best === 0 || pos < bestPos) {
      best = p;
      bestPos = pos;
    }
  }
  if (best) k.setPageWord(best, PG_REF, 1);
  return best;
}

/** The first thread local that still names pfn without a reference (orig_pte, a remembered pfn), as a position; Infinity if none. */
function staleReference(k: Kernel, pfn: number): number {
  const places = k.threadRemembered;
  for (let i = 0; i < places.length; i++) if (places.pfnAt(k.s, i) === pfn) return i;
  return Infinity;
}

/** get_page() / folio_ref_add(). The zeropage is not refcounted in the model. */
export function get_page(k: Kernel, pfn: number, refs = 1): void {
  if (pfn !== 0) k.setPageWord(pfn, PG_REF, k.pageRef(pfn) + refs);
}

/** put_page() / folio_put_refs(): frees the frame at zero. */
export function put_page(k: Kernel, pfn: number, refs = 1): void {
  if (pfn === 0) return;
  const left = k.pageRef(pfn) - refs;
  k.setPageWord(pfn, PG_REF, left);
  if (left <= 0) free_frame(k, pfn);
}

/**
 * __free_pages: a freed frame is all zeroes, a canonical free state. A frame
 * freed while still mapped keeps _mapcount so that refcount-sane reports it.
 */
function free_frame(k: Kernel, pfn: number): void {
  const map = k.pageMapcount(pfn);
  for (let i = 0; i < PG_WORDS; i++) k.setPageWord(pfn, i, 0);
  k.setPageWord(pfn, PG_MAP, map);
}
