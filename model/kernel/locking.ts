/**
 * kernel/locking, the page lock and wait queues: the model's locks as
 * objects with owners (encodings in model/locks.ts).
 *
 * A sleeping lock that is not free makes its caller sleep: the function
 * registers the thread on the lock's wait key and returns false, and the
 * step returns SLEEP (kernel/sched: prepare_to_wait, schedule). The release
 * wakes the sleepers on the key (wake_up); a woken thread runs its step
 * again. A spinlock makes its caller spin: false, and the step returns
 * BLOCKED (not enabled until the lock is free).
 *
 * rw-semaphores are writer-fair (kernel/locking/rwsem.c): a new reader
 * waits while a writer waits (rwsem_down_read_slowpath: from 5.11 a reader
 * queues behind a waiting writer when readers hold the lock), so a reader
 * that already holds the lock and takes it again behind a waiting writer
 * deadlocks, as in the kernel. The model forbids the bypasses the kernel
 * allows (stealing a free lock; 5.7-5.10's optimistic spinning): see
 * docs/kernel-notes.md.
 *
 * Every blocking acquisition tells lockdep (model/lockdep.ts) which classes
 * the thread holds at that moment; trylocks do not (lockdep adds no
 * dependency for a trylock: it cannot wait).
 */
import type { Kernel } from '../kernel.js';
import { F_I_RWSEM, F_IMMAP, MM_LOCK, MM_PTL, PG_FLAGS, PG_RECLAIM, PG_WRITEBACK } from '../layout.js';
import {
  keyClass,
  lockClass,
  LOCK_ANON_VMA,
  LOCK_I_MMAP,
  LOCK_INVALIDATE,
  LOCK_I_RWSEM,
  LOCK_MMAP,
  LOCK_PAGE,
  LOCK_PTL,
  PG_LOCKED,
  pageLocked,
  pageLockOwner,
  pageUnlocked,
  rwsemReaders,
  rwsemWithoutReader,
  rwsemWithReader,
  rwsemWriter,
  rwsemWriterWord,
  STATUS_ASLEEP,
  statusWait,
  WAIT_ASLEEP,
  WAIT_KEY_MASK,
  WAIT_WRITE,
  WAITQ_FALLOC,
  WAITQ_WRITEBACK,
  waitKey,
} from '../locks.js';

// ---- sleeping and waking ----------------------------------------------------------
/** prepare_to_wait + schedule: registers t on `key` and marks it asleep; the step returns SLEEP. */
export function sleep_on(k: Kernel, t: number, key: number, write = false): false {
  // A sleeping acquisition must be the first lock its step takes: the step's other changes are undone when it sleeps (model/world.ts).
  if (k.checked && k.acquiredInStep > 0)
    throw new Error(`${k.keyName(key)}: a step sleeps after taking a lock in the same step (split the step: the kernel keeps the lock while it sleeps)`);
  k.waitKey = key;
  k.setThreadWait(t, key | (write ? WAIT_WRITE : 0) | WAIT_ASLEEP);
  if (k.narrate) k.note(`sleeps on ${k.keyName(key)}${write ? ' (as a writer)' : ''}`);
  return false;
}

/** A spinning waiter (spin_lock on a held lock): records what it waits for; the step returns BLOCKED. */
export function spin_on(k: Kernel, key: number): false {
  k.waitKey = key;
  return false;
}

/** wake_up / wake_up_all on `key`: every thread asleep on it wakes (and runs its step again). */
export function wake_up(k: Kernel, key: number): void {
  // Every release of a sleeping lock scans the threads: read the status words directly (clearing WAIT_ASLEEP in the status word is setThreadWait(u, wait & ~WAIT_ASLEEP)).
  const s = k.s;
  const at = k.statusAt;
  for (let u = 0; u < at.length; u++) {
    const st = s[at[u]!]!;
    if ((st & STATUS_ASLEEP) !== 0 && (statusWait(st) & WAIT_KEY_MASK) === key) {
      s[at[u]!] = st & ~STATUS_ASLEEP;
      if (k.narrate) k.note(`wakes ${k.world.threadNames[u]}`);
    }
  }
}

/**
 * finish_wait: t leaves the wait queue it is on. A writer that leaves an
 * rw-semaphore's queue without the lock wakes the queue, since readers
 * queued behind it may now go (rwsem_down_write_slowpath's out_nolock;
 * rwsem_del_wake_waiter from 6.1).
 */
export function finish_wait(k: Kernel, t: number): void {
  const w = k.threadWait(t);
  if (w === 0) return;
  k.setThreadWait(t, 0);
  const key = w & WAIT_KEY_MASK;
  if (w & WAIT_WRITE && lockClass(keyClass(key)).kind === 'rwsem' && !rwsemHeldBy(k, t, key)) wake_up(k, key);
}

