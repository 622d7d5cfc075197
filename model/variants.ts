/**
 * Kernel variants. Every behaviour that changed between kernel versions is a
 * named switch (one per fix); a kernel version is the set of switches it has.
 * Mutants are deliberately wrong switches, used to show that each invariant
 * can fail.
 *
 * Sources: docs/rules.md#releases, checked against the
 * kernel source of 5.7.14, 5.8.1, 5.9.1, 5.11, 5.17-rc5, 5.18.12, 5.19, 6.1 and
 * 6.2.12 (see docs/kernel-notes.md).
 */

import { parseRelease, unknownRelease } from './releases.js';

export interface SwitchInfo {
  readonly name: SwitchName;
  /** First mainline release with the behaviour. */
  readonly since: string;
  /** Last mainline release with it, when a later commit removed it. */
  readonly until?: string;
  /** The commit that removed it (after `until`). */
  readonly removedBy?: { readonly commit: string; readonly title: string };
  readonly commit: string;
  readonly title: string;
  readonly summary: string;
  /** Stable releases that carry it before its mainline release (the first sublevel of each series), e.g. "5.10.4". */
  readonly backports?: readonly string[];
  /** Switches it builds on (their names): patching it adds them, reverting one of them reverts it. */
  readonly requires?: readonly string[];
  /** A patch that was posted (against `since`) but never merged: on only with --patch. */
  readonly patchOnly?: boolean;
}

