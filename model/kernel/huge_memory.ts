/**
 * THP at the PMD level (mm/huge_memory.c): a huge pmd maps a
 * PMD-sized folio of nr frames (nr: the THP VMA's pages), a head (PG_THP,
 * with the folio's _refcount and its entire mapcount) and nr - 1 tails that
 * name it. A huge pmd carries a deposited PTE table
 * (pgtable_trans_huge_deposit), withdrawn when it is zapped. A huge shmem
 * page in the page cache is mapped by do_set_pmd (no deposit on x86).
 *
 * PageAnonExclusive (5.19): while a pmd maps the folio the kernel keeps it
 * on the head only; the model keeps every subpage's flag equal to the
 * head's (folio_set_anon_exclusive), which is what __split_huge_pmd_locked
 * carries to the subpages, so that a subpage's flag is right in every state.
 */
import type { Kernel } from '../kernel.js';
import { MM_ANONPAGES, MM_FILEPAGES, MMF_GHOST_BAD_PMD, MM_FLAGS, PG_ANON, PG_ANON_EXCLUSIVE, PG_MAP, RSS_NAMES, TH_PTE_TABLE, VMA_WRITE } from '../layout.js';
import {
  formatPmd,
  PMD_HUGE_ZERO,
  pmdHuge,
  pmdHugePfn,
  pmdHugeRo,
  pmdIsHuge,
  pmdIsMigration,
  pmdMigration,
  pmdMigrationKind,
  pmdMigrationPfn,
  pmdTable,
  pmdWithRo,
} from '../objects.js';
import { MIGRATION_READ, pteMigration, ptePresent, pteZero } from '../pte.js';
import { page_needs_cow_for_dma } from './memory.js';
import { get_page, put_page } from './page_alloc.js';
import { pmd_none, pte_free_table, set_pmd, takeTableNoOom } from './pgalloc.js';
import { page_add_file_rmap, page_dup_rmap, page_remove_rmap } from './rmap.js';

/** The pages a huge pmd maps (the THP VMA's length); 0 without a THP VMA. */
export const hugeNr = (k: Kernel): number => k.world.thpPages;

/**
 * __do_huge_pmd_anonymous_page under pmd_lock, the pmd still none:
 * deposit the thread's table, set_pmd_at a huge pmd of the folio,
 * page_add_new_anon_rmap (entire mapcount 1), add_mm_counter(MM_ANONPAGES, nr).
 */
/**
 * set_huge_zero_page (do_huge_pmd_anonymous_page on a read fault with
 * transparent_hugepage_use_zero_page, the default; copy_huge_pmd of a huge
 * zero pmd): the thread's table deposited, a R/O huge pmd of the huge zero
 * page, no rmap, no rss.
 */
export function set_huge_zero_page(k: Kernel, t: number, m: number, table: number): void {
  k.s[k.L.pgtable(table - 1)] = 2 + m; // pgtable_trans_huge_deposit
  if (t >= 0 && k.threadWord(t, TH_PTE_TABLE) === table) k.setThreadWord(t, TH_PTE_TABLE, 0);
  if (t >= 0) set_pmd(k, t, m, PMD_HUGE_ZERO);
  else k.s[k.L.pmd(m)] = PMD_HUGE_ZERO;
}

export function set_huge_pmd(k: Kernel, t: number, m: number, folio: number): void {
  const table = k.threadWord(t, TH_PTE_TABLE);
  k.s[k.L.pgtable(table - 1)] = 2 + m; // pgtable_trans_huge_deposit
  k.setThreadWord(t, TH_PTE_TABLE, 0);
  k.fn.page_add_new_anon_rmap(k, folio, true);
  set_pmd(k, t, m, pmdHuge(folio));
  k.addRss(m, MM_ANONPAGES, hugeNr(k));
}

/** pgtable_trans_huge_withdraw: the table deposited with mm m's pmd becomes a table in use (index + 1), or 0 if none. */
function pgtable_trans_huge_withdraw(k: Kernel, m: number): number {
  for (let i = 0; i < k.L.pgtables; i++) {
    if (k.s[k.L.pgtable(i)] !== 2 + m) continue;
    k.s[k.L.pgtable(i)] = 1;
    return i + 1;
  }
  return 0;
}

