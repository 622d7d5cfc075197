/**
 * Seed 004: the PMD level and the fault path's page-table allocation by
 * release (model/kernel/pgalloc.ts, model/ops/fault.ts), legacy memcg
 * reclaim waiting on PG_writeback (model/kernel/vmscan.ts), ext4-style
 * writeback (model/ops/writeback.ts), and the memcg/writeback ABBA deadlock
 * of 63f3655f9501 on both sides of each fix.
 */
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { findScenario } from '../../model/scenarios.js';
import { loadScenarioFile } from '../../model/scenario-file.js';
import type { ScenarioSpec } from '../../model/scenario.js';
import { ScenarioError, validateScenario } from '../../model/scenario.js';
import { check, mmcheckHere } from '../helpers.js';

const ABBA = 'memcg-writeback-abba';

describe('memcg/writeback ABBA (63f3655f9501): the verdict by release', () => {
  // [kernel, verdict, states]: the table is allocated before ->fault (<= 4.7; not charged to the memcg before 4.8),
  // with the page locked (4.8-4.20; 5.12-5.13), preallocated (5.0-5.11 and the stable backports), from the prealloc (5.14+).
  const table: [string, 'holds' | 'deadlock', number][] = [
    ['4.4', 'holds', 47],
    ['4.7', 'holds', 47],
    ['4.8', 'deadlock', 51],
    ['4.9', 'deadlock', 51],
    ['4.9.151', 'deadlock', 51],
    ['4.9.152', 'holds', 50],
    ['4.14.94', 'holds', 50],
    ['4.19.16', 'holds', 50],
    ['4.20', 'deadlock', 51],
    ['4.20.3', 'holds', 50],
    ['5.0', 'holds', 50],
    ['5.11', 'holds', 50],
    ['5.12', 'deadlock', 65],
    ['5.13', 'deadlock', 65],
    ['5.14', 'holds', 50],
    ['6.2', 'holds', 50],
  ];
  for (const [kernel, verdict, states] of table) {
    test(`${kernel}: ${verdict}`, () => {
      const { result } = check(ABBA, kernel, ['rss-consistent', 'refcount-sane']);
      expect(result.verdict).toBe(verdict);
      expect(result.states).toBe(states);
      if (verdict === 'holds') {
        // Not vacuous: the read and the writeback both complete on some path.
        expect(result.witnesses?.filter((w) => !w.found).map((w) => w.name)).toEqual([]);
      }
    });
  }

  test('the report names the cycle: the fault waits for the writeback it blocks', async () => {
    const { result, model } = check(ABBA, '5.12', ['rss-consistent']);
    expect(result.violations[0]!.message).toBe('wait-for cycle: P sleeps on data PG_writeback, which only W can end; W sleeps on pfn 2 PG_locked, held by P');
    // The trace ends where the cycle closes: P sleeps in finish_fault's allocation with the page locked, W on that page's lock.
    const path = result.violations[0]!.path;
    const labels = path.map((x) => model.actions[x.action]!.label);
    expect(labels).toContain('finish_fault: pte_alloc (page locked)');
    expect(['mpage_prepare_extent_to_map: lock_page (page 1)', 'finish_fault: pte_alloc (page locked)']).toContain(labels.at(-1));
    const json = JSON.parse((await mmcheckHere(['check', '-s', ABBA, '-i', 'rss-consistent', '-k', '4.20', '-j', '1', '--json'])).out);
    expect(json.verdict).toBe('deadlock');
    expect(json.waitFor.cycle).toEqual(['P', 'W']);
    expect(json.waitFor.waits).toEqual([
      { thread: 'P', how: 'sleeps', on: 'data PG_writeback', heldBy: ['W'], waker: true },
      { thread: 'W', how: 'sleeps', on: 'pfn 2 PG_locked', heldBy: ['P'] },
    ]);
  });

  test('without memcg pressure nothing waits: the same fault order holds on 4.20 (the allocation is still made with the page locked)', () => {
    const sc: ScenarioSpec = structuredClone(findScenario(ABBA)!);
    delete sc.reclaim;
    expect(check(sc, '4.20', ['rss-consistent']).result.verdict).toBe('holds');
    expect(check(sc, '4.20', ['no-alloc-under-page-lock']).result.verdict).toBe('violated');
  });
});

