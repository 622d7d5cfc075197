/**
 * THP COW for seed 000 (model/kernel/huge_memory.ts, model/ops/fault.ts
 * do_huge_pmd_wp_page, model/ops/fork.ts copy_huge_pmd, model/ops/gup.ts
 * follow_trans_huge_pmd): cow.c's "vmsplice() + unmap in child" and the
 * fork of a pinned THP, on both sides of each fix; PMD-mapped THPs of one
 * page and of two, PTE-mapped THPs and a single PTE of a THP (cow.c's
 * THP_RUN_PMD, THP_RUN_PTE, THP_RUN_SINGLE_PTE).
 */
import { describe, expect, test } from 'vitest';
import { findScenario } from '../../model/scenarios.js';
import type { ScenarioSpec } from '../../model/scenario.js';
import { validateScenario } from '../../model/scenario.js';
import { pmdHugeRo } from '../../model/objects.js';
import { TH_PC } from '../../model/layout.js';
import { check, mmcheckHere, model, testVerdictRows, type VerdictRow } from '../helpers.js';

describe('vmsplice + unmap in the child on a THP (CVE-2020-29374 on a huge pmd)', () => {
  // The parent's reuse test: mapcount up to 5.17 (with 5.8's forced COW break in GUP, and its 5.7.3 backport, in between),
  // page_count from 5.18 (3bff7e3f1f16), PageAnonExclusive from 5.19.
  const table: [string, 'holds' | 'violated', number][] = [
    ['4.4', 'violated', 21],
    ['5.7', 'violated', 21],
    ['5.7.14', 'holds', 62],
    ['5.8', 'holds', 156],
    ['5.9', 'violated', 21],
    ['5.17', 'violated', 21],
    ['5.18', 'holds', 71],
    ['6.2', 'holds', 71],
  ];
  for (const [kernel, verdict, states] of table) {
    test(`${kernel}: ${verdict}`, () => {
      const { result } = check('thp-cow-fork-gup', kernel, ['cow-isolation']);
      expect(result.verdict).toBe(verdict);
      expect(result.states).toBe(states);
      if (verdict === 'holds') expect(result.witnesses?.filter((w) => !w.found).map((w) => w.name)).toEqual([]);
    });
  }
  test('5.17: the parent reuses the THP its child still references; 5.18 splits it and copies the page', async () => {
    const bad = await mmcheckHere(['check', '-s', 'thp-cow-fork-gup', '-k', '5.17', '-i', 'cow-isolation']);
    expect(bad.code).toBe(1);
    expect(bad.out).toMatch(/copy_huge_pmd: THP pfn 1 shared with the child, both huge pmds R\/O/);
    expect(bad.out).toMatch(/do_huge_pmd_wp_page: mapped once \(page_trans_huge_mapcount \/ reuse_swap_page\): reuse the THP pfn 1/);
    const good = await mmcheckHere(['check', '-s', 'thp-cow-fork-gup', '-k', '5.18', '-i', 'cow-isolation', '--coverage']);
    expect(good.code).toBe(0);
    // The split and the PTE-level copy did happen on some path: the HOLDS is not vacuous.
    expect(good.out).toMatch(/^\s+[1-9]\d*\s+P: write P:0 := 2 · do_huge_pmd_wp_page$/m);
    expect(good.out).toMatch(/^\s+[1-9]\d*\s+P: write P:0 := 2 · wp_page_copy: install$/m);
  });
  test('up to 5.7 a THP that cannot be reused is copied whole; from 5.8 it is split (3917c80280c9)', async () => {
    const old = await mmcheckHere(['check', '-s', 'thp-fork-pinned', '-k', '5.7', '-i', 'pin-coherent']);
    expect(old.out).toMatch(/copy it whole into new THP pfn \d \(copy_user_huge_page\)/);
    const split = await mmcheckHere(['check', '-s', 'thp-fork-pinned', '-k', '5.8', '-i', 'pin-coherent']);
    expect(split.out).toMatch(/__split_huge_pmd: the huge pmd of pfn 1 becomes PTE table \d mapping it R\/O/);
  });
  test('anon-exclusive holds on the THP and through its split on 5.19 and 6.2', () => {
    for (const kernel of ['5.19', '6.2']) expect(check('thp-cow-fork-gup', kernel, ['anon-exclusive']).result.verdict).toBe('holds');
  });
});

