/**
 * Huge shmem pages (4.8 on): shmem_alloc_hugepage puts a THP in the page
 * cache, do_set_pmd maps it whole, zap_huge_pmd and __split_huge_pmd_locked
 * clear a file huge pmd, and khugepaged's collapse_file replaces small pages
 * with a THP and retracts the PTE tables that mapped them: under
 * mmap_write_trylock up to 6.5, without mmap_lock from 6.6 (1d65b771bc08).
 */
import { describe, expect, test } from 'vitest';
import { findScenario } from '../../model/scenarios.js';
import { type ScenarioSpec, validateScenario } from '../../model/scenario.js';
import { check, mmcheckHere, testVerdictRows, type VerdictRow } from '../helpers.js';

const scenario = (name: string): ScenarioSpec => structuredClone(findScenario(name)!);

describe('huge shmem: verdicts and state counts', () => {
  const rows: VerdictRow[] = [
    ['shmem-thp-fault', 'rss-consistent', '4.8', 'violated', 10],
    ['shmem-thp-fault', 'rss-consistent', '4.18', 'violated', 10],
    ['shmem-thp-fault', 'rss-consistent', '4.19', 'holds', 25],
    ['shmem-thp-fault', 'rss-consistent', '6.2', 'holds', 29],
    ['shmem-thp-collapse', 'no-retract-under-read', '6.2', 'holds', 371],
    ['shmem-thp-collapse', 'no-retract-under-read', '6.6', 'holds', 327],
  ];
  testVerdictRows(rows, ['refcount-sane', 'pmd-stable', 'pgtable-accounting']);
});

describe('what each release does with a huge shmem page', () => {
  test('4.8-4.18 count the huge pmd in MM_FILEPAGES (do_set_pmd), 4.19 in MM_SHMEMPAGES (fadae2953072)', async () => {
    const old = await mmcheckHere(['check', '-s', 'shmem-thp-fault', '-k', '4.18', '-i', 'rss-consistent']);
    expect(old.code).toBe(1);
    expect(old.out).toMatch(/do_set_pmd: the pmd is none and pfn 1 is a page of THP pfn 1: a writable huge pmd maps it whole, page_add_file_rmap\(compound\), MM_FILEPAGES\+2/);
    expect(old.out).toMatch(/VIOLATED rss-consistent: mm P: MM_FILEPAGES is 2 but P has 0 such entries/);
    const fixed = await mmcheckHere(['check', '-s', 'shmem-thp-fault', '-k', '4.19', '-i', 'rss-consistent', '--strict']);
    expect(fixed.code).toBe(0);
  });
  test('two faults in one mm: the one that slept for the THP finds the pmd huge and retries (pmd_devmap_trans_unstable), no PTE under it', () => {
    // From a review: FILE_FINISH mapped a PTE under the huge pmd the other fault's do_set_pmd had installed.
    const s = scenario('shmem-thp-fault');
    s.threads = [
      { name: 'A', mm: 'P', menu: [{ op: 'read', addr: 0 }] },
      { name: 'B', mm: 'P', menu: [{ op: 'read', addr: 1 }] },
    ];
    s.witnesses = [];
    validateScenario(s);
    for (const kernel of ['5.0', '5.12', '6.2', '6.6']) {
      const { result } = check(s, kernel, ['pmd-stable', 'refcount-sane', 'rss-consistent', 'pgtable-accounting']);
      expect(`${kernel} ${result.verdict}`).toBe(`${kernel} holds`);
    }
    expect(check(s, '4.8', ['pmd-stable', 'refcount-sane']).result.verdict).toBe('holds');
  });
  test('a THP is allocated only for a range with no page cached: a fault beside a small page gets a small page (alloc_nohuge)', () => {
    const s = scenario('shmem-thp-collapse');
    s.witnesses = [{ name: 'a small page at index 1', when: [{ cache: 'shm:1', data: 0, thp: false }] }];
    validateScenario(s);
    const { result } = check(s, '6.2', ['refcount-sane']);
    expect(result.witnesses!.map((w) => [w.name, w.found])).toContainEqual(['a small page at index 1', true]);
  });
  test('up to 6.5 a fault holding mmap_lock makes the trylock fail: the table stays and a PTE maps a page of the THP; from 6.6 never', () => {
    const withPteMapped = (kernel: string) => {
      const s = scenario('shmem-thp-collapse');
      s.witnesses = [{ name: 'PTE-mapped', when: [{ at: 'P:1', pte: 'thp-pte' }] }];
      validateScenario(s);
      return check(s, kernel, ['refcount-sane', 'pmd-stable']).result.witnesses!.find((w) => w.name === 'PTE-mapped')!.found;
    };
    expect(withPteMapped('6.5')).toBe(true);
    expect(withPteMapped('4.19')).toBe(true);
    expect(withPteMapped('4.15')).toBe(true); // khugepaged's scan sleeps in down_read there
    expect(withPteMapped('6.6')).toBe(false);
  });
  test('the mutant retract-write-lock deadlocks: the fault holds mmap_lock and sleeps on the THP khugepaged holds locked', async () => {
    const r = await mmcheckHere(['check', '-s', 'shmem-thp-collapse', '-k', '6.2', '-i', 'pmd-stable', '--mutant', 'retract-write-lock']);
    expect(r.err).toBe('');
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/deadlock: wait-for cycle: P sleeps on pfn \d PG_locked, held by K; K sleeps on P mmap_lock, held by P/);
    expect(r.out).toMatch(/retract_page_tables: MUTANT mmap_write_lock/);
  });
  test("6.6's retract on 6.2 (mutant retract-without-trylock) breaks no-retract-under-read; --revert of 6.5's revalidation takes 6.6's retract with it", async () => {
    const r = await mmcheckHere(['check', '-s', 'shmem-thp-collapse', '-k', '6.2', '-i', 'no-retract-under-read', '--mutant', 'retract-without-trylock']);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/retract_page_tables: pmd_lock, pmdp_collapse_flush .*MUTANT on an older release/);
    const reverted = await mmcheckHere(['check', '-s', 'shmem-thp-collapse', '-k', '6.6', '-i', 'no-retract-under-read', '--revert', 'pte-offset-map-revalidate']);
    expect(reverted.code).toBe(0);
    expect(reverted.err + reverted.out).toMatch(/--revert pte-offset-map-revalidate also turns off what requires it: retract-without-mmap-lock/);
    expect(reverted.out).toMatch(/6\.6 is newer than the newest modelled release: it is checked as 6\.2 \(changes after 6\.2 are not modelled\)/);
  });
  test('a release after 6.2 names the later switches it has', async () => {
    const r = await mmcheckHere(['check', '-s', 'shmem-thp-collapse', '-k', '6.6', '-i', 'pmd-stable']);
    expect(r.code).toBe(0);
    expect(r.err + r.out).toMatch(/except pte-offset-map-revalidate \(6\.5, 0d940a9b270b\), retract-without-mmap-lock \(6\.6, 1d65b771bc08\)/);
  });
});