describe('fault-around: where an unused prealloc_pte is freed (4.8-4.9 vs 4.10-4.20; MM-SEMANTICS 6.6)', () => {
  const FA = 'memcg-writeback-fault-around';
  for (const [kernel, verdict] of [
    ['4.7', 'holds'],
    ['4.8', 'violated'],
    ['4.9', 'violated'],
    ['4.10', 'holds'],
    ['4.20', 'holds'],
    ['5.0', 'holds'],
    ['5.12', 'violated'],
    ['5.14', 'holds'],
  ] as const)
    test(`${kernel}: no-alloc-under-page-lock ${verdict}`, () => {
      const { result, model } = check(FA, kernel, ['no-alloc-under-page-lock']);
      expect(result.verdict).toBe(verdict);
      if (verdict === 'violated' && kernel < '5') {
        // ->map_pages met B locked by W, mapped nothing, and the prealloc was freed right there.
        const labels = result.violations[0]!.path.map((x) => model.actions[x.action]!.label);
        expect(labels).toContain('do_fault_around: ->map_pages');
        expect(labels.at(-1)).toBe('pte_alloc_one_map: pte_alloc (page locked)');
      }
    });
  test('no deadlock with fault-around on any release: once P holds B, W is past it', () => {
    for (const kernel of ['4.8', '4.20', '5.12']) expect(check(FA, kernel, ['rss-consistent']).result.verdict).toBe('holds');
  });
});

describe("seed 004's own patch on 4.6: Hugh's huge tmpfs 09/31 and its revert", () => {
  test('mainline 4.6 allocates before ->fault; 09/31 allocates with the page locked; the memcg deadlock needs the 4.8 charge too', async () => {
    expect(check(ABBA, '4.6', ['no-alloc-under-page-lock', 'rss-consistent']).result.verdict).toBe('holds');
    expect(check(ABBA, '4.6', ['no-alloc-under-page-lock'], { patch: ['avoid-premature-exposure'] }).result.verdict).toBe('violated');
    expect(check(ABBA, '4.6', ['rss-consistent'], { patch: ['avoid-premature-exposure'] }).result.verdict).toBe('holds');
    expect(check(ABBA, '4.6', ['rss-consistent'], { patch: ['avoid-premature-exposure', 'pgtable-memcg-charge'] }).result.verdict).toBe('deadlock');
    // Never merged: no release has it.
    expect((await mmcheckHere(['check', '-s', ABBA, '-k', '6.2', '-q', '--json'])).out).not.toMatch(/avoid-premature-exposure/);
  });
});