/** zap_deposited_table: pgtable_trans_huge_withdraw, then pte_free. */
function zap_deposited_table(k: Kernel, m: number): void {
  for (let i = 0; i < k.L.pgtables; i++) if (k.s[k.L.pgtable(i)] === 2 + m) k.s[k.L.pgtable(i)] = 0;
}

/**
 * The rss counter a huge pmd of a page-cache THP (huge shmem) counts in,
 * by release: do_set_pmd adds nr to it, zap_huge_pmd and
 * __split_huge_pmd_locked take nr from it.
 */
export type FileThpCounter = (k: Kernel, folio: number) => number;
/** 4.8-4.18: MM_FILEPAGES, though the same THP's pages mapped by PTEs count in MM_SHMEMPAGES (read in 4.8.17, 4.9, 4.15.11, 4.16.13, 4.17.0, 4.18.0). */
export const file_thp_counter_4_8: FileThpCounter = () => MM_FILEPAGES;
/** 4.19 (fadae2953072, "thp: use mm_file_counter to determine update which rss counter"): mm_counter_file, MM_SHMEMPAGES for shmem (read in 4.19.1, 4.20, 5.4, 6.2). */
export const file_thp_counter_4_19: FileThpCounter = (k, folio) => k.mmCounter(folio);

/**
 * do_set_pmd (mm/memory.c, 4.8-6.2; alloc_set_pte's, then finish_fault's):
 * a fault on a none pmd whose page is a subpage of a PMD-sized page-cache
 * THP maps the whole THP with a huge pmd: under pmd_lock, if the pmd is
 * still none, mk_huge_pmd(page, vm_page_prot) (writable in a shared
 * writable shmem mapping, which wants no write notification),
 * add_mm_counter(nr), page_add_file_rmap(compound), set_pmd_at. The
 * fault's page reference becomes the mapping's. x86 deposits no table for a
 * file pmd (arch_needs_pgtable_deposit). False: VM_FAULT_FALLBACK (the pmd
 * is no longer none).
 */
export function do_set_pmd(k: Kernel, t: number, m: number, folio: number, writable: boolean): boolean {
  if (!pmd_none(k, m)) return false;
  k.addRss(m, k.fn.file_thp_counter(k, folio), hugeNr(k));
  page_add_file_rmap(k, folio, true);
  set_pmd(k, t, m, pmdHuge(folio, !writable));
  return true;
}

/**
 * zap_huge_pmd of a page-cache THP: no deposited table (x86), the counter
 * of the release, page_remove_rmap(compound), the mapping's reference put
 * (the page cache keeps the THP).
 */
function zap_file_huge_pmd(k: Kernel, m: number, folio: number, who = 'zap_huge_pmd'): void {
  k.s[k.L.pmd(m)] = 0; // huge -> none: no PTE table is lost (no F4 question)
  const counter = k.fn.file_thp_counter(k, folio);
  page_remove_rmap(k, folio, true);
  k.addRss(m, counter, -hugeNr(k));
  put_page(k, folio);
  if (k.narrate) k.note(`${who}: the huge pmd of page-cache THP pfn ${folio} cleared, ${RSS_NAMES[counter]}-${hugeNr(k)}`);
}

