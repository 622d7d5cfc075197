/**
 * ZONE_DEVICE pages (mm/memremap.c, mm/swap.c, mm/gup.c): the put paths of
 * an FS_DAX page by release, and the wake-up that a break_layouts waiter
 * (fs/dax.c, model/ops/dax.ts) sleeps for. An FS_DAX page is idle at
 * _refcount 1 up to 6.14 (the initial reference, never dropped) and at 0
 * from 6.15 (38607c62b34b). Read in 5.7.14, 5.17-rc5, 5.18.12, 5.19, 6.1.15,
 * 6.2, 6.14 and 6.15.4 (docs/source-reading/zone-device.md).
 */
import { GUP_NONE, gupKind, gupPfn, gupRefs } from '../gup.js';
import type { Kernel, StateView } from '../kernel.js';
import { PG_ANON, PG_DATA, PG_DEVFREE, PG_FLAGS, PG_MAPPING, PG_REF } from '../layout.js';
import { mapsNormalPage, PTE_DEVPRIV, PTE_PRESENT, PTE_SPECIAL, PTE_WRITE, pteDevPrivate, pteKind, ptePresent, pteTarget } from '../pte.js';
import { alloc_page, get_page, put_page } from './page_alloc.js';
import { page_remove_rmap } from './rmap.js';
import { WAITQ_PGMAP, WAITQ_VAR, waitKey } from '../locks.js';
import { wake_up } from './locking.js';

/** Drops refs references on device page pfn: put_page (unpin false), or unpin_user_page / gup_put_folio (unpin true). */
export type PutDevmapPage = (k: Kernel, pfn: number, refs: number, unpin: boolean) => void;
/** An FS_DAX put path and the count at which it wakes the break_layouts waiters (idle-convention reads it from here). */
export type PutFsdaxPage = PutDevmapPage & { readonly wakeAt: number; readonly idle: number };
/** The put path with its facts: the count it wakes at, and the idle page's count, which break_layouts waits for. */
const wakingAt = (wakeAt: number, idle: number, put: PutDevmapPage): PutFsdaxPage => Object.assign(put, { wakeAt, idle });
/** A device-private put path and its release's counts: a page on the free list, and an allocated page's base beyond its holders. */
export type PutDevprivPage = PutDevmapPage & { readonly freeCount: number; readonly base: number };
const counting = (freeCount: number, base: number, put: PutDevmapPage): PutDevprivPage => Object.assign(put, { freeCount, base });

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
export const put_devmap_page_5_7: PutFsdaxPage = wakingAt(1, 1, (k, pfn, refs) => {
  if (sub(k, pfn, refs) === put_devmap_page_5_7.wakeAt) wake_up_var(k, pfn, 'put_devmap_managed_page: _refcount 1: free_devmap_managed_page');
});

/**
 * 5.18 (d8ddc099c6b3, "mm/gup: Add gup_put_folio()"): put_page still goes
 * through __put_devmap_managed_page (at 1: wake_up_var), but
 * unpin_user_page -> gup_put_folio is folio_put_refs alone: an FS_DAX page
 * unpinned to 1 wakes nobody (fixed by f4f451a16dd1 in 5.19).
 */
export const put_devmap_page_5_18: PutFsdaxPage = wakingAt(1, 1, (k, pfn, refs, unpin) => {
  const left = sub(k, pfn, refs);
  if (left === put_devmap_page_5_18.wakeAt && !unpin) wake_up_var(k, pfn, '__put_devmap_managed_page: _refcount 1');
  else if (left === put_devmap_page_5_18.wakeAt && k.narrate) k.note(`gup_put_folio: folio_put_refs(${refs}): _refcount 1, and no wake_up_var (d8ddc099c6b3)`);
});

/** 5.19-6.14 (f4f451a16dd1): put_page and gup_put_folio both through __put_devmap_managed_page_refs: at 1, wake_up_var. */
export const put_devmap_page_5_19: PutFsdaxPage = wakingAt(1, 1, (k, pfn, refs, unpin) => {
  if (sub(k, pfn, refs) === put_devmap_page_5_19.wakeAt) wake_up_var(k, pfn, `${unpin ? 'gup_put_folio' : 'put_page'} -> __put_devmap_managed_page_refs: _refcount 1`);
});

/** 6.15 (38607c62b34b): folio_put_refs; at 0 free_zone_device_folio, whose FS_DAX case is wake_up_var(&folio->page). */
export const put_devmap_page_6_15: PutFsdaxPage = wakingAt(0, 0, (k, pfn, refs) => {
  if (sub(k, pfn, refs) === put_devmap_page_6_15.wakeAt) wake_up_var(k, pfn, 'folio_put: _refcount 0: free_zone_device_folio (MEMORY_DEVICE_FS_DAX)');
});