describe('OOM vs the page lock (seed 004: "an OOM deadlock Google saw")', () => {
  test('4.4-4.5: the victim exits; with 09/31 it waits for the page the allocating fault holds', () => {
    for (const kernel of ['4.4', '4.5']) {
      const ok = check('oom-page-lock', kernel, ['rss-consistent', 'refcount-sane']);
      expect(ok.result.verdict).toBe('holds');
      expect(ok.result.witnesses?.every((w) => w.found)).toBe(true);
      const bad = check('oom-page-lock', kernel, ['rss-consistent'], { patch: ['avoid-premature-exposure'] });
      expect(bad.result.verdict).toBe('deadlock');
      expect(bad.result.violations[0]!.message).toBe('wait-for cycle: P spins on V OOM victim exit, which only V can end; V sleeps on pfn 1 PG_locked, held by P');
    }
  });
  test('4.6 has the OOM reaper: with it the 09/31 allocation under the page lock no longer deadlocks', async () => {
    for (const patch of [[], ['avoid-premature-exposure']]) {
      const { result } = check('oom-page-lock-reaper', '4.6', ['rss-consistent', 'refcount-sane'], { patch });
      expect(result.verdict).toBe('holds');
      expect(result.witnesses?.filter((w) => !w.found).map((w) => w.name)).toEqual([]);
    }
    const r = await mmcheckHere(['check', '-s', 'oom-page-lock-reaper', '-k', '4.6', '--patch', 'avoid-premature-exposure', '-i', 'rss-consistent', '--coverage']);
    expect(r.out).toMatch(/^\s+[1-9]\d*\s+R: oom_reaper · oom_reaper: __oom_reap_task$/m);
  });
  test('4.6 needs the reaper thread, 4.4-4.5 refuse it, 4.7 on is refused; a thread without exit is refused', async () => {
    const r = await mmcheckHere(['check', '-s', 'oom-page-lock', '-k', '4.6', '-q']);
    expect(r.code).toBe(2);
    expect(r.err.trim()).toBe('mmcheck: scenario oom-page-lock: on 4.6 the OOM killer has the OOM reaper (4.6, aac453635549): give a kernel thread the op "oom-reaper"');
    expect((await mmcheckHere(['check', '-s', 'oom-page-lock-reaper', '-k', '4.5', '-q'])).err.trim()).toBe(
      'mmcheck: scenario oom-page-lock-reaper: 4.5 has no OOM reaper (it came in 4.6, aac453635549): drop the "oom-reaper" thread',
    );
    expect((await mmcheckHere(['check', '-s', 'oom-page-lock-reaper', '-k', '4.7', '-q'])).err.trim()).toMatch(/"reclaim": "oom" is modelled on 4\.4-4\.6 only, not 4\.7/);
    const s: ScenarioSpec = structuredClone(findScenario('oom-page-lock')!);
    s.threads[1]!.menu.pop();
    expect(() => validateScenario(s)).toThrow('threads[1].menu: with "reclaim": "oom" every thread of a process needs an exit entry');
  });
});

describe('DAX\'s "rwr sandwich" (seed 004): a COW fault holding i_mmap_rwsem for read, truncate, direct reclaim', () => {
  const DAX = 'dax-rwr-sandwich';
  test('4.4-4.6: the table is allocated before ->fault: every operation completes, no allocation under the lock', () => {
    for (const kernel of ['4.4', '4.5', '4.6']) {
      const { result } = check(DAX, kernel, ['rss-consistent', 'refcount-sane', 'no-alloc-under-page-lock']);
      expect(result.verdict).toBe('holds');
      expect(result.witnesses?.filter((w) => !w.found).map((w) => w.name)).toEqual([]);
    }
  });
  test("with Hugh's 09/31 on 4.6: reclaim's second read queues behind truncate's writer, which waits for the first", () => {
    const { result } = check(DAX, '4.6', ['rss-consistent'], { patch: ['avoid-premature-exposure'] });
    expect(result.verdict).toBe('deadlock');
    expect(result.violations[0]!.message).toBe(
      'wait-for cycle: P sleeps on pmem i_mmap_rwsem, queued behind T (a waiting writer: rw-semaphores are writer-fair); T sleeps on pmem i_mmap_rwsem, held by P',
    );
    const f1 = check(DAX, '4.6', ['no-alloc-under-page-lock'], { patch: ['avoid-premature-exposure'] });
    expect(f1.result.verdict).toBe('violated');
  });
  test('reclaim holds the page it scans locked while it sleeps on i_mmap_rwsem (shrink_page_list: trylock_page, then page_referenced)', async () => {
    const r = await mmcheckHere(['check', '-s', DAX, '-k', '4.6', '--patch', 'avoid-premature-exposure', '-i', 'rss-consistent']);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/direct reclaim: shrink_page_list: trylock_page\(pfn 1\), mapped: page_referenced walks its rmap/);
    expect(r.out).toMatch(/sleeps on pmem i_mmap_rwsem\n\s+locks held: P: P mmap_lock \(read\), pfn 1 PG_locked, pmem i_mmap_rwsem \(read\); T: pmem i_rwsem \(write\)/);
  });
  test('DAX from 4.7 is refused in one line (radix-tree entry locks, bc2466e42573)', async () => {
    const r = await mmcheckHere(['check', '-s', DAX, '-k', '4.7', '-q']);
    expect(r.code).toBe(2);
    expect(r.err.trim()).toMatch(/^mmcheck: scenario dax-rwr-sandwich: DAX files are modelled on 4\.4-4\.6 only, not 4\.7: .*bc2466e42573/);
  });
  const base = (): ScenarioSpec => structuredClone(findScenario(DAX)!);
  const cases: [string, (s: ScenarioSpec) => void, string][] = [
    [
      'a DAX shmem file',
      (s) => {
        s.files![0]!.kind = 'shmem';
        delete s.files![0]!.disk;
      },
      'files[0].dax: DAX is a mode of a disk filesystem',
    ],
    ['a shared DAX mapping', (s) => (s.vmas[0]!.shared = true), 'vmas[0].shared: a shared mapping of a DAX file'],
    [
      'a read of written pmem',
      (s) => (s.threads[1]!.menu[0] = { op: 'read', addr: 0 }),
      'threads[1].menu[0].addr: a read of DAX page 0, which is not a hole with a page-cache page',
    ],
    ['fault-around on DAX', (s) => (s.threads[1]!.menu[0] = { op: 'read', addr: 1, faultAround: true }), 'threads[1].menu[0].faultAround: a DAX file has no ->map_pages'],
    ['writeback of DAX', (s) => s.threads[2]!.menu.push({ op: 'writeback', file: 'pmem', indices: [0] }), 'threads[2].menu[1]: writeback of a DAX file is not modelled'],
    [
      'a fork that would copy a table under direct reclaim',
      (s) => {
        s.threads[0]!.menu.reverse();
      },
      'threads[0].menu[1]: with "reclaim": "direct" a fork must be the first step',
    ],
    ['direct reclaim without page tables', (s) => delete s.pageTables, 'reclaim: direct reclaim is entered by page-table allocations: it needs "pageTables"'],
  ];
  for (const [what, edit, message] of cases)
    test(`refused: ${what}`, () => {
      const s = base();
      edit(s);
      expect(() => validateScenario(s)).toThrow(message);
    });
});