describe('what is refused, with one line and exit 2', () => {
  test('huge shmem before 4.8', async () => {
    const r = await mmcheckHere(['check', '-s', 'shmem-thp-fault', '-k', '4.7']);
    expect(r.code).toBe(2);
    expect(r.err.trim().split('\n')).toHaveLength(1);
    expect(r.err).toMatch(/4\.7 has no huge shmem pages: THP in the page cache came in 4\.8 \(800d8c63b2e9/);
  });
  test('a private huge shmem mapping, a huge disk file, an op not modelled', () => {
    const priv = scenario('shmem-thp-fault');
    priv.vmas[0]!.shared = false;
    expect(() => validateScenario(priv)).toThrow(/vmas\[0\]\.shared: a huge shmem mapping is modelled MAP_SHARED only/);
    const disk = scenario('shmem-thp-fault');
    disk.files![0]!.kind = 'disk';
    expect(() => validateScenario(disk)).toThrow(/files\[0\]\.huge: huge pages in the page cache are modelled for shmem \(huge=always\) only/);
    const fork = scenario('shmem-thp-fault');
    fork.processes.push('C');
    fork.threads[1]!.menu = [{ op: 'fork', child: 'C' }];
    expect(() => validateScenario(fork)).toThrow(/processes: a huge shmem mapping is modelled in one process/);
    const gup = scenario('shmem-thp-fault');
    gup.threads[1]!.menu = [
      { op: 'gup', ref: 'g', addr: 0, pin: true },
      { op: 'put', ref: 'g' },
    ];
    expect(() => validateScenario(gup)).toThrow(/gup is not modelled with huge shmem pages/);
  });
});