/** zap_huge_pmd: the huge pmd cleared under pmd_lock, its table withdrawn and freed, the folio unmapped and put. */
export function zap_huge_pmd(k: Kernel, m: number): boolean {
  const w = k.s[k.L.pmd(m)]!;
  if (pmdIsMigration(w)) {
    // A PMD migration entry (4.14 on): no rmap or reference to drop (set_pmd_migration_entry took them); the rss and the deposited table go.
    k.s[k.L.pmd(m)] = 0;
    zap_deposited_table(k, m);
    k.addRss(m, MM_ANONPAGES, -hugeNr(k));
    for (const a of hugeAddrs(k, m)) k.detachGup(m, a);
    if (k.narrate) k.note(`zap_huge_pmd: the PMD migration entry of pfn ${pmdMigrationPfn(w)} cleared, its deposited table freed, MM_ANONPAGES-${hugeNr(k)}`);
    return true;
  }
  if (!pmdIsHuge(w)) return false;
  const folio = pmdHugePfn(w);
  if (folio && !k.pageTest(folio, PG_ANON)) {
    zap_file_huge_pmd(k, m, folio);
    return true;
  }
  k.s[k.L.pmd(m)] = 0; // huge -> none: allowed under mmap_lock for read
  zap_deposited_table(k, m);
  if (!folio) {
    // The huge zero page: no rmap, no rss (mm_put_huge_zero_page is not modelled).
    if (k.narrate) k.note('zap_huge_pmd: the huge zero pmd cleared, its deposited table freed');
    return true;
  }
  page_remove_rmap(k, folio, true);
  k.addRss(m, MM_ANONPAGES, -hugeNr(k));
  put_page(k, folio);
  for (const a of hugeAddrs(k, m)) k.detachGup(m, a); // a GUP reference taken through the range no longer follows a mapping
  if (k.narrate) k.note(`zap_huge_pmd: the huge pmd of pfn ${folio} cleared, its deposited table freed, MM_ANONPAGES-${hugeNr(k)}`);
  return true;
}

/** A fault used the pmd as a PTE table although it was none or huge by then (pmd-stable, F2). */
export function bad_pmd(k: Kernel, m: number): void {
  k.setMmWord(m, MM_FLAGS, k.mmWord(m, MM_FLAGS) | MMF_GHOST_BAD_PMD);
}

/**
 * MUTANT thp-fault-retracts-table: the THP fault, finding the pmd already
 * pointing at an empty PTE table, frees that table and maps the THP anyway
 * (what Hugh's huge tmpfs would have needed to do; the kernel never does it
 * under mmap_lock for read).
 */
export function retract_empty_table(k: Kernel, t: number, m: number): boolean {
  const w = k.s[k.L.pmd(m)]!;
  const table = pmdTable(w);
  if (!table) return false;
  for (let a = 0; a < k.addrs; a++) if (k.pte(m, a) !== 0) return false;
  set_pmd(k, t, m, 0);
  pte_free_table(k, table);
  if (k.narrate) k.note(`MUTANT: the empty PTE table ${table - 1} is taken from the pmd under mmap_lock for read`);
  return true;
}

/** The addresses a huge pmd of mm m maps: its THP VMA (the process's only VMA when it has one). */
function hugeAddrs(k: Kernel, m: number): number[] {
  const out: number[] = [];
  for (let a = 0; a < k.addrs; a++) if (k.vmaPresent(m, a)) out.push(a);
  return out;
}

/**
 * __split_huge_pmd (anon, not frozen) under pmd_lock: the deposited table
 * comes back as the pmd's PTE table, and a PTE maps each subpage of the THP,
 * writable when the pmd was: page_ref_add(head, nr - 1) (each PTE owns a
 * head reference), each subpage's _mapcount + 1, then
 * page_remove_rmap(head, compound) (the entire mapcount - 1; PageDoubleMap's
 * bookkeeping up to 6.1 nets out to the same counts). PageAnonExclusive of
 * the head is carried to every subpage (5.19; nothing sets it before).
 * Allowed under mmap_lock for read (huge -> table). Read in
 * mm/huge_memory.c:__split_huge_pmd_locked of 4.6.2, 5.18.12, 5.19, 6.2. 4.4
 * split the whole compound page instead (split_huge_page_pmd): not modelled
 * for a THP of several pages (scenario validation).
 */
export function split_huge_pmd(k: Kernel, t: number, m: number): void {
  __split_huge_pmd_locked(k, t, m, true);
}

