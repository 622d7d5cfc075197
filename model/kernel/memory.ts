/**
 * mm/memory.c: the parts of the fault handlers, fork's page-table copy and
 * zap_pte_range whose rules changed between releases, one implementation
 * per period, named after the release that introduced it (do_wp_page_5_9:
 * the rule from 5.9 on). kernel-functions.ts picks one of each for a model;
 * the fault and fork steps (model/ops) call them through k.fn.
 *
 * Each implementation reads straight down against that release's function;
 * docs/kernel-notes.md says which trees were read.
 */
import type { Kernel, ZapDetails } from '../kernel.js';
import {
  F_GHOST,
  GHOST_PUNCH_LOST_COW,
  MM_FLAGS,
  MM_SWAPENTS,
  MM_WPSEQ,
  MMF_HAS_PINNED,
  PG_ANON,
  PG_ANON_EXCLUSIVE,
  PG_DIRTY,
  PG_SWAPCACHE,
  PG_THP,
  TH_ORIG,
  TH_PAGE,
} from '../layout.js';
import { mapsNormalPage, PTE_DEVMAP, PTE_DEVPRIV, PTE_DIRTY, PTE_MIGRATION, PTE_NONE, PTE_PRESENT, PTE_SPECIAL, PTE_SWAP, PTE_SWP_EXCLUSIVE, pteKind, pteTarget } from '../pte.js';
import { trylock_page, unlock_page } from './locking.js';
import { get_page, put_page } from './page_alloc.js';
import { folio_set_anon_exclusive, page_maybe_dma_pinned, page_remove_rmap } from './rmap.js';
import { free_swap_and_cache, free_swap_cache, reuse_swap_page, swap_free, try_to_free_swap } from './swapfile.js';

// ---- do_wp_page ---------------------------------------------------------------

/**
 * What the fault handler gives do_wp_page: the faulting address, and its
 * ways out. do_wp_page runs under the PT lock with vmf->orig_pte in the
 * thread's orig_pte; each way out returns the caller's next pc.
 */
export interface WpFault {
  readonly m: number;
  readonly a: number;
  /** FAULT_FLAG_UNSHARE (5.19): the fault only asks for an exclusive page, not for write access. */
  unshare(k: Kernel, t: number): boolean;
  /** wp_page_reuse: the same PTE made dirty and writable (unshare: left R/O). */
  reuse(k: Kernel, t: number, why: string): number;
  /** get_page(old) (0: the zeropage), drop the PT lock, wp_page_copy. */
  copy(k: Kernel, t: number, old: number, why: string): number;
  /** wp_page_shared: a shared mapping's page made writable in place (->page_mkwrite for a disk file). */
  shared(k: Kernel, t: number): number;
  /** The fault returns without a change. */
  done(k: Kernel, t: number): number;
  /** 5.7-5.8: the step that sleeps in lock_page (the PT lock dropped). */
  readonly lockPage: number;
}

export type DoWpPage = (k: Kernel, t: number, f: WpFault) => number;

/** 5.7-5.8: reuse_swap_page() under the page lock (mapcount + swap count <= 1); sleep for the lock if needed. */
export const do_wp_page_5_7: DoWpPage = (k, t, f) => {
  const orig = k.threadWord(t, TH_ORIG);
  if (k.isSharedMapping(f.a)) return f.shared(k, t);
  if (!mapsNormalPage(orig)) return f.copy(k, t, 0, 'zeropage');
  const pfn = pteTarget(orig);
  if (!k.pageTest(pfn, PG_ANON)) return f.copy(k, t, pfn, 'not an anon page in a private mapping');
  if (!trylock_page(k, t, pfn)) {
    get_page(k, pfn);
    k.setThreadWord(t, TH_PAGE, pfn);
    if (k.narrate) k.note('do_wp_page: trylock_page failed: get_page, drop the PT lock, lock_page');
    return f.lockPage;
  }
  return do_wp_page_locked_5_7(k, t, f, pfn);
};

/** 5.7-5.8, with the page locked: decide with reuse_swap_page(), which does not count GUP references. */
export function do_wp_page_locked_5_7(k: Kernel, t: number, f: WpFault, pfn: number): number {
  const total = k.page_trans_huge_mapcount(pfn) + (k.pageTest(pfn, PG_SWAPCACHE) ? k.swapCount(k.pageSwapSlot(pfn)) : 0);
  const what = k.folioHead(pfn) !== pfn || k.pageTest(pfn, PG_THP) ? 'page_trans_huge_map_swapcount (the largest subpage mapcount + the entire mapcount)' : 'mapcount + swapcount';
  if (reuse_swap_page(k, pfn)) {
    unlock_page(k, pfn);
    return f.reuse(k, t, `reuse_swap_page: ${what} = ${total} <= 1 (GUP references not counted)`);
  }
  unlock_page(k, pfn);
  return f.copy(k, t, pfn, `reuse_swap_page: ${what} = ${total} > 1`);
}

