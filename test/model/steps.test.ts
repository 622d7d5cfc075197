/**
 * Single kernel steps on hand-built states: each test sets up the objects a
 * step looks at, runs that one step, and checks what the kernel function
 * does on that version.
 */
import { describe, expect, test } from 'vitest';
import { GUP_GET, GUP_PIN, GUP_PIN_COUNTING_BIAS, GUP_ANON, GUP_WRITE, gupRecord } from '../../model/gup.js';
import type { Kernel } from '../../model/kernel.js';
import { MM_ANONPAGES, MM_FLAGS, MM_SWAPENTS, MMF_HAS_PINNED, PG_ANON_EXCLUSIVE, PG_SWAPCACHE, SWAP_HAS_CACHE, TH_ORIG, TH_PC } from '../../model/layout.js';
import { FAULT_FLAG_UNSHARE, FAULT_FLAG_WRITE, FAULT_LOCALS } from '../../model/ops/fault.js';
import { isWritable, PTE_DIRTY, PTE_SWAP, PTE_SWP_EXCLUSIVE, pteKind, ptePresent, pteSwap, pteTarget } from '../../model/pte.js';
import type { ScenarioSpec } from '../../model/scenario.js';
import type { MMModel } from '../../model/world.js';
import { model } from '../helpers.js';
import { mmap_read_lock } from '../../model/kernel/locking.js';
import { get_page, put_page } from '../../model/kernel/page_alloc.js';
import { page_remove_rmap } from '../../model/kernel/rmap.js';
import { add_to_swap_cache, get_swap_page } from '../../model/kernel/swapfile.js';

/** One process P (and a child C), one page at address 0, a thread per process with every operation. */
const LAB: ScenarioSpec = {
  name: 'lab',
  title: 'unit-test world',
  description: 'hand-built states for single steps',
  processes: ['P', 'C'],
  vmas: [{ name: 'heap', start: 0, pages: 1, prot: 'rw' }],
  pages: [{ addr: 0, data: 1 }],
  frames: 3,
  swapSlots: 1,
  threads: [
    {
      name: 'P',
      mm: 'P',
      menu: [
        { op: 'write', addr: 0, value: 2 },
        { op: 'read', addr: 0 },
        { op: 'fork', child: 'C' },
        { op: 'gup', ref: 'pin-ro', addr: 0, pin: true },
        { op: 'gup', ref: 'get', addr: 0, pin: false },
        { op: 'mprotect', vma: 'heap', prot: 'rw' },
        { op: 'madv-dontneed', addr: 0 },
        { op: 'exit' },
      ],
    },
    { name: 'C', mm: 'C', menu: [{ op: 'read', addr: 0 }] },
    { name: 'kswapd', mm: null, menu: [{ op: 'reclaim', mm: 'P', addr: 0 }] },
  ],
};

const P = 0;
const C = 1;

function lab(kernel: string, mutants: string[] = []) {
  const m = model(LAB, { kernel, mutants });
  const s = new Int32Array(m.stateWords);
  m.initialStates((x) => s.set(x));
  return { m, k: m.view(s) };
}

/** Puts thread `thread` at step `label` of its operation `op`, with locals. */
function at(m: MMModel, k: Kernel, thread: number, op: string, label: string, orig: number, aux: number): number {
  const a = m.actions.findIndex((x) => x.thread === thread && x.op.includes(op) && x.label === label);
  if (a < 0) throw new Error(`no step ${op} / ${label}`);
  const x = m.actions[a]!;
  k.setThreadWord(thread, TH_PC, ((x.entry + 1) << 8) | x.step);
  k.setThreadWord(thread, TH_ORIG, orig);
  FAULT_LOCALS.flags.set(k, thread, aux);
  return a;
}

function start(m: MMModel, thread: number, op: string): number {
  const a = m.actions.findIndex((x) => x.thread === thread && x.op.includes(op) && x.step === 0);
  if (a < 0) throw new Error(`no operation ${op}`);
  return a;
}

function run(m: MMModel, k: Kernel, action: number) {
  const r = m.narrate(k.s, action);
  if (!r) throw new Error(`${m.actionName(action)} is not enabled`);
  return { k: m.view(r.next), notes: r.notes.join('\n') };
}

/** The write fault at do_wp_page on P:0 (mmap_lock held for read). */
function writeFault(m: MMModel, k: Kernel, flags = FAULT_FLAG_WRITE) {
  mmap_read_lock(k, 0, P);
  const pte = k.pte(P, 0) & ~(1 << 11);
  k.setPte(P, 0, pte);
  return run(m, k, at(m, k, 0, 'write', 'handle_pte_fault', pte, flags));
}

