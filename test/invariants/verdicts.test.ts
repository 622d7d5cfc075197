/**
 * The verdicts the kernel's history predicts, each on both sides of its fix,
 * and every invariant shown violable (a buggy kernel or a mutant breaks it).
 */
import { describe, expect, test } from 'vitest';
import { INVARIANTS } from '../../invariants/registry.js';
import { MUTANTS, resolveVariant } from '../../model/variants.js';
import { check } from '../helpers.js';

describe('seed 000 / MM-SEMANTICS 1.4 verdicts', () => {
  test('iouring-ro-remap: pin-coherent violated on 5.18 with pin, R/O remap and copying write fault', () => {
    const { result, model } = check('iouring-ro-remap', '5.18', ['pin-coherent']);
    expect(result.verdict).toBe('violated');
    const ops = result.violations[0]!.path.slice(1).map((p) => model.actions[p.action]!);
    expect(ops[0]!.op).toMatch(/pin_user_pages\(FOLL_PIN\|FOLL_WRITE\|FOLL_LONGTERM\)/);
    expect(ops.some((a) => a.op.includes('PROT_READ') && !a.op.includes('PROT_WRITE'))).toBe(true);
    expect(ops.at(-1)!.label).toBe('wp_page_copy: install');
  });

  test('iouring-ro-remap: pin-coherent holds on 5.19 to depth 12 (and exhaustively)', () => {
    const { result } = check('iouring-ro-remap', '5.19', ['pin-coherent'], { maxDepth: 12 });
    expect(result.verdict).toBe('holds');
    expect(result.depthBounded).toBe(false);
  });

  test('cow-fork-gup: cow-isolation violated on 5.7 by the CVE-2020-29374 interleaving', () => {
    const { result, model } = check('cow-fork-gup', '5.7', ['cow-isolation']);
    expect(result.verdict).toBe('violated');
    const ops = result.violations[0]!.path.slice(1).map((p) => model.actions[p.action]!);
    const names = ops.map((a) => `${a.threadName} ${a.op} ${a.label}`);
    expect(names[0]).toMatch(/^P fork/);
    expect(names.some((n) => /^C get_user_pages\(FOLL_GET\)/.test(n))).toBe(true);
    expect(names.some((n) => /^C madvise\(MADV_DONTNEED\)/.test(n))).toBe(true);
    expect(names.at(-1)).toMatch(/^P write P:0/);
    expect(result.violations[0]!.message).toMatch(/P:0 maps pfn 1 writable while C holds GUP reference "pipe"/);
  });

  test('cow-fork-gup: cow-isolation holds on 6.2 (every reachable state)', () => {
    const { result } = check('cow-fork-gup', '6.2', ['cow-isolation']);
    expect(result.verdict).toBe('holds');
    expect(result.depthBounded).toBe(false);
    expect(result.states).toBeGreaterThan(100_000);
  });

  for (const kernel of ['5.19', '6.2']) {
    test(`anon-exclusive holds on ${kernel} to depth 12 on its default scenario`, () => {
      const { result } = check('cow-fork-gup', kernel, ['anon-exclusive'], { maxDepth: 12 });
      expect(result.verdict).toBe('holds');
    });
  }

  test('anon-exclusive is violated with a short trace by fork-keeps-exclusive', () => {
    const { result } = check('cow-fork-gup', '6.2', ['anon-exclusive'], { maxDepth: 12, mutants: ['fork-keeps-exclusive'] });
    expect(result.verdict).toBe('violated');
    expect(result.violations[0]!.path.length - 1).toBe(1);
    expect(result.violations[0]!.message).toMatch(/^pfn \d+ is PageAnonExclusive but referenced by P:0 and C:0$/);
  });

  test('anon-exclusive does not apply before 5.19', () => {
    const inv = INVARIANTS.find((i) => i.name === 'anon-exclusive')!;
    expect(inv.notApplicable!(resolveVariant({ kernel: '5.18' }))).toMatch(/no PG_anon_exclusive/);
    expect(inv.notApplicable!(resolveVariant({ kernel: '5.19' }))).toBeNull();
  });

  test('fork-pinned: pin-coherent violated up to 5.8, holds from 5.9 (early COW at fork)', () => {
    for (const k of ['5.7', '5.8']) expect(check('fork-pinned', k, ['pin-coherent']).result.verdict).toBe('violated');
    for (const k of ['5.9', '6.2']) expect(check('fork-pinned', k, ['pin-coherent']).result.verdict).toBe('holds');
  });

  test('cow-swap-gup: cow-isolation violated through do_swap_page up to 5.17, holds from 5.18', () => {
    for (const k of ['5.7', '5.9', '5.17']) expect(check('cow-swap-gup', k, ['cow-isolation']).result.verdict).toBe('violated');
    for (const k of ['5.18', '6.2']) expect(check('cow-swap-gup', k, ['cow-isolation']).result.verdict).toBe('holds');
  });

  test('reverting the fix brings the bug back: 6.2 without cow-page-count and wp-page-count', () => {
    const { result } = check('cow-swap-gup', '6.2', ['cow-isolation'], { revert: ['cow-page-count'] });
    expect(result.verdict).toBe('violated');
  });

  test('rss-consistent and refcount-sane hold on every built-in scenario and modelled kernel', () => {
    for (const sc of ['iouring-ro-remap', 'fork-pinned', 'cow-swap-gup']) {
      for (const k of ['5.7', '5.8', '5.11', '5.17', '5.18', '6.1', '6.2']) {
        const { result } = check(sc, k, ['rss-consistent', 'refcount-sane']);
        expect(`${sc} ${k} ${result.verdict}`).toBe(`${sc} ${k} holds`);
      }
    }
  });
});