/** 5.9-5.17 (09854ba94c6a): reuse only at page_count 1; the PT lock is never dropped on this path. */
export const do_wp_page_5_9: DoWpPage = (k, t, f) => {
  const orig = k.threadWord(t, TH_ORIG);
  if (k.isSharedMapping(f.a)) return f.shared(k, t);
  if (!mapsNormalPage(orig)) return f.copy(k, t, 0, 'zeropage');
  const pfn = pteTarget(orig);
  if (!k.pageTest(pfn, PG_ANON)) return f.copy(k, t, pfn, 'not an anon page in a private mapping');
  if (k.pageRef(pfn) !== 1) return f.copy(k, t, pfn, `page_count ${k.pageRef(pfn)} != 1`);
  if (!trylock_page(k, t, pfn)) return f.copy(k, t, pfn, 'trylock_page failed');
  if (k.page_mapcount(pfn) !== 1 || k.pageRef(pfn) !== 1) {
    unlock_page(k, pfn);
    return f.copy(k, t, pfn, 'mapcount or page_count != 1 under the page lock');
  }
  unlock_page(k, pfn);
  return f.reuse(k, t, 'page_count == 1 && mapcount == 1');
};

/**
 * The anon part of do_wp_page from 5.18 (53a05ad9f21d, d4c470970d45): the
 * swap cache's reference tolerated, no mapcount test; page_move_anon_rmap
 * (which from 5.19 marks the page exclusive) before the reuse.
 */
function wp_anon_page_count_5_18(k: Kernel, t: number, f: WpFault, pfn: number): number {
  const count = k.pageRef(pfn);
  if (count > 3) return f.copy(k, t, pfn, `page_count ${count} > 3`);
  const swapcache = k.pageTest(pfn, PG_SWAPCACHE) ? 1 : 0;
  if (count > 1 + swapcache) return f.copy(k, t, pfn, `page_count ${count} > 1 + PageSwapCache`);
  if (!trylock_page(k, t, pfn)) return f.copy(k, t, pfn, 'trylock_page failed');
  if (swapcache) try_to_free_swap(k, pfn);
  if (k.pageRef(pfn) !== 1) {
    unlock_page(k, pfn);
    return f.copy(k, t, pfn, `page_count ${k.pageRef(pfn)} != 1 after try_to_free_swap`);
  }
  k.fn.page_move_anon_rmap(k, pfn);
  unlock_page(k, pfn);
  return f.reuse(k, t, `page_count == 1${k.pageTest(pfn, PG_ANON_EXCLUSIVE) ? ', page_move_anon_rmap sets PageAnonExclusive' : ''}`);
}

/** 5.18: page_count decides, swap cache tolerated (COW fixes part 1). */
export const do_wp_page_5_18: DoWpPage = (k, t, f) => {
  const orig = k.threadWord(t, TH_ORIG);
  if (k.isSharedMapping(f.a)) return f.shared(k, t);
  if (!mapsNormalPage(orig)) return f.copy(k, t, 0, 'zeropage');
  const pfn = pteTarget(orig);
  if (!k.pageTest(pfn, PG_ANON)) return f.copy(k, t, pfn, 'not an anon page in a private mapping');
  return wp_anon_page_count_5_18(k, t, f, pfn);
};

/**
 * 5.19-6.1 (6c287605fd56, c89357e27f20): an exclusive page is always
 * reused; FAULT_FLAG_UNSHARE of something that is not an anon page is "No
 * anonymous page -> nothing to do".
 */
export const do_wp_page_5_19: DoWpPage = (k, t, f) => {
  const orig = k.threadWord(t, TH_ORIG);
  const unshare = f.unshare(k, t);
  if (k.isSharedMapping(f.a)) return unshare ? f.done(k, t) : f.shared(k, t);
  if (!mapsNormalPage(orig)) {
    if (unshare) {
      if (k.narrate) k.note('do_wp_page: unshare of the zeropage: "No anonymous page -> nothing to do"');
      return f.done(k, t);
    }
    return f.copy(k, t, 0, 'zeropage');
  }
  const pfn = pteTarget(orig);
  if (k.pageTest(pfn, PG_ANON)) {
    if (k.pageTest(pfn, PG_ANON_EXCLUSIVE)) return f.reuse(k, t, 'PageAnonExclusive');
    return wp_anon_page_count_5_18(k, t, f, pfn);
  }
  if (unshare) {
    if (k.narrate) k.note('do_wp_page: unshare of a non-anon page: "No anonymous page -> nothing to do"');
    return f.done(k, t);
  }
  return f.copy(k, t, pfn, 'not an anon page in a private mapping');
};