describe('mm/memory.c:do_wp_page', () => {
  test('5.7: reuse_swap_page ignores a GUP reference (mapcount 1): reuse', () => {
    const { m, k } = lab('5.7');
    get_page(k, 1); // a FOLL_GET held elsewhere
    k.setGup(1, gupRecord(GUP_GET, 0, C, 0, 1));
    const r = writeFault(m, k);
    expect(isWritable(r.k.pte(P, 0))).toBe(true);
    expect(pteTarget(r.k.pte(P, 0))).toBe(1);
    expect(r.notes).toMatch(/reuse_swap_page/);
  });

  test('5.9: page_count 2 (a GUP reference) means copy', () => {
    const { m, k } = lab('5.9');
    get_page(k, 1);
    k.setGup(1, gupRecord(GUP_GET, 0, C, 0, 1));
    const r = writeFault(m, k);
    expect(r.notes).toMatch(/page_count 2 != 1: copy/);
    expect(r.k.threadWord(0, 3 /* TH_PAGE */)).toBe(1); // holds the old page across wp_page_copy
  });

  test('5.19: a PageAnonExclusive page is reused even when pinned', () => {
    const { m, k } = lab('5.19');
    get_page(k, 1, GUP_PIN_COUNTING_BIAS);
    k.setGup(0, gupRecord(GUP_PIN, GUP_WRITE | GUP_ANON, P, 0, 1));
    expect(k.pageTest(1, PG_ANON_EXCLUSIVE)).toBe(true);
    const r = writeFault(m, k);
    expect(pteTarget(r.k.pte(P, 0))).toBe(1);
    expect(isWritable(r.k.pte(P, 0))).toBe(true);
    expect(r.notes).toMatch(/PageAnonExclusive: wp_page_reuse/);
  });

  test('5.18: a swapcache page whose slot is unused is freed from the cache and reused', () => {
    const { m, k } = lab('5.18');
    const slot = get_swap_page(k);
    add_to_swap_cache(k, 1, slot);
    k.setSwapMap(slot, SWAP_HAS_CACHE); // no swap entry uses the slot
    const r = writeFault(m, k);
    expect(r.k.pageTest(1, PG_SWAPCACHE)).toBe(false);
    expect(r.k.swapMap(slot)).toBe(0);
    expect(isWritable(r.k.pte(P, 0))).toBe(true);
  });

  test('5.19: FAULT_FLAG_UNSHARE on an exclusive page leaves the PTE R/O', () => {
    const { m, k } = lab('5.19');
    const r = writeFault(m, k, FAULT_FLAG_UNSHARE);
    expect(isWritable(r.k.pte(P, 0))).toBe(false);
    expect(r.notes).toMatch(/unshare is a no-op/);
  });

  test('wp_page_copy: a PTE changed meanwhile frees the copy and drops both references', () => {
    const { m, k } = lab('6.2');
    mmap_read_lock(k, 0, P);
    const orig = k.pte(P, 0) & ~(1 << 11);
    get_page(k, 1);
    k.setThreadWord(0, 3, 1); // TH_PAGE: the old page
    k.setThreadWord(0, 4, 2); // TH_NEWPAGE: the copy
    k.s[m.layout.page(2)] = 1;
    k.setPte(P, 0, 0); // zapped meanwhile
    page_remove_rmap(k, 1);
    put_page(k, 1);
    const r = run(m, k, at(m, k, 0, 'write', 'wp_page_copy: install', orig, FAULT_FLAG_WRITE));
    expect(r.notes).toMatch(/!pte_same/);
    expect(r.k.isFree(2)).toBe(true);
    expect(r.k.isFree(1)).toBe(true);
  });
});