describe('fork of a pinned THP', () => {
  const table: [string, 'holds' | 'violated', number][] = [
    ['4.4', 'violated', 19],
    ['5.8', 'violated', 70],
    ['5.9', 'holds', 42],
    ['6.2', 'holds', 42],
  ];
  for (const [kernel, verdict, states] of table)
    test(`${kernel}: pin-coherent ${verdict}`, () => {
      const { result } = check('thp-fork-pinned', kernel, ['pin-coherent', 'refcount-sane', 'rss-consistent']);
      expect(result.verdict).toBe(verdict);
      expect(result.states).toBe(states);
    });
  test('5.9: copy_huge_pmd splits the maybe-pinned THP and the child gets its own page', async () => {
    const r = await mmcheckHere(['check', '-s', 'thp-fork-pinned', '-k', '5.9', '-i', 'pin-coherent', '--mutant', 'fork-shares-pinned']);
    // The mutant shares the page the split left at the PTE level: the same violation as before 5.9.
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/copy_huge_pmd: THP pfn 1 may be pinned: split the pmd, -EAGAIN: copy_pte_range/);
  });
});

describe('what THP COW is modelled for', () => {
  const base = (): ScenarioSpec => structuredClone(findScenario('thp-cow-fork-gup')!);
  test('4.4 splits a THP of several pages whole (split_huge_page): a scenario that splits one is refused there', async () => {
    const r = await mmcheckHere(['check', '-s', 'thp-pte-cow-fork-gup', '-k', '4.4', '-i', 'cow-isolation']);
    expect(r.code).toBe(2);
    expect(r.err.trim()).toBe(
      'mmcheck: scenario thp-pte-cow-fork-gup: 4.4 splits a THP of several pages whole (split_huge_page_pmd -> split_huge_page): not modelled; PTE-mapped THPs come with the THP refcounting rework (4.5; read in 4.6.2)',
    );
  });
  test('mprotect-subpage is for a page of a THP VMA; khugepaged does not meet PTE-mapped THPs', () => {
    const s = structuredClone(findScenario('thp-pte-cow-fork-gup')!);
    s.vmas[0]!.thp = false;
    expect(() => validateScenario(s)).toThrow('threads[0].menu[1].addr: mprotect-subpage is for a page of a THP VMA ("thp": true)');
    const c = structuredClone(findScenario('thp-pte-cow-fork-gup')!);
    c.threads[1]!.menu.push({ op: 'collapse', mm: 'P' });
    expect(() => validateScenario(c)).toThrow(/collapse with fork, GUP, mprotect-subpage or a partial MADV_DONTNEED/);
  });
  test('GUP-fast on a huge pmd (gup_huge_pmd) gives the same verdicts as the slow path', () => {
    for (const [kernel, verdict] of [
      ['5.7', 'violated'],
      ['5.8', 'holds'],
      ['5.17', 'violated'],
      ['6.2', 'holds'],
    ] as const) {
      const s = base();
      s.threads[1]!.menu[0] = { op: 'gup', ref: 'pipe', addr: 0, pin: false, fast: true };
      const { result } = check(s, kernel, ['cow-isolation', 'refcount-sane']);
      expect(`${kernel} ${result.verdict}`).toBe(`${kernel} ${verdict}`);
    }
  });
});

describe('the huge zero page (a THP read fault with use_zero_page, the default)', () => {
  const spec = (): ScenarioSpec => ({
    name: 'thp-read',
    title: 'read then write a THP range',
    description: 'a read fault maps the huge zero page; the write then allocates (<= 5.7) or splits (5.8+)',
    processes: ['P'],
    vmas: [{ name: 'thp', start: 0, pages: 2, prot: 'rw', thp: true }],
    pages: [],
    frames: 3,
    swapSlots: 0,
    pageTables: { tables: 2 },
    threads: [
      {
        name: 'T',
        mm: 'P',
        mode: 'program',
        menu: [{ op: 'read', addr: 0 }, { op: 'write', addr: 1, value: 5 }, { op: 'exit' }],
      },
    ],
    witnesses: [
      {
        name: 'the huge zero page mapped',
        when: [
          { at: 'P:0', pte: 'huge' },
          { at: 'P:0', pte: 'zeropage' },
        ],
      },
      {
        name: 'split: P:0 the zero page, P:1 its own copy',
        when: [
          { at: 'P:0', pte: 'zeropage' },
          { at: 'P:1', pte: 'writable' },
        ],
      },
    ],
  });
  test('rss and refcounts stay right on both sides of 5.8; the write splits into zero-page PTEs from 5.8 and allocates a THP before', () => {
    for (const kernel of ['5.7', '5.8', '6.2']) {
      const { result } = check(spec(), kernel, ['rss-consistent', 'refcount-sane', 'pmd-stable', 'no-retract-under-read']);
      expect(`${kernel} ${result.verdict}`).toBe(`${kernel} holds`);
      const found = Object.fromEntries((result.witnesses ?? []).map((w) => [w.name, w.found]));
      expect(found['the huge zero page mapped']).toBe(true);
      // Up to 5.7 the write replaces the huge zero pmd by a THP: the range is never PTE-mapped.
      expect(found['split: P:0 the zero page, P:1 its own copy']).toBe(kernel !== '5.7');
    }
  });
});

