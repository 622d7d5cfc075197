/**
 * THP migration with PMD migration entries (4.14 on): set_pmd_migration_entry
 * and remove_migration_pmd (model/ops/migrate.ts), the fault's
 * pmd_migration_entry_wait, fork's copy of an entry, the zap, and the split of
 * an entry by a partial MADV_DONTNEED, on both sides of each fix.
 */
import { describe, expect, test } from 'vitest';
import { findScenario } from '../../model/scenarios.js';
import { type ScenarioSpec, validateScenario } from '../../model/scenario.js';
import { check, mmcheckHere, testVerdictRows, type VerdictRow } from '../helpers.js';

describe('THP migration: verdicts and state counts', () => {
  const rows: VerdictRow[] = [
    ['thp-migrate-race', 'pmd-stable', '4.14', 'holds', 346],
    ['thp-migrate-race', 'pmd-stable', '6.2', 'holds', 346],
    ['thp-migrate-fork', 'cow-isolation', '4.14', 'holds', 1017],
    ['thp-migrate-fork', 'cow-isolation', '6.2', 'holds', 4282],
    ['thp-fork-pinned-migrate', 'refcount-sane', '5.17', 'violated', 60],
    ['thp-fork-pinned-migrate', 'refcount-sane', '5.18', 'holds', 520],
    ['thp-migrate-split', 'refcount-sane', '5.8', 'violated', 45],
    ['thp-migrate-split', 'refcount-sane', '5.17', 'violated', 45],
    ['thp-migrate-split', 'refcount-sane', '5.18', 'holds', 256],
  ];
  testVerdictRows(rows, ['refcount-sane', 'rss-consistent', 'pgtable-accounting']);
});