/** 6.2 (8d6a0ac09a16): FAULT_FLAG_UNSHARE copies anything in a COW mapping that is not an exclusive anon page. */
export const do_wp_page_6_2: DoWpPage = (k, t, f) => {
  const orig = k.threadWord(t, TH_ORIG);
  const unshare = f.unshare(k, t);
  if (k.isSharedMapping(f.a)) return unshare ? f.done(k, t) : f.shared(k, t);
  if (!mapsNormalPage(orig)) return f.copy(k, t, 0, 'zeropage');
  const pfn = pteTarget(orig);
  if (k.pageTest(pfn, PG_ANON)) {
    if (k.pageTest(pfn, PG_ANON_EXCLUSIVE)) return f.reuse(k, t, 'PageAnonExclusive');
    return wp_anon_page_count_5_18(k, t, f, pfn);
  }
  return f.copy(k, t, pfn, 'not an anon page in a private mapping');
};

// ---- wp_page_copy --------------------------------------------------------------

/** wp_page_copy, once the copy is mapped: the old page loses this mapping and its reference ("new_page = old_page; put_page"). */
export function wp_page_copy_release_5_7(k: Kernel, old: number): void {
  page_remove_rmap(k, old);
  put_page(k, old);
}

/** 5.14 (f4c4a3f48480): the old page also leaves the swap cache when nothing uses its slot any more. */
export function wp_page_copy_release_5_14(k: Kernel, old: number): void {
  wp_page_copy_release_5_7(k, old);
  free_swap_cache(k, old);
}

// ---- do_swap_page ----------------------------------------------------------------

/** do_swap_page's decision, under the page lock and the PT lock: bits of the result. */
export const SWAPIN_EXCLUSIVE = 1;
export const SWAPIN_WRITABLE = 2;

/**
 * Decides how do_swap_page maps the page it found for swap entry `orig`
 * (the swap entry freed on the way) and returns SWAPIN_* bits; `why` gets
 * the reason when narrating.
 */
export type DoSwapPageReuse = (k: Kernel, pfn: number, orig: number, write: boolean, why: { text: string }) => number;

/** <= 5.17: reuse_swap_page() (mapcount + swap count, this entry counted) before swap_free. */
export const do_swap_page_reuse_5_7: DoSwapPageReuse = (k, pfn, orig, write, why) => {
  const slot = pteTarget(orig);
  const total = k.pageMapcount(pfn) + k.swapCount(slot);
  let bits = 0;
  if (write && reuse_swap_page(k, pfn)) {
    bits = SWAPIN_EXCLUSIVE | SWAPIN_WRITABLE;
    if (k.narrate) why.text = `reuse_swap_page: mapcount + swapcount = ${total} <= 1`;
  } else if (k.narrate) why.text = write ? `reuse_swap_page: mapcount + swapcount = ${total} > 1` : 'read fault';
  swap_free(k, slot);
  return bits;
};

/**
 * 5.18 (c145e0b47c77): swap_free first, should_try_to_free_swap on a write
 * fault, then page_count decides; 5.19 (1493a1913e34) also trusts the swap
 * PTE's exclusive bit.
 */
function do_swap_page_count(k: Kernel, pfn: number, orig: number, write: boolean, why: { text: string }, swpExclusive: boolean): number {
  swap_free(k, pteTarget(orig));
  // should_try_to_free_swap(): a write fault and only the cache and us hold the page.
  if (write && k.pageRef(pfn) === 2) try_to_free_swap(k, pfn);
  const sole = k.pageRef(pfn) === 1;
  if (swpExclusive || sole) {
    if (k.narrate) why.text = swpExclusive ? 'pte_swp_exclusive' : 'page_count == 1';
    return SWAPIN_EXCLUSIVE | (write ? SWAPIN_WRITABLE : 0);
  }
  if (k.narrate) why.text = `page_count ${k.pageRef(pfn)} != 1`;
  return 0;
}

export const do_swap_page_reuse_5_18: DoSwapPageReuse = (k, pfn, orig, write, why) => do_swap_page_count(k, pfn, orig, write, why, false);