export const SWITCHES = [
  {
    name: 'avoid-premature-exposure',
    since: '4.6',
    patchOnly: true,
    commit: 'mmotm 2016-04 (Hugh Dickins, huge tmpfs 09/31)',
    title: 'huge tmpfs: avoid premature exposure of new pagetable',
    summary:
      "a fault on a none pmd allocates the PTE table after ->fault, with the page locked (the order seed 004 reverts, for the OOM deadlock Google saw and DAX's rwr sandwich; mainline took it in 4.8 as 7267ec008b5c). Never merged: --patch only",
  },
  {
    name: 'fault-pmd-trans-unstable',
    since: '4.5',
    commit: 'ad33bb04b2a6',
    title: 'mm: thp: fix SMP race condition between THP page fault and MADV_DONTNEED',
    summary:
      '__handle_mm_fault tests the pmd once, atomically, after __pte_alloc (pmd_trans_unstable: none or huge means retry) instead of pmd_trans_huge(*pmd) followed by a second read in pte_offset_map',
    backports: ['3.10.104'],
  },
  {
    name: 'pgtable-memcg-charge',
    since: '4.8',
    commit: '3e79ec7ddc33',
    title: 'arch: x86: charge page tables to kmemcg',
    summary: "x86's pte_alloc_one charges the table to the memory cgroup (GFP_KERNEL_ACCOUNT): at the cgroup's limit the allocation reclaims in it",
  },
  {
    name: 'postpone-pte-alloc',
    since: '4.8',
    commit: '7267ec008b5c',
    title: 'mm: postpone page table allocation until we have page to map',
    summary:
      'a fault on a none pmd no longer allocates the PTE table first: alloc_set_pte -> pte_alloc_one_map allocates it after ->fault, with the page locked (seed 004: the order Hugh reverted in huge tmpfs)',
  },
  {
    name: 'stop-leaking-pagetables',
    since: '4.10',
    commit: 'b0b9b3df27d1',
    title: 'mm: stop leaking PageTables',
    summary:
      'do_fault_around no longer frees an unused prealloc_pte after ->map_pages (953c66c2b22a, 4.10-rc1): alloc_set_pte uses it, do_fault frees what is left; 4.8-4.9 allocate after ->fault with the page locked even when fault-around ran',
    requires: ['postpone-pte-alloc'],
  },
  {
    name: 'thp-wp-page-lock',
    since: '4.14',
    commit: 'ba3c4ce6def4',
    title: 'mm, THP, swap: make reuse_swap_page() works for THP swapped out',
    summary:
      "do_huge_pmd_wp_page takes the THP's page lock (lock_page, then pmd_same again) before its reuse test (reuse_swap_page); 5.19 tests PageAnonExclusive first, without it",
  },
  {
    name: 'khugepaged-scan-trylock',
    since: '4.16',
    commit: 'mainline hash not resolved (mmotm 0951b59acf3a)',
    title: 'mm: thp: use down_read_trylock() in khugepaged to avoid long block',
    summary:
      'khugepaged_scan_mm_slot takes mmap_sem with down_read_trylock and skips a busy mm; up to 4.15 it sleeps in down_read (read in 4.4.1, 4.8.17, 4.9, 4.14.5, 4.15.11 vs 4.16.13, 4.20, 5.0)',
  },
  {
    name: 'thp-file-rss-counter',
    since: '4.19',
    commit: 'fadae2953072',
    title: 'thp: use mm_file_counter to determine update which rss counter',
    summary:
      'a huge pmd of a shmem THP counts in MM_SHMEMPAGES (mm_counter_file) in do_set_pmd, zap_huge_pmd and __split_huge_pmd_locked; from 4.8 to 4.18 it counted in MM_FILEPAGES while the same pages mapped by PTEs count in MM_SHMEMPAGES',
  },
  {
    name: 'pte-offset-map-revalidate',
    since: '6.5',
    commit: '0d940a9b270b',
    title: 'mm/pgtable: allow pte_offset_map[_lock]() to fail',
    summary:
      'pte_offset_map_lock rechecks, under the PT lock, that the pmd still points at the table it mapped (pmd_same), and fails (the caller retries) when it does not: a PTE table no longer needs mmap_lock to stay in its pmd',
  },
  {
    name: 'retract-without-mmap-lock',
    since: '6.6',
    commit: '1d65b771bc08',
    title: 'mm/khugepaged: retract_page_tables() without mmap or vma lock',
    summary:
      "collapse_file's retract_page_tables takes no mmap_lock: under i_mmap_lock_read, pmd_lock and the PT lock it clears the pmd of the emptied table (pte_free_defer); up to 6.5 it needs mmap_write_trylock, and a busy mm keeps its table (khugepaged_add_pte_mapped_thp)",
    requires: ['pte-offset-map-revalidate'],
  },
  {
    name: 'zone-device-rfc',
    since: '5.9',
    patchOnly: true,
    commit: 'RFC 2020-09-14 (Ralph Campbell, "mm: remove extra ZONE_DEVICE struct page refcount")',
    title: 'mm: remove extra ZONE_DEVICE struct page refcount',
    summary:
      "device pages free at 0: put_page is put_page_testzero and wakes FS_DAX waiters only at 0 (free_devmap_managed_page from __put_page), while an idle FS_DAX page still sits at 1 and break_layouts still waits for 1 (Dan Williams's objection, seed 002). Never merged: --patch only",
  },
  {
    name: 'zone-device-refcount',
    since: '5.18',
    commit: '27674ef6c73f',
    title: 'mm: remove the extra ZONE_DEVICE struct page refcount',
    summary:
      "a device-private page's count no longer carries the extra reference: drivers lock a free page without get_page, the last put runs free_zone_device_page (->page_free, then the count set back to 1), and the pgmap's reference is taken and dropped in bulk by memremap_pages / memunmap_pages, not per page (so memunmap_pages can return while pages are in use until 0dc45ca1ce18)",
  },
  {
    name: 'device-private-zero',
    since: '6.1',
    commit: 'ef233450898f',
    title: 'mm: free device private pages have zero refcount',
    summary:
      'a free device-private page sits at 0; the driver takes one with zone_device_page_init (percpu_ref_tryget_live of the pgmap, count 1, lock); the last put runs ->page_free and put_dev_pagemap (0dc45ca1ce18 "mm/memremap.c: take a pgmap reference on page allocation": memunmap_pages waits for pages in use)',
    requires: ['zone-device-refcount'],
  },
  {
    name: 'device-private-fault-ref',
    since: '6.1',
    commit: '16ce101db85d',
    title: 'mm/memory.c: fix race when faulting a device private page',
    summary:
      'do_swap_page takes the PT lock, checks pte_same and takes a reference on the device-private page before calling ->migrate_to_ram (which passes it as fault_page); before, it called page->pgmap->ops->migrate_to_ram with no lock and no reference (CVE-2022-3523)',
  },
  {
    name: 'gup-put-folio',
    since: '5.18',
    commit: 'd8ddc099c6b3',
    title: 'mm/gup: Add gup_put_folio()',
    summary:
      'unpin_user_page drops its references with folio_put_refs: an FS_DAX page unpinned to 1 no longer reaches __put_devmap_managed_page, so break_layouts waiters are not woken',
  },
  {
    name: 'fsdax-unpin-wake',
    since: '5.19',
    commit: 'f4f451a16dd1',
    title: 'mm: fix missing wake-up event for FSDAX pages',
    summary:
      "gup_put_folio (and try_get_folio's retry) go through __put_devmap_managed_page_refs again: an FS_DAX page unpinned to 1 wakes its break_layouts waiters (also in 5.18.y, at a sublevel not known here)",
    requires: ['gup-put-folio'],
  },
  {
    name: 'fsdax-refcount-zero',
    since: '6.15',
    commit: '38607c62b34b',
    title: 'fs/dax: properly refcount fs dax pages',
    summary:
      'an idle FS_DAX page sits at 0: DAX mappings take a reference, mapcount and rss (insert_page), break_layouts (dax_break_layout) waits for 0 on the page, and free_zone_device_folio wakes it when the last reference goes',
  },
  {
    name: 'foll-cow',
    since: '4.9',
    commit: '19be0eaffa3a',
    title: 'mm: remove gup_flags FOLL_WRITE games from __get_user_pages()',
    summary:
      "after a forced write's COW fault GUP keeps FOLL_WRITE and sets FOLL_COW: a R/O PTE is followed only when dirty (the COW copy); before, GUP dropped FOLL_WRITE and took whatever the PTE mapped by the retry - after a racing MADV_DONTNEED, the file's page-cache page (Dirty COW, CVE-2016-5195)",
    backports: ['4.4.26', '4.7.9', '4.8.3'],
  },
  {
    name: 'thp-foll-cow',
    since: '4.13',
    commit: '8310d48b125d',
    title: 'mm/huge_memory.c: respect FOLL_FORCE/FOLL_COW for thp',
    summary:
      'follow_trans_huge_pmd follows a R/O huge pmd for a forced write with FOLL_COW and pmd_dirty (can_follow_write_pmd); from 4.9 to 4.12 it asked for pmd_write only, so a forced write to a R/O THP retried forever',
    requires: ['foll-cow'],
  },
  {
    name: 'touch-pmd-write-only',
    since: '4.15',
    commit: 'a8f97366452e',
    title: 'mm, thp: Do not make page table dirty unconditionally in touch_p[mu]d()',
    backports: ['4.14.4'],
    summary:
      "GUP's touch_pmd (FOLL_TOUCH) marks a huge pmd dirty only for FOLL_WRITE: before, a read GUP dirtied the huge zero page's pmd, and FOLL_COW's pmd_dirty test then let a forced write through to the huge zero page (CVE-2017-1000405)",
  },
  {
    name: 'gup-force-anon-exclusive',
    since: '6.0',
    commit: '5535be309971',
    title: 'mm/gup: fix FOLL_FORCE COW security issue and remove FOLL_COW',
    summary:
      'FOLL_COW is gone: a forced write follows a R/O PTE of a private !VM_WRITE mapping only when it maps an exclusive anon page (PageAnonExclusive), not because the PTE is dirty',
    requires: ['anon-exclusive'],
  },
  {
    name: 'devdax-map-refcount',
    since: '6.15',
    commit: 'aed877c2b425',
    title: 'device/dax: properly refcount device dax pages when mapping',
    summary:
      'a device-dax fault maps its page with vmf_insert_page_mkwrite (a reference, file rmap, MM_FILEPAGES) instead of a devmap PTE; free_zone_device_folio resets a MEMORY_DEVICE_GENERIC page that reaches 0 to 1',
  },
  {
    name: 'fault-prealloc-pte',
    since: '5.0',
    commit: '63f3655f9501',
    title: 'mm, memcg: fix reclaim deadlock with writeback',
    summary: '__do_fault preallocates vmf->prealloc_pte before ->fault when the pmd is none, so the table is not allocated with the page locked',
    backports: ['4.9.152', '4.14.94', '4.19.16', '4.20.3'],
    requires: ['postpone-pte-alloc'],
  },
  {
    name: 'finish-fault-cleanup',
    since: '5.12',
    commit: 'f9ce0be71d1f',
    title: 'mm: Cleanup faultaround and finish_fault() codepaths',
    summary: 'finish_fault replaces alloc_set_pte: on a none pmd it calls pte_alloc() with the page locked and ignores vmf->prealloc_pte (the 63f3655f9501 deadlock again)',
    requires: ['fault-prealloc-pte'],
  },
  {
    name: 'finish-fault-prealloc',
    since: '5.14',
    commit: 'e4dc3489143f',
    title: 'mm: fix the deadlock in finish_fault()',
    summary: 'finish_fault populates the pmd with vmf->prealloc_pte under pmd_lock, and allocates only when there is none',
    // The 5.13 stable review series of 2021-07-26 ([PATCH 5.13 201/223]): 5.13.6 (docs/kernel-notes.md#page-tables).
    backports: ['5.13.6'],
    requires: ['finish-fault-cleanup'],
  },
  {
    name: 'gup-cow-break',
    since: '5.8',
    until: '5.8',
    removedBy: { commit: 'a308c71bf1e6', title: 'mm/gup: Remove enfornced COW mechanism' },
    commit: '17839856fd58',
    title: 'gup: document and work around "COW can break either way" issue',
    summary: 'GUP (FOLL_GET/FOLL_PIN) on a COW mapping is done as a write: it breaks COW first (removed in 5.9)',
    backports: ['5.7.3'],
  },
  {
    name: 'thp-cow-split',
    since: '5.8',
    commit: '3917c80280c9',
    title: 'thp: change CoW semantics for anon-THP',
    summary: 'do_huge_pmd_wp_page splits a THP it cannot reuse and lets the PTE-level fault copy one page, instead of copying the whole THP',
  },
  {
    name: 'wp-page-count',
    since: '5.9',
    commit: '09854ba94c6a',
    title: 'mm: do_wp_page() simplification',
    summary: 'do_wp_page reuses an anon page only if page_count == 1 (not mapcount + swapcount)',
  },
  {
    name: 'split-pmd-migration-mapcount',
    since: '5.9',
    commit: 'ec0abae6dcdf',
    title: 'mm/thp: fix __split_huge_pmd_locked() for migration PMD',
    summary: "splitting a PMD migration entry no longer raises each subpage's _mapcount and drops compound_mapcount (the entry holds no mapping)",
  },
  {
    name: 'fork-cow-pinned',
    since: '5.9',
    commit: '70e806e4e645',
    title: 'mm: Do early cow for pinned pages during fork() for ptes',
    summary: 'fork gives the child a copy of a maybe-pinned page (with 008cfe4418b3 mm->has_pinned)',
  },
  {
    name: 'thp-fork-split-pinned',
    since: '5.9',
    commit: 'd042035eaf5f',
    title: "mm/thp: Split huge pmds/puds if they're pinned when fork()",
    summary: 'copy_huge_pmd splits a maybe-pinned THP (-EAGAIN) so that fork copies it at the PTE level',
    requires: ['fork-cow-pinned'],
  },
  {
    name: 'vmscan-skip-pinned',
    since: '5.11',
    commit: 'feb889fb40fa',
    title: "mm: don't put pinned pages into the swap cache",
    summary: 'shrink_page_list keeps a maybe-pinned anon page out of the swap cache',
    backports: ['5.10.9'],
  },
  {
    name: 'gup-fast-seqcount',
    since: '5.11',
    commit: '57efa1fe5957',
    title: 'mm/gup: prevent gup_fast from racing with COW during fork',
    summary: 'fork makes mm->write_protect_seq odd while it copies; a GUP-fast pin that saw it odd or changed backs off to the slow path',
    backports: ['5.10.4'],
  },
  {
    name: 'cow-free-swap-cache',
    since: '5.14',
    commit: 'f4c4a3f48480',
    title: 'mm: free idle swap cache page after COW',
    summary: 'wp_page_copy drops the old page from the swap cache once unmapped (Huang Ying; merged for 5.14 on 30 June 2021)',
  },
  {
    name: 'thp-wp-page-count',
    since: '5.18',
    commit: '3bff7e3f1f16',
    title: 'mm/huge_memory: streamline COW logic in do_huge_pmd_wp_page()',
    summary: 'do_huge_pmd_wp_page reuses a THP only if page_count == 1, not by mapcount (reuse_swap_page)',
  },
  {
    name: 'split-pmd-migration-refs',
    since: '5.18',
    commit: '9d84604b845c',
    title: 'mm/thp: refix __split_huge_pmd_locked() for migration PMD',
    summary: 'splitting a PMD migration entry no longer adds nr - 1 references to the THP (page_ref_add only for a present pmd): a leak',
  },
  {
    name: 'cow-page-count',
    since: '5.18',
    commit: 'c145e0b47c77',
    title: 'mm: streamline COW logic in do_swap_page()',
    summary:
      'COW fixes part 1: do_swap_page decides reuse on page_count, not reuse_swap_page; do_wp_page tolerates the swapcache reference and drops the mapcount test (53a05ad9f21d, d4c470970d45)',
    requires: ['wp-page-count'],
  },
  {
    name: 'zap-details-fix',
    since: '5.18',
    commit: '5abfd71d936a',
    title: "mm: don't skip swap entry even if zap_details specified",
    summary:
      'zap_pte_range with zap_details no longer leaves every swap and migration entry: swap entries go with even_cows, migration entries unless a private COW (with 8018db852594, 2e148f1e3d9a even_cows)',
    backports: ['5.10.111', '5.15.34', '5.17.2'],
  },
  {
    name: 'i-mmap-shared',
    since: '5.18',
    commit: '2c8659951654',
    title: 'mm: unmap_mapping_range_tree() with i_mmap_rwsem shared',
    summary: 'unmap_mapping_pages/unmap_mapping_folio take i_mmap_rwsem for read, not write',
  },
  {
    name: 'anon-exclusive',
    since: '5.19',
    commit: '6c287605fd56',
    title: 'mm: remember exclusively mapped anonymous pages with PG_anon_exclusive',
    summary:
      'PG_anon_exclusive: exclusive pages are always reused; fork, swap-out and migration clear it and fail on pinned pages; R/O pins of shared anon pages unshare first (c89357e27f20, a7f226604170)',
    requires: ['cow-page-count'],
  },
  {
    name: 'swp-exclusive',
    since: '5.19',
    commit: '1493a1913e34',
    title: 'mm/swap: remember PG_anon_exclusive via a swp pte bit',
    summary: 'swap PTEs keep the exclusive bit, so swap-in can map the page exclusive again (x86, arm64, s390, ppc64)',
    requires: ['anon-exclusive'],
  },
  {
    name: 'mprotect-exclusive-write',
    since: '6.0',
    commit: '64fe24a3e05e',
    title: 'mm/mprotect: try avoiding write faults for exclusive anonymous pages when changing protection',
    summary: 'mprotect(PROT_WRITE) maps dirty exclusive anon PTEs writable at once',
    requires: ['anon-exclusive'],
  },
  {
    name: 'mprotect-clean-anon-write',
    since: '6.2',
    commit: 'd84887739d5c',
    title: 'mm/mprotect: allow clean exclusive anon pages to be writable',
    summary: 'can_change_pte_writable no longer needs pte_dirty for exclusive private anon pages (Nadav Amit; mm-stable for the 6.2 merge window)',
    requires: ['mprotect-exclusive-write'],
  },
  {
    name: 'unshare-cow-mapping',
    since: '6.2',
    commit: '84209e87c696',
    title: 'mm/gup: reliable R/O long-term pinning in COW mappings',
    summary: 'R/O long-term pins of non-anon pages (zeropage, page cache) in COW mappings unshare first; FAULT_FLAG_UNSHARE copies anything in a COW mapping (8d6a0ac09a16)',
    requires: ['anon-exclusive'],
  },
] as const satisfies readonly (Omit<SwitchInfo, 'name'> & { name: string })[];

