/**
 * Truncation and hole punching of a file, in the order the kernel does them
 * (docs/rules.md#truncate-and-punch; mm/shmem.c:shmem_setattr and shmem_fallocate, 5.17/5.18):
 *
 *   truncate: inode_lock; i_size_write; unmap_mapping_range(even_cows=1)
 *             (no page lock: the "fast pre-unmap"); shmem_truncate_range page
 *             by page under the page lock (unmap_mapping_folio, delete from
 *             the page cache); unmap_mapping_range(even_cows=1) again "to
 *             remove racily COWed private pages"; inode_unlock.
 *   punch:    inode_lock; shmem_falloc (faults into the hole wait);
 *             unmap_mapping_range(even_cows=0); shmem_truncate_range;
 *             clear shmem_falloc; inode_unlock. COWed private pages stay.
 *
 * unmap_mapping_range holds i_mmap_rwsem (for write up to 5.17, for read from
 * 5.18) across its walk and zaps one VMA per step (zap_pte_range holds that
 * mm's PT lock). A disk file is truncated the same way (truncate_pagecache).
 */
import { fallocWord } from '../objects.js';
import { BLOCKED, DONE, type Kernel, type ZapDetails, SLEEP } from '../kernel.js';
import { int, threadLocals } from '../thread-locals.js';
import { F_FLAGS, F_GHOST, F_SIZE, GHOST_STALE_MIGRATION, MM_LIVE, PG_ANON, TH_PAGE, VMA_PRESENT } from '../layout.js';
import type { ProgramBuilder, Run } from '../program.js';
import { PTE_MIGRATION, pteKind, pteTarget } from '../pte.js';
import { delete_from_page_cache } from '../kernel/filemap.js';
import { i_mmap_held_by, i_mmap_lock, i_mmap_unlock, inode_lock, inode_unlock, lock_page, pte_lock, shmem_falloc_wake, unlock_page } from '../kernel/locking.js';
import { get_page, put_page } from '../kernel/page_alloc.js';

/** The (mm, vma) pairs that may map file f, in i_mmap tree order. */
interface Mapping {
  mm: number;
  vma: number;
}

export interface UnmapRange {
  file: number;
  /** First page index. */
  start: number;
  /** End index (exclusive), or -1: to the end of the file. */
  end: number;
  evenCows: boolean;
  /** Check, when the pre-unmap returns, that no migration entry of the file's pages is left in range. */
  checkStale: boolean;
  who: string;
  /** A disk file (ext4 and the like: truncate_inode_pages_range), not shmem (shmem_undo_range): names the steps. */
  disk?: boolean;
}

/**
 * Truncation's locals: unmap_mapping_range's cursor (the next VMA of the
 * file's i_mmap tree; whether i_mmap_rwsem is held is the lock's own
 * business: its owner), and shmem_undo_range's next page index (from the
 * range's start).
 */
const TRUNCATE_LOCALS = threadLocals('truncate', { cursor: int('aux2'), index: int('aux') });

/** Addresses of mapping x that map a file index in [start, end). */
function addrsInRange(k: Kernel, x: Mapping, r: UnmapRange): number[] {
  const w = k.world;
  const out: number[] = [];
  for (let a = 0; a < k.addrs; a++) {
    if (w.vmaOfAddr[a] !== x.vma) continue;
    const index = k.fileIndex(a);
    if (index >= r.start && (r.end < 0 || index < r.end)) out.push(a);
  }
  return out;
}

function vmaMapped(k: Kernel, x: Mapping): boolean {
  return k.mmState(x.mm) === MM_LIVE && (k.s[k.L.vma(x.mm, x.vma)]! & VMA_PRESENT) !== 0;
}

/**
 * Adds unmap_mapping_range's steps: one per VMA that maps the file, holding
 * i_mmap_rwsem across them. `next` is the pc after the last one.
 */