describe('mprotect of a THP VMA: change_huge_pmd', () => {
  const spec = (): ScenarioSpec => ({
    name: 'thp-mprotect',
    title: 'mprotect R/O then R/W of an exclusive THP',
    description: 'change_huge_pmd write-protects; 6.2 makes an exclusive anon THP writable again at once (can_change_pmd_writable)',
    processes: ['P'],
    vmas: [{ name: 'thp', start: 0, pages: 1, prot: 'rw', thp: true }],
    pages: [],
    frames: 2,
    swapSlots: 0,
    pageTables: { tables: 1 },
    threads: [
      {
        name: 'P',
        mm: 'P',
        mode: 'program',
        menu: [
          { op: 'write', addr: 0, value: 1 },
          { op: 'mprotect', vma: 'thp', prot: 'r' },
          { op: 'mprotect', vma: 'thp', prot: 'rw' },
        ],
      },
    ],
  });
  /** Runs the thread's operations in order and returns the pmd after each. */
  function pmds(kernel: string): number[] {
    const m = model(spec(), { kernel });
    const s = new Int32Array(m.stateWords);
    m.initialStates((x) => s.set(x));
    let k = m.view(s);
    const out: number[] = [];
    for (let e = 0; e < 3; e++) {
      let a = m.actions.findIndex((x) => x.thread === 0 && x.entry === e && x.step === 0);
      for (let i = 0; i < 20 && a >= 0; i++) {
        const r = m.narrate(k.s, a);
        if (!r) throw new Error('blocked');
        k = m.view(r.next);
        const pc = k.threadWord(0, TH_PC);
        if (pc === 0) break;
        a = m.actions.findIndex((x) => x.thread === 0 && x.entry === (pc >>> 8) - 1 && x.step === (pc & 0xff));
      }
      out.push(k.s[k.L.pmd(0)]!);
    }
    return out;
  }
  test('R/O on every release; back to writable at once on 6.2 only (an exclusive anon THP), else at the next write fault', () => {
    for (const kernel of ['5.19', '6.1', '6.2']) {
      const [afterWrite, afterRo, afterRw] = pmds(kernel);
      expect(pmdHugeRo(afterWrite!)).toBe(false);
      expect(pmdHugeRo(afterRo!)).toBe(true);
      expect(`${kernel} ${pmdHugeRo(afterRw!) ? 'R/O' : 'writable'}`).toBe(`${kernel} ${kernel === '6.2' ? 'writable' : 'R/O'}`);
    }
  });
  test('a shared THP is never made writable by mprotect: COW after fork holds with the mprotect optimization (cow.c)', () => {
    const s = spec();
    s.processes.push('C');
    s.pageTables = { tables: 3 };
    s.frames = 3;
    s.threads[0]!.menu.splice(1, 0, { op: 'fork', child: 'C' });
    s.threads[0]!.menu.push({ op: 'write', addr: 0, value: 2 });
    s.threads.push({ name: 'C', mm: 'C', menu: [{ op: 'read', addr: 0 }, { op: 'exit' }] });
    for (const kernel of ['5.19', '6.1', '6.2']) expect(`${kernel} ${check(s, kernel, ['cow-isolation', 'refcount-sane']).result.verdict}`).toBe(`${kernel} holds`);
  });
});