export type SwitchName = (typeof SWITCHES)[number]['name'];

/** A switch by name (its commit and title), or undefined. */
export function findSwitch(name: string): SwitchInfo | undefined {
  return (SWITCHES as readonly SwitchInfo[]).find((s) => s.name === name);
}

export const MUTANTS = [
  {
    name: 'fork-keeps-exclusive',
    breaks: 'anon-exclusive',
    summary: 'fork shares an exclusive anon page without ClearPageAnonExclusive (page_try_dup_anon_rmap)',
  },
  {
    name: 'fork-shares-pinned',
    breaks: 'pin-coherent',
    summary: 'fork shares a maybe-pinned anon page instead of copying it for the child',
  },
  {
    name: 'wp-reuse-mapcount',
    breaks: 'cow-isolation',
    summary: 'do_wp_page reuses a non-exclusive anon page when it is mapped once, ignoring GUP references',
  },
  {
    name: 'zap-no-rss',
    breaks: 'rss-consistent',
    summary: 'zap_pte_range clears an anon PTE without the MM_ANONPAGES decrement',
  },
  {
    name: 'zap-migration-no-rss',
    breaks: 'rss-consistent',
    summary: 'zapping a migration entry clears it without the rss decrement',
  },
  {
    name: 'punch-zaps-cows',
    breaks: 'punch-keeps-cow',
    summary: 'hole punching unmaps with even_cows: private COW pages and their swap entries are zapped',
  },
  {
    name: 'truncate-skips-cows',
    breaks: 'truncate-complete',
    summary: 'truncation unmaps without even_cows: private COW pages beyond EOF survive',
  },
  {
    name: 'zap-skips-migration',
    breaks: 'no-stale-migration',
    summary: 'zap_pte_range with zap_details leaves migration entries (the pre-5.18 behaviour, on any kernel)',
  },
  {
    name: 'wp-copy-leaks-ref',
    breaks: 'refcount-sane',
    summary: 'wp_page_copy forgets the put_page of the old page',
  },
  {
    name: 'pmd-unstable-misses-migration',
    breaks: 'pmd-stable',
    summary: "pmd_trans_unstable tests none and huge only, without 84c3fc4e9c56's !pmd_present: a fault walks a PMD migration entry as a PTE table",
  },
  {
    name: 'huge-wp-no-page-lock',
    breaks: 'cow-isolation',
    summary: "do_huge_pmd_wp_page decides reuse without the THP page lock (as before 4.14): with the parent's pmd a migration entry, the child reuses a THP both still map",
  },
  {
    name: 'split-no-ref-add',
    breaks: 'refcount-sane',
    summary: '__split_huge_pmd maps the subpages of a THP with PTEs without page_ref_add(nr - 1): each PTE needs a head reference',
  },
  {
    name: 'thp-fault-retracts-table',
    breaks: 'no-retract-under-read',
    summary: 'a THP fault that finds the pmd pointing at an empty PTE table frees it and maps the THP, under mmap_lock for read',
  },
  {
    name: 'pte-alloc-leaks',
    breaks: 'pgtable-accounting',
    summary: '__pte_alloc forgets pte_free when another thread populated the pmd meanwhile: the new table leaks',
  },
  {
    name: 'writeback-no-mkclean',
    breaks: 'dirty-tracked',
    summary: "writeback's clear_page_dirty_for_io cleans the page without page_mkclean: mapped PTEs stay writable, so a later store lands in a clean page",
  },
  {
    name: 'collapse-under-read',
    breaks: 'no-retract-under-read',
    summary: "khugepaged's collapse_huge_page takes mmap_lock for read instead of write, and turns the pmd's PTE table into a huge mapping under it",
  },
  {
    name: 'devpriv-put-to-buddy',
    breaks: 'zone-device-never-lru',
    summary: "the last put of a device-private page frees it like an ordinary page (__free_pages) instead of free_zone_device_page's ->page_free",
  },
  {
    name: 'pageout-zone-device',
    breaks: 'zone-device-never-lru',
    summary: "MADV_PAGEOUT without 3218f8712d6b's is_zone_device_page check: madvise_cold_or_pageout_pte_range isolates a coherent device page as if it were on an LRU list",
  },
  {
    name: 'devmap-unpin-put-page',
    breaks: 'refcount-sane',
    summary: 'a DMA pin of a device page is released with put_page: one reference dropped instead of GUP_PIN_COUNTING_BIAS',
  },
  {
    name: 'retract-write-lock',
    breaks: 'deadlock',
    summary:
      "retract_page_tables sleeps in mmap_write_lock instead of mmap_write_trylock, holding the new THP's page lock: a fault holding mmap_lock for read that waits for that page lock deadlocks with it (the lock inversion khugepaged's comment names; up to 6.5, where retract takes mmap_lock)",
  },
  {
    name: 'retract-without-trylock',
    breaks: 'no-retract-under-read',
    summary:
      "retract_page_tables clears a pmd's PTE table without mmap_lock (6.6's rule) on a release whose PTE-table walkers do not revalidate the pmd (before 6.5): a lock-discipline check (the model's walkers read the pmd and lock the table in one step)",
  },
  {
    name: 'pmd-check-reread',
    breaks: 'pmd-stable',
    summary: 'the fault tests pmd_trans_huge(*pmd) and reads the pmd again for pte_offset_map (the pre-4.5 code, on any kernel)',
  },
  {
    name: 'fault-no-pte-recheck',
    breaks: 'install-once',
    summary: 'finish_fault installs the PTE without rechecking, under the PT lock, that it is still none (orig_pte)',
  },
  {
    name: 'unlock-page-no-wake',
    breaks: 'deadlock',
    summary: 'unlock_page clears PG_locked without waking the sleepers (a lost wake-up)',
  },
  {
    name: 'undo-range-i-mmap-first',
    breaks: 'lock-order',
    summary: 'shmem_undo_range takes i_mmap_rwsem before folio_lock and sleeps for the page holding it (mm/rmap.c: folio_lock comes first)',
  },
] as const;

