/**
 * Issue 3's verdicts: truncation, hole punching and migration (seed 003),
 * R/O long-term pins in COW mappings (seed 001), and the GUP-fast races.
 */
import { describe, expect, test } from 'vitest';
import { check } from '../helpers.js';

describe('seed 003: zap_pte_range and zap_details', () => {
  test('truncate-complete on truncate-private-swap: violated on 5.17, holds on 5.18', () => {
    const bad = check('truncate-private-swap', '5.17', ['truncate-complete']);
    expect(bad.result.verdict).toBe('violated');
    expect(bad.result.violations[0]!.message).toMatch(/P:1 \(page 1 of memfd\) is swap\(slot 0\) beyond the end of the file/);
    expect(check('truncate-private-swap', '5.18', ['truncate-complete']).result.verdict).toBe('holds');
  });

  test('zap-migrate: rss-consistent holds on 5.17 and 5.18; no-stale-migration fails on 5.17 only', () => {
    for (const k of ['5.17', '5.18']) {
      const { result } = check('zap-migrate', k, ['rss-consistent', 'refcount-sane', 'punch-keeps-cow']);
      expect(`${k} ${result.verdict}`).toBe(`${k} holds`);
      expect(result.depthBounded).toBe(false);
    }
    const stale = check('zap-migrate', '5.17', ['no-stale-migration']);
    expect(stale.result.verdict).toBe('violated');
    const names = stale.result.violations[0]!.path.slice(1).map((p) => stale.model.actions[p.action]!.label);
    expect(names).toContain('try_to_migrate_one');
    expect(names.at(-1)).toBe('unmap_mapping_range(even_cows=0)');
    expect(check('zap-migrate', '5.18', ['no-stale-migration']).result.verdict).toBe('holds');
  });

  test('zap-migration-no-rss: a minimal trace that ends in the check_mm report for MM_SHMEMPAGES', () => {
    const { result, model } = check('zap-migrate', '6.2', ['rss-consistent'], { mutants: ['zap-migration-no-rss'] });
    expect(result.verdict).toBe('violated');
    const v = result.violations[0]!;
    expect(v.message).toBe('check_mm: BUG: Bad rss-counter state mm:P type:MM_SHMEMPAGES val:1');
    expect(model.actions[v.path.at(-1)!.action]!.label).toBe('check_mm');
    // BFS: nothing shorter exists. The shortest needs a migration entry (3 steps) and exit (3 steps: exit_mmap, unlink_file_vma, check_mm).
    expect(v.path.length - 1).toBe(6);
    const bounded = check('zap-migrate', '6.2', ['rss-consistent'], { mutants: ['zap-migration-no-rss'], maxDepth: 5 });
    expect(bounded.result.verdict).toBe('holds');
  });

  test('punch-private-cow: punching keeps private COW copies on every kernel', () => {
    for (const k of ['5.17', '5.18', '6.2']) expect(check('punch-private-cow', k, ['punch-keeps-cow', 'rss-consistent', 'refcount-sane']).result.verdict).toBe('holds');
  });

  test('reverting the zap fix on 6.2 brings back both symptoms', () => {
    expect(check('truncate-private-swap', '6.2', ['truncate-complete'], { revert: ['zap-details-fix'] }).result.verdict).toBe('violated');
    expect(check('zap-migrate', '6.2', ['no-stale-migration'], { revert: ['zap-details-fix'] }).result.verdict).toBe('violated');
  });
});

describe('seed 001: R/O long-term pins in COW mappings', () => {
  for (const kind of ['zeropage', 'memfd', 'tmpfile']) {
    for (const fast of ['', '-fast']) {
      const sc = `ro-longterm-pin-${kind}${fast}`;
      test(`${sc}: pin-coherent violated on 6.1, holds on 6.2`, () => {
        const bad = check(sc, '6.1', ['pin-coherent']);
        expect(bad.result.verdict).toBe('violated');
        expect(bad.result.violations[0]!.message).toMatch(/^pin "pin" \(FOLL_PIN\|FOLL_LONGTERM on .* is stale/);
        const good = check(sc, '6.2', INVARIANTS_ALL);
        expect(good.result.verdict).toBe('holds');
      });
    }
  }
});

describe('GUP-fast races (MM-SEMANTICS 1.4 (c), (d))', () => {
  test('fork-gup-fast: violated on 5.10, holds from 5.11 (write_protect_seq)', () => {
    expect(check('fork-gup-fast', '5.10', ['pin-coherent']).result.verdict).toBe('violated');
    expect(check('fork-gup-fast', '5.11', ['pin-coherent']).result.verdict).toBe('holds');
    expect(check('fork-gup-fast', '5.11', ['pin-coherent'], { revert: ['gup-fast-seqcount'] }).result.verdict).toBe('violated');
  });
  test('reclaim-gup-fast: violated on 5.18, holds from 5.19', () => {
    expect(check('reclaim-gup-fast', '5.18', ['pin-coherent']).result.verdict).toBe('violated');
    expect(check('reclaim-gup-fast', '5.19', ['pin-coherent', 'anon-exclusive']).result.verdict).toBe('holds');
  });
});

const INVARIANTS_ALL = ['pin-coherent', 'anon-exclusive', 'cow-isolation', 'rss-consistent', 'refcount-sane', 'truncate-complete', 'punch-keeps-cow', 'no-stale-migration'];
