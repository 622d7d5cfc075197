/**
 * mm/gup.c: what GUP does differently by release, one implementation per
 * period (kernel-functions.ts picks them).
 */
import type { Kernel } from '../kernel.js';
import { MM_FLAGS, MM_WPSEQ, MMF_HAS_PINNED, PG_ANON, PG_ANON_EXCLUSIVE } from '../layout.js';
import { PTE_DIRTY, PTE_WRITE, ZERO_PFN } from '../pte.js';

/** The GUP request, as the kernel's gup_flags say it. */
export interface GupFlags {
  readonly pin: boolean;
  readonly write: boolean;
  readonly longterm: boolean;
  /** FOLL_FORCE: ptrace, /proc/pid/mem (access_remote_vm): may write through a R/O private mapping. */
  readonly force?: boolean;
}

/**
 * Whether a FOLL_WRITE lookup may take page pfn through present PTE `pte`
 * (R/O or not), after GUP's write fault returned VM_FAULT_WRITE on a
 * !VM_WRITE mapping (`cowed`: the model's FOLL_COW flag); false: fault for
 * write. `dropsWrite`: the release drops FOLL_WRITE after that fault
 * instead (up to 4.8), so the lookup is a read.
 */
export type CanFollowWritePte = ((k: Kernel, g: GupFlags, pte: number, pfn: number, cowed: boolean, vmWrite: boolean) => boolean) & { readonly dropsWrite: boolean };
const rule = (dropsWrite: boolean, f: (k: Kernel, g: GupFlags, pte: number, pfn: number, cowed: boolean, vmWrite: boolean) => boolean): CanFollowWritePte =>
  Object.assign(f, { dropsWrite });
/**
 * Up to 4.8: __get_user_pages' retry loop: "if ((ret & VM_FAULT_WRITE) &&
 * !(vma->vm_flags & VM_WRITE)) *flags &= ~FOLL_WRITE" - after the COW
 * fault the lookup is a read, which takes whatever the PTE maps by then:
 * if MADV_DONTNEED zapped the COW copy, the file's page-cache page (Dirty
 * COW, CVE-2016-5195). Read in 4.8.17 mm/gup.c.
 */
export const can_follow_write_pte_4_4: CanFollowWritePte = rule(true, (_k, _g, pte) => (pte & PTE_WRITE) !== 0);
/**
 * 4.9 (19be0eaffa3a): FOLL_WRITE stays; FOLL_COW records the COW, and
 * can_follow_write_pte accepts a R/O PTE only when it is dirty (the COW
 * copy: "pte_write(pte) || ((flags & FOLL_FORCE) && (flags & FOLL_COW) &&
 * pte_dirty(pte))"). A zapped PTE faults for write again. Read in 4.9 and
 * 5.19 mm/gup.c.
 */
export const can_follow_write_pte_4_9: CanFollowWritePte = rule(false, (_k, _g, pte, _pfn, cowed) => (pte & PTE_WRITE) !== 0 || (cowed && (pte & PTE_DIRTY) !== 0));
/**
 * 6.0 (5535be309971): FOLL_COW is gone; a R/O PTE is followed for a forced
 * write of a private !VM_WRITE mapping only when it maps an exclusive anon
 * page (the COW copy GUP's fault made: PageAnonExclusive), whatever pte_dirty
 * says. Read in 6.1.15 mm/gup.c (the 4.4.1 and 4.6.2 trees have the
 * FOLL_WRITE games; 4.8.17, which took the fix in 4.8.3, and 4.9 FOLL_COW).
 */
export const can_follow_write_pte_6_0: CanFollowWritePte = rule(false, (k, g, pte, pfn, _cowed, vmWrite) => {
  if (pte & PTE_WRITE) return true;
  // FOLL_FORCE only overrides a private mapping without VM_WRITE (a writable one takes the write fault).
  if (!g.force || vmWrite) return false;
  return pfn !== ZERO_PFN && k.pageTest(pfn, PG_ANON) && k.pageTest(pfn, PG_ANON_EXCLUSIVE);
});

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
 * follow_trans_huge_pmd from 4.9 to 4.12: "if (flags & FOLL_WRITE &&
 * !pmd_write(*pmd)) goto out" - FOLL_COW is not looked at, so a forced write
 * to a R/O THP faults again and again (read in 4.9 mm/huge_memory.c; 4.13's
 * 8310d48b125d added can_follow_write_pmd, read in 4.13.4).
 */
export const can_follow_write_pmd_4_4: CanFollowWritePte = rule(false, (_k, _g, pte) => (pte & PTE_WRITE) !== 0);

/** follow_trans_huge_pmd -> touch_pmd (FOLL_TOUCH): whether it makes the huge pmd dirty, for a write lookup or not. */
export type TouchPmdDirties = (write: boolean) => boolean;
/** Up to 4.14: pmd_mkyoung(pmd_mkdirty(*pmd)) on every lookup. Read in 4.9 mm/huge_memory.c. */
export const touch_pmd_dirties_4_4: TouchPmdDirties = () => true;
/** 4.15 (a8f97366452e): "if (flags & FOLL_WRITE) _pmd = pmd_mkdirty(_pmd)". */
export const touch_pmd_dirties_4_15: TouchPmdDirties = (write) => write;

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
