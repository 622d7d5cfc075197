/**
 * ZONE_DEVICE pages (mm/memremap.c, mm/swap.c, mm/gup.c): the put paths of
 * an FS_DAX page by release, and the wake-up that a break_layouts waiter
 * (fs/dax.c, model/ops/dax.ts) sleeps for. An FS_DAX page is idle at
 * _refcount 1 up to 6.14 (the initial reference, never dropped) and at 0
 * from 6.15 (38607c62b34b). Read in 5.7.14, 5.17-rc5, 5.18.12, 5.19, 6.1.15,
 * 6.2, 6.14 and 6.15.4 (docs/source-reading/zone-device.md).
 */
import type { Kernel } from '../kernel.js';
import { PG_REF } from '../layout.js';
import { WAITQ_VAR, waitKey } from '../locks.js';
import { wake_up } from './locking.js';

/** Drops refs references on device page pfn: put_page (unpin false), or unpin_user_page / gup_put_folio (unpin true). */
export type PutDevmapPage = (k: Kernel, pfn: number, refs: number, unpin: boolean) => void;

function sub(k: Kernel, pfn: number, refs: number): number {
  const left = k.pageWord(pfn, PG_REF) - refs;
  k.setPageWord(pfn, PG_REF, left);
  return left;
}

/** wake_up_var(&page->_refcount) (up to 6.14) or wake_up_var(page) (6.15): the break_layouts waiters of the page. */
function wake_up_var(k: Kernel, pfn: number, what: string): void {
  wake_up(k, waitKey(WAITQ_VAR, pfn));
  if (k.narrate) k.note(`${what}: wake_up_var on pfn ${pfn}`);
}

/**
 * 5.7-5.17: put_page -> put_devmap_managed_page, and unpin_user_page ->
 * __unpin_devmap_managed_user_page (5.7-5.10) or put_compound_head ->
 * put_page (5.11-5.17): _refcount -= refs; at 1 free_devmap_managed_page,
 * which for a page that is not device-private only does
 * wake_up_var(&page->_refcount); at 0 __put_page drops the pgmap reference.
 */
export const put_devmap_page_5_7: PutDevmapPage = (k, pfn, refs) => {
  if (sub(k, pfn, refs) === 1) wake_up_var(k, pfn, 'put_devmap_managed_page: _refcount 1: free_devmap_managed_page');
};

/**
 * 5.18 (d8ddc099c6b3, "mm/gup: Add gup_put_folio()"): put_page still goes
 * through __put_devmap_managed_page (at 1: wake_up_var), but
 * unpin_user_page -> gup_put_folio is folio_put_refs alone: an FS_DAX page
 * unpinned to 1 wakes nobody (fixed by f4f451a16dd1 in 5.19).
 */
export const put_devmap_page_5_18: PutDevmapPage = (k, pfn, refs, unpin) => {
  const left = sub(k, pfn, refs);
  if (left === 1 && !unpin) wake_up_var(k, pfn, '__put_devmap_managed_page: _refcount 1');
  else if (left === 1 && k.narrate) k.note(`gup_put_folio: folio_put_refs(${refs}): _refcount 1, and no wake_up_var (d8ddc099c6b3)`);
};

/** 5.19-6.14 (f4f451a16dd1): put_page and gup_put_folio both through __put_devmap_managed_page_refs: at 1, wake_up_var. */
export const put_devmap_page_5_19: PutDevmapPage = (k, pfn, refs, unpin) => {
  if (sub(k, pfn, refs) === 1) wake_up_var(k, pfn, `${unpin ? 'gup_put_folio' : 'put_page'} -> __put_devmap_managed_page_refs: _refcount 1`);
};

/** 6.15 (38607c62b34b): folio_put_refs; at 0 free_zone_device_folio, whose FS_DAX case is wake_up_var(&folio->page). */
export const put_devmap_page_6_15: PutDevmapPage = (k, pfn, refs) => {
  if (sub(k, pfn, refs) === 0) wake_up_var(k, pfn, 'folio_put: _refcount 0: free_zone_device_folio (MEMORY_DEVICE_FS_DAX)');
};

/**
 * Ralph Campbell's RFC "mm: remove extra ZONE_DEVICE struct page refcount"
 * (2020-09-14, on the 5.9-era mm tree): put_page is put_page_testzero, and
 * only at 0 does __put_page -> free_devmap_managed_page wake the FS_DAX
 * waiters; an idle FS_DAX page still sits at 1, and break_layouts still
 * waits for 1 (Dan Williams's objection, seed 002).
 */
export const put_devmap_page_rfc: PutDevmapPage = (k, pfn, refs) => {
  const left = sub(k, pfn, refs);
  if (left === 0) wake_up_var(k, pfn, 'RFC: put_page_testzero: _refcount 0: __put_page -> free_devmap_managed_page');
  else if (k.narrate) k.note(`RFC: put_page_testzero: _refcount ${left}, not 0: no free_devmap_managed_page, no wake_up_var`);
};