describe("khugepaged's collapse: a table becomes a huge pmd under mmap_lock for write (F4)", () => {
  const KH = 'khugepaged-collapse';
  test('holds on every release with the collapse reached; rss and refcounts stay right', () => {
    for (const [kernel, states] of [
      ['4.4', 122],
      ['5.7', 110],
      ['6.2', 110],
    ] as const) {
      const { result } = check(KH, kernel, ['no-retract-under-read', 'pmd-stable', 'rss-consistent', 'refcount-sane']);
      expect(result.verdict).toBe('holds');
      expect(result.states).toBe(states);
      expect(result.witnesses?.filter((w) => !w.found).map((w) => w.name)).toEqual([]);
    }
  });
  test('the mutant that collapses under mmap_lock for read is caught', () => {
    const { result } = check(KH, '6.2', ['no-retract-under-read'], { mutants: ['collapse-under-read'] });
    expect(result.verdict).toBe('violated');
    expect(result.violations[0]!.message).toBe('the pmd of P lost its PTE table without mmap_lock for write');
  });
  test('khugepaged skips a busy mm (mmap_read_trylock) and gives the table back when the page went meanwhile', async () => {
    const r = await mmcheckHere(['check', '-s', KH, '-k', '6.2', '--coverage']);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/HOLDS/);
  });
  const base = (): ScenarioSpec => structuredClone(findScenario(KH)!);
  test('a range of two pages collapses into a THP of two frames, each page copied into its subpage', () => {
    const s = base();
    s.vmas[0]!.pages = 2;
    s.frames = 4;
    s.threads[0]!.menu = [{ op: 'write', addr: 0, value: 7, hugeFails: true }, { op: 'write', addr: 1, value: 8, hugeFails: true }, { op: 'exit' }];
    s.threads[1]!.menu[0] = { op: 'madv-dontneed', addr: 0, pages: 2 };
    s.witnesses = [
      {
        name: 'the collapsed THP maps both pages with their data',
        when: [
          { at: 'P:0', pte: 'huge' },
          { at: 'P:0', data: 7 },
          { at: 'P:1', data: 8 },
        ],
      },
    ];
    const { result } = check(s, '6.2', ['no-retract-under-read', 'rss-consistent', 'refcount-sane']);
    expect(result.verdict).toBe('holds');
    expect(result.witnesses?.filter((w) => !w.found).map((w) => w.name)).toEqual([]);
  });
  const cases: [string, (s: ScenarioSpec) => void, string][] = [
    [
      'a partial MADV_DONTNEED (it would leave a PTE-mapped THP for khugepaged to meet)',
      (s) => {
        s.vmas[0]!.pages = 2;
        s.threads[1]!.menu[0] = { op: 'madv-dontneed', addr: 1 };
      },
      'threads[2].menu[0]: collapse with fork, GUP, mprotect-subpage or a partial MADV_DONTNEED in the scenario could meet a PTE-mapped THP',
    ],
    [
      'collapse without a THP VMA',
      (s) => {
        delete s.vmas[0]!.thp;
        s.threads[0]!.menu = [{ op: 'write', addr: 0, value: 7 }];
      },
      'threads[2].menu[0]: khugepaged collapses a THP VMA ("thp": true): the scenario has none',
    ],
    ['collapse of an unknown process', (s) => (s.threads[2]!.menu[0] = { op: 'collapse', mm: 'Q' }), 'threads[2].menu[0].mm: unknown process "Q"'],
  ];
  for (const [what, edit, message] of cases)
    test(`refused: ${what}`, () => {
      const s = base();
      edit(s);
      expect(() => validateScenario(s)).toThrow(message);
    });
});