/** The split; refAdd false is the mutant split-no-ref-add (model/kernel/mutants.ts). */
export function __split_huge_pmd_locked(k: Kernel, t: number, m: number, refAdd: boolean): void {
  const w = k.s[k.L.pmd(m)]!;
  if (pmdIsMigration(w)) {
    k.fn.split_pmd_migration(k, t, m);
    return;
  }
  if (!pmdIsHuge(w)) return;
  const folio = pmdHugePfn(w);
  if (folio && !k.pageTest(folio, PG_ANON)) {
    // !vma_is_anonymous: pmdp_huge_clear_flush_notify, as zap_huge_pmd does; the pages are faulted in again later (4.8-6.2).
    zap_file_huge_pmd(k, m, folio, '__split_huge_pmd of a page-cache THP (not split: the pages fault in again)');
    return;
  }
  const table = pgtable_trans_huge_withdraw(k, m);
  set_pmd(k, t, m, table);
  const addrs = hugeAddrs(k, m);
  if (!folio) {
    // __split_huge_zero_page_pmd: the small zero page in every PTE.
    for (const a of addrs) k.setPte(m, a, pteZero());
    if (k.narrate) k.note(`__split_huge_zero_page_pmd: PTE table ${table - 1} maps the zero page`);
    return;
  }
  const pages = k.folioPages(folio);
  const exclusive = k.pageTest(folio, PG_ANON_EXCLUSIVE);
  if (refAdd) get_page(k, folio, addrs.length - 1);
  addrs.forEach((a, i) => {
    const p = pages[i]!;
    k.setPte(m, a, ptePresent(p, !pmdHugeRo(w) && (k.vmaAt(m, a) & VMA_WRITE) !== 0, true));
    k.setPageWord(p, PG_MAP, k.pageMapcount(p) + 1);
    if (exclusive) k.setPageFlag(p, PG_ANON_EXCLUSIVE);
  });
  page_remove_rmap(k, folio, true);
  if (k.narrate) {
    const nr = addrs.length;
    const mapping = nr === 1 ? 'it' : `its ${nr} pages (pfn ${pages.join(', ')})`;
    const refs = nr === 1 ? '' : refAdd ? `, page_ref_add(${nr - 1})` : ', MUTANT: no page_ref_add';
    k.note(
      `__split_huge_pmd: the huge pmd of pfn ${folio} becomes PTE table ${table - 1} mapping ${mapping}${pmdHugeRo(w) ? ' R/O' : ''}${refs}${exclusive ? ', PageAnonExclusive carried' : ''}`,
    );
  }
}

/**
 * __split_huge_pmd_locked on a PMD migration entry (a partial MADV_DONTNEED
 * or munmap of a THP under migration): the deposited table back in the pmd
 * and a PTE migration entry for each subpage, of the entry's kind. The entry
 * holds no reference and no mapcount, so nothing else is due; two releases
 * did more, from the present-pmd path. Read in mm/huge_memory.c of 5.8.1,
 * 5.9.1, 5.17-rc5, 5.18.12 and 6.2 (notes/pmd-migration-source.md).
 */