export type MutantName = (typeof MUTANTS)[number]['name'];

export interface Variant {
  /** The version asked for, as given (normalised), e.g. "5.18". */
  readonly version: string;
  readonly epoch: string;
  readonly switches: ReadonlySet<SwitchName>;
  readonly mutants: ReadonlySet<MutantName>;
  /** Set when the release is newer than the newest modelled: the release it behaves as. */
  readonly modelledAs?: string;
  /** What --patch/--revert changed besides what was asked (switches required or requiring). */
  readonly notes?: readonly string[];
}

/** The kernel versions mmcheck names, oldest first, with their epoch (docs/rules.md#releases). */
export const KERNELS: readonly { version: string; epoch: string }[] = [
  // Before 5.7 only the fault path's page-table allocation is modelled (PATHS): COW, GUP, swap, migration and truncation behave as 5.7.
  { version: '4.4', epoch: 'E0' },
  { version: '4.5', epoch: 'E0' },
  { version: '4.6', epoch: 'E0' },
  { version: '4.7', epoch: 'E0' },
  { version: '4.8', epoch: 'E0' },
  { version: '4.9', epoch: 'E0' },
  { version: '4.10', epoch: 'E0' },
  { version: '4.11', epoch: 'E0' },
  { version: '4.12', epoch: 'E0' },
  { version: '4.13', epoch: 'E0' },
  { version: '4.14', epoch: 'E0' },
  { version: '4.15', epoch: 'E0' },
  { version: '4.16', epoch: 'E0' },
  { version: '4.17', epoch: 'E0' },
  { version: '4.18', epoch: 'E0' },
  { version: '4.19', epoch: 'E0' },
  { version: '4.20', epoch: 'E0' },
  { version: '5.0', epoch: 'E0' },
  { version: '5.1', epoch: 'E0' },
  { version: '5.2', epoch: 'E0' },
  { version: '5.3', epoch: 'E0' },
  { version: '5.4', epoch: 'E0' },
  { version: '5.5', epoch: 'E0' },
  { version: '5.6', epoch: 'E0' },
  { version: '5.7', epoch: 'E0' },
  { version: '5.8', epoch: 'E1' },
  { version: '5.9', epoch: 'E2' },
  { version: '5.10', epoch: 'E2' },
  { version: '5.11', epoch: 'E2' },
  { version: '5.12', epoch: 'E2' },
  { version: '5.13', epoch: 'E2' },
  { version: '5.14', epoch: 'E2' },
  { version: '5.15', epoch: 'E2' },
  { version: '5.16', epoch: 'E2' },
  { version: '5.17', epoch: 'E2' },
  { version: '5.18', epoch: 'E3' },
  { version: '5.19', epoch: 'E4' },
  { version: '6.0', epoch: 'E4' },
  { version: '6.1', epoch: 'E4' },
  { version: '6.2', epoch: 'E5' },
];