/**
 * Ralph Campbell's RFC "mm: remove extra ZONE_DEVICE struct page refcount"
 * (2020-09-14, on the 5.9-era mm tree): put_page is put_page_testzero, and
 * only at 0 does __put_page -> free_devmap_managed_page wake the FS_DAX
 * waiters; an idle FS_DAX page still sits at 1, and break_layouts still
 * waits for 1 (Dan Williams's objection, seed 002).
 */
export const put_devmap_page_rfc: PutFsdaxPage = wakingAt(0, 1, (k, pfn, refs) => {
  const left = sub(k, pfn, refs);
  if (left === put_devmap_page_rfc.wakeAt) wake_up_var(k, pfn, 'RFC: put_page_testzero: _refcount 0: __put_page -> free_devmap_managed_page');
  else if (k.narrate) k.note(`RFC: put_page_testzero: _refcount ${left}, not 0: no free_devmap_managed_page, no wake_up_var`);
});

// ---- MEMORY_DEVICE_GENERIC (device-dax) -------------------------------------------------------

/** A device-dax put path, and whether the release's memunmap_pages puts every page (up to 5.17) or the bulk reference (5.18 on). */
export type PutGenericPage = PutDevmapPage & { readonly unmapPuts: boolean };
const unmapping = (unmapPuts: boolean, put: PutDevmapPage): PutGenericPage => Object.assign(put, { unmapPuts });

/**
 * A put of a device page whose memmap memunmap_pages has removed (the pgmap
 * freed): the struct page itself is gone (pageunmap_range ->
 * arch_remove_memory), a use after free.
 */
function touchesFreedMemmap(k: Kernel, pfn: number, what: string): void {
  if (pgmapLife(k) !== PGMAP_FREED) return;
  pgmapGhost(k, PGMAP_GHOST_UAF);
  if (k.narrate) k.note(`${what} on pfn ${pfn}, whose struct page memunmap_pages already removed: a use after free`);
}

/**
 * Up to 5.17: page_is_devmap_managed is false for MEMORY_DEVICE_DEVDAX /
 * GENERIC, so put_page is put_page_testzero and unpin_user_page drops its
 * references the same way; at 0 __put_page -> put_dev_pagemap: the page's
 * share of the pgmap's reference (memremap_pages took one per page, and
 * memunmap_pages puts every page). Read in 5.7.14 and 5.17-rc5.
 */
export const put_generic_page_5_7: PutGenericPage = unmapping(true, (k, pfn, refs) => {
  touchesFreedMemmap(k, pfn, 'put_page');
  if (sub(k, pfn, refs) === 0) put_dev_pagemap(k);
});
/**
 * 5.18-6.14 (27674ef6c73f): folio_put; at 0 free_zone_device_page, whose
 * WARN_ON_ONCE(!pgmap->ops || !pgmap->ops->page_free) returns at once for
 * device-dax (it has no ops): the page would stay at 0. Never reached in
 * the model's scenarios: a device-dax page idles at 1 and memunmap_pages
 * drops the bulk reference itself.
 */
export const put_generic_page_5_18: PutGenericPage = unmapping(false, (k, pfn, refs) => {
  touchesFreedMemmap(k, pfn, 'folio_put');
  if (sub(k, pfn, refs) === 0 && k.narrate) k.note(`pfn ${pfn} at _refcount 0: free_zone_device_page: WARN_ON_ONCE(!ops->page_free) (device-dax has none): left at 0`);
});
/** 6.15 (aed877c2b425's series): at 0 free_zone_device_folio's MEMORY_DEVICE_GENERIC case: folio_set_count(folio, 1). */
export const put_generic_page_6_15: PutGenericPage = unmapping(false, (k, pfn, refs) => {
  touchesFreedMemmap(k, pfn, 'folio_put');
  if (sub(k, pfn, refs) === 0) k.setPageWord(pfn, PG_REF, 1);
});

// ---- MEMORY_DEVICE_PRIVATE, MEMORY_DEVICE_COHERENT -----------------------------------------