export function buildUnmapMappingRange(b: ProgramBuilder, mappings: readonly Mapping[], r: UnmapRange, next: () => number): number {
  const STEP = b.reserve();
  const details: ZapDetails = { evenCows: r.evenCows, file: r.file, who: r.who };
  b.define(STEP, `unmap_mapping_range(even_cows=${r.evenCows ? 1 : 0})`, 'mm/memory.c:unmap_mapping_range -> unmap_mapping_range_tree -> zap_pte_range (5.7-6.2)', (k, t) => {
    if (!i_mmap_held_by(k, t, r.file)) {
      // i_mmap_lock_write (<= 5.17) / i_mmap_lock_read (5.18, 2c8659951654)
      if (!i_mmap_lock(k, t, r.file, k.fn.unmap_mapping_i_mmap_write())) return SLEEP;
    }
    let cursor = TRUNCATE_LOCALS.cursor.get(k, t);
    while (cursor < mappings.length && !vmaMapped(k, mappings[cursor]!)) cursor++;
    if (cursor < mappings.length) {
      const x = mappings[cursor]!;
      if (!pte_lock(k, t, x.mm)) return BLOCKED; // zap_pte_range: spin on the PT lock
      for (const a of addrsInRange(k, x, r)) k.fn.zap_pte_details(k, x.mm, a, details);
      cursor++;
    }
    while (cursor < mappings.length && !vmaMapped(k, mappings[cursor]!)) cursor++;
    if (cursor < mappings.length) {
      TRUNCATE_LOCALS.cursor.set(k, t, cursor);
      return STEP;
    }
    i_mmap_unlock(k, t, r.file);
    TRUNCATE_LOCALS.cursor.set(k, t, 0);
    if (r.checkStale) checkStale(k, mappings, r);
    return next();
  });
  return STEP;
}

/** Records (as a WARN would) a migration entry of the file's pages left in range after the pre-unmap. */
function checkStale(k: Kernel, mappings: readonly Mapping[], r: UnmapRange): void {
  for (const x of mappings) {
    if (!vmaMapped(k, x)) continue;
    for (const a of addrsInRange(k, x, r)) {
      const e = k.pte(x.mm, a);
      if (pteKind(e) === PTE_MIGRATION && !k.pageTest(pteTarget(e), PG_ANON)) {
        k.setFileWord(r.file, F_GHOST, k.fileWord(r.file, F_GHOST) | GHOST_STALE_MIGRATION);
        if (k.narrate) k.note(`${k.addrName(x.mm, a)}: a migration entry is still there when the unlocked pre-unmap returns`);
      }
    }
  }
}

/**
 * Adds shmem_truncate_range's steps over [start, end): find the next page in
 * the page cache (taking a reference), then lock it and truncate_inode_folio:
 * unmap_mapping_folio (zap_details, even_cows=0) and delete it from the page
 * cache. A page that left the file meanwhile (migrated) is retried.
 */
/**
 * find_get_entries: the next page of the range still in the page cache,
 * with a reference held (TH_PAGE), then `found`; past the range, `next`.
 */
function findGetEntries(r: UnmapRange, found: number, next: () => number): Run {
  return (k, t) => {
    const end = r.end < 0 ? k.L.shape.filePages : r.end;
    for (let index = TRUNCATE_LOCALS.index.get(k, t) + r.start; index < end; index++) {
      const pfn = k.cachePage(r.file, index);
      if (!pfn) continue;
      get_page(k, pfn);
      k.setThreadWord(t, TH_PAGE, pfn);
      TRUNCATE_LOCALS.index.set(k, t, index - r.start);
      return found;
    }
    TRUNCATE_LOCALS.index.set(k, t, 0);
    return next();
  };
}