export const NEWEST_KERNEL = KERNELS[KERNELS.length - 1]!.version;

/**
 * The kernel paths the model follows, and the oldest release each is
 * modelled from: on an older release that path behaves as in that one
 * (`mmcheck list kernels` says so per release).
 */
export const PATHS: readonly { name: string; from: string }[] = [
  {
    name: "the fault path's page-table allocation (seed 004), memcg v1 and direct reclaim, writeback, THP and its COW, khugepaged, DAX, the OOM killer, GUP's forced write (Dirty COW)",
    from: '4.4',
  },
  { name: 'anon COW, the rest of GUP, fork, swap, migration, truncation and hole punching, RSS', from: '5.7' },
];

/** The paths `version` does not model, with the release they behave as. */
export function carriedPaths(version: [number, number]): { name: string; from: string }[] {
  return PATHS.filter((p) => cmp(version, parseVersion(p.from)!) < 0);
}

export class VariantError extends Error {}

/** [major, minor] of "5.18", "v5.18", "5.18.12" or "6.2-rc1"; null when malformed. */
export function parseVersion(text: string): [number, number] | null {
  const r = parseRelease(text);
  return r ? [r.major, r.minor] : null;
}

function cmp(a: [number, number], b: [number, number]): number {
  return a[0] - b[0] || a[1] - b[1];
}