describe('every invariant can fail', () => {
  // A mutant that breaks it on a kernel where it holds, or (brokenOn) a release that breaks it.
  const cases: Record<string, { scenario: string; kernel: string; mutant?: string; brokenOn?: string; patch?: string[] }> = {
    'anon-exclusive': { scenario: 'cow-fork-gup', kernel: '6.2', mutant: 'fork-keeps-exclusive' },
    'pin-coherent': { scenario: 'fork-pinned', kernel: '6.2', mutant: 'fork-shares-pinned' },
    'cow-isolation': { scenario: 'cow-fork-gup', kernel: '6.2', mutant: 'wp-reuse-mapcount' },
    'rss-consistent': { scenario: 'cow-swap-gup', kernel: '6.2', mutant: 'zap-no-rss' },
    'refcount-sane': { scenario: 'cow-fork-gup', kernel: '6.2', mutant: 'wp-copy-leaks-ref' },
    'truncate-complete': { scenario: 'truncate-private-swap', kernel: '6.2', mutant: 'truncate-skips-cows' },
    'punch-keeps-cow': { scenario: 'punch-private-cow', kernel: '6.2', mutant: 'punch-zaps-cows' },
    'no-stale-migration': { scenario: 'zap-migrate', kernel: '6.2', mutant: 'zap-skips-migration' },
    'no-alloc-under-page-lock': { scenario: 'memcg-writeback-abba', kernel: '5.14', brokenOn: '5.12' },
    'install-once': { scenario: 'fault-double-install', kernel: '6.2', mutant: 'fault-no-pte-recheck' },
    'pmd-stable': { scenario: 'thp-pmd-race', kernel: '6.2', mutant: 'pmd-check-reread' },
    'no-retract-under-read': { scenario: 'thp-pmd-race', kernel: '6.2', mutant: 'thp-fault-retracts-table' },
    'dirty-tracked': { scenario: 'memcg-writeback-shared-write', kernel: '6.2', mutant: 'writeback-no-mkclean' },
    'pgtable-accounting': { scenario: 'thp-pmd-race', kernel: '6.2', mutant: 'pte-alloc-leaks' },
    'fsdax-idle-wakes': { scenario: 'fsdax-unpin-break-layouts', kernel: '5.19', brokenOn: '5.18' },
    'idle-convention': { scenario: 'fsdax-unpin-break-layouts', kernel: '5.9', brokenOn: '5.9', patch: ['zone-device-rfc'] },
    'pgmap-pinned': { scenario: 'device-memunmap-in-use', kernel: '6.1', brokenOn: '5.18' },
    'private-mapping-isolated': { scenario: 'dirty-cow', kernel: '4.9', brokenOn: '4.8' },
    'zone-device-free-count': { scenario: 'device-private-fault-race', kernel: '6.1', brokenOn: '6.0' },
    'zone-device-never-lru': { scenario: 'device-private-fault-race', kernel: '6.2', mutant: 'devpriv-put-to-buddy' },
  };
  test('every invariant has a case here', () => {
    expect(INVARIANTS.map((i) => i.name).filter((n) => !cases[n])).toEqual([]);
  });
  for (const inv of INVARIANTS.filter((i) => cases[i.name])) {
    const c = cases[inv.name]!;
    test(`${inv.name} is violated by ${c.mutant ? `mutant ${c.mutant}` : `kernel ${c.brokenOn}${c.patch ? ` with --patch ${c.patch.join(',')}` : ''}`}, holds on ${c.kernel}${c.mutant || c.patch ? ' without it' : ''}`, () => {
      const maxDepth = c.scenario === 'cow-fork-gup' ? 14 : undefined;
      const bad = c.mutant ? check(c.scenario, c.kernel, [inv.name], { mutants: [c.mutant], maxDepth }) : check(c.scenario, c.brokenOn!, [inv.name], { maxDepth, patch: c.patch });
      expect(bad.result.verdict).toBe('violated');
      const good = check(c.scenario, c.kernel, [inv.name], { maxDepth });
      expect(good.result.verdict).toBe('holds');
    });
  }
  test("each mutant breaks the invariant it names, on that invariant's default scenario or a named one", () => {
    // Mutants that break the lock discipline (deadlock, lock-order) are shown in test/model/locks.test.ts.
    for (const m of MUTANTS.filter((x) => x.breaks !== 'deadlock' && x.breaks !== 'lock-order')) {
      const inv = INVARIANTS.find((i) => i.name === m.breaks)!;
      // Where a mutant is not on its invariant's case or default scenario: [scenario, kernel].
      const named: Record<string, [string, string]> = {
        'zap-migration-no-rss': ['zap-migrate', '6.2'],
        'zap-no-rss': ['cow-swap-gup', '6.2'],
        'collapse-under-read': ['khugepaged-collapse', '6.2'],
        'retract-without-trylock': ['shmem-thp-collapse', '6.2'],
        'devmap-unpin-put-page': ['fsdax-unpin-break-layouts', '6.2'],
        'pageout-zone-device': ['device-coherent-cow', '6.1'],
        'split-no-ref-add': ['thp-pte-cow-fork-gup', '6.2'],
        'pmd-unstable-misses-migration': ['thp-migrate-race', '6.2'],
        // From 5.18 the reuse test is page_count, which migration's isolation reference already fails: the lock matters before.
        'huge-wp-no-page-lock': ['thp-migrate-fork', '5.17'],
      };
      const [scenario, kernel] = named[m.name] ?? [cases[inv.name]!.mutant === m.name ? cases[inv.name]!.scenario : inv.defaultScenario, '6.2'];
      const { result } = check(scenario, kernel, [inv.name], { mutants: [m.name], maxDepth: scenario === 'cow-fork-gup' ? 14 : undefined });
      expect(`${m.name} ${result.verdict}`).toBe(`${m.name} violated`);
    }
  });
  test('rss-consistent: a live miscount is caught right after the zap (D3)', () => {
    const { result, model } = check('cow-swap-gup', '6.2', ['rss-consistent'], { mutants: ['zap-no-rss'] });
    const last = result.violations[0]!.path.at(-1)!;
    expect(model.actions[last.action]!.label).toBe('madvise_dontneed_single_vma');
    expect(result.violations[0]!.message).toMatch(/^mm C: MM_ANONPAGES is 1 but C has 0 such entries/);
  });
  test('rss-consistent: when only exit zaps, the trace ends in the check_mm report (D4)', () => {
    const { result, model } = check('fork-pinned', '6.2', ['rss-consistent'], { mutants: ['zap-no-rss'] });
    const last = result.violations[0]!.path.at(-1)!;
    expect(model.actions[last.action]!.label).toBe('check_mm');
    expect(result.violations[0]!.message).toBe('check_mm: BUG: Bad rss-counter state mm:C type:MM_ANONPAGES val:1');
  });
});
