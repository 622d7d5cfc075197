/**
 * mm/gup.c: what GUP does differently by release, one implementation per
 * period (kernel-functions.ts picks them).
 */
import type { Kernel } from '../kernel.js';
import { MM_FLAGS, MM_WPSEQ, MMF_HAS_PINNED, PG_ANON, PG_ANON_EXCLUSIVE } from '../layout.js';
import { ZERO_PFN } from '../pte.js';

/** The GUP request, as the kernel's gup_flags say it. */
export interface GupFlags {
  readonly pin: boolean;
  readonly write: boolean;
  readonly longterm: boolean;
}

/** should_force_cow_break() (5.8 only, 17839856fd58): GUP on a COW mapping is done as a write. */
export type ShouldForceCowBreak = (k: Kernel, a: number, g: GupFlags) => boolean;
export const should_force_cow_break_5_7: ShouldForceCowBreak = () => false;
/** is_cow_mapping(vma->vm_flags) && (flags & (FOLL_GET | FOLL_PIN)): a private mapping, any GUP. */
export const should_force_cow_break_5_8: ShouldForceCowBreak = (k, a, g) => !g.write && !k.isSharedMapping(a);

/** The lockless walk in 5.8 adds FOLL_WRITE for every GUP (it has no VMA to ask): R/O PTEs take the slow path. */
export type GupFastWrite = (g: GupFlags) => boolean;
export const gup_fast_write_5_7: GupFastWrite = (g) => g.write;
export const gup_fast_write_5_8: GupFastWrite = () => true;

/** mm->has_pinned (5.9, 008cfe4418b3; later MMF_HAS_PINNED), set at every FOLL_PIN call. */
export type MmSetHasPinned = (k: Kernel, m: number, g: GupFlags) => void;
export const mm_set_has_pinned_5_7: MmSetHasPinned = () => {};
export const mm_set_has_pinned_5_9: MmSetHasPinned = (k, m, g) => {
  if (g.pin) k.setMmWord(m, MM_FLAGS, k.mmWord(m, MM_FLAGS) | MMF_HAS_PINNED);
};

/**
 * gup_must_unshare(): a R/O pin that must first unshare the page it found
 * (FAULT_FLAG_UNSHARE). `fast`: GUP-fast, which has no VMA.
 */
export type GupMustUnshare = (k: Kernel, g: GupFlags, pfn: number, a: number, fast: boolean) => boolean;
/** <= 5.18: no unsharing. */
export const gup_must_unshare_5_7: GupMustUnshare = () => false;
/** 5.19 (a7f226604170): a R/O pin of an anon page that is not exclusive. */
export const gup_must_unshare_5_19: GupMustUnshare = (k, g, pfn) => {
  if (!g.pin || g.write) return false;
  const anon = pfn !== ZERO_PFN && k.pageTest(pfn, PG_ANON);
  return anon && !k.pageTest(pfn, PG_ANON_EXCLUSIVE);
};
/** 6.2 (84209e87c696): also a R/O long-term pin of a non-anon page in a COW mapping; GUP-fast (no VMA) backs off. */
export const gup_must_unshare_6_2: GupMustUnshare = (k, g, pfn, a, fast) => {
  if (!g.pin || g.write) return false;
  const anon = pfn !== ZERO_PFN && k.pageTest(pfn, PG_ANON);
  if (!anon) {
    if (!g.longterm) return false;
    return fast || !k.isSharedMapping(a); // is_cow_mapping: a private mapping
  }
  return !k.pageTest(pfn, PG_ANON_EXCLUSIVE);
};

/**
 * GUP-fast and fork's mm->write_protect_seq (5.11, 57efa1fe5957): a FOLL_PIN
 * walk that starts with the count odd, or ends with it changed, backs off.
 * Returns why it backs off, or null.
 */
export type GupFastSeq = (k: Kernel, m: number, g: GupFlags, seq: number) => string | null;
export const gup_fast_seq_begin_5_7: GupFastSeq = () => null;
export const gup_fast_seq_begin_5_11: GupFastSeq = (_k, _m, g, seq) => (g.pin && seq & 1 ? 'write_protect_seq is odd (fork in progress)' : null);
export const gup_fast_seq_retry_5_7: GupFastSeq = () => null;
export const gup_fast_seq_retry_5_11: GupFastSeq = (k, m, g, seq) => (g.pin && k.mmWord(m, MM_WPSEQ) !== seq ? 'read_seqcount_retry: fork ran meanwhile' : null);