describe('THPs of several pages: PTE-mapped (cow.c THP_RUN_PTE) and a single PTE (THP_RUN_SINGLE_PTE)', () => {
  // Up to 5.7 reuse_swap_page -> page_trans_huge_map_swapcount (mapcounts only); 5.8 (and 5.7.3's backport) breaks COW in
  // the child's GUP; from 5.9 do_wp_page tests page_count, which is the head's: one per PTE mapping the folio, plus the pipe.
  const rows: VerdictRow[] = [
    ['thp-pte-cow-fork-gup', 'cow-isolation', '4.6', 'violated', 22],
    ['thp-pte-cow-fork-gup', 'cow-isolation', '5.7', 'violated', 22],
    ['thp-pte-cow-fork-gup', 'cow-isolation', '5.7.14', 'holds', 100],
    ['thp-pte-cow-fork-gup', 'cow-isolation', '5.8', 'holds', 100],
    ['thp-pte-cow-fork-gup', 'cow-isolation', '5.9', 'holds', 54],
    ['thp-pte-cow-fork-gup', 'cow-isolation', '6.2', 'holds', 54],
    ['thp-single-pte-cow-fork-gup', 'cow-isolation', '5.7', 'violated', 22],
    ['thp-single-pte-cow-fork-gup', 'cow-isolation', '5.8', 'holds', 110],
    ['thp-single-pte-cow-fork-gup', 'cow-isolation', '5.9', 'holds', 60],
    ['thp-pte-vmsplice-before-fork', 'cow-isolation', '5.8', 'violated', 18],
    ['thp-pte-vmsplice-before-fork', 'cow-isolation', '5.9', 'holds', 47],
    ['thp-cow-fork-gup-subpage', 'cow-isolation', '5.9', 'violated', 21],
    ['thp-cow-fork-gup-subpage', 'cow-isolation', '5.18', 'holds', 65],
    ['thp-pte-fork-pinned', 'pin-coherent', '5.8', 'violated', 48],
    ['thp-pte-fork-pinned', 'pin-coherent', '5.9', 'holds', 43],
    ['thp-partial-shared-cow-fork-gup', 'cow-isolation', '5.7', 'violated', 84],
    ['thp-partial-shared-cow-fork-gup', 'cow-isolation', '5.8', 'holds', 428],
    ['thp-partial-shared-cow-fork-gup', 'cow-isolation', '6.2', 'holds', 220],
  ];
  testVerdictRows(rows, ['refcount-sane', 'rss-consistent']);
  test('5.7 reuses a subpage by page_trans_huge_map_swapcount; 5.9 copies it by page_count(head)', async () => {
    const bad = await mmcheckHere(['check', '-s', 'thp-pte-cow-fork-gup', '-k', '5.7', '-i', 'cow-isolation']);
    expect(bad.code).toBe(1);
    expect(bad.out).toMatch(/__split_huge_pmd: the huge pmd of pfn 1 becomes PTE table 0 mapping its 2 pages \(pfn 1, 2\), page_ref_add\(1\)/);
    expect(bad.out).toMatch(/reuse_swap_page: page_trans_huge_map_swapcount \(the largest subpage mapcount \+ the entire mapcount\) = 1 <= 1/);
    const good = await mmcheckHere(['check', '-s', 'thp-pte-cow-fork-gup', '-k', '5.9', '-i', 'cow-isolation', '--coverage']);
    expect(good.code).toBe(0);
    expect(good.out).toMatch(/^\s+[1-9]\d*\s+P: write P:0 := 2 · wp_page_copy: install$/m);
  });
  test('a split that takes no head reference per PTE (mutant split-no-ref-add) breaks refcount-sane', () => {
    const { result } = check('thp-pte-cow-fork-gup', '6.2', ['refcount-sane'], { mutants: ['split-no-ref-add'] });
    expect(result.verdict).toBe('violated');
    expect(result.violations[0]!.message).toMatch(/^pfn 1: _refcount is 1 but 2 references exist/);
  });
  test('anon-exclusive holds through the split and the PTE-level copies on 5.19 and 6.2', () => {
    for (const kernel of ['5.19', '6.2'])
      for (const scenario of ['thp-pte-cow-fork-gup', 'thp-single-pte-cow-fork-gup', 'thp-pte-fork-pinned'])
        expect(`${scenario} ${check(scenario, kernel, ['anon-exclusive']).result.verdict}`).toBe(`${scenario} holds`);
  });
});