export function buildTruncateRange(b: ProgramBuilder, mappings: readonly Mapping[], r: UnmapRange, next: () => number): number {
  if (b.ctx.mutants.has('undo-range-i-mmap-first')) return buildTruncateRangeIMmapFirst(b, mappings, r, next);
  const LOOKUP = b.reserve();
  const LOCK = b.reserve();
  const CLEANUP = b.reserve();
  const details: ZapDetails = { evenCows: false, file: r.file, who: 'unmap_mapping_folio' };
  const fn = r.disk ? 'truncate_inode_pages_range' : 'shmem_undo_range';
  const where = r.disk
    ? 'mm/truncate.c:truncate_inode_pages_range -> truncate_inode_folio (5.7-6.2)'
    : 'mm/shmem.c:shmem_undo_range -> mm/truncate.c:truncate_inode_folio (5.7-6.2)';
  b.define(LOOKUP, `${fn}: find_get_entries`, where, findGetEntries(r, LOCK, next));
  b.define(LOCK, `${fn}: lock, truncate_inode_folio`, where, (k, t) => {
    const pfn = k.threadWord(t, TH_PAGE);
    if (!lock_page(k, t, pfn)) return SLEEP; // folio_lock
    const index = TRUNCATE_LOCALS.index.get(k, t) + r.start;
    if (k.pageFile(pfn) !== r.file) {
      if (k.narrate) k.note(`pfn ${pfn} left the page cache meanwhile (migrated): retry index ${index}`);
      unlock_page(k, pfn);
      k.setThreadWord(t, TH_PAGE, 0);
      put_page(k, pfn);
      return LOOKUP;
    }
    // truncate_cleanup_folio: a mapped folio is unmapped first, under i_mmap_rwsem (which may sleep, the page locked).
    if (k.pageMapcount(pfn) > 0) return CLEANUP;
    return deleteLocked(k, t, pfn, index);
  });
  b.define(CLEANUP, 'truncate_cleanup_folio: unmap_mapping_folio', 'mm/truncate.c:truncate_cleanup_folio -> unmap_mapping_folio (5.7-6.2)', (k, t) => {
    const pfn = k.threadWord(t, TH_PAGE);
    const index = TRUNCATE_LOCALS.index.get(k, t) + r.start;
    if (!i_mmap_lock(k, t, r.file, k.fn.unmap_mapping_i_mmap_write())) return SLEEP;
    for (const x of mappings) {
      if (!vmaMapped(k, x)) continue;
      if (!pte_lock(k, t, x.mm)) return BLOCKED;
      for (let a = 0; a < k.addrs; a++) {
        if (k.world.vmaOfAddr[a] === x.vma && k.fileIndex(a) === index) k.fn.zap_pte_details(k, x.mm, a, details);
      }
    }
    i_mmap_unlock(k, t, r.file);
    return deleteLocked(k, t, pfn, index);
  });
  /** truncate_inode_folio after the unmap: out of the page cache, unlocked, our reference dropped. */
  const deleteLocked = (k: Kernel, t: number, pfn: number, index: number): number => {
    delete_from_page_cache(k, pfn);
    unlock_page(k, pfn);
    k.setThreadWord(t, TH_PAGE, 0);
    put_page(k, pfn);
    TRUNCATE_LOCALS.index.set(k, t, index + 1 - r.start);
    if (k.narrate) k.note(`index ${index}: pfn ${pfn} unmapped (unmap_mapping_folio) and deleted from the page cache`);
    return LOOKUP;
  };
  return LOOKUP;
}

/**
 * Mutant undo-range-i-mmap-first: shmem_undo_range as if it took
 * i_mmap_rwsem (as unmap_mapping_range does: for write before 5.18) before
 * folio_lock and held it while it sleeps for the page. mm/rmap.c documents
 * the opposite order (folio_lock, then i_mmap_rwsem), which migration's
 * rmap walk follows: lockdep (and `lock-order`) reports the inversion, and
 * when both are writers of one side it deadlocks.
 */
function buildTruncateRangeIMmapFirst(b: ProgramBuilder, mappings: readonly Mapping[], r: UnmapRange, next: () => number): number {
  const LOOKUP = b.reserve();
  const I_MMAP = b.reserve();
  const LOCK = b.reserve();
  const details: ZapDetails = { evenCows: false, file: r.file, who: 'unmap_mapping_folio' };
  const where = 'mm/shmem.c:shmem_undo_range (MUTANT: i_mmap_rwsem before folio_lock)';
  b.define(LOOKUP, 'shmem_undo_range: find_get_entries', where, findGetEntries(r, I_MMAP, next));
  b.define(I_MMAP, 'shmem_undo_range: i_mmap_lock (MUTANT)', where, (k, t) => {
    if (!i_mmap_lock(k, t, r.file, k.fn.unmap_mapping_i_mmap_write())) return SLEEP;
    return LOCK;
  });
  b.define(LOCK, 'shmem_undo_range: folio_lock under i_mmap_rwsem (MUTANT)', where, (k, t) => {
    const pfn = k.threadWord(t, TH_PAGE);
    if (!lock_page(k, t, pfn)) return SLEEP; // asleep, holding i_mmap_rwsem
    const index = TRUNCATE_LOCALS.index.get(k, t) + r.start;
    if (k.pageFile(pfn) === r.file) {
      for (const x of mappings) {
        if (!vmaMapped(k, x)) continue;
        if (!pte_lock(k, t, x.mm)) return BLOCKED;
        for (let a = 0; a < k.addrs; a++) {
          if (k.world.vmaOfAddr[a] === x.vma && k.fileIndex(a) === index) k.fn.zap_pte_details(k, x.mm, a, details);
        }
      }
      delete_from_page_cache(k, pfn);
      TRUNCATE_LOCALS.index.set(k, t, index + 1 - r.start);
    }
    unlock_page(k, pfn);
    i_mmap_unlock(k, t, r.file);
    k.setThreadWord(t, TH_PAGE, 0);
    put_page(k, pfn);
    return LOOKUP;
  });
  return LOOKUP;
}

