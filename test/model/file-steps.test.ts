/**
 * Single kernel steps of the file-memory model on hand-built states: file
 * faults, truncation and hole punching (zap_details per version), migration,
 * GUP-fast and MADV_PAGEOUT.
 */
import { describe, expect, test } from 'vitest';
import { GUP_ANON, GUP_LONGTERM, GUP_PIN, GUP_PIN_COUNTING_BIAS, gupRecord } from '../../model/gup.js';
import type { Kernel } from '../../model/kernel.js';
import { F_FALLOC, F_FLAGS, F_SIZE, MM_ANONPAGES, MM_FILEPAGES, MM_SHMEMPAGES, MM_SWAPENTS, PG_LOCKED, TH_ORIG, TH_PAGE, TH_PC } from '../../model/layout.js';
import { FAULT_FLAG_WRITE } from '../../model/ops/fault.js';
import { isWritable, MIGRATION_WRITE, PTE_MIGRATION, pteKind, pteMigration, ptePresent, pteSwap, pteTarget } from '../../model/pte.js';
import type { ScenarioSpec } from '../../model/scenario.js';
import type { MMModel } from '../../model/world.js';
import { model } from '../helpers.js';
import { add_to_page_cache, delete_from_page_cache } from '../../model/kernel/filemap.js';
import { i_mmap_lock_read } from '../../model/kernel/locking.js';
import { alloc_page, get_page, put_page } from '../../model/kernel/page_alloc.js';
import { anon_vma_prepare, page_dup_rmap } from '../../model/kernel/rmap.js';
import { get_swap_page } from '../../model/kernel/swapfile.js';

// Addresses: 0-1 memfd shared, 2-3 memfd private, 4 disk file private, 5 anon.
const LAB: ScenarioSpec = {
  name: 'file-lab',
  title: 'unit-test world with files',
  description: 'hand-built states for single steps',
  processes: ['P'],
  files: [
    { name: 'memfd', kind: 'shmem', size: 2, cached: [{ index: 0, data: 7 }] },
    { name: 'tmp', kind: 'disk', size: 1, disk: [5] },
  ],
  vmas: [
    { name: 'shared', start: 0, pages: 2, prot: 'rw', file: 'memfd', shared: true },
    { name: 'private', start: 2, pages: 2, prot: 'rw', file: 'memfd' },
    { name: 'disk', start: 4, pages: 1, prot: 'rw', file: 'tmp' },
    { name: 'anon', start: 5, pages: 1, prot: 'rw' },
  ],
  pages: [],
  frames: 5,
  swapSlots: 1,
  threads: [
    {
      name: 'P',
      mm: 'P',
      menu: [
        { op: 'read', addr: 0 },
        { op: 'read', addr: 2 },
        { op: 'write', addr: 3, value: 9 },
        { op: 'read', addr: 4 },
        { op: 'write', addr: 2, value: 8 },
        { op: 'gup', ref: 'fast', addr: 2, pin: true, longterm: true, fast: true },
        { op: 'pageout', addr: 3 },
        { op: 'punch', file: 'memfd', start: 0, len: 2 },
        { op: 'truncate', file: 'memfd', size: 0 },
      ],
    },
    { name: 'kcompactd', mm: null, menu: [{ op: 'migrate', file: 'memfd', index: 0 }] },
  ],
};

const P = 0;

function lab(kernel: string, mutants: string[] = []) {
  const m = model(LAB, { kernel, mutants });
  const s = new Int32Array(m.stateWords);
  m.initialStates((x) => s.set(x));
  return { m, k: m.view(s) };
}

/** Runs thread `thread`'s operation `op` step by step until it ends or blocks; returns the notes. */
function runOp(m: MMModel, k: Kernel, thread: number, op: string): { k: Kernel; notes: string[]; blocked: boolean } {
  let a = m.actions.findIndex((x) => x.thread === thread && x.op.includes(op) && x.step === 0);
  if (a < 0) throw new Error(`no operation ${op}`);
  const notes: string[] = [];
  for (let i = 0; i < 50; i++) {
    const r = m.narrate(k.s, a);
    if (!r) return { k, notes, blocked: true };
    notes.push(...r.notes);
    if (r.outcome === 'sleeps') return { k: m.view(r.next), notes, blocked: true };
    k = m.view(r.next);
    const pc = k.threadWord(thread, TH_PC);
    if (pc === 0) return { k, notes, blocked: false };
    const e = (pc >>> 8) - 1;
    a = m.actions.findIndex((x) => x.thread === thread && x.entry === e && x.step === (pc & 0xff));
  }
  throw new Error('operation did not end');
}