/**
 * The switches a release has: those of its mainline release (since <=
 * major.minor <= until), and those a stable release of its series carries
 * from a sublevel at or below its own (5.10.9 has vmscan-skip-pinned).
 */
export function switchesOf(version: [number, number], sublevel = 0): Set<SwitchName> {
  const on = new Set<SwitchName>();
  for (const s of SWITCHES) {
    if ('patchOnly' in s && s.patchOnly) continue;
    const since = parseVersion(s.since)!;
    const until = 'until' in s ? parseVersion(s.until)! : null;
    if (cmp(version, since) >= 0 && (!until || cmp(version, until) <= 0)) on.add(s.name);
    for (const b of ('backports' in s ? s.backports : []) as readonly string[]) {
      const r = parseRelease(b)!;
      if (r.major === version[0] && r.minor === version[1] && sublevel >= r.sublevel) on.add(s.name);
    }
  }
  return on;
}

/** The switches `name` requires, directly. */
function requiresOf(name: SwitchName): readonly SwitchName[] {
  const s = SWITCHES.find((x) => x.name === name)!;
  return ('requires' in s ? s.requires : []) as readonly SwitchName[];
}

/**
 * --patch X adds X and what it requires; --revert X removes X and whatever
 * requires it (transitively), so that every variant is one the kernel
 * functions can be chosen for. Returns the lines that say what was added.
 */