/** t holds the rw-semaphore of `key` (as its writer or one of its readers). */
function rwsemHeldBy(k: Kernel, t: number, key: number): boolean {
  const at = k.lockPlaces.offsetOf(key);
  if (at < 0) return false;
  const w = k.s[at]!;
  return rwsemWriter(w) === t || (rwsemWriter(w) < 0 && (rwsemReaders(w) & (1 << t)) !== 0);
}

/** A thread other than `except` is queued on key (asleep or woken, not yet holding it), with the wait bits `bits` (WAIT_WRITE: as a writer). */
function queued(k: Kernel, key: number, except: number, bits: number): boolean {
  const s = k.s;
  const at = k.statusAt;
  for (let u = 0; u < at.length; u++) {
    if (u === except) continue;
    const w = statusWait(s[at[u]!]!);
    if ((w & bits) === bits && (w & WAIT_KEY_MASK) === key) return true;
  }
  return false;
}
/** A thread other than t is queued on key as a writer. */
const writerWaiting = (k: Kernel, key: number, t: number): boolean => queued(k, key, t, WAIT_WRITE);

// ---- rw-semaphores: the word lives at an offset the caller gives ---------------------
/** down_read: false (asleep) when a writer holds it or waits for it. */
function down_read(k: Kernel, t: number, at: number, key: number): boolean {
  const w = k.s[at]!;
  if (rwsemWriter(w) >= 0 || writerWaiting(k, key, t)) return sleep_on(k, t, key);
  k.lockdepAcquire(t, key);
  k.acquiredInStep++;
  k.s[at] = rwsemWithReader(w, t);
  return true;
}

/** down_read_trylock: false, without waiting, when a writer holds it or anyone waits for it (RWSEM_READ_FAILED_MASK); no lockdep dependency. */
function down_read_trylock(k: Kernel, t: number, at: number, key: number): boolean {
  const w = k.s[at]!;
  if (rwsemWriter(w) >= 0 || queued(k, key, -1, 0)) return false;
  k.acquiredInStep++;
  k.s[at] = rwsemWithReader(w, t);
  return true;
}

function up_read(k: Kernel, t: number, at: number, key: number): void {
  const w = rwsemWithoutReader(k.s[at]!, t);
  k.s[at] = w;
  if (rwsemReaders(w) === 0) k.fn.wake_up_rwsem(k, key);
}

/** down_write: false (asleep) when anyone holds it. */
function down_write(k: Kernel, t: number, at: number, key: number): boolean {
  if (k.s[at] !== 0) return sleep_on(k, t, key, true);
  k.lockdepAcquire(t, key);
  k.acquiredInStep++;
  k.s[at] = rwsemWriterWord(t);
  return true;
}

/** down_write_trylock: false, without waiting, when anyone holds it or waits for it (RWSEM_FLAG_WAITERS makes the cmpxchg fail). */
function down_write_trylock(k: Kernel, t: number, at: number, key: number): boolean {
  if (k.s[at] !== 0 || queued(k, key, -1, 0)) return false;
  k.acquiredInStep++;
  k.s[at] = rwsemWriterWord(t);
  return true;
}

function up_write(k: Kernel, at: number, key: number): void {
  k.s[at] = 0;
  k.fn.wake_up_rwsem(k, key);
}

// ---- mmap_lock ---------------------------------------------------------------------
const mmapAt = (k: Kernel, m: number) => k.L.mm(m) + MM_LOCK;
export const mmap_read_lock = (k: Kernel, t: number, m: number): boolean => down_read(k, t, mmapAt(k, m), waitKey(LOCK_MMAP, m));
/** mmap_read_trylock (khugepaged skips a busy mm). */
export const mmap_read_trylock = (k: Kernel, t: number, m: number): boolean => down_read_trylock(k, t, mmapAt(k, m), waitKey(LOCK_MMAP, m));
export const mmap_read_unlock = (k: Kernel, t: number, m: number): void => up_read(k, t, mmapAt(k, m), waitKey(LOCK_MMAP, m));
export const mmap_write_lock = (k: Kernel, t: number, m: number): boolean => down_write(k, t, mmapAt(k, m), waitKey(LOCK_MMAP, m));
export const mmap_write_unlock = (k: Kernel, m: number): void => up_write(k, mmapAt(k, m), waitKey(LOCK_MMAP, m));
/** mmap_write_trylock (retract_page_tables up to 6.5: it holds a page lock, which faults take under mmap_lock). */
export const mmap_write_trylock = (k: Kernel, t: number, m: number): boolean => down_write_trylock(k, t, mmapAt(k, m), waitKey(LOCK_MMAP, m));
/** mmap_write_lock_nested(mm, SINGLE_DEPTH_NESTING): fork's child mm, which nobody else can see yet (no wait, no lockdep dependency). */
export function mmap_write_lock_nested(k: Kernel, t: number, m: number): void {
  k.s[mmapAt(k, m)] = rwsemWriterWord(t);
}