/** Runs one step (by label) of an operation already in progress or starting. */
function step(m: MMModel, k: Kernel, thread: number, op: string, label: string) {
  const a = m.actions.findIndex((x) => x.thread === thread && x.op.includes(op) && x.label === label);
  const r = m.narrate(k.s, a);
  return r ? { k: m.view(r.next), notes: r.notes.join('\n'), outcome: r.outcome } : null;
}

describe('file faults (mm/memory.c do_read_fault, do_cow_fault, do_shared_fault)', () => {
  test('read of a private memfd page maps the page-cache page R/O: MM_SHMEMPAGES+1', () => {
    const { m, k } = lab('6.2');
    const r = runOp(m, k, 0, 'read P:2');
    const e = r.k.pte(P, 2);
    expect(isWritable(e)).toBe(false);
    expect(pteTarget(e)).toBe(r.k.cachePage(0, 0));
    expect(r.k.rss(P, MM_SHMEMPAGES)).toBe(1);
    expect(r.k.pageTest(pteTarget(e), PG_LOCKED)).toBe(false);
  });

  test('write of a private memfd hole: shmem allocates the page, do_cow_fault maps a writable anon copy', () => {
    const { m, k } = lab('6.2');
    const r = runOp(m, k, 0, 'write P:3');
    const e = r.k.pte(P, 3);
    expect(isWritable(e)).toBe(true);
    expect(r.k.pageTest(pteTarget(e), 1 /* PG_ANON */)).toBe(true);
    expect(r.k.pageWord(pteTarget(e), 3)).toBe(9);
    expect(r.k.cachePage(0, 1)).not.toBe(0); // the file page was created in the page cache
    expect(r.k.rss(P, MM_ANONPAGES)).toBe(1);
    expect(r.k.rss(P, MM_SHMEMPAGES)).toBe(0);
    expect(r.notes.join('\n')).toMatch(/do_cow_fault: copy/);
  });

  test('a shared shmem read fault maps the page writable (no write notification); a disk file is read from disk', () => {
    const { m, k } = lab('6.2');
    expect(isWritable(runOp(m, k, 0, 'read P:0').k.pte(P, 0))).toBe(true);
    const d = runOp(m, lab('6.2').k, 0, 'read P:4');
    expect(d.k.pageWord(pteTarget(d.k.pte(P, 4)), 3)).toBe(5);
    expect(d.k.rss(P, MM_FILEPAGES)).toBe(1);
  });

  test('a fault beyond i_size is SIGBUS', () => {
    const { m, k } = lab('6.2');
    k.setFileWord(0, F_SIZE, 1);
    const r = runOp(m, k, 0, 'write P:3');
    expect(r.notes.join('\n')).toMatch(/beyond i_size.*SIGBUS/);
    expect(r.k.pte(P, 3)).toBe(0);
  });

  test('shmem_fault waits while a hole punch (shmem_falloc) covers the page', () => {
    const { m, k } = lab('6.2');
    k.setFileWord(0, F_FLAGS, F_FALLOC | (0 << 8) | (2 << 16));
    const r = runOp(m, k, 0, 'read P:0');
    expect(r.blocked).toBe(true);
    expect(r.k.threadBusy(0)).toBe(true);
    expect(r.notes.join('\n')).toMatch(/sleeps on memfd shmem_falloc_waitq/);
    expect(r.k.readable.threads.P).toMatch(/asleep on memfd shmem_falloc_waitq/);
  });

  test('do_wp_page on a R/O private page-cache page copies: MM_SHMEMPAGES-1, MM_ANONPAGES+1', () => {
    const { m, k } = lab('6.2');
    const r1 = runOp(m, k, 0, 'read P:2');
    const r2 = runOp(m, r1.k, 0, 'write P:2');
    expect(r2.k.rss(P, MM_SHMEMPAGES)).toBe(0);
    expect(r2.k.rss(P, MM_ANONPAGES)).toBe(1);
    expect(r2.k.pageWord(pteTarget(r2.k.pte(P, 2)), 3)).toBe(8);
    expect(r2.k.pageWord(r2.k.cachePage(0, 0), 3)).toBe(7); // the file keeps its data
  });
});

