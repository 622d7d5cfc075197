/**
 * The kernel functions whose behaviour changed between releases, and the
 * implementation of each that a kernel variant has: chosen once, when the
 * model is built (no switch is tested on the hot path). A mutant replaces
 * one implementation with a deliberately wrong one (mutants.ts).
 *
 * Each implementation is named after the kernel function and the release
 * that introduced it (do_wp_page_5_9); the switch that selects it names the
 * commit (model/variants.ts). docs/DEVELOPING.md shows how to add one.
 */
import type { SwitchTest, SwitchUse } from '../switch-use.js';
import type { MutantName, SwitchName } from '../variants.js';
import * as gup from './gup.js';
import * as huge from './huge_memory.js';
import * as locking from './locking.js';
import * as memremap from './memremap.js';
import * as memory from './memory.js';
import * as mprotect from './mprotect.js';
import * as pgalloc from './pgalloc.js';
import { MUTANT_IMPLEMENTATIONS, PROGRAM_MUTANTS, type ProgramMutant } from './mutants.js';
import * as rmap from './rmap.js';
import * as vmscan from './vmscan.js';

export interface KernelFunctions {
  // mm/rmap.c
  page_add_new_anon_rmap: typeof rmap.page_add_new_anon_rmap_5_7;
  page_add_anon_rmap: typeof rmap.page_add_anon_rmap_5_7;
  page_move_anon_rmap: typeof rmap.page_move_anon_rmap_5_18;
  // mm/memory.c
  do_wp_page: memory.DoWpPage;
  wp_page_copy_release: typeof memory.wp_page_copy_release_5_7;
  do_swap_page_reuse: memory.DoSwapPageReuse;
  copy_present_pte_needs_copy: memory.CopyPresentPteNeedsCopy;
  page_try_dup_anon_rmap: memory.PageTryDupAnonRmap;
  write_protect_seq: typeof memory.write_protect_seq_5_7;
  zap_pte: memory.ZapPte;
  zap_pte_details: memory.ZapPteDetails;
  should_zap_cows: memory.ShouldZapCows;
  unmap_mapping_i_mmap_write: memory.UnmapMappingLocksForWrite;
  // mm/gup.c
  should_force_cow_break: gup.ShouldForceCowBreak;
  gup_fast_write: gup.GupFastWrite;
  mm_set_has_pinned: gup.MmSetHasPinned;
  gup_must_unshare: gup.GupMustUnshare;
  gup_fast_seq_begin: gup.GupFastSeq;
  gup_fast_seq_retry: gup.GupFastSeq;
  can_follow_write_pte: gup.CanFollowWritePte;
  can_follow_write_pmd: gup.CanFollowWritePte;
  touch_pmd_dirties: gup.TouchPmdDirties;
  // arch/x86/mm/pgtable.c
  pte_alloc_one: pgalloc.PteAllocOne;
  // mm/huge_memory.c
  copy_huge_pmd_splits: huge.CopyHugePmdSplits;
  huge_wp_reuse: huge.HugeWpReuse;
  huge_wp_page_lock: huge.HugeWpLocks;
  split_pmd_migration: huge.SplitPmdMigration;
  split_huge_pmd: typeof huge.split_huge_pmd;
  file_thp_counter: huge.FileThpCounter;
  // mm/mprotect.c
  can_change_pte_writable: mprotect.CanChangePteWritable;
  can_change_pmd_writable: mprotect.CanChangePmdWritable;
  // kernel/locking, mm/filemap.c: the wake-ups of a released lock
  wake_up_page: typeof locking.wake_up_page_5_7;
  wake_up_rwsem: typeof locking.wake_up_rwsem_5_7;
  // mm/memremap.c, mm/swap.c, mm/gup.c: the put paths of a ZONE_DEVICE page
  put_devmap_page: memremap.PutFsdaxPage;
  put_devpriv_page: memremap.PutDevprivPage;
  put_generic_page: memremap.PutGenericPage;
  // mm/vmscan.c, mm/rmap.c:try_to_unmap_one
  shrink_page_list_keeps_pinned: vmscan.ShrinkPageListKeepsPinned;
  swap_pte_exclusive: vmscan.SwapPteExclusive;
}

export type KernelFunctionName = keyof KernelFunctions;

