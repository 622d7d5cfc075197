/**
 * PTE tables: allocated from the pool by pte_alloc_one (charged to the
 * memory cgroup: x86's PGALLOC_GFP has __GFP_ACCOUNT), installed in an empty
 * pmd under pmd_lock (mm/memory.c:__pte_alloc; pmd_install from 5.16), and
 * freed by pte_free. A scenario without pageTables has no pool: every
 * process has its table from the start and none of this runs.
 *
 * The model keeps one PTE table per process (one 2 MiB range): the PTEs stay
 * words of the mm (model/objects.ts), and the pmd entry says whether a table
 * backs them. A pmd that is none has no PTEs: every PTE word is none then.
 */
import type { Kernel } from '../kernel.js';
import {
  GHOST_ALLOC_UNDER_LOCK,
  F_GHOST,
  F_IMMAP,
  MM_FLAGS,
  MM_LIVE,
  MM_LOCK,
  MMF_GHOST_RETRACT,
  MMF_OOM_MEMDIE,
  MMF_OOM_REAPED,
  MMF_OOM_VICTIM,
  PG_FLAGS,
  PG_MAPPING,
  TH_PTE_TABLE,
} from '../layout.js';
import { PG_LOCKED, pageLockOwner, rwsemHolders, rwsemWriter, WAITQ_OOM, waitKey } from '../locks.js';
import { spin_on } from './locking.js';
import { mappingFile, pmdTable } from '../objects.js';
import { direct_reclaim, mem_cgroup_charge_reclaim, reclaimingPage } from './vmscan.js';

/** pte_alloc_one's results besides a table (index + 1). */
export const ALLOC_OOM = 0;
/** Reclaim made progress (it marked pages PG_reclaim): try_charge retries; the step runs again. */
export const ALLOC_RETRY = -1;
/** Reclaim sleeps in wait_on_page_writeback: the step returns SLEEP. */
export const ALLOC_SLEEP = -2;
/** The OOM killer's victim has not exited yet: the allocation retries (spins) until it has (BLOCKED). */
export const ALLOC_SPIN = -3;

/**
 * might_alloc / fs_reclaim_acquire: a GFP_KERNEL allocation may enter
 * reclaim, which takes page locks (shrink_page_list's trylock_page, then
 * wait_on_page_writeback) and i_mmap_rwsem (rmap_walk_file). Doing it with a
 * page-cache page locked or i_mmap_rwsem held is the hazard of seed 004 and
 * 63f3655f9501: recorded on the file as a WARN-like ghost bit.
 */
function might_alloc(k: Kernel, t: number): void {
  const own = reclaimingPage(k, t);
  for (let p = 1; p <= k.frames; p++) {
    const flags = k.pageWord(p, PG_FLAGS);
    if (!(flags & PG_LOCKED) || pageLockOwner(flags) !== t || p === own) continue;
    const f = mappingFile(k.pageWord(p, PG_MAPPING));
    if (f >= 0) k.setFileWord(f, F_GHOST, k.fileWord(f, F_GHOST) | GHOST_ALLOC_UNDER_LOCK);
  }
  for (let f = 0; f < k.world.fileNames.length; f++) {
    if (rwsemHolders(k.fileWord(f, F_IMMAP)).includes(t)) k.setFileWord(f, F_GHOST, k.fileWord(f, F_GHOST) | GHOST_ALLOC_UNDER_LOCK);
  }
}

/** pte_alloc_one: a table from the pool (index + 1), or ALLOC_RETRY / ALLOC_SLEEP while reclaim runs, or ALLOC_OOM. */
export type PteAllocOne = (k: Kernel, t: number) => number;

/** The first free table of pool slots [from, to), taken; or 0. */
function takeSlot(k: Kernel, from: number, to: number): number {
  for (let i = from; i < to; i++) {
    if (k.s[k.L.pgtable(i)] !== 0) continue;
    k.s[k.L.pgtable(i)] = 1;
    return i + 1;
  }
  return 0;
}