function applyChanges(switches: Set<SwitchName>, patch: readonly SwitchName[], revert: readonly SwitchName[]): string[] {
  const notes: string[] = [];
  for (const p of patch) {
    const added: SwitchName[] = [];
    const add = (n: SwitchName): void => {
      if (switches.has(n)) return;
      switches.add(n);
      if (n !== p) added.push(n);
      for (const r of requiresOf(n)) add(r);
    };
    add(p);
    if (added.length) notes.push(`note: --patch ${p} also turns on what it requires: ${added.join(', ')}`);
  }
  for (const r of revert) {
    const removed: SwitchName[] = [];
    const remove = (n: SwitchName): void => {
      if (!switches.has(n)) return;
      switches.delete(n);
      if (n !== r) removed.push(n);
      for (const s of SWITCHES) if (requiresOf(s.name).includes(n)) remove(s.name);
    };
    remove(r);
    if (removed.length) notes.push(`note: --revert ${r} also turns off what requires it: ${removed.join(', ')}`);
  }
  return notes;
}

export interface VariantRequest {
  kernel?: string;
  patch?: readonly string[];
  revert?: readonly string[];
  mutants?: readonly string[];
}

/** Resolves --kernel/--patch/--revert/--mutant into a variant; throws VariantError with one clear line. */
export function resolveVariant(req: VariantRequest): Variant {
  const text = req.kernel ?? NEWEST_KERNEL;
  const r = parseRelease(text);
  if (!r) throw new VariantError(`bad kernel version "${text}": expected a release such as 5.18, 6.1.20 or 7.3-rc6`);
  const unknown = unknownRelease(r, text.trim());
  if (unknown) throw new VariantError(unknown);
  const v: [number, number] = [r.major, r.minor];
  const oldest = parseVersion(KERNELS[0]!.version)!;
  if (cmp(v, oldest) < 0) {
    throw new VariantError(`kernel ${text} is older than the oldest modelled (${KERNELS[0]!.version})`);
  }
  const newest = parseVersion(NEWEST_KERNEL)!;
  const switches = switchesOf(v, r.sublevel);
  const named = KERNELS.filter((k) => cmp(parseVersion(k.version)!, v) <= 0);
  const epoch = named[named.length - 1]!.epoch;
  const notes = applyChanges(switches, (req.patch ?? []).map(checkSwitch), (req.revert ?? []).map(checkSwitch));
  for (const p of carriedPaths(v)) notes.push(`note: kernel ${v[0]}.${v[1]}: ${p.name} behave as ${p.from} (modelled from ${p.from})`);
  // 17839856fd58 (5.8's forced COW break in GUP) went to the 4.4-5.4 stable series in 2021-2022, at sublevels not resolved here.
  if (r.sublevel && cmp(v, [4, 4]) >= 0 && cmp(v, [5, 4]) <= 0 && !switches.has('gup-cow-break'))
    notes.push(
      `note: kernel ${text.trim()}: the ${v[0]}.${v[1]}.y stable series took 17839856fd58 (GUP's forced COW break) at a sublevel not known to the model; it is not applied here (add --patch gup-cow-break if this release has it)`,
    );
  for (const p of req.patch ?? []) {
    const sw = SWITCHES.find((x) => x.name === p);
    if (sw && 'patchOnly' in sw && sw.patchOnly && sw.since !== `${v[0]}.${v[1]}`) notes.push(`note: ${p} is a patch against ${sw.since}, applied here to ${v[0]}.${v[1]}`);
  }
  // The RFC replaces the 5.9-5.17 put paths; a release that rewrote them (5.18 on) has nothing for it to patch.
  if (switches.has('zone-device-rfc') && (switches.has('zone-device-refcount') || switches.has('gup-put-folio') || switches.has('fsdax-refcount-zero')))
    throw new VariantError(`--patch zone-device-rfc patches the put paths of 5.9-5.17; kernel ${text.trim()} rewrote them (27674ef6c73f, d8ddc099c6b3): not modelled`);
  const mutants = new Set<MutantName>();
  for (const m of req.mutants ?? []) {
    const found = MUTANTS.find((x) => x.name === m);
    if (!found)
      throw new VariantError(
        `unknown mutant "${m}"${didYouMean(
          m,
          MUTANTS.map((x) => x.name),
        )}`,
      );
    mutants.add(found.name);
  }
  // A stable release keeps its sublevel (5.10.89), a release candidate its -rcN; a mainline release is major.minor.
  const version = r.sublevel ? `${v[0]}.${v[1]}.${r.sublevel}` : r.rc ? `${v[0]}.${v[1]}-rc${r.rc}` : `${v[0]}.${v[1]}`;
  const mods = (req.patch?.length ?? 0) + (req.revert?.length ?? 0) > 0 ? '+modified' : '';
  return { version, epoch: epoch + mods, switches, mutants, notes, ...(cmp(v, newest) > 0 ? { modelledAs: NEWEST_KERNEL } : {}) };
}