describe('mm/memory.c:copy_present_pte (fork)', () => {
  test('5.19: an exclusive pinned page with MMF_HAS_PINNED: the child gets a copy', () => {
    const { m, k } = lab('5.19');
    get_page(k, 1, GUP_PIN_COUNTING_BIAS);
    k.setGup(0, gupRecord(GUP_PIN, GUP_ANON, P, 0, 1));
    k.setMmWord(P, MM_FLAGS, MMF_HAS_PINNED);
    const r = run(m, k, start(m, 0, 'fork'));
    expect(isWritable(r.k.pte(P, 0))).toBe(true);
    expect(pteTarget(r.k.pte(C, 0))).not.toBe(1);
    expect(r.k.pageTest(pteTarget(r.k.pte(C, 0)), PG_ANON_EXCLUSIVE)).toBe(true);
    expect(r.k.rss(C, MM_ANONPAGES)).toBe(1);
  });

  test('5.19: an unpinned exclusive page loses PageAnonExclusive and both PTEs go R/O', () => {
    const { m, k } = lab('5.19');
    const r = run(m, k, start(m, 0, 'fork'));
    expect(r.k.pageTest(1, PG_ANON_EXCLUSIVE)).toBe(false);
    expect(isWritable(r.k.pte(P, 0))).toBe(false);
    expect(pteTarget(r.k.pte(C, 0))).toBe(1);
    expect(r.k.pageMapcount(1)).toBe(2);
  });

  test('5.8: a pinned page is shared (no early COW before 5.9)', () => {
    const { m, k } = lab('5.8');
    get_page(k, 1, GUP_PIN_COUNTING_BIAS);
    k.setGup(0, gupRecord(GUP_PIN, GUP_ANON, P, 0, 1));
    const r = run(m, k, start(m, 0, 'fork'));
    expect(pteTarget(r.k.pte(C, 0))).toBe(1);
  });

  test('5.19: copy_nonpresent_pte clears the parent swp exclusive bit', () => {
    const { m, k } = lab('5.19');
    k.setPte(P, 0, 0);
    page_remove_rmap(k, 1);
    put_page(k, 1);
    k.addRss(P, MM_ANONPAGES, -1);
    const slot = get_swap_page(k);
    k.setSwapMap(slot, 1);
    k.setPte(P, 0, pteSwap(slot, true));
    k.addRss(P, MM_SWAPENTS, 1);
    const r = run(m, k, start(m, 0, 'fork'));
    expect(r.k.pte(P, 0) & PTE_SWP_EXCLUSIVE).toBe(0);
    expect(r.k.pte(C, 0)).toBe(r.k.pte(P, 0));
    expect(r.k.swapCount(slot)).toBe(2);
    expect(r.k.rss(C, MM_SWAPENTS)).toBe(1);
  });
});

describe('mm/rmap.c:try_to_unmap_one (reclaim)', () => {
  /** The page is already in the swap cache (the vmscan pin check only guards add_to_swap), then pinned. */
  function reclaimPinned(kernel: string) {
    const { m, k } = lab(kernel);
    add_to_swap_cache(k, 1, get_swap_page(k));
    get_page(k, 1, GUP_PIN_COUNTING_BIAS);
    k.setGup(0, gupRecord(GUP_PIN, GUP_ANON, P, 0, 1));
    const r1 = run(m, k, start(m, 2, 'reclaim'));
    return run(
      m,
      r1.k,
      m.actions.findIndex((x) => x.thread === 2 && x.label === 'try_to_unmap_one'),
    );
  }
  test('5.19: a maybe-pinned exclusive page is not unmapped (page_try_share_anon_rmap fails)', () => {
    const r = reclaimPinned('5.19');
    expect(r.notes).toMatch(/may be pinned: restore the PTE, fail/);
    expect(pteTarget(r.k.pte(P, 0))).toBe(1);
    expect(r.k.threadBusy(2)).toBe(false);
  });
  test('5.10 (no vmscan check yet): the pinned page is swapped out', () => {
    const r = reclaimPinned('5.10');
    expect(pteKind(r.k.pte(P, 0))).toBe(PTE_SWAP);
    expect(r.k.rss(P, MM_SWAPENTS)).toBe(1);
  });
  test('5.11: shrink_page_list keeps a maybe-pinned page out of the swap cache', () => {
    const { m, k } = lab('5.11');
    get_page(k, 1, GUP_PIN_COUNTING_BIAS);
    expect(m.narrate(k.s, start(m, 2, 'reclaim'))).toBeNull();
  });
  test('5.19: an exclusive page gets a swp exclusive entry', () => {
    const { m, k } = lab('5.19');
    const r1 = run(m, k, start(m, 2, 'reclaim'));
    const r = run(
      m,
      r1.k,
      m.actions.findIndex((x) => x.thread === 2 && x.label === 'try_to_unmap_one'),
    );
    expect(r.k.pte(P, 0) & PTE_SWP_EXCLUSIVE).not.toBe(0);
    expect(r.k.pageTest(1, PG_ANON_EXCLUSIVE)).toBe(false);
  });
});