/**
 * A table from the pool, or ALLOC_OOM (or, with the scenario out of
 * memory, what the OOM killer makes of it). With "reclaim": "oom" the
 * pool's last table is the memory reserve, for an OOM victim only
 * (TIF_MEMDIE: ALLOC_NO_WATERMARKS).
 */
function takeTable(k: Kernel, t: number): number {
  const reserve = k.world.oom ? 1 : 0;
  return takeSlot(k, 0, k.L.pgtables - reserve) || (k.world.oom ? out_of_memory(k, t) : ALLOC_OOM);
}

/** A table from the pool (not the reserve) or ALLOC_OOM, never the OOM killer (fork's copy: -ENOMEM). */
export function takeTableNoOom(k: Kernel): number {
  return takeSlot(k, 0, k.L.pgtables - (k.world.oom ? 1 : 0)) || ALLOC_OOM;
}

/**
 * The page allocator's slow path found nothing to reclaim: out_of_memory
 * (mm/oom_kill.c, 4.4-4.5). While a victim has not exited,
 * oom_scan_process_thread returns OOM_SCAN_ABORT and the allocation retries
 * (an order-0 GFP_KERNEL allocation never fails): it spins until the victim
 * exits and frees its memory. Otherwise the process with the largest rss
 * (oom_badness; the first on a tie) is killed: SIGKILL, TIF_MEMDIE. On 4.6
 * the OOM reaper (aac453635549, model/ops/oom.ts) may reap a victim: it
 * then has no TIF_MEMDIE (no abort) and oom_badness 0 (never chosen again).
 * Later releases' reaper (MMF_OOM_REAPED 4.7, MMF_OOM_SKIP 4.9) is not
 * modelled: scenarios with "reclaim": "oom" are refused from 4.7.
 */
function out_of_memory(k: Kernel, t: number): number {
  const current = k.world.threadMm[t]!;
  // TIF_MEMDIE: set by the kill and by mark_oom_victim(current), cleared by the OOM reaper (exit_oom_victim, 4.6).
  const memdie = (m: number): boolean => (k.mmWord(m, MM_FLAGS) & MMF_OOM_MEMDIE) !== 0;
  // "If current has a pending SIGKILL ... automatically select it" (mark_oom_victim): a killed task allocates from the reserves, reaped or not.
  if (current >= 0 && k.mmWord(current, MM_FLAGS) & MMF_OOM_VICTIM) {
    k.setMmWord(current, MM_FLAGS, k.mmWord(current, MM_FLAGS) | MMF_OOM_MEMDIE);
    // The allocating task is the victim: TIF_MEMDIE lets it allocate from the reserves.
    const table = takeSlot(k, k.L.pgtables - 1, k.L.pgtables);
    if (k.narrate) k.note(table ? 'the OOM victim allocates from the memory reserves (TIF_MEMDIE)' : 'the reserves are gone: the allocation fails');
    return table || ALLOC_OOM;
  }
  for (let m = 0; m < k.world.mmNames.length; m++) {
    if (memdie(m) && k.mmState(m) === MM_LIVE) {
      spin_on(k, waitKey(WAITQ_OOM, m));
      return ALLOC_SPIN;
    }
  }
  let victim = -1;
  let most = -1;
  for (let m = 0; m < k.world.mmNames.length; m++) {
    // Killed ones are not chosen again; a reaped one has oom_score_adj OOM_SCORE_ADJ_MIN (oom_badness 0).
    if (k.mmState(m) !== MM_LIVE || k.mmWord(m, MM_FLAGS) & (MMF_OOM_VICTIM | MMF_OOM_REAPED)) continue;
    let rss = 0;
    for (let c = 0; c < 4; c++) rss += k.rss(m, c);
    if (rss > most) {
      most = rss;
      victim = m;
    }
  }
  if (victim < 0) return ALLOC_OOM;
  k.setMmWord(victim, MM_FLAGS, k.mmWord(victim, MM_FLAGS) | MMF_OOM_VICTIM | MMF_OOM_MEMDIE);
  if (k.narrate)
    k.note(
      `out_of_memory: the OOM killer kills ${k.mmName(victim)} (rss ${most}): SIGKILL, TIF_MEMDIE; the allocation retries${victim === current ? ' (from the reserves)' : ' until it has exited'}`,
    );
  return ALLOC_RETRY;
}