describe('no-alloc-under-page-lock (F1) and install-once (F3)', () => {
  const f1: [string, 'holds' | 'violated'][] = [
    ['4.7', 'holds'],
    ['4.8', 'violated'],
    ['4.19.15', 'violated'],
    ['4.19.16', 'holds'],
    ['5.0', 'holds'],
    ['5.12', 'violated'],
    ['5.14', 'holds'],
  ];
  for (const [kernel, verdict] of f1)
    test(`F1 on ${kernel}: ${verdict}`, () => {
      expect(check(ABBA, kernel, ['no-alloc-under-page-lock']).result.verdict).toBe(verdict);
    });

  test('F3: the recheck under the PT lock keeps two racing faults from installing twice; without it check_mm finds the rss off', () => {
    for (const kernel of ['4.4', '4.8', '5.12', '6.2']) {
      const { result } = check('fault-double-install', kernel, ['install-once', 'rss-consistent', 'refcount-sane']);
      expect(`${kernel} ${result.verdict}`).toBe(`${kernel} holds`);
      expect(result.witnesses?.every((w) => w.found)).toBe(true);
    }
    const bad = check('fault-double-install', '6.2', ['install-once'], { mutants: ['fault-no-pte-recheck'] });
    expect(bad.result.violations[0]!.message).toMatch(/over a PTE that another fault had installed/);
    const rss = check('fault-double-install', '6.2', ['rss-consistent'], { mutants: ['fault-no-pte-recheck'] });
    expect(rss.result.violations[0]!.message).toBe('mm P: MM_FILEPAGES is 2 but P has 1 such entries');
  });
});