/** The pgmap's words (the scenario's one device). */
export const PGMAP_ALIVE = 0;
export const PGMAP_KILLED = 1;
export const PGMAP_UNMAPPED = 2;
export const PGMAP_FREED = 3;
/** Ghost bits of the pgmap's state word: its pgmap used after the driver freed it; a free device page used. */
export const PGMAP_GHOST_UAF = 4;
export const PGMAP_GHOST_FREE_PAGE = 8;
/** Ghost bit: a device page was handed to the page allocator (zone-device-never-lru). */
export const PGMAP_GHOST_BUDDY = 16;

/** Word offsets of the pgmap's reference and state (a world with a device). */
export const pgmapRef = (v: StateView): number => v.L.bases.pgmap![0]! + v.L.fieldOffsets.pgmap!.ref!;
export const pgmapState = (v: StateView): number => v.L.bases.pgmap![0]! + v.L.fieldOffsets.pgmap!.state!;

/**
 * Who holds device page pfn (cold path: the invariants): the PTEs that take
 * a reference (a normal present PTE - 6.15's DAX mapping - or a
 * device-private entry), its GUP references (their counts) and the thread
 * locals that hold it.
 */
export function deviceHolders(v: StateView, pfn: number): { maps: number; gup: number; held: number } {
  let maps = 0;
  for (let m = 0; m < v.mms; m++)
    for (let a = 0; a < v.addrs; a++) {
      const e = v.pte(m, a);
      if ((mapsNormalPage(e) || pteKind(e) === PTE_DEVPRIV) && pteTarget(e) === pfn) maps++;
    }
  let gup = 0;
  for (let g = 0; g < v.gupSlots; g++) if (gupKind(v.gup(g)) !== GUP_NONE && gupPfn(v.gup(g)) === pfn) gup += gupRefs(v.gup(g));
  let held = 0;
  for (let i = 0; i < v.threadHeld.length; i++) if (v.threadHeld.pfnAt(v.s, i) === pfn) held++;
  return { maps, gup, held };
}
export const pgmapLife = (k: Kernel): number => k.s[pgmapState(k)]! & 3;
export function pgmapGhost(k: Kernel, bit: number): void {
  k.s[pgmapState(k)] = k.s[pgmapState(k)]! | bit;
}

/**
 * A device-private page's free count and allocated base in this state: up to
 * 5.17 memunmap_pages' put_page of every pfn took each page's extra
 * reference (a free page 1 -> 0, a page in use one down), so once the pgmap
 * is killed both are one lower.
 */
export function devprivCounts(v: StateView): { free: number; base: number } {
  const down = v.world.devBase === 1 && (v.s[pgmapState(v)]! & 3) !== PGMAP_ALIVE ? 1 : 0;
  return { free: v.world.devFreeCount - down, base: v.world.devBase - down };
}

/**
 * A device page's count with nothing holding it, in this state, by type and
 * release (cold path: the invariants): device-private and coherent pages
 * their free-list or allocated base (devprivCounts); a device-dax page 1,
 * or 0 once memunmap_pages of 5.7-5.17 put every page; an FS_DAX page its
 * idle count.
 */
export function deviceBase(v: StateView, pfn: number): number {
  const w = v.world;
  if (w.devFreeList) {
    const c = devprivCounts(v);
    return v.pageTest(pfn, PG_DEVFREE) ? c.free : c.base;
  }
  if (w.devType === 'generic') return (w.putDevicePage as PutGenericPage).unmapPuts && (v.s[pgmapState(v)]! & 3) !== PGMAP_ALIVE ? 0 : 1;
  return w.fsdaxIdle;
}

/** put_dev_pagemap / percpu_ref_put: at 0 after the kill, the release callback completes pgmap->done. */
export function put_dev_pagemap(k: Kernel, n = 1): void {
  const o = pgmapRef(k);
  k.s[o] = k.s[o]! - n;
  if (k.s[o] === 0 && pgmapLife(k) === PGMAP_KILLED) wake_up(k, waitKey(WAITQ_PGMAP, 0));
}

/** The driver's page_free callback (dmirror_devmem_free, nouveau_dmem_page_free): the page back on its free list. */
function page_free(k: Kernel, pfn: number): void {
  if (pgmapLife(k) === PGMAP_FREED) pgmapGhost(k, PGMAP_GHOST_UAF); // page->pgmap->ops->page_free
  k.setPageWord(pfn, PG_MAPPING, 0);
  k.setPageWord(pfn, PG_FLAGS, PG_DEVFREE);
  if (k.narrate) k.note(`pfn ${pfn}: ->page_free: back on the driver's free list`);
}

/**
 * up to 5.17: put_devmap_managed_page: at 1 free_devmap_managed_page
 * (device-private: page->mapping = NULL, ->page_free), at 0 __put_page ->
 * put_dev_pagemap (the page's share of the pgmap reference).
 */