// ---- i_rwsem (inode_lock) ------------------------------------------------------------
const iRwsemAt = (k: Kernel, f: number) => k.L.file(f) + F_I_RWSEM;
export const inode_lock = (k: Kernel, t: number, f: number): boolean => down_write(k, t, iRwsemAt(k, f), waitKey(LOCK_I_RWSEM, f));
export const inode_unlock = (k: Kernel, f: number): void => up_write(k, iRwsemAt(k, f), waitKey(LOCK_I_RWSEM, f));
export const inode_is_locked = (k: Kernel, f: number): boolean => k.s[iRwsemAt(k, f)] !== 0;

// ---- i_mmap_rwsem ---------------------------------------------------------------------
const iMmapAt = (k: Kernel, f: number) => k.L.file(f) + F_IMMAP;
export const i_mmap_lock_read = (k: Kernel, t: number, f: number): boolean => down_read(k, t, iMmapAt(k, f), waitKey(LOCK_I_MMAP, f));
export const i_mmap_unlock_read = (k: Kernel, t: number, f: number): void => up_read(k, t, iMmapAt(k, f), waitKey(LOCK_I_MMAP, f));
export const i_mmap_lock_write = (k: Kernel, t: number, f: number): boolean => down_write(k, t, iMmapAt(k, f), waitKey(LOCK_I_MMAP, f));
export const i_mmap_unlock_write = (k: Kernel, f: number): void => up_write(k, iMmapAt(k, f), waitKey(LOCK_I_MMAP, f));
/** Thread t holds i_mmap_rwsem (for read or write). */
export function i_mmap_held_by(k: Kernel, t: number, f: number): boolean {
  const w = k.s[iMmapAt(k, f)]!;
  return rwsemWriter(w) === t || (rwsemWriter(w) < 0 && (w & (1 << t)) !== 0);
}
/** Thread t holds i_mmap_rwsem for read. */
export const i_mmap_read_held_by = (k: Kernel, t: number, f: number): boolean => (k.s[iMmapAt(k, f)]! & (1 << t)) !== 0 && rwsemWriter(k.s[iMmapAt(k, f)]!) < 0;
/** i_mmap_lock_read or _write, as `write` says (unmap_mapping_range took it for write before 5.18). */
export const i_mmap_lock = (k: Kernel, t: number, f: number, write: boolean): boolean => (write ? i_mmap_lock_write(k, t, f) : i_mmap_lock_read(k, t, f));
export function i_mmap_unlock(k: Kernel, t: number, f: number): void {
  if (rwsemWriter(k.s[iMmapAt(k, f)]!) >= 0) i_mmap_unlock_write(k, f);
  else i_mmap_unlock_read(k, t, f);
}

// ---- mapping->invalidate_lock (ZONE_DEVICE worlds only: the file's word exists there) ------------
const invalidateAt = (k: Kernel, f: number) => k.L.file(f) + k.L.fieldOffsets.file!.invalidate_lock!;
export const filemap_invalidate_lock = (k: Kernel, t: number, f: number): boolean => down_write(k, t, invalidateAt(k, f), waitKey(LOCK_INVALIDATE, f));
export const filemap_invalidate_unlock = (k: Kernel, f: number): void => up_write(k, invalidateAt(k, f), waitKey(LOCK_INVALIDATE, f));
export const filemap_invalidate_lock_shared = (k: Kernel, t: number, f: number): boolean => down_read(k, t, invalidateAt(k, f), waitKey(LOCK_INVALIDATE, f));
export const filemap_invalidate_unlock_shared = (k: Kernel, t: number, f: number): void => up_read(k, t, invalidateAt(k, f), waitKey(LOCK_INVALIDATE, f));
export const filemap_invalidate_held = (k: Kernel, t: number, f: number): boolean => rwsemWriter(k.s[invalidateAt(k, f)]!) === t;

// ---- anon_vma->rwsem (of the VMA's root anon_vma) ------------------------------------------
const anonVmaAt = (k: Kernel, v: number) => k.L.anonVmaRwsem(v);
export const anon_vma_lock_read = (k: Kernel, t: number, v: number): boolean => down_read(k, t, anonVmaAt(k, v), waitKey(LOCK_ANON_VMA, v));
export const anon_vma_unlock_read = (k: Kernel, t: number, v: number): void => up_read(k, t, anonVmaAt(k, v), waitKey(LOCK_ANON_VMA, v));
export const anon_vma_lock_write = (k: Kernel, t: number, v: number): boolean => down_write(k, t, anonVmaAt(k, v), waitKey(LOCK_ANON_VMA, v));
export const anon_vma_unlock_write = (k: Kernel, v: number): void => up_write(k, anonVmaAt(k, v), waitKey(LOCK_ANON_VMA, v));