describe('migration (mm/migrate.c, mm/rmap.c:try_to_migrate_one)', () => {
  function mapped() {
    const { m, k } = lab('6.2');
    return { m, k: runOp(m, k, 0, 'read P:0').k };
  }
  test('try_to_migrate_one turns a writable shared PTE into a write migration entry; rss unchanged', () => {
    const { m, k } = mapped();
    const old = k.cachePage(0, 0);
    let r = step(m, k, 1, 'migrate', 'isolate_lru_page')!;
    r = step(m, r.k, 1, 'migrate', '__unmap_and_move: lock_page')!;
    r = step(m, r.k, 1, 'migrate', 'try_to_migrate_one')!;
    expect(r.k.pte(P, 0)).toBe(pteMigration(old, MIGRATION_WRITE));
    expect(r.k.pageMapcount(old)).toBe(0);
    expect(r.k.rss(P, MM_SHMEMPAGES)).toBe(1);
  });
  test('a faulting thread waits on the migration entry while the page is locked', () => {
    const { m, k } = mapped();
    let r = step(m, k, 1, 'migrate', 'isolate_lru_page')!;
    r = step(m, r.k, 1, 'migrate', '__unmap_and_move: lock_page')!;
    r = step(m, r.k, 1, 'migrate', 'try_to_migrate_one')!;
    const mm = m.actions.find((x) => x.thread === 0 && x.op.includes('read P:0') && x.label === 'migration_entry_wait')!;
    r.k.setThreadWord(0, TH_PC, ((mm.entry + 1) << 8) | mm.step);
    r.k.setThreadWord(0, TH_ORIG, r.k.pte(P, 0));
    const w = m.narrate(r.k.s, m.actions.indexOf(mm))!;
    expect(w.outcome).toBe('sleeps');
    expect(w.notes.join('\n')).toMatch(/sleeps on pfn \d+ PG_locked/);
  });
  test('success moves the page-cache slot and maps the new page; the old page is freed', () => {
    const { m, k } = mapped();
    const old = k.cachePage(0, 0);
    const r = runOp(m, k, 1, 'migrate');
    const now = r.k.cachePage(0, 0);
    expect(now).not.toBe(old);
    expect(pteTarget(r.k.pte(P, 0))).toBe(now);
    expect(r.k.pageWord(now, 3)).toBe(7);
    expect(r.k.isFree(old)).toBe(true);
  });
  test('an extra reference (a pin) makes folio_migrate_mapping fail: the old page is mapped back', () => {
    const { m, k } = mapped();
    const old = k.cachePage(0, 0);
    get_page(k, old, GUP_PIN_COUNTING_BIAS);
    k.setGup(0, gupRecord(GUP_PIN, GUP_LONGTERM, P, 0, old));
    const r = runOp(m, k, 1, 'migrate');
    expect(r.notes.join('\n')).toMatch(/-EAGAIN/);
    expect(pteTarget(r.k.pte(P, 0))).toBe(old);
    expect(r.k.cachePage(0, 0)).toBe(old);
  });
});