export type SplitPmdMigration = (k: Kernel, t: number, m: number) => void;
function splitMigrationEntry(k: Kernel, t: number, m: number): { folio: number; nr: number; note: string } {
  const w = k.s[k.L.pmd(m)]!;
  const folio = pmdMigrationPfn(w);
  const kind = pmdMigrationKind(w);
  const table = pgtable_trans_huge_withdraw(k, m);
  set_pmd(k, t, m, table);
  const pages = k.folioPages(folio);
  const addrs = hugeAddrs(k, m);
  addrs.forEach((a, i) => k.setPte(m, a, pteMigration(pages[i]!, kind)));
  return { folio, nr: addrs.length, note: `__split_huge_pmd_locked: the PMD migration entry of pfn ${folio} becomes PTE table ${table - 1} of ${addrs.length} migration entries` };
}
/** 4.14-5.8: as for a present pmd, page_ref_add(nr - 1), each subpage's _mapcount + 1 and compound_mapcount - 1, on a THP no pmd maps (fixed by ec0abae6dcdf, 5.9). */
export const split_pmd_migration_4_14: SplitPmdMigration = (k, t, m) => {
  const { folio, nr, note } = splitMigrationEntry(k, t, m);
  get_page(k, folio, nr - 1);
  for (const p of k.folioPages(folio)) k.setPageWord(p, PG_MAP, k.pageMapcount(p) + 1);
  page_remove_rmap(k, folio, true);
  if (k.narrate) k.note(`${note}; and, as for a present pmd, page_ref_add(${nr - 1}), each subpage's _mapcount + 1, compound_mapcount - 1 (the entry held none of them)`);
};
/** 5.9 (ec0abae6dcdf): the mapcounts left alone, but page_ref_add(nr - 1) still unconditional: a reference leak (fixed by 9d84604b845c, 5.18). */
export const split_pmd_migration_5_9: SplitPmdMigration = (k, t, m) => {
  const { folio, nr, note } = splitMigrationEntry(k, t, m);
  get_page(k, folio, nr - 1);
  if (k.narrate) k.note(`${note}; page_ref_add(${nr - 1}) as for a present pmd (the entry holds no reference)`);
};
/** 5.18 (9d84604b845c): page_ref_add only for a present pmd. */
export const split_pmd_migration_5_18: SplitPmdMigration = (k, t, m) => {
  const { note } = splitMigrationEntry(k, t, m);
  if (k.narrate) k.note(note);
};

/** copy_huge_pmd's test by release: must fork split the parent's huge pmd and copy at the PTE level (-EAGAIN)? */
export type CopyHugePmdSplits = (k: Kernel, parent: number, folio: number) => boolean;
/** <= 5.8: a huge pmd is always shared with the child. */
export const copy_huge_pmd_splits_4_4: CopyHugePmdSplits = () => false;
/** 5.9 (d042035eaf5f): a THP that may be pinned (mm->has_pinned; page_needs_cow_for_dma from 5.12) is split. */
export const copy_huge_pmd_splits_5_9: CopyHugePmdSplits = (k, parent, folio) => page_needs_cow_for_dma(k, parent, folio);
/** 5.19: page_try_dup_anon_rmap fails (-EBUSY) only for an exclusive THP that may be pinned. */
export const copy_huge_pmd_splits_5_19: CopyHugePmdSplits = (k, parent, folio) => k.pageTest(folio, PG_ANON_EXCLUSIVE) && page_needs_cow_for_dma(k, parent, folio);

/**
 * copy_huge_pmd at fork of an anon huge pmd, when it shares: a table to
 * deposit for the child (pte_alloc_one; none is -ENOMEM: false),
 * page_try_dup_anon_rmap / page_dup_rmap (entire mapcount + 1), get_page,
 * both pmds write-protected, the child's MM_ANONPAGES + nr. Read in
 * mm/huge_memory.c:copy_huge_pmd of 4.4.1, 4.6.2, 5.9.1, 5.19, 6.2.
 */
export function copy_huge_pmd_share(k: Kernel, parent: number, child: number): boolean {
  const w = k.s[k.L.pmd(parent)]!;
  if (!pmdIsHuge(w)) throw new Error(`copy_huge_pmd: the parent's pmd changed under pmd_lock (${formatPmd(w)})`);
  const folio = pmdHugePfn(w);
  const table = takeTableNoOom(k);
  if (table <= 0) {
    if (k.narrate) k.note('copy_huge_pmd: no page table to deposit for the child: -ENOMEM');
    return false;
  }
  if (!folio) {
    // is_huge_zero_pmd: the child gets a huge zero pmd too (set_huge_zero_page).
    set_huge_zero_page(k, -1, child, table);
    if (k.narrate) k.note('copy_huge_pmd: the huge zero page: the child maps it too');
    return true;
  }
  k.s[k.L.pgtable(table - 1)] = 2 + child; // pgtable_trans_huge_deposit
  const dup = k.fn.page_try_dup_anon_rmap(k, folio, true);
  get_page(k, folio);
  page_dup_rmap(k, folio, true);
  k.s[k.L.pmd(parent)] = pmdWithRo(w, true); // pmdp_set_wrprotect (the parent keeps its table: no F4 question)
  k.s[k.L.pmd(child)] = pmdHuge(folio, true);
  k.addRss(child, MM_ANONPAGES, hugeNr(k));
  if (k.narrate) k.note(`copy_huge_pmd: THP pfn ${folio} shared with the child, both huge pmds R/O (page_dup_rmap${dup}), MM_ANONPAGES+${hugeNr(k)}`);
  return true;
}

