/**
 * Dirty COW (CVE-2016-5195): GUP's forced write through a R/O private file
 * mapping, by release: 4.4-4.8 drop FOLL_WRITE after the COW fault, 4.9
 * keeps it with FOLL_COW (19be0eaffa3a), 6.0 asks for an exclusive anon
 * page (5535be309971).
 */
import { describe, expect, test } from 'vitest';
import { findScenario } from '../../model/scenarios.js';
import { type ScenarioSpec, validateScenario } from '../../model/scenario.js';
import { check, mmcheckHere, testVerdictRows, type VerdictRow } from '../helpers.js';

describe('dirty-cow: verdicts and state counts', () => {
  const rows: VerdictRow[] = [
    ['dirty-cow', 'private-mapping-isolated', '4.4', 'violated', 31],
    ['dirty-cow', 'private-mapping-isolated', '4.8', 'violated', 31],
    ['dirty-cow', 'private-mapping-isolated', '4.8.3', 'holds', 30],
    ['dirty-cow', 'private-mapping-isolated', '4.9', 'holds', 30],
    ['dirty-cow', 'private-mapping-isolated', '5.19', 'holds', 30],
    ['dirty-cow', 'private-mapping-isolated', '6.0', 'holds', 20],
    ['thp-dirty-cow', 'private-mapping-isolated', '4.8', 'violated', 336],
    ['thp-dirty-cow', 'private-mapping-isolated', '4.9', 'holds', 402],
    ['thp-dirty-cow', 'private-mapping-isolated', '4.13', 'violated', 369],
    ['thp-dirty-cow', 'private-mapping-isolated', '4.14', 'violated', 369],
    ['thp-dirty-cow', 'private-mapping-isolated', '4.15', 'holds', 403],
    ['thp-dirty-cow', 'private-mapping-isolated', '6.0', 'holds', 599],
  ];
  testVerdictRows(rows, ['refcount-sane', 'rss-consistent']);
});

describe('what GUP does after its forced COW fault', () => {
  test('4.8: FOLL_WRITE dropped, MADV_DONTNEED zaps the copy, the read fault maps the file page, GUP returns it for the write', async () => {
    const r = await mmcheckHere(['check', '-s', 'dirty-cow', '-k', '4.8', '-i', 'private-mapping-isolated']);
    expect(r.code).toBe(1);
    const steps = r.out.split('\n');
    const at = (re: RegExp) => steps.findIndex((l) => re.test(l));
    const order = [
      /map the private copy pfn 2 R\/O and dirty \(no VM_WRITE: a forced write\)/,
      /do_wp_page: reuse_swap_page: .*wp_page_reuse/,
      /M +madvise\(MADV_DONTNEED\) P:0/,
      /\*flags &= ~FOLL_WRITE, the retry looks the page up as a read/,
      /map page-cache pfn 1 R\/O/,
      /try_grab_page: FOLL_GET on pfn 1/,
    ].map(at);
    expect(order.every((i) => i >= 0)).toBe(true);
    expect([...order].sort((a, b) => a - b)).toEqual(order);
    expect(r.out).toMatch(
      /VIOLATED private-mapping-isolated: GUP reference "mem" \(FOLL_GET\|FOLL_WRITE\|FOLL_FORCE\), taken through P's private mapping of passwd, holds pfn 1, the file's page-cache page/,
    );
  });
  test('4.9-5.19 follow the dirty COW copy (FOLL_COW); 6.0 follows it because it is an exclusive anon page; the write never reaches the file', () => {
    for (const kernel of ['4.9', '5.19', '6.0', '6.2']) {
      const { result } = check('dirty-cow', kernel, ['private-mapping-isolated']);
      expect(`${kernel} ${result.verdict}`).toBe(`${kernel} holds`);
      const found = Object.fromEntries(result.witnesses!.map((w) => [w.name, w.found]));
      expect(found["the forced write lands in P's private copy"]).toBe(true);
      expect(found['MADV_DONTNEED zaps the COW copy while the forced write is in flight']).toBe(true);
    }
    // 6.0 without 5535be309971 is 5.19's rule: the same verdict, with the extra write fault FOLL_COW needs.
    const back = check('dirty-cow', '6.0', ['private-mapping-isolated'], { revert: ['gup-force-anon-exclusive'] });
    expect([back.result.verdict, back.result.states]).toEqual(['holds', 30]);
  });
  test('4.14: the read GUP dirties the huge zero pmd (touch_pmd), and the forced write follows it to the huge zero page', async () => {
    const r = await mmcheckHere(['check', '-s', 'thp-dirty-cow', '-k', '4.14', '-i', 'private-mapping-isolated']);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/a new zeroed THP pfn 1 mapped R\/O and dirty \(no VM_WRITE\)/);
    expect(r.out).toMatch(/touch_pmd: pmd_mkdirty on the huge zero page \(FOLL_TOUCH, up to 4\.14\)/);
    expect(r.out).toMatch(/holds the huge zero page: the write through it lands in the page every process reads as zeroes/);
    expect((await mmcheckHere(['check', '-s', 'thp-dirty-cow', '-k', '4.15', '-i', 'private-mapping-isolated', '--strict'])).code).toBe(0);
  });
  test('refused: FOLL_FORCE without FOLL_WRITE, with GUP-fast; a shared mapping gets -EFAULT', () => {
    const base = (): ScenarioSpec => structuredClone(findScenario('dirty-cow')!);
    const noWrite = base();
    delete (noWrite.threads[0]!.menu[0] as { write?: boolean }).write;
    expect(() => validateScenario(noWrite)).toThrow('FOLL_FORCE is modelled for writes');
    const fast = base();
    (fast.threads[0]!.menu[0] as { fast?: boolean }).fast = true;
    expect(() => validateScenario(fast)).toThrow('GUP-fast takes no FOLL_FORCE');
    const shared = base();
    shared.vmas[0]!.shared = true;
    const r = check(shared, '4.8', ['private-mapping-isolated']);
    expect(r.result.verdict).toBe('holds');
    expect(r.model.neverCompleted(r.result.coverage)).toContain('W: get_user_pages(FOLL_GET|FOLL_WRITE|FOLL_FORCE) P:0 as ref "mem"');
  });
});