/** Up to 4.7 x86's page tables are not charged to the memory cgroup (GFP_KERNEL | __GFP_NOTRACK | __GFP_ZERO). */
export const pte_alloc_one_4_4: PteAllocOne = (k, t) => {
  might_alloc(k, t);
  if (k.world.directReclaim) {
    const r = direct_reclaim(k, t);
    if (r !== 0) return r;
  }
  return takeTable(k, t);
};

/**
 * From 4.8 (3e79ec7ddc33, "arch: x86: charge page tables to kmemcg":
 * GFP_KERNEL_ACCOUNT) the memcg charge comes first, which, with the
 * scenario's memcg at its limit, reclaims and may retry or sleep.
 */
export const pte_alloc_one_4_8: PteAllocOne = (k, t) => {
  might_alloc(k, t);
  // One reclaim or the other: a scenario's "reclaim" is one of them.
  const r = k.world.memcgV1 ? mem_cgroup_charge_reclaim(k, t) : k.world.directReclaim ? direct_reclaim(k, t) : 0;
  if (r !== 0) return r;
  return takeTable(k, t);
};

/** pte_free: a table back to the pool. */
export function pte_free_table(k: Kernel, table: number): void {
  k.s[k.L.pgtable(table - 1)] = 0;
}

/** pte_free of the thread's prealloc_pte (do_fault's exit). */
export function pte_free(k: Kernel, t: number): void {
  const table = k.threadWord(t, TH_PTE_TABLE);
  if (!table) return;
  pte_free_table(k, table);
  k.setThreadWord(t, TH_PTE_TABLE, 0);
}

/** Under pmd_lock: if mm m's pmd is still none, install `table` (pmd_populate; mm_inc_nr_ptes) and return true. */
export function pmd_populate(k: Kernel, m: number, table: number): boolean {
  const o = k.L.pmd(m);
  if (k.s[o] !== 0) return false;
  k.s[o] = table;
  return true;
}

/**
 * set_pmd_at / pmd_clear on a live process's pmd by thread t. A pmd that
 * points at a PTE table may lose it (become huge or none) only under
 * mmap_lock for write (khugepaged's collapse; munmap): a fault holding
 * mmap_lock for read may hold a pointer into the table (MM-SEMANTICS F4:
 * why Hugh did not want a table exposed "for an instant"). Recorded as a
 * ghost bit for no-retract-under-read.
 */
export function set_pmd(k: Kernel, t: number, m: number, w: number): void {
  const o = k.L.pmd(m);
  const old = k.s[o]!;
  if (pmdTable(old) && w !== old && rwsemWriter(k.mmWord(m, MM_LOCK)) !== t) k.setMmWord(m, MM_FLAGS, k.mmWord(m, MM_FLAGS) | MMF_GHOST_RETRACT);
  k.s[o] = w;
}

/** The pmd is none: no PTE table backs the process's PTEs (always false without pageTables). */
export function pmd_none(k: Kernel, m: number): boolean {
  return k.L.pgtables > 0 && k.s[k.L.pmd(m)] === 0;
}

/**
 * free_pgtables: the process's table goes back to the pool and its pmd is
 * none again: munmap of its last VMA by thread t (through set_pmd: it holds
 * mmap_lock for write), or exit_mmap and a failed fork's teardown (t < 0:
 * no other user of the mm is left).
 */
export function free_pgtables(k: Kernel, m: number, t = -1): void {
  if (k.L.pgtables === 0) return;
  const o = k.L.pmd(m);
  const table = pmdTable(k.s[o]!);
  if (!table) return;
  k.s[k.L.pgtable(table - 1)] = 0;
  if (t >= 0) set_pmd(k, t, m, 0);
  else k.s[o] = 0;
}
