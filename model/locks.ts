/**
 * Locks and waits as objects: the lock classes (as lockdep names them), the
 * one encoding of each lock word, and the wait keys a sleeping thread
 * registers on. The kernel functions that take and release them are in
 * model/kernel/locking.ts.
 *
 *   rw-semaphore (mmap_lock, i_rwsem, i_mmap_rwsem, anon_vma->rwsem):
 *     bits 0-15 the readers (one bit per thread), bits 16-20 the writer + 1
 *   PT lock (one per mm: its one PTE table):     the holder + 1
 *   page lock: PG_locked in page->flags, and its holder + 1 in bits 8-12
 *   thread status word: bits 0-1 the status (model/layout.ts TS_*), then the
 *     wait: the key's class (4 bits), its object (8), the mode (a writer, or
 *     an exclusive waiter), asleep. A wait value below is the status word
 *     shifted right by STATUS_BITS.
 *
 * A thread that must wait for a sleeping lock or a wait queue registers on
 * the key and sleeps (a transition of its own: prepare_to_wait, schedule);
 * the step that releases the lock wakes the sleepers on the key (wake_up).
 * Woken, the thread runs its step again: it takes the lock or sleeps again.
 * A spinlock (the PT lock) is not slept on: its waiter spins (its step is
 * not enabled until the lock is free).
 */
import type { BitField, WordType } from './schema.js';

/** Lock classes and wait queues, by the id a wait key and lockdep use. */
export const LOCK_MMAP = 1;
export const LOCK_I_RWSEM = 2;
export const LOCK_I_MMAP = 3;
export const LOCK_ANON_VMA = 4;
export const LOCK_PAGE = 5;
export const LOCK_PTL = 6;
/** shmem_falloc_waitq: faults into a hole being punched wait here (a wait queue, not a lock). */
export const WAITQ_FALLOC = 7;
/** PG_writeback of a file's pages: wait_on_page_writeback sleeps here, end_page_writeback wakes it (a wait queue, not a lock). */
export const WAITQ_WRITEBACK = 8;
/** An OOM victim's exit: out_of_memory's caller retries (spins) until the victim has exited and freed its memory (4.4-4.5). */
export const WAITQ_OOM = 9;
/**
 * wait_var_event on an FS_DAX page (break_layouts waiting for the page to go
 * idle), woken by wake_up_var in the put path. The kernel's key is
 * &page->_refcount up to 6.14 and the page from 6.15 (38607c62b34b); each
 * release's waiter and waker use the same one, so one class stands for both.
 * Id 13: a class naming a frame, as LOCK_PAGE does (THREAD_STATUS_WORD).
 */
export const WAITQ_VAR = 13;
/** memunmap_pages' wait_for_completion(&pgmap->done): completed when the pgmap's percpu reference drops to 0 after the kill. */
export const WAITQ_PGMAP = 10;
/** mapping->invalidate_lock (ext4's i_mmap_sem before 5.15): break_layouts holds it for write, a DAX fault for read. */
export const LOCK_INVALIDATE = 11;

export interface LockClass {
  readonly id: number;
  /** The name lockdep gives the class (or the wait queue's). */
  readonly name: string;
  /** The object kind of the state schema it belongs to. */
  readonly object: 'mm' | 'file' | 'frame' | 'vma' | 'pgmap';
  readonly kind: 'rwsem' | 'spinlock' | 'page lock' | 'wait queue';
}

export const LOCK_CLASSES: readonly LockClass[] = [
  { id: LOCK_MMAP, name: 'mmap_lock', object: 'mm', kind: 'rwsem' },
  { id: LOCK_I_RWSEM, name: 'i_rwsem', object: 'file', kind: 'rwsem' },
  { id: LOCK_I_MMAP, name: 'i_mmap_rwsem', object: 'file', kind: 'rwsem' },
  { id: LOCK_ANON_VMA, name: 'anon_vma->rwsem', object: 'vma', kind: 'rwsem' },
  { id: LOCK_PAGE, name: 'PG_locked', object: 'frame', kind: 'page lock' },
  { id: LOCK_PTL, name: 'ptl', object: 'mm', kind: 'spinlock' },
  { id: WAITQ_FALLOC, name: 'shmem_falloc_waitq', object: 'file', kind: 'wait queue' },
  { id: WAITQ_WRITEBACK, name: 'PG_writeback', object: 'file', kind: 'wait queue' },
  { id: WAITQ_OOM, name: 'OOM victim exit', object: 'mm', kind: 'wait queue' },
  { id: WAITQ_VAR, name: '_refcount (wait_var_event)', object: 'frame', kind: 'wait queue' },
  { id: WAITQ_PGMAP, name: 'pgmap->done (wait_for_completion)', object: 'pgmap', kind: 'wait queue' },
  { id: LOCK_INVALIDATE, name: 'invalidate_lock', object: 'file', kind: 'rwsem' },
];
// pmd_lock is taken only within a step (pmd_populate under it): the step's atomicity stands for it.

const BY_ID: (LockClass | undefined)[] = [];
for (const c of LOCK_CLASSES) BY_ID[c.id] = c;

export function lockClass(id: number): LockClass {
  const c = BY_ID[id];
  if (!c) throw new Error(`no lock class ${id}`);
  return c;
}

// ---- rw-semaphores ---------------------------------------------------------
/** Threads a reader mask can name: the readers' bits. */
export const RWSEM_READER_BITS = 16;
const RWSEM_READERS = (1 << RWSEM_READER_BITS) - 1;
const RWSEM_WRITER_SHIFT = RWSEM_READER_BITS;
const RWSEM_WRITER_BITS = 5;