function checkSwitch(name: string): SwitchName {
  const s = SWITCHES.find((x) => x.name === name);
  if (!s)
    throw new VariantError(
      `unknown switch "${name}"${didYouMean(
        name,
        SWITCHES.map((x) => x.name),
      )}`,
    );
  return s.name;
}

/** ", did you mean X?" when a known name is close to `word`, else "". */
export function didYouMean(word: string, names: readonly string[]): string {
  let best = '';
  let bestD = Infinity;
  for (const n of names) {
    const d = editDistance(word.toLowerCase(), n.toLowerCase());
    if (d < bestD) {
      bestD = d;
      best = n;
    }
  }
  return best && bestD <= Math.max(2, Math.floor(word.length / 3)) ? ` (did you mean "${best}"?)` : '';
}

function editDistance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...new Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0]![j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
  }
  return d[a.length]![b.length]!;
}

/** For a release newer than the newest modelled: ", except ..." naming the switches of later releases it has (they are modelled), or "". */
export function laterSwitches(v: Variant): string {
  if (!v.modelledAs) return '';
  const newest = parseVersion(v.modelledAs)!;
  const later = SWITCHES.filter((s) => v.switches.has(s.name) && cmp(parseVersion(s.since)!, newest) > 0);
  return later.length ? `, except ${later.map((s) => `${s.name} (${s.since}, ${s.commit})`).join(', ')}` : '';
}

export function describeVariant(v: Variant): string {
  const sw = [...v.switches].join(', ') || 'none';
  const mu = v.mutants.size ? `; MUTANT ${[...v.mutants].join(', ')}` : '';
  return `${v.version} (${v.epoch}: ${sw}${mu})`;
}