// ---- the PTE-table lock (pte_offset_map_lock) ----------------------------------------------
/** spin_lock: false (spinning) when another thread holds mm m's PT lock across steps. */
export function pte_lock(k: Kernel, t: number, m: number): boolean {
  const h = k.mmWord(m, MM_PTL);
  if (h !== 0 && h !== t + 1) return spin_on(k, waitKey(LOCK_PTL, m));
  if (h === 0) k.lockdepAcquire(t, waitKey(LOCK_PTL, m));
  return true;
}
/** Holds the PT lock across steps (copy_pte_range: lockless GUP-fast can run meanwhile). */
export function pte_lock_hold(k: Kernel, t: number, m: number): void {
  k.setMmWord(m, MM_PTL, t + 1);
}
export function pte_unlock(k: Kernel, m: number): void {
  k.setMmWord(m, MM_PTL, 0);
}

// ---- the page lock (PG_locked) ------------------------------------------------------------
// PG_locked is a folio's (page_folio): a page of a THP locks, waits on and wakes its head.
export function page_locked(k: Kernel, pfn: number): boolean {
  return k.pageTest(k.folioHead(pfn), PG_LOCKED);
}
/** lock_page / folio_lock: false (asleep, an exclusive waiter) when another holds it. */
export function lock_page(k: Kernel, t: number, page: number): boolean {
  const pfn = k.folioHead(page);
  const flags = k.pageFlags(pfn);
  if (flags & PG_LOCKED) return sleep_on(k, t, waitKey(LOCK_PAGE, pfn), true);
  k.lockdepAcquire(t, waitKey(LOCK_PAGE, pfn));
  k.acquiredInStep++;
  k.setPageWord(pfn, PG_FLAGS, pageLocked(flags, t));
  return true;
}
/** trylock_page / folio_trylock: never waits, no lockdep dependency. */
export function trylock_page(k: Kernel, t: number, page: number): boolean {
  const pfn = k.folioHead(page);
  const flags = k.pageFlags(pfn);
  if (flags & PG_LOCKED) return false;
  k.setPageWord(pfn, PG_FLAGS, pageLocked(flags, t));
  return true;
}
/** unlock_page / folio_unlock: clear PG_locked, wake the waiters (folio_wake_bit). */
export function unlock_page(k: Kernel, page: number): void {
  const pfn = k.folioHead(page);
  k.setPageWord(pfn, PG_FLAGS, pageUnlocked(k.pageFlags(pfn)));
  k.fn.wake_up_page(k, pfn);
}
/** The page lock's holder, or -1. */
export function page_lock_owner(k: Kernel, pfn: number): number {
  return pageLockOwner(k.pageFlags(k.folioHead(pfn)));
}
/** wait_on_page_locked (migration_entry_wait, lock_page_or_retry without the lock): false (asleep) while it is locked. */
export function wait_on_page_locked(k: Kernel, t: number, page: number): boolean {
  const pfn = k.folioHead(page);
  if (k.pageTest(pfn, PG_LOCKED)) return sleep_on(k, t, waitKey(LOCK_PAGE, pfn));
  return true;
}

// ---- wait queues -------------------------------------------------------------------------
/** shmem_fault: a fault into a hole being punched sleeps on shmem_falloc_waitq. */
export const shmem_falloc_wait = (k: Kernel, t: number, f: number): false => sleep_on(k, t, waitKey(WAITQ_FALLOC, f));
/** shmem_fallocate: wake_up_all(&shmem_falloc_waitq) once the punch is done. */
export const shmem_falloc_wake = (k: Kernel, f: number): void => wake_up(k, waitKey(WAITQ_FALLOC, f));

/** end_page_writeback: PG_writeback (and PG_reclaim) cleared; wake_up_page(page, PG_writeback) wakes wait_on_page_writeback. */
export function end_page_writeback(k: Kernel, pfn: number, f: number): void {
  k.setPageWord(pfn, PG_FLAGS, k.pageFlags(pfn) & ~(PG_WRITEBACK | PG_RECLAIM));
  wake_up(k, waitKey(WAITQ_WRITEBACK, f));
}

// ---- wake-ups the kernel does (a mutant may drop one: model/kernel/mutants.ts) ---------------
/** folio_wake_bit(folio, PG_locked) as unlock_page does it. */
export function wake_up_page_5_7(k: Kernel, pfn: number): void {
  wake_up(k, waitKey(LOCK_PAGE, pfn));
}
/** rwsem_wake: a released rw-semaphore wakes its waiters. */
export function wake_up_rwsem_5_7(k: Kernel, key: number): void {
  wake_up(k, key);
}