export const put_devpriv_page_5_7: PutDevprivPage = counting(1, 1, (k, pfn, refs) => {
  const left = sub(k, pfn, refs);
  if (left === 1) page_free(k, pfn);
  else if (left === 0) put_dev_pagemap(k);
});
/** 5.18 (27674ef6c73f): at 0 free_zone_device_page: ->page_free, then set_page_count(1): the free page sits at 1. */
export const put_devpriv_page_5_18: PutDevprivPage = counting(1, 0, (k, pfn, refs) => {
  if (sub(k, pfn, refs) !== 0) return;
  page_free(k, pfn);
  k.setPageWord(pfn, PG_REF, put_devpriv_page_5_18.freeCount);
});
/** 6.1 (ef233450898f, 0dc45ca1ce18): at 0 free_zone_device_page: ->page_free, put_dev_pagemap; the free page stays at 0. */
export const put_devpriv_page_6_1: PutDevprivPage = counting(0, 0, (k, pfn, refs) => {
  if (sub(k, pfn, refs) !== 0) return;
  page_free(k, pfn);
  put_dev_pagemap(k);
});

/**
 * The driver takes a page off its free list (dmirror_devmem_alloc_page,
 * nouveau_dmem_page_alloc_locked), holding one reference on it: up to 5.17
 * get_page on the free page at 1 (-> 2: the extra ZONE_DEVICE reference
 * stays while it is in use); 5.18-6.0 the free page at 1 is taken as it is;
 * from 6.1 zone_device_page_init: percpu_ref_tryget_live of the pgmap (it
 * fails once memunmap_pages killed it), count 1. The page lock that goes
 * with it is dropped within the same step by its callers. 0: none free.
 */
export function devpriv_alloc_page(k: Kernel): number {
  for (let d = 1; d <= k.devFrames; d++) {
    const pfn = k.frames + d;
    if (!(k.pageWord(pfn, PG_FLAGS) & PG_DEVFREE)) continue;
    if (k.world.devFreeCount === 0) {
      if (pgmapLife(k) !== PGMAP_ALIVE) return 0; // WARN_ON_ONCE(!percpu_ref_tryget_live(&page->pgmap->ref))
      k.s[pgmapRef(k)] = k.s[pgmapRef(k)]! + 1;
    }
    k.setPageWord(pfn, PG_FLAGS, 0);
    k.setPageWord(pfn, PG_REF, 1 + k.world.devBase);
    return pfn;
  }
  return 0;
}

/**
 * ->migrate_to_ram's migration of device-private page pfn, which mm m maps
 * at a, back to a new anon page (migrate_vma_setup ->
 * migrate_vma_collect_pmd under the PT lock, migrate_device_unmap ->
 * try_to_migrate of every other mapping, migrate_vma_check_page, the copy,
 * migrate_vma_pages, migrate_vma_finalize -> remove_migration_ptes): every
 * entry of the page, in every process, then maps the new page (readable ones
 * R/O and shared; one writable entry: exclusive, 5.19). faultRef: the
 * caller holds a reference of its own (6.1's fault_page, which the check
 * allows for). Returns why nothing was migrated, or null.
 */
export function migrate_devpriv_to_ram(k: Kernel, m: number, a: number, pfn: number, faultRef: boolean): string | null {
  const e = k.pte(m, a);
  if (pteKind(e) !== PTE_DEVPRIV || pteTarget(e) !== pfn) return 'migrate_vma_collect_pmd: the entry is no longer this device page';
  return migrate_device_page_to_ram(k, pfn, faultRef ? 1 : 0, 'migrate_vma_check_page', 'migrate_vma_pages');
}

/**
 * migrate_device_coherent_page (6.0, b05a79d4377f): a long-term GUP of a
 * MEMORY_DEVICE_COHERENT page (is_longterm_pinnable_page is false for it)
 * migrates the page to RAM first; GUP then retries on the new page. Every
 * mapping of it moves (try_to_migrate, remove_migration_ptes). Returns why
 * nothing was migrated (GUP fails: -EBUSY), or null.
 */
export function migrate_device_coherent_page(k: Kernel, pfn: number): string | null {
  return migrate_device_page_to_ram(k, pfn, 0, 'migrate_device_coherent_page', 'migrate_device_coherent_page');
}