export const do_swap_page_reuse_5_19: DoSwapPageReuse = (k, pfn, orig, write, why) => do_swap_page_count(k, pfn, orig, write, why, (orig & PTE_SWP_EXCLUSIVE) !== 0);

// ---- copy_present_pte (fork) ---------------------------------------------------------

/** Whether fork must give the child its own copy of the page at (parent, a) now (copy_present_pte / copy_present_page). */
export type CopyPresentPteNeedsCopy = (k: Kernel, parent: number, a: number) => boolean;

/** <= 5.8 (copy_one_pte): every page is shared. */
export const copy_present_pte_5_7: CopyPresentPteNeedsCopy = () => false;

/** page_needs_cow_for_dma(): the mm has pinned pages (MMF_HAS_PINNED) and this one may be pinned. */
export function page_needs_cow_for_dma(k: Kernel, parent: number, pfn: number): boolean {
  return (k.mmWord(parent, MM_FLAGS) & MMF_HAS_PINNED) !== 0 && page_maybe_dma_pinned(k, pfn);
}

/** 5.9 (70e806e4e645) copy_present_page(): a COW mapping's page that may be pinned is copied (no PageAnon test). */
export const copy_present_pte_5_9: CopyPresentPteNeedsCopy = (k, parent, a) => {
  const e = k.pte(parent, a);
  if (!mapsNormalPage(e) || k.isSharedMapping(a)) return false;
  return page_needs_cow_for_dma(k, parent, pteTarget(e));
};

/** 5.19: page_try_dup_anon_rmap() fails (-EBUSY) only for an exclusive anon page that may be pinned: copy it. */
export const copy_present_pte_5_19: CopyPresentPteNeedsCopy = (k, parent, a) => {
  const e = k.pte(parent, a);
  if (!mapsNormalPage(e) || k.isSharedMapping(a)) return false;
  const pfn = pteTarget(e);
  return k.pageTest(pfn, PG_ANON) && k.pageTest(pfn, PG_ANON_EXCLUSIVE) && page_needs_cow_for_dma(k, parent, pfn);
};

/**
 * Sharing a page with the child: up to 5.18 nothing to record; from 5.19
 * page_try_dup_anon_rmap() clears PageAnonExclusive. Returns what it did,
 * for the narration.
 */
export type PageTryDupAnonRmap = (k: Kernel, pfn: number, compound?: boolean) => string;
export const page_try_dup_anon_rmap_5_7: PageTryDupAnonRmap = () => '';
export const page_try_dup_anon_rmap_5_19: PageTryDupAnonRmap = (k, pfn, compound = false) => {
  if (!k.pageTest(pfn, PG_ANON_EXCLUSIVE)) return '';
  folio_set_anon_exclusive(k, pfn, compound, false);
  return ', ClearPageAnonExclusive';
};

/** mm->write_protect_seq around copy_page_range (5.11, 57efa1fe5957): raw_write_seqcount_begin / _end; none before. */
export function write_protect_seq_5_7(_k: Kernel, _m: number): void {}
export function write_protect_seq_5_11(k: Kernel, m: number): void {
  k.setMmWord(m, MM_WPSEQ, (k.mmWord(m, MM_WPSEQ) + 1) & 3);
}

// ---- zap_pte_range -------------------------------------------------------------

/**
 * zap_pte_range() on one PTE with zap_details == NULL (munmap,
 * MADV_DONTNEED, exit_mmap): every entry kind is removed and its rss
 * counter decremented. Returns nothing; rss, rmap, swap and references as
 * the kernel does them (tlb_finish_mmu's put_page at once).
 */
export type ZapPte = (k: Kernel, m: number, a: number) => void;

export const zap_pte_range_5_7: ZapPte = (k, m, a) => {
  const e = k.pte(m, a);
  if (e !== 0) k.detachGup(m, a);
  switch (pteKind(e)) {
    case PTE_NONE:
      return;
    case PTE_PRESENT: {
      k.setPte(m, a, 0);
      if (e & PTE_SPECIAL) return; // vm_normal_page() == NULL: zeropage, no rss
      const pfn = pteTarget(e);
      k.addRss(m, k.mmCounter(pfn), -1);
      zap_present_page(k, pfn, e);
      return;
    }
    case PTE_SWAP:
      k.setPte(m, a, 0);
      k.addRss(m, MM_SWAPENTS, -1);
      free_swap_and_cache(k, pteTarget(e));
      return;
    case PTE_MIGRATION:
      k.setPte(m, a, 0);
      k.addRss(m, k.mmCounter(pteTarget(e)), -1);
      return;
    case PTE_DEVMAP:
      k.setPte(m, a, 0); // a DAX devmap PTE: vm_normal_page() == NULL, nothing to put or count
      return;
    case PTE_DEVPRIV: {
      // is_device_private_entry: the page's rss, rmap and reference go (zap_pte_range, 5.7-6.2).
      const pfn = pteTarget(e);
      k.setPte(m, a, 0);
      k.addRss(m, k.mmCounter(pfn), -1);
      page_remove_rmap(k, pfn);
      put_page(k, pfn);
      return;
    }
  }
};