/** Every (mm, vma) of the world that maps file f. */
export function mappingsOf(k: { world: Kernel['world']; L: Kernel['L'] }, f: number): Mapping[] {
  const out: Mapping[] = [];
  for (let m = 0; m < k.L.shape.mms; m++) {
    k.world.vmaFile.forEach((vf, v) => {
      if (vf === f) out.push({ mm: m, vma: v });
    });
  }
  return out;
}

export function buildTruncate(b: ProgramBuilder, world: Kernel['world'], f: number, size: number): void {
  const mappings = mappingsOf({ world, L: world.layout }, f);
  const START = b.reserve();
  const END = b.reserve();
  const disk = !world.fileShmem[f];
  const range = (who: string, checkStale: boolean): UnmapRange => ({ file: f, start: size, end: -1, evenCows: true, checkStale, who, disk });
  const SECOND = buildUnmapMappingRange(b, mappings, range('truncate: second unmap', false), () => END);
  const TRUNC = buildTruncateRange(b, mappings, range(disk ? 'truncate_inode_pages_range' : 'shmem_truncate_range', false), () => SECOND);
  const FIRST = buildUnmapMappingRange(b, mappings, range('truncate: pre-unmap', true), () => TRUNC);
  const [start, startWhere] = disk
    ? ['ext4_setattr: truncate_setsize', 'fs/ext4/inode.c:ext4_setattr -> mm/truncate.c:truncate_setsize, truncate_pagecache (5.7-6.2)']
    : ['shmem_setattr: i_size_write', 'mm/shmem.c:shmem_setattr, mm/truncate.c:truncate_pagecache (5.7-6.2)'];
  b.define(START, start, startWhere, (k, t) => {
    if (!inode_lock(k, t, f)) return SLEEP;
    const old = k.fileSize(f);
    k.setFileWord(f, F_SIZE, size);
    if (k.narrate) k.note(`i_size ${old} -> ${size} pages`);
    if (size >= old) {
      inode_unlock(k, f);
      return DONE;
    }
    TRUNCATE_LOCALS.index.set(k, t, 0);
    TRUNCATE_LOCALS.cursor.set(k, t, 0);
    return FIRST;
  });
  b.define(END, 'inode_unlock', 'fs/open.c:do_truncate (5.7-6.2)', (k) => {
    inode_unlock(k, f);
    return DONE;
  });
}

export function buildPunch(b: ProgramBuilder, world: Kernel['world'], f: number, start: number, len: number): void {
  const mappings = mappingsOf({ world, L: world.layout }, f);
  const START = b.reserve();
  const END = b.reserve();
  const range = (who: string, checkStale: boolean): UnmapRange => ({ file: f, start, end: start + len, evenCows: false, checkStale, who });
  const TRUNC = buildTruncateRange(b, mappings, range('shmem_truncate_range', false), () => END);
  const PRE = buildUnmapMappingRange(b, mappings, range('punch: pre-unmap', true), () => TRUNC);
  b.define(START, 'shmem_fallocate(PUNCH_HOLE)', 'mm/shmem.c:shmem_fallocate (5.7-6.2)', (k, t) => {
    if (!inode_lock(k, t, f)) return SLEEP;
    k.setFileWord(f, F_FLAGS, k.fileWord(f, F_FLAGS) | fallocWord(start, start + len));
    TRUNCATE_LOCALS.cursor.set(k, t, 0);
    if (k.narrate) k.note(`inode_lock; shmem_falloc over pages [${start}, ${start + len}): faults there wait`);
    return PRE;
  });
  b.define(END, 'shmem_fallocate: wake_up_all', 'mm/shmem.c:shmem_fallocate (5.7-6.2)', (k) => {
    k.setFileWord(f, F_FLAGS, 0);
    shmem_falloc_wake(k, f);
    inode_unlock(k, f);
    if (k.narrate) k.note('shmem_falloc cleared, waiters woken; inode_unlock');
    return DONE;
  });
}