/**
 * Device page pfn copied into a new anon page, which every entry that maps
 * it (device-private entries, or a coherent page's PTEs) then maps (readable
 * ones R/O and shared; one writable entry: exclusive, 5.19); the device page
 * loses their references. No reference beyond the entries, the extra
 * ZONE_DEVICE one (up to 5.17) and `extra` (6.1's fault_page): the check lets
 * one more through from 5.18 (migrate_vma_check_page), but
 * folio_migrate_mapping's exact count then fails it.
 */
function migrate_device_page_to_ram(k: Kernel, pfn: number, extra: number, check: string, copy: string): string | null {
  const { base } = devprivCounts(k);
  const expected = base + k.pageMapcount(pfn) + extra;
  if (k.pageRef(pfn) !== expected) return `${check}: pfn ${pfn} has _refcount ${k.pageRef(pfn)}, not ${expected}: not migrated`;
  const page = alloc_page(k);
  if (!page) return 'alloc_page_vma fails: not migrated';
  k.setPageWord(page, PG_DATA, k.pageWord(pfn, PG_DATA));
  const entries: [number, number, number][] = [];
  for (let mm = 0; mm < k.world.mmNames.length; mm++)
    for (let x = 0; x < k.addrs; x++) {
      const f = k.pte(mm, x);
      if ((pteKind(f) === PTE_DEVPRIV || mapsNormalPage(f)) && pteTarget(f) === pfn) entries.push([mm, x, f]);
    }
  entries.forEach(([mm, x, f], i) => {
    // remove_migration_pte: the new page, its rmap (exclusive only when one writable entry maps it) and a reference each.
    if (entries.length === 1) k.fn.page_add_new_anon_rmap(k, page);
    else k.fn.page_add_anon_rmap(k, page, false);
    if (i > 0) get_page(k, page);
    k.setPte(mm, x, ptePresent(page, entries.length === 1 && (f & PTE_WRITE) !== 0, true));
    page_remove_rmap(k, pfn);
    put_page(k, pfn);
  });
  if (k.narrate)
    k.note(
      `${copy}: pfn ${pfn} copied back into anon pfn ${page}, which ${entries.map(([mm, x]) => k.addrName(mm, x)).join(' and ')} now map; the device page loses their references`,
    );
  return null;
}

/**
 * The driver migrates the anon page that mm m maps at a to its device
 * (dmirror_migrate_to_device -> migrate_vma_setup, the copy, migrate_vma_pages,
 * migrate_vma_finalize): a page off the driver's free list replaces it
 * behind a device-private entry (coherent memory: a present PTE, 6.0;
 * writable if the PTE was), with a reference
 * and a mapcount; the anon page is freed; the driver's own reference is
 * dropped when it unlocks the page. Only a page one process maps (scenario
 * validation puts the migration before any fork). Returns why nothing was
 * migrated, or null.
 */
export function migrate_anon_to_device(k: Kernel, m: number, a: number): string | null {
  const e = k.pte(m, a);
  if (pteKind(e) !== PTE_PRESENT || e & PTE_SPECIAL) return 'migrate_vma_collect_pmd: no anon page mapped there';
  const old = pteTarget(e);
  if (!k.pageTest(old, PG_ANON)) return 'migrate_vma_collect_pmd: not an anon page';
  if (old > k.frames) return 'migrate_vma_collect_pmd: already device memory (MIGRATE_VMA_SELECT_SYSTEM takes system pages only)';
  if (k.pageRef(old) !== k.pageMapcount(old))
    return `migrate_vma_check_page: pfn ${old} has _refcount ${k.pageRef(old)} for ${k.pageMapcount(old)} mapping(s) (a GUP reference): not migrated`;
  const dev = devpriv_alloc_page(k);
  if (!dev) return 'dmirror_devmem_alloc_page: no free device page';
  k.setPageWord(dev, PG_DATA, k.pageWord(old, PG_DATA));
  get_page(k, dev);
  k.fn.page_add_new_anon_rmap(k, dev);
  // Coherent memory (6.0): an ordinary present PTE of the device page (remove_migration_pte), which the CPU uses as it is.
  const writable = (e & PTE_WRITE) !== 0;
  k.setPte(m, a, k.world.devType === 'coherent' ? ptePresent(dev, writable, true) : pteDevPrivate(dev, writable));
  page_remove_rmap(k, old);
  put_page(k, old);
  put_page(k, dev); // migrate_vma_finalize: unlock_page, put_page of the driver's reference
  if (k.narrate)
    k.note(
      `migrate_vma: anon pfn ${old} copied into device pfn ${dev}; ${k.addrName(m, a)} is ${k.world.devType === 'coherent' ? 'a present PTE of the device page' : 'a device-private entry'} now`,
    );
  return null;
}