describe('unmap_mapping_range / zap_pte_range with zap_details (5.17 vs 5.18)', () => {
  /** P:3 is a swapped-out private COW page of memfd page 1. */
  function swappedCow(kernel: string) {
    const { m, k } = lab(kernel);
    const slot = get_swap_page(k);
    k.setSwapMap(slot, 1);
    k.setPte(P, 3, pteSwap(slot, false));
    k.addRss(P, MM_SWAPENTS, 1);
    anon_vma_prepare(k, P, 3);
    return { m, k, slot };
  }
  test('5.17: truncation leaves the swap entry ("if (details) continue")', () => {
    const { m, k } = swappedCow('5.17');
    const r = runOp(m, k, 0, 'ftruncate');
    expect(pteKind(r.k.pte(P, 3))).toBe(2);
    expect(r.notes.join('\n')).toMatch(/we leave swap entries/);
  });
  test('5.18: truncation zaps it: MM_SWAPENTS-1, the slot is freed', () => {
    const { m, k, slot } = swappedCow('5.18');
    const r = runOp(m, k, 0, 'ftruncate');
    expect(r.k.pte(P, 3)).toBe(0);
    expect(r.k.rss(P, MM_SWAPENTS)).toBe(0);
    expect(r.k.swapMap(slot)).toBe(0);
  });
  test('5.18: a punch keeps the swapped COW page (even_cows=0) and removes the file pages', () => {
    const { m, k } = swappedCow('5.18');
    const r0 = runOp(m, k, 0, 'read P:0');
    const r = runOp(m, r0.k, 0, 'fallocate');
    expect(pteKind(r.k.pte(P, 3))).toBe(2);
    expect(r.k.pte(P, 0)).toBe(0);
    expect(r.k.cachePage(0, 0)).toBe(0);
    expect(r.k.rss(P, MM_SHMEMPAGES)).toBe(0);
  });
  test('5.18: a punch zaps a migration entry of a shmem page with its rss', () => {
    const { m, k } = lab('5.18');
    const pfn = k.cachePage(0, 0);
    k.setPte(P, 0, pteMigration(pfn, MIGRATION_WRITE));
    k.addRss(P, MM_SHMEMPAGES, 1);
    k.setPageFlag(pfn, PG_LOCKED); // held by the migrating thread
    const r0 = step(m, k, 0, 'fallocate', 'shmem_fallocate(PUNCH_HOLE)')!;
    const r = step(m, r0.k, 0, 'fallocate', 'unmap_mapping_range(even_cows=0)')!;
    expect(r.k.pte(P, 0)).toBe(0);
    expect(r.k.rss(P, MM_SHMEMPAGES)).toBe(0);
  });
  test('5.17 takes i_mmap_rwsem for write (waits for a reader); 5.18 for read', () => {
    for (const [kernel, blocked] of [
      ['5.17', true],
      ['5.18', false],
    ] as const) {
      const { m, k } = lab(kernel);
      i_mmap_lock_read(k, 1, 0); // another thread's rmap walk holds it for read
      const r0 = step(m, k, 0, 'fallocate', 'shmem_fallocate(PUNCH_HOLE)')!;
      expect(step(m, r0.k, 0, 'fallocate', 'unmap_mapping_range(even_cows=0)')!.outcome === 'sleeps').toBe(blocked);
    }
  });
  test('shmem_undo_range retries an index whose page was migrated away meanwhile', () => {
    const { m, k } = lab('6.2');
    const old = k.cachePage(0, 0);
    let r = step(m, k, 0, 'fallocate', 'shmem_fallocate(PUNCH_HOLE)')!;
    // One step per VMA that maps the file: the shared one, then the private one.
    r = step(m, r.k, 0, 'fallocate', 'unmap_mapping_range(even_cows=0)')!;
    r = step(m, r.k, 0, 'fallocate', 'unmap_mapping_range(even_cows=0)')!;
    r = step(m, r.k, 0, 'fallocate', 'shmem_undo_range: find_get_entries')!;
    expect(r.k.threadWord(0, TH_PAGE)).toBe(old);
    // Migration replaces the page in the page cache (as folio_migrate_mapping does).
    const np = alloc_page(r.k);
    delete_from_page_cache(r.k, old);
    add_to_page_cache(r.k, 0, 0, np);
    put_page(r.k, np);
    r = step(m, r.k, 0, 'fallocate', 'shmem_undo_range: lock, truncate_inode_folio')!;
    expect(r.notes).toMatch(/left the page cache meanwhile.*retry index 0/);
    r = step(m, r.k, 0, 'fallocate', 'shmem_undo_range: find_get_entries')!;
    r = step(m, r.k, 0, 'fallocate', 'shmem_undo_range: lock, truncate_inode_folio')!;
    expect(r.k.cachePage(0, 0)).toBe(0);
  });
});

describe('GUP-fast (mm/gup.c gup_pte_range) and MADV_PAGEOUT', () => {
  test('6.2: a R/O long-term GUP-fast pin of a page-cache page is backed off (gup_must_unshare, no vma)', () => {
    const { m, k } = lab('6.2');
    const r0 = runOp(m, k, 0, 'read P:2');
    let r = step(m, r0.k, 0, 'pin_user_pages_fast', 'gup_pte_range: read PTE')!;
    r = step(m, r.k, 0, 'pin_user_pages_fast', 'try_grab_folio')!;
    r = step(m, r.k, 0, 'pin_user_pages_fast', 'gup_pte_range: recheck')!;
    expect(r.notes).toMatch(/gup_must_unshare: unpin: fall back to the slow path/);
    expect(r.k.gup(0)).toBe(0);
  });
  test('6.1: the same pin is kept (gup_must_unshare only looks at anon pages)', () => {
    const { m, k } = lab('6.1');
    const r = runOp(m, runOp(m, k, 0, 'read P:2').k, 0, 'pin_user_pages_fast');
    expect(r.k.gup(0) & 3).toBe(GUP_PIN);
    expect(r.notes.join('\n')).toMatch(/GUP-fast done/);
  });
  test('the zeropage (pte_special) always goes the slow way', () => {
    const { m, k } = lab('6.2');
    const a = m.actions.findIndex((x) => x.thread === 0 && x.op.includes('pin_user_pages_fast') && x.step === 0);
    k.setPte(P, 2, ptePresent(0, false, false) | (1 << 13));
    expect(m.narrate(k.s, a)!.notes.join('\n')).toMatch(/pte_special.*slow path/);
  });
  test('MADV_PAGEOUT leaves a page mapped twice alone', () => {
    const { m, k } = lab('6.2');
    const r = runOp(m, k, 0, 'write P:3');
    const pfn = pteTarget(r.k.pte(P, 3));
    page_dup_rmap(r.k, pfn); // a second mapping somewhere
    expect(
      m.narrate(
        r.k.s,
        m.actions.findIndex((x) => x.op.includes('MADV_PAGEOUT') && x.step === 0),
      ),
    ).toBeNull();
    void GUP_ANON;
    void FAULT_FLAG_WRITE;
    void PTE_MIGRATION;
  });
});