/** The page of a zapped present PTE: dirty, page_remove_rmap, free_swap_cache (free_pages_and_swap_cache), put_page. */
export function zap_present_page(k: Kernel, pfn: number, e: number): void {
  if (e & PTE_DIRTY) k.setPageFlag(pfn, PG_DIRTY);
  page_remove_rmap(k, pfn);
  free_swap_cache(k, pfn);
  put_page(k, pfn);
}

/**
 * zap_pte_range() on one PTE with zap_details (unmap_mapping_range,
 * unmap_mapping_folio); returns true when the entry was zapped.
 */
export type ZapPteDetails = (k: Kernel, m: number, a: number, d: ZapDetails) => boolean;

/**
 * should_zap_cows() (5.18; the same test as the callers' even_cows before):
 * whether private COW pages and their swap entries go too. Truncation says
 * yes (even_cows), hole punching no.
 */
export type ShouldZapCows = (d: ZapDetails) => boolean;
export const should_zap_cows: ShouldZapCows = (d) => d.evenCows;

/**
 * <= 5.17: zap_skip_check_mapping() keeps a private COW page when a mapping
 * is given (!even_cows); "if (details) continue" keeps every swap and
 * migration entry.
 */
export const zap_pte_range_details_5_7: ZapPteDetails = (k, m, a, d) => {
  const e = k.pte(m, a);
  const kind = pteKind(e);
  if (kind === PTE_NONE) return false;
  if (kind !== PTE_PRESENT) {
    if (k.narrate) k.note(`${k.addrName(m, a)}: ${d.who}: details != NULL: "we leave swap entries" - ${kind === PTE_SWAP ? 'swap' : 'migration'} entry skipped`);
    return false;
  }
  if (!k.fn.should_zap_cows(d) && !(e & PTE_SPECIAL) && k.pageTest(pteTarget(e), PG_ANON)) return false;
  recordLostCow(k, e, d);
  k.fn.zap_pte(k, m, a);
  return true;
};

/**
 * 5.18 (5abfd71d936a, with 8018db852594 and 2e148f1e3d9a): a swap entry goes
 * iff should_zap_cows; a migration entry iff should_zap_cows or its page is
 * not anon; a present anon page iff should_zap_cows.
 */
export const zap_pte_range_details_5_18: ZapPteDetails = (k, m, a, d) => {
  const e = k.pte(m, a);
  const kind = pteKind(e);
  if (kind === PTE_NONE) return false;
  const cows = k.fn.should_zap_cows(d);
  let zap: boolean;
  if (kind === PTE_PRESENT) zap = cows || (e & PTE_SPECIAL) !== 0 || !k.pageTest(pteTarget(e), PG_ANON);
  else if (kind === PTE_SWAP) zap = cows;
  else zap = cows || !k.pageTest(pteTarget(e), PG_ANON);
  if (!zap) return false;
  recordLostCow(k, e, d);
  k.fn.zap_pte(k, m, a);
  return true;
};

/** A zap for a caller without even_cows (a hole punch) that removes a private COW page or its swap entry: what punch-keeps-cow looks for. */
export function recordLostCow(k: Kernel, e: number, d: ZapDetails): void {
  const kind = pteKind(e);
  if (d.evenCows) return;
  if ((kind === PTE_PRESENT && (e & PTE_SPECIAL) === 0 && k.pageTest(pteTarget(e), PG_ANON)) || kind === PTE_SWAP) {
    k.setFileWord(d.file, F_GHOST, k.fileWord(d.file, F_GHOST) | GHOST_PUNCH_LOST_COW);
  }
}

/** unmap_mapping_pages / unmap_mapping_folio take i_mmap_rwsem for write up to 5.17, for read from 5.18 (2c8659951654). */
export type UnmapMappingLocksForWrite = () => boolean;
export const unmap_mapping_i_mmap_write_5_7: UnmapMappingLocksForWrite = () => true;
export const unmap_mapping_i_mmap_write_5_18: UnmapMappingLocksForWrite = () => false;