describe('mm/memory.c:do_swap_page', () => {
  /** P:0 is a swap entry whose page (pfn 1) is still in the swap cache. */
  function swapped(kernel: string, exclusiveBit: boolean) {
    const { m, k } = lab(kernel);
    const slot = get_swap_page(k);
    add_to_swap_cache(k, 1, slot);
    k.setSwapMap(slot, SWAP_HAS_CACHE | 1);
    k.setPte(P, 0, pteSwap(slot, exclusiveBit));
    page_remove_rmap(k, 1);
    put_page(k, 1);
    k.clearPageFlag(1, PG_ANON_EXCLUSIVE);
    k.addRss(P, MM_ANONPAGES, -1);
    k.addRss(P, MM_SWAPENTS, 1);
    return { m, k, slot };
  }
  test('5.19: a swp exclusive entry maps the page exclusive, R/O on a read fault', () => {
    const { m, k } = swapped('5.19', true);
    mmap_read_lock(k, 0, P);
    get_page(k, 1);
    k.setThreadWord(0, 3, 1);
    k.setPageFlag(1, 1 << 3); // locked by do_swap_page
    const r = run(m, k, at(m, k, 0, 'read', 'do_swap_page: map', k.pte(P, 0), 0));
    expect(r.k.pageTest(1, PG_ANON_EXCLUSIVE)).toBe(true);
    expect(isWritable(r.k.pte(P, 0))).toBe(false);
    expect(r.k.rss(P, MM_ANONPAGES)).toBe(1);
    expect(r.k.rss(P, MM_SWAPENTS)).toBe(0);
  });
  test('5.17: a write fault reuses via reuse_swap_page (mapcount 0 + swapcount 1) and drops the cache', () => {
    const { m, k, slot } = swapped('5.17', false);
    mmap_read_lock(k, 0, P);
    get_page(k, 1);
    k.setThreadWord(0, 3, 1);
    k.setPageFlag(1, 1 << 3);
    const r = run(m, k, at(m, k, 0, 'write', 'do_swap_page: map', k.pte(P, 0), FAULT_FLAG_WRITE));
    expect(isWritable(r.k.pte(P, 0))).toBe(true);
    expect(r.k.pageTest(1, PG_SWAPCACHE)).toBe(false);
    expect(r.k.swapMap(slot)).toBe(0);
    expect(r.k.pte(P, 0) & PTE_DIRTY).not.toBe(0);
  });
});

describe('mm/gup.c:follow_page_pte', () => {
  function sharedAfterFork(kernel: string) {
    const { m, k } = lab(kernel);
    return { m, k: run(m, k, start(m, 0, 'fork')).k };
  }
  test('5.19: a R/O pin of a shared anon page triggers FAULT_FLAG_UNSHARE', () => {
    const { m, k } = sharedAfterFork('5.19');
    const r = run(m, k, start(m, 0, 'pin-ro'));
    expect(r.notes).toMatch(/gup_must_unshare: -EMLINK: faultin_page\(FAULT_FLAG_UNSHARE\)/);
  });
  test('5.18: the same R/O pin takes the shared page as it is', () => {
    const { m, k } = sharedAfterFork('5.18');
    const r = run(m, k, start(m, 0, 'pin-ro'));
    expect(r.k.pageRef(1)).toBe(2 + GUP_PIN_COUNTING_BIAS);
  });
  test('5.8: FOLL_GET on a COW mapping breaks COW first (should_force_cow_break)', () => {
    const { m, k } = sharedAfterFork('5.8');
    const r = run(m, k, start(m, 0, 'get'));
    expect(r.notes).toMatch(/COW break forced/);
  });
});

describe('mm/mprotect.c:change_pte_range', () => {
  function protRw(kernel: string, dirty: boolean) {
    const { m, k } = lab(kernel);
    k.setPte(P, 0, ptePresent(1, false, dirty));
    k.s[m.layout.vma(P, 0)] = 1; // PROT_READ
    return run(m, k, start(m, 0, 'mprotect')).k.pte(P, 0);
  }
  test('5.19: mprotect(PROT_WRITE) leaves a private anon PTE R/O', () => expect(isWritable(protRw('5.19', true))).toBe(false));
  test('6.0: a dirty exclusive anon PTE becomes writable', () => expect(isWritable(protRw('6.0', true))).toBe(true));
  test('6.1: a clean one stays R/O', () => expect(isWritable(protRw('6.1', false))).toBe(false));
  test('6.2: a clean exclusive anon PTE becomes writable too', () => expect(isWritable(protRw('6.2', false))).toBe(true));
});

describe('mm/memory.c:zap_pte_range and kernel/fork.c:check_mm', () => {
  test('MADV_DONTNEED of an anon page: MM_ANONPAGES-1 and the page is freed', () => {
    const { m, k } = lab('6.2');
    const r = run(m, k, start(m, 0, 'madvise'));
    expect(r.k.pte(P, 0)).toBe(0);
    expect(r.k.rss(P, MM_ANONPAGES)).toBe(0);
    expect(r.k.isFree(1)).toBe(true);
  });
  test('exit: check_mm reports the counter the mutant zap forgot', () => {
    const { m, k } = lab('6.2', ['zap-no-rss']);
    const r1 = run(m, k, start(m, 0, 'exit'));
    const r2 = run(
      m,
      r1.k,
      m.actions.findIndex((x) => x.thread === 0 && x.label === 'check_mm'),
    );
    expect(r2.notes).toBe('BUG: Bad rss-counter state mm:P type:MM_ANONPAGES val:1');
  });
});