/** The implementations a variant has: a function of its switches, then each mutant's replacement. */
export function kernelFunctions(switches: SwitchTest, mutants: ReadonlySet<MutantName>, use?: SwitchUse): KernelFunctions {
  // The switches each choice reads: with `use`, a function's switches count as consulted when the model first touches it.
  let reads: SwitchName[] = [];
  const has = (s: SwitchName) => {
    reads.push(s);
    return switches.has(s);
  };
  const choose: { [F in KernelFunctionName]: () => KernelFunctions[F] } = {
    page_add_new_anon_rmap: () => (has('anon-exclusive') ? rmap.page_add_new_anon_rmap_5_19 : rmap.page_add_new_anon_rmap_5_7),
    page_add_anon_rmap: () => (has('anon-exclusive') ? rmap.page_add_anon_rmap_5_19 : rmap.page_add_anon_rmap_5_7),
    page_move_anon_rmap: () => (has('anon-exclusive') ? rmap.page_move_anon_rmap_5_19 : rmap.page_move_anon_rmap_5_18),
    do_wp_page: () =>
      has('unshare-cow-mapping')
        ? memory.do_wp_page_6_2
        : has('anon-exclusive')
          ? memory.do_wp_page_5_19
          : has('cow-page-count')
            ? memory.do_wp_page_5_18
            : has('wp-page-count')
              ? memory.do_wp_page_5_9
              : memory.do_wp_page_5_7,
    wp_page_copy_release: () => (has('cow-free-swap-cache') ? memory.wp_page_copy_release_5_14 : memory.wp_page_copy_release_5_7),
    do_swap_page_reuse: () => (has('swp-exclusive') ? memory.do_swap_page_reuse_5_19 : has('cow-page-count') ? memory.do_swap_page_reuse_5_18 : memory.do_swap_page_reuse_5_7),
    copy_present_pte_needs_copy: () => (has('anon-exclusive') ? memory.copy_present_pte_5_19 : has('fork-cow-pinned') ? memory.copy_present_pte_5_9 : memory.copy_present_pte_5_7),
    page_try_dup_anon_rmap: () => (has('anon-exclusive') ? memory.page_try_dup_anon_rmap_5_19 : memory.page_try_dup_anon_rmap_5_7),
    write_protect_seq: () => (has('gup-fast-seqcount') ? memory.write_protect_seq_5_11 : memory.write_protect_seq_5_7),
    zap_pte: () => memory.zap_pte_range_5_7,
    zap_pte_details: () => (has('zap-details-fix') ? memory.zap_pte_range_details_5_18 : memory.zap_pte_range_details_5_7),
    should_zap_cows: () => memory.should_zap_cows,
    unmap_mapping_i_mmap_write: () => (has('i-mmap-shared') ? memory.unmap_mapping_i_mmap_write_5_18 : memory.unmap_mapping_i_mmap_write_5_7),
    should_force_cow_break: () => (has('gup-cow-break') ? gup.should_force_cow_break_5_8 : gup.should_force_cow_break_5_7),
    gup_fast_write: () => (has('gup-cow-break') ? gup.gup_fast_write_5_8 : gup.gup_fast_write_5_7),
    mm_set_has_pinned: () => (has('fork-cow-pinned') ? gup.mm_set_has_pinned_5_9 : gup.mm_set_has_pinned_5_7),
    wake_up_page: () => locking.wake_up_page_5_7,
    wake_up_rwsem: () => locking.wake_up_rwsem_5_7,
    gup_must_unshare: () => (has('unshare-cow-mapping') ? gup.gup_must_unshare_6_2 : has('anon-exclusive') ? gup.gup_must_unshare_5_19 : gup.gup_must_unshare_5_7),
    gup_fast_seq_begin: () => (has('gup-fast-seqcount') ? gup.gup_fast_seq_begin_5_11 : gup.gup_fast_seq_begin_5_7),
    can_follow_write_pmd: () =>
      !has('thp-foll-cow') ? gup.can_follow_write_pmd_4_4 : has('gup-force-anon-exclusive') ? gup.can_follow_write_pte_6_0 : gup.can_follow_write_pte_4_9,
    touch_pmd_dirties: () => (has('touch-pmd-write-only') ? gup.touch_pmd_dirties_4_15 : gup.touch_pmd_dirties_4_4),
    can_follow_write_pte: () => (has('gup-force-anon-exclusive') ? gup.can_follow_write_pte_6_0 : has('foll-cow') ? gup.can_follow_write_pte_4_9 : gup.can_follow_write_pte_4_4),
    gup_fast_seq_retry: () => (has('gup-fast-seqcount') ? gup.gup_fast_seq_retry_5_11 : gup.gup_fast_seq_retry_5_7),
    can_change_pte_writable: () =>
      has('mprotect-clean-anon-write')
        ? mprotect.can_change_pte_writable_6_2
        : has('mprotect-exclusive-write')
          ? mprotect.can_change_pte_writable_6_0
          : mprotect.can_change_pte_writable_5_7,
    can_change_pmd_writable: () => (has('mprotect-clean-anon-write') ? mprotect.can_change_pmd_writable_6_2 : mprotect.can_change_pmd_writable_4_4),
    pte_alloc_one: () => (has('pgtable-memcg-charge') ? pgalloc.pte_alloc_one_4_8 : pgalloc.pte_alloc_one_4_4),
    copy_huge_pmd_splits: () =>
      has('anon-exclusive') ? huge.copy_huge_pmd_splits_5_19 : has('thp-fork-split-pinned') ? huge.copy_huge_pmd_splits_5_9 : huge.copy_huge_pmd_splits_4_4,
    huge_wp_reuse: () => (has('anon-exclusive') ? huge.huge_wp_reuse_5_19 : has('thp-wp-page-count') ? huge.huge_wp_reuse_5_18 : huge.huge_wp_reuse_4_4),
    split_huge_pmd: () => huge.split_huge_pmd,
    file_thp_counter: () => (has('thp-file-rss-counter') ? huge.file_thp_counter_4_19 : huge.file_thp_counter_4_8),
    split_pmd_migration: () =>
      has('split-pmd-migration-refs') ? huge.split_pmd_migration_5_18 : has('split-pmd-migration-mapcount') ? huge.split_pmd_migration_5_9 : huge.split_pmd_migration_4_14,
    huge_wp_page_lock: () => (has('anon-exclusive') ? huge.huge_wp_page_lock_5_19 : has('thp-wp-page-lock') ? huge.huge_wp_page_lock_4_14 : huge.huge_wp_page_lock_4_4),
    put_devmap_page: () =>
      has('fsdax-refcount-zero')
        ? memremap.put_devmap_page_6_15
        : has('zone-device-rfc')
          ? memremap.put_devmap_page_rfc
          : has('fsdax-unpin-wake')
            ? memremap.put_devmap_page_5_19
            : has('gup-put-folio')
              ? memremap.put_devmap_page_5_18
              : memremap.put_devmap_page_5_7,
    put_devpriv_page: () =>
      has('device-private-zero') ? memremap.put_devpriv_page_6_1 : has('zone-device-refcount') ? memremap.put_devpriv_page_5_18 : memremap.put_devpriv_page_5_7,
    put_generic_page: () =>
      has('devdax-map-refcount') ? memremap.put_generic_page_6_15 : has('zone-device-refcount') ? memremap.put_generic_page_5_18 : memremap.put_generic_page_5_7,
    shrink_page_list_keeps_pinned: () => (has('vmscan-skip-pinned') ? vmscan.shrink_page_list_keeps_pinned_5_11 : vmscan.shrink_page_list_keeps_pinned_5_7),
    swap_pte_exclusive: () => (has('swp-exclusive') ? vmscan.swap_pte_exclusive_5_19 : vmscan.swap_pte_exclusive_5_7),
  };
  const fn = {} as KernelFunctions;
  for (const name of Object.keys(choose) as KernelFunctionName[]) {
    reads = [];
    const impl = choose[name]();
    if (!use) {
      (fn as unknown as Record<string, unknown>)[name] = impl;
      continue;
    }
    const mine = reads;
    // On first use the getter marks the choice's switches and becomes a plain property (no cost on the hot path after).
    Object.defineProperty(fn, name, {
      configurable: true,
      enumerable: true,
      get() {
        use.mark(mine);
        Object.defineProperty(fn, name, { value: impl, writable: true, enumerable: true, configurable: true });
        return impl;
      },
    });
  }
  for (const m of mutants) {
    if ((PROGRAM_MUTANTS as readonly string[]).includes(m)) continue; // chosen by the operation's builder
    const r = MUTANT_IMPLEMENTATIONS[m as Exclude<MutantName, ProgramMutant>];
    (fn as unknown as Record<string, unknown>)[r.replaces] = r.make(fn[r.replaces] as never, use?.switches ?? switches);
  }
  return fn;
}

/** The implementation chosen for each function, by name (for `mmcheck list kernels --json` and the docs). */
export function implementationNames(fn: KernelFunctions): Record<string, string> {
  return Object.fromEntries(Object.entries(fn).map(([k, v]) => [k, (v as { name?: string }).name || k]));
}