export const RWSEM_WORD: WordType = {
  name: 'rw_semaphore',
  fields: [
    { name: 'readers', shift: 0, bits: RWSEM_READER_BITS },
    { name: 'writer', shift: RWSEM_WRITER_SHIFT, bits: RWSEM_WRITER_BITS, ref: { to: 'thread', bias: 1 } },
  ],
};

export const rwsemReaders = (w: number): number => w & RWSEM_READERS;
/** The writer, or -1. */
export const rwsemWriter = (w: number): number => ((w >>> RWSEM_WRITER_SHIFT) & ((1 << RWSEM_WRITER_BITS) - 1)) - 1;
export const rwsemWithReader = (w: number, t: number): number => w | (1 << t);
export const rwsemWithoutReader = (w: number, t: number): number => w & ~(1 << t);
export const rwsemWriterWord = (t: number): number => (t + 1) << RWSEM_WRITER_SHIFT;

/** Who holds it, as thread indices (a writer, or the readers). */
export function rwsemHolders(w: number): number[] {
  const writer = rwsemWriter(w);
  if (writer >= 0) return [writer];
  const out: number[] = [];
  for (let t = 0; t < RWSEM_READER_BITS; t++) if (w & (1 << t)) out.push(t);
  return out;
}

// ---- the PT lock -------------------------------------------------------------
export const PTL_WORD: WordType = { name: 'spinlock', ref: { to: 'thread', bias: 1 } };

// ---- the page lock -------------------------------------------------------------
/** PG_locked, and the holder's bits in page->flags (the kernel keeps no owner: the model does, for reports). */
export const PG_LOCKED = 1 << 3;
export const PAGE_LOCK_OWNER_SHIFT = 8;
const PAGE_LOCK_OWNER_BITS = 5;
const PAGE_LOCK_OWNER_MASK = ((1 << PAGE_LOCK_OWNER_BITS) - 1) << PAGE_LOCK_OWNER_SHIFT;
export const pageLockOwner = (flags: number): number => (flags & PG_LOCKED ? ((flags & PAGE_LOCK_OWNER_MASK) >>> PAGE_LOCK_OWNER_SHIFT) - 1 : -1);
export const pageLocked = (flags: number, t: number): number => (flags & ~PAGE_LOCK_OWNER_MASK) | PG_LOCKED | ((t + 1) << PAGE_LOCK_OWNER_SHIFT);
export const pageUnlocked = (flags: number): number => flags & ~(PG_LOCKED | PAGE_LOCK_OWNER_MASK);
export const PAGE_LOCK_OWNER: BitField = { name: 'lock_owner', shift: PAGE_LOCK_OWNER_SHIFT, bits: PAGE_LOCK_OWNER_BITS, ref: { to: 'thread', bias: 1 } };

// ---- wait keys -------------------------------------------------------------------
const KEY_CLASS_BITS = 4;
// A class id must fit a wait key's class bits (and 0 is no key).
for (const c of LOCK_CLASSES)
  if (c.id <= 0 || c.id >= 1 << KEY_CLASS_BITS) throw new Error(`lock class ${c.name}: id ${c.id} does not fit a wait key's ${KEY_CLASS_BITS} class bits`);
const KEY_OBJECT_SHIFT = KEY_CLASS_BITS;
const KEY_OBJECT_BITS = 8;
export const WAIT_WRITE = 1 << (KEY_OBJECT_SHIFT + KEY_OBJECT_BITS);
export const WAIT_ASLEEP = WAIT_WRITE << 1;
/** The key part of a wait word (class and object). */
export const WAIT_KEY_MASK = (1 << (KEY_OBJECT_SHIFT + KEY_OBJECT_BITS)) - 1;

export const waitKey = (cls: number, object: number): number => cls | (object << KEY_OBJECT_SHIFT);
export const keyClass = (key: number): number => key & ((1 << KEY_CLASS_BITS) - 1);
export const keyObject = (key: number): number => (key >>> KEY_OBJECT_SHIFT) & ((1 << KEY_OBJECT_BITS) - 1);

/** The thread status's bits below the wait (TS_UNBORN, TS_RUNNING, TS_EXITED). */
export const STATUS_BITS = 2;
export const STATUS_MASK = (1 << STATUS_BITS) - 1;
/** The wait of a thread status word, and the word with another wait. */
export const statusWait = (status: number): number => status >>> STATUS_BITS;
export const withWait = (status: number, wait: number): number => (status & STATUS_MASK) | (wait << STATUS_BITS);
/** WAIT_ASLEEP as it sits in the status word (the hot path tests it there). */
export const STATUS_ASLEEP = WAIT_ASLEEP << STATUS_BITS;

/**
 * A thread's status and its wait: the key it is registered on (a page
 * lock's key names a frame: the symmetry renames it), packed in one word.
 */
export const THREAD_STATUS_WORD: WordType = {
  name: 'status and wait',
  fields: [
    { name: 'status', shift: 0, bits: STATUS_BITS },
    { name: 'wait_class', shift: STATUS_BITS, bits: KEY_CLASS_BITS },
    {
      name: 'wait_pfn',
      shift: STATUS_BITS + KEY_OBJECT_SHIFT,
      bits: KEY_OBJECT_BITS,
      ref: { to: 'frame', bias: 0 },
      when: { mask: ((1 << KEY_CLASS_BITS) - 1) << STATUS_BITS, among: [LOCK_PAGE << STATUS_BITS, WAITQ_VAR << STATUS_BITS] },
    },
    { name: 'wait_mode', shift: STATUS_BITS + KEY_OBJECT_SHIFT + KEY_OBJECT_BITS, bits: 1 },
    { name: 'asleep', shift: STATUS_BITS + KEY_OBJECT_SHIFT + KEY_OBJECT_BITS + 1, bits: 1 },
  ],
};