/**
 * copy_huge_pmd at fork of a PMD migration entry (4.14 on): a table
 * deposited for the child, a writable (5.19: or exclusive) entry made
 * readable in the parent, the child gets the same entry and MM_ANONPAGES +
 * nr; no reference (the entry holds none). Read in mm/huge_memory.c of
 * 4.20 and 6.2.
 */
export function copy_huge_pmd_migration(k: Kernel, parent: number, child: number): boolean {
  const w = k.s[k.L.pmd(parent)]!;
  const table = takeTableNoOom(k);
  if (table <= 0) {
    if (k.narrate) k.note('copy_huge_pmd: no page table to deposit for the child: -ENOMEM');
    return false;
  }
  k.s[k.L.pgtable(table - 1)] = 2 + child; // pgtable_trans_huge_deposit
  const entry = pmdMigration(pmdMigrationPfn(w), MIGRATION_READ);
  k.s[k.L.pmd(parent)] = entry;
  k.s[k.L.pmd(child)] = entry;
  k.addRss(child, MM_ANONPAGES, hugeNr(k));
  if (k.narrate)
    k.note(
      `copy_huge_pmd: a PMD migration entry of pfn ${pmdMigrationPfn(w)}${pmdMigrationKind(w) !== MIGRATION_READ ? ' made readable in the parent' : ''}; the child gets it too, MM_ANONPAGES+${hugeNr(k)}`,
    );
  return true;
}

/** Does do_huge_pmd_wp_page lock the THP before its reuse test (and sleep while another holds it)? */
export type HugeWpLocks = (k: Kernel, folio: number) => boolean;
/** 4.4-4.13: page_mapcount / page_trans_huge_mapcount under the pmd lock only. */
export const huge_wp_page_lock_4_4: HugeWpLocks = () => false;
/** 4.14 (ba3c4ce6def4): "Lock page for reuse_swap_page()": trylock_page, else lock_page and pmd_same again. */
export const huge_wp_page_lock_4_14: HugeWpLocks = () => true;
/** 5.19: an exclusive THP is reused at once; the page lock only for the page_count test. */
export const huge_wp_page_lock_5_19: HugeWpLocks = (k, folio) => !k.pageTest(folio, PG_ANON_EXCLUSIVE);

/** do_huge_pmd_wp_page's reuse test by release: may the faulting mm write the THP in place? Returns why, or null. */
export type HugeWpReuse = (k: Kernel, folio: number) => string | null;
/**
 * 4.4-5.17: by mapcount only (4.4 page_mapcount == 1; 4.6-4.8
 * page_trans_huge_mapcount == 1; 4.20-5.17 reuse_swap_page): a GUP
 * reference does not stop it.
 */
export const huge_wp_reuse_4_4: HugeWpReuse = (k, folio) => (k.page_trans_huge_mapcount(folio) === 1 ? 'mapped once (page_trans_huge_mapcount / reuse_swap_page)' : null);
/** 5.18 (3bff7e3f1f16): only page_count == 1: any other reference (GUP) means copy. */
export const huge_wp_reuse_5_18: HugeWpReuse = (k, folio) => (k.pageRef(folio) === 1 ? 'page_count == 1' : null);
/** 5.19: PageAnonExclusive means ours; else page_count == 1, and page_move_anon_rmap makes it exclusive. */
export const huge_wp_reuse_5_19: HugeWpReuse = (k, folio) => {
  if (k.pageTest(folio, PG_ANON_EXCLUSIVE)) return 'PageAnonExclusive';
  if (k.pageRef(folio) !== 1) return null;
  k.fn.page_move_anon_rmap(k, folio, true);
  return 'page_count == 1: page_move_anon_rmap (PageAnonExclusive)';
};