describe('THP at the PMD level and pmd-stable (F2, ad33bb04b2a6)', () => {
  test('4.4: the fault tests pmd_trans_huge, MADV_DONTNEED zaps the huge pmd, pte_offset_map walks a none pmd', () => {
    const { result, model } = check('thp-pmd-race', '4.4', ['pmd-stable']);
    expect(result.verdict).toBe('violated');
    const labels = result.violations[0]!.path.map((x) => model.actions[x.action]!.label);
    expect(labels.slice(-3)).toEqual(['madvise_dontneed_single_vma', '__handle_mm_fault: pmd_trans_huge(*pmd)', 'pte_offset_map(pmd)']);
    expect(labels).toContain('do_huge_pmd_anonymous_page: pmd_lock, set_pmd_at');
  });
  test('from 4.5 the one pmd_trans_unstable read holds, with THP accounting right: rss (MM_ANONPAGES += nr) and refcounts', () => {
    for (const kernel of ['4.5', '4.8', '5.14', '6.2']) {
      const { result } = check('thp-pmd-race', kernel, ['pmd-stable', 'rss-consistent', 'refcount-sane']);
      expect(`${kernel} ${result.verdict} ${result.states}`).toBe(`${kernel} holds 211`);
      expect(result.witnesses?.filter((w) => !w.found)).toEqual([]);
    }
    expect(check('thp-pmd-race', '6.2', ['pmd-stable'], { mutants: ['pmd-check-reread'] }).result.verdict).toBe('violated');
  });
  test('two THP faults race for one pmd: the loser backs off under pmd_lock and retries (review of issue 14)', () => {
    const sc = loadScenarioFile(join(import.meta.dirname, '..', 'trust', 'repro', 'thp-two-faults.json'));
    for (const kernel of ['4.4', '6.2']) {
      const { result } = check(sc, kernel, ['rss-consistent', 'refcount-sane', 'pmd-stable']);
      expect(`${kernel} ${result.verdict}`).toBe(`${kernel} holds`);
    }
  });
  test('no-retract-under-read (F4): a THP fault backs off from a pmd that points at a table; the mutant that retracts it is caught', () => {
    for (const kernel of ['4.4', '6.2']) expect(check('thp-pmd-race', kernel, ['no-retract-under-read']).result.verdict).toBe('holds');
    const bad = check('thp-pmd-race', '6.2', ['no-retract-under-read'], { mutants: ['thp-fault-retracts-table'] });
    expect(bad.result.violations[0]!.message).toBe('the pmd of P lost its PTE table without mmap_lock for write');
    const labels = bad.result.violations[0]!.path.map((x) => bad.model.actions[x.action]!.label);
    expect(labels.at(-1)).toBe('do_huge_pmd_anonymous_page: pmd_lock, set_pmd_at');
  });
});

describe('kernels from 4.4', () => {
  test('a release before 5.7 says which paths it carries from 5.7', async () => {
    const r = await mmcheckHere(['check', '-s', ABBA, '-i', 'rss-consistent', '-k', '4.9', '-j', '1', '-q']);
    expect(r.out).toMatch(/^note: kernel 4\.9: anon COW, the rest of GUP, fork, swap, migration, truncation and hole punching, RSS behave as 5\.7 \(modelled from 5\.7\)$/m);
    expect((await mmcheckHere(['check', '-s', ABBA, '-k', '5.7', '-q'])).out).not.toMatch(/behave as 5\.7/);
    expect((await mmcheckHere(['list', 'kernels'])).out).toMatch(/^4\.4 +2016-01-10 +partly +E0 +-$/m);
  });
});

describe('scenario checks for page tables and writeback', () => {
  const base = (): ScenarioSpec => structuredClone(findScenario(ABBA)!);
  const cases: [string, (s: ScenarioSpec) => void, string][] = [
    ['memcg reclaim needs page tables', (s) => delete s.pageTables, 'reclaim: memcg reclaim is entered by page-table allocations: it needs "pageTables"'],
    ['a pool too large', (s) => (s.pageTables = { tables: 9 }), 'pageTables.tables: must be 1 to 4 (a cap on the state space)'],
    [
      'writeback of a page twice',
      (s) => (s.threads[1]!.menu[0] = { op: 'writeback', file: 'data', indices: [0, 0] }),
      'threads[1].menu[0].indices[1]: page 0 is written back twice',
    ],
    [
      'writeback beyond the file',
      (s) => (s.threads[1]!.menu[0] = { op: 'writeback', file: 'data', indices: [5] }),
      "threads[1].menu[0].indices[0]: beyond the file's largest size (2)",
    ],
    [
      'fork under memcg reclaim',
      (s) => {
        s.processes.push('C');
        s.threads[0]!.menu.push({ op: 'fork', child: 'C' });
      },
      'threads[0].menu[1]: fork is not modelled with "reclaim" (copy_pte_range\'s table allocation would reclaim inside dup_mmap)',
    ],
    [
      'truncating a file under writeback',
      (s) => s.threads[0]!.menu.push({ op: 'truncate', file: 'data', size: 0 }),
      'threads[0].menu[1]: truncate of a file that is written back is not modelled (truncation and migration wait on PG_writeback)',
    ],
  ];
  for (const [what, edit, message] of cases)
    test(what, () => {
      const s = base();
      edit(s);
      expect(() => validateScenario(s)).toThrow(ScenarioError);
      expect(() => validateScenario(s)).toThrow(message);
    });
});