describe('what each release does with a PMD migration entry', () => {
  test('the fault waits for the migration (pmd_migration_entry_wait), and the THP is mapped again by remove_migration_pmd', async () => {
    const r = await mmcheckHere(['check', '-s', 'thp-migrate-race', '-k', '6.2', '-i', 'pmd-stable', '--coverage']);
    expect(r.code).toBe(0);
    for (const step of ['pmd_migration_entry_wait', 'try_to_migrate_one', 'remove_migration_pte']) expect(r.out).toMatch(new RegExp(`^\\s+[1-9]\\d*\\s+\\w+: .* · ${step}$`, 'm'));
  });
  test('without 84c3fc4e9c56 (mutant pmd-unstable-misses-migration) a fault walks the entry as a PTE table', async () => {
    const r = await mmcheckHere(['check', '-s', 'thp-migrate-race', '-k', '6.2', '-i', 'pmd-stable', '--mutant', 'pmd-unstable-misses-migration']);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/set_pmd_migration_entry|PMD migration entry \(write\)/);
    expect(r.out).toMatch(/MUTANT: pmd_trans_unstable tests none and huge only: the migration entry \(write\) of pfn \d is walked as a PTE table/);
  });
  test('do_huge_pmd_wp_page waits on the page lock (4.14, ba3c4ce6def4) of a THP under migration; before 4.14 THP migration splits the THP (refused)', async () => {
    const r = await mmcheckHere(['check', '-s', 'thp-migrate-fork', '-k', '6.2', '-i', 'cow-isolation', '--mutant', 'huge-wp-no-page-lock']);
    // The mutant on 6.2: PageAnonExclusive and page_count decide without the lock; it holds (the lock matters up to 5.17).
    expect(r.code).toBe(0);
    const bad = await mmcheckHere(['check', '-s', 'thp-migrate-fork', '-k', '5.17', '-i', 'cow-isolation', '--mutant', 'huge-wp-no-page-lock']);
    expect(bad.code).toBe(1);
    expect(bad.out).toMatch(/do_huge_pmd_wp_page: mapped once \(page_trans_huge_mapcount \/ reuse_swap_page\): reuse the THP pfn 1/);
    const old = await mmcheckHere(['check', '-s', 'thp-migrate-fork', '-k', '4.13', '-i', 'cow-isolation']);
    expect(old.code).toBe(2);
    expect(old.err).toMatch(
      /4\.13 migrates a THP by splitting it first \(unmap_and_move -> split_huge_page\): not modelled; THP migration with PMD migration entries came in 4\.14 \(616b8371539a\)/,
    );
  });
  test('the split of an entry: the mapcounts too up to 5.8 (ec0abae6dcdf), the references up to 5.17 (9d84604b845c), nothing from 5.18', async () => {
    const notes: [string, RegExp][] = [
      ['5.8', /as for a present pmd, page_ref_add\(1\), each subpage's _mapcount \+ 1, compound_mapcount - 1/],
      ['5.9', /page_ref_add\(1\) as for a present pmd \(the entry holds no reference\)/],
    ];
    for (const [kernel, note] of notes) {
      const r = await mmcheckHere(['check', '-s', 'thp-migrate-split', '-k', kernel, '-i', 'refcount-sane']);
      expect(r.code).toBe(1);
      expect(r.out).toMatch(note);
    }
    const good = await mmcheckHere(['check', '-s', 'thp-migrate-split', '-k', '5.18', '-i', 'refcount-sane', '--coverage']);
    expect(good.code).toBe(0);
  });
  test('fork holds the pmd lock from the pin test to the sharing: a migration cannot slip between (GUP-fast splits the two steps)', () => {
    // From a review: with the steps apart and no lock, the child got a huge zero pmd for a written THP.
    const s = structuredClone(findScenario('thp-migrate-fork')!);
    s.threads[1]!.menu = [{ op: 'read', addr: 0 }, { op: 'exit' }];
    s.threads.push({
      name: 'G',
      mm: 'P',
      mode: 'program',
      menu: [
        { op: 'gup', ref: 'r', addr: 1, pin: false, fast: true, write: true },
        { op: 'put', ref: 'r' },
      ],
    });
    s.witnesses = [{ name: 'the child maps the huge zero page', when: [{ at: 'C:0', pte: 'zeropage' }] }];
    const { result } = check(s, '6.2', ['refcount-sane', 'rss-consistent', 'cow-isolation']);
    expect(result.verdict).toBe('holds');
    expect(result.witnesses?.filter((w) => !w.found).map((w) => w.name)).toEqual(['the child maps the huge zero page']);
  });
  test('MADV_DONTFORK: a whole VM_DONTCOPY THP VMA is not copied; a partial one splits the pmd (or a PMD migration entry) and forbids a THP fault', () => {
    const base = (): ScenarioSpec => structuredClone(findScenario('thp-pte-fork-pinned')!);
    // The RDMA idiom: pin, MADV_DONTFORK the whole VMA, fork: the child gets nothing, the pin stays coherent on 5.8.
    const whole = base();
    whole.threads[0]!.menu.splice(1, 1, { op: 'madv-dontfork', addr: 0, pages: 2 });
    whole.witnesses = [];
    expect(check(whole, '5.8', ['pin-coherent', 'refcount-sane']).result.verdict).toBe('holds');
    // A partial MADV_DONTFORK before the first fault: the VMA no longer spans the huge range, so no THP.
    const early = base();
    early.threads[0]!.menu = [{ op: 'madv-dontfork', addr: 1 }, { op: 'write', addr: 0, value: 1 }, { op: 'fork', child: 'C' }, { op: 'exit' }];
    early.threads[1]!.menu = [{ op: 'exit' }];
    early.witnesses = [{ name: 'a huge pmd', when: [{ at: 'P:0', pte: 'huge' }] }];
    const r = check(early, '6.2', ['refcount-sane', 'rss-consistent']).result;
    expect(r.witnesses?.filter((w) => !w.found).map((w) => w.name)).toEqual(['a huge pmd']);
    // A partial MADV_DONTFORK of a THP under migration splits the PMD migration entry: 5.9's reference leak shows.
    const mig = structuredClone(findScenario('thp-migrate-split')!);
    mig.threads[1]!.menu = [{ op: 'madv-dontfork', addr: 1 }];
    mig.witnesses = [];
    expect(check(mig, '5.9', ['refcount-sane']).result.verdict).toBe('violated');
    expect(check(mig, '5.18', ['refcount-sane']).result.verdict).toBe('holds');
  });
  test('a PMD migration entry meets no mprotect or khugepaged in the model', () => {
    const s = structuredClone(findScenario('thp-migrate-race')!);
    s.threads[0]!.menu.push({ op: 'mprotect', vma: 'heap', prot: 'r' });
    expect(() => validateScenario(s)).toThrow(/threads\[0\]\.menu\[1\]: mprotect with THP migration in the scenario would meet a PMD migration entry/);
  });
});
