/**
 * Kernel history as an axis (cli/history.ts, matrix.ts, bisect.ts): shared
 * runs are sound (a release that shared a run has that run's verdict and
 * state count when checked on its own), the cache serves a second run, and
 * bisect names the commits the kernel history names.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { check, mmcheckHere } from '../helpers.js';

const cache = mkdtempSync(join(tmpdir(), 'mmcheck-cache-'));
afterAll(() => rmSync(cache, { recursive: true, force: true }));

interface MatrixJson {
  releases: string[];
  strips: { invariant: string; change: string; cells: { kernel: string; verdict: string; run?: number; served?: string; reason?: string }[] }[];
  runs: { run: number; verdict: string; states: number; used: string[]; ranOn: string }[];
  distinctRuns: number;
  ran: number;
  fromCache: number;
}

async function matrixJson(...args: string[]): Promise<MatrixJson> {
  const r = await mmcheckHere(['matrix', '--json', ...(args.includes('--no-cache') ? [] : ['--cache', cache]), ...args]);
  expect(r.code, r.err).toBe(0);
  return JSON.parse(r.out) as MatrixJson;
}

describe('matrix', () => {
  test('every release that shared a run has its verdict and state count when checked alone (cow-swap-gup, 4.4 to 7.2)', async () => {
    const m = await matrixJson('-s', 'cow-swap-gup', '-i', 'cow-isolation', '--no-cache');
    expect(m.releases[0]).toBe('4.4');
    expect(m.releases.length).toBe(60);
    const cells = m.strips[0]!.cells;
    expect(cells.filter((c) => c.served === 'shared').length).toBeGreaterThan(40);
    for (const c of cells) {
      const run = m.runs[c.run! - 1]!;
      const { result } = check('cow-swap-gup', c.kernel, ['cow-isolation']);
      expect([c.kernel, result.verdict, result.states]).toEqual([c.kernel, run.verdict, run.states]);
    }
    // The runs: violated up to 5.7 and on 5.9-5.17, holds on 5.8 and from 5.18.
    const verdict = (k: string) => cells.find((c) => c.kernel === k)!.verdict;
    expect(['4.4', '5.7', '5.8', '5.9', '5.17', '5.18', '6.2', '7.2'].map(verdict)).toEqual(['violated', 'violated', 'holds', 'violated', 'violated', 'holds', 'holds', 'holds']);
    // A run names only the switches it consulted: nothing of ZONE_DEVICE, THP migration or page tables here.
    for (const r of m.runs) for (const s of ['device-private-zero', 'fsdax-unpin-wake', 'split-pmd-migration-refs', 'postpone-pte-alloc']) expect(r.used).not.toContain(s);
  }, 120_000);

  // To depth 12, as README's first check: the same 8 runs and verdicts as unbounded, in a third of the time.
  test('cow-fork-gup over 4.4..7.2 in 8 distinct runs, and a second matrix from the cache alone', async () => {
    const first = await matrixJson('-s', 'cow-fork-gup', '-i', 'cow-isolation', '--depth', '12');
    expect(first.distinctRuns).toBe(8);
    expect(first.ran).toBe(8);
    const again = await matrixJson('-s', 'cow-fork-gup', '-i', 'cow-isolation', '--depth', '12');
    expect(again.ran).toBe(0);
    expect(again.fromCache).toBe(8);
    expect(again.strips[0]!.cells.map((c) => c.verdict)).toEqual(first.strips[0]!.cells.map((c) => c.verdict));
    const text = await mmcheckHere(['matrix', '-s', 'cow-fork-gup', '-i', 'cow-isolation', '--depth', '12', '--cache', cache]);
    expect(text.out).toContain('  4.4 .. 5.7     VIOLATED');
    expect(text.out).toContain('  6.2 .. 7.2     holds');
    expect(text.out).toMatch(/60 checked: 8 distinct runs \(0 ran now, 8 from the cache\), 52 shared a run/);
  }, 120_000);

  test('--shard: three shards fill the cache, and the whole matrix then runs nothing', async () => {
    const dir = join(cache, 'sharded');
    const ran: number[] = [];
    for (const i of [1, 2, 3]) {
      const r = await mmcheckHere(['matrix', '-s', 'cow-swap-gup', '-i', 'cow-isolation', '--cache', dir, '--shard', `${i}/3`, '--json']);
      expect(r.code, r.err).toBe(0);
      ran.push((JSON.parse(r.out) as MatrixJson).releases.length);
    }
    expect(ran.reduce((a, b) => a + b, 0)).toBe(60);
    const whole = JSON.parse((await mmcheckHere(['matrix', '-s', 'cow-swap-gup', '-i', 'cow-isolation', '--cache', dir, '--json'])).out) as MatrixJson;
    expect([whole.ran, whole.fromCache]).toEqual([0, whole.distinctRuns]);
    const b = await mmcheckHere(['bisect', '-s', 'cow-swap-gup', '-i', 'cow-isolation', '--cache', dir]);
    expect(b.out).toContain('VIOLATED up to 5.17, holds from 5.18: cow-page-count (c145e0b47c77');
    const bad = await mmcheckHere(['matrix', '-s', 'cow-swap-gup', '-i', 'cow-isolation', '--no-cache', '--shard', '1/2']);
    expect([bad.code, bad.err.trim()]).toEqual([2, 'mmcheck: --shard fills the cache that an unsharded run then reads: it needs the cache (drop --no-cache)']);
  });

  test('a patch strip, not-modelled releases, Markdown and the HTML page', async () => {
    const m = await matrixJson('-s', 'fsdax-unpin-break-layouts', '-i', 'fsdax-idle-wakes', '--kernels', '5.6..5.19', '--patch', 'fsdax-unpin-wake');
    expect(m.strips.map((s) => s.change)).toEqual(['', '+fsdax-unpin-wake']);
    const [plain, patched] = m.strips.map((s) => Object.fromEntries(s.cells.map((c) => [c.kernel, c.verdict])));
    expect(plain).toMatchObject({ '5.6': 'refused', '5.7': 'holds', '5.17': 'holds', '5.18': 'violated', '5.19': 'holds' });
    expect(patched!['5.18']).toBe('holds');
    const html = join(cache, 'm.html');
    const md = await mmcheckHere([
      'matrix',
      '-s',
      'fsdax-unpin-break-layouts',
      '-i',
      'fsdax-idle-wakes',
      '--kernels',
      '5.17..5.19',
      '--markdown',
      '--html',
      html,
      '--cache',
      cache,
    ]);
    expect(md.code).toBe(0);
    expect(md.out).toContain('| 5.18 | VIOLATED |');
    expect(md.out).toContain(`wrote the matrix page to ${html}`);
  }, 60_000);

  test('bad input: one line, exit 2', async () => {
    for (const [args, msg] of [
      [['-i', 'cow-isolation'], 'matrix needs --scenario'],
      [['-s', 'cow-swap-gup'], 'matrix needs --invariant'],
      [['-s', 'cow-swap-gup', '-i', 'cow-isolation', '--kernels', '3.0..5.0'], '--kernels: 3.0 is not a release from 4.4'],
      [['-s', 'cow-swap-gup', '-i', 'cow-isolation', '--kernels', '6.2..5.0'], 'comes after'],
      [['-s', 'cow-swap-gup', '-i', 'no-such'], 'unknown invariant "no-such"'],
      [['-s', 'no-such', '-i', 'cow-isolation'], 'unknown scenario "no-such"'],
      [['-s', 'cow-swap-gup', '-i', 'cow-isolation', '--cache', cache, '--no-cache'], 'contradict'],
    ] as const) {
      const r = await mmcheckHere(['matrix', ...args]);
      expect([r.code, r.err.trim().split('\n').length]).toEqual([2, 1]);
      expect(r.err).toContain(msg);
    }
  });

  test('a cache that cannot be written is reported, exit 6', async () => {
    const file = join(cache, 'not-a-dir');
    writeFileSync(file, '');
    const r = await mmcheckHere(['matrix', '-s', 'cow-swap-gup', '-i', 'cow-isolation', '--kernels', '6.2', '--cache', file]);
    expect(r.code).toBe(6);
    expect(r.out).toContain('error: could not write the cache');
  });
});

describe('bisect', () => {
  const bisect = (...args: string[]) => mmcheckHere(['bisect', '--cache', cache, ...args]);
  // The answers the kernel's history gives (docs/kernel-notes.md); every flip of each scenario, both directions.
  const ANSWERS: [scenario: string, invariant: string, lines: string[], args?: string[]][] = [
    [
      'cow-swap-gup',
      'cow-isolation',
      [
        'VIOLATED up to 5.7, holds from 5.8: gup-cow-break (17839856fd58',
        'holds up to 5.8, VIOLATED from 5.9: the removal of gup-cow-break (a308c71bf1e6',
        'VIOLATED up to 5.17, holds from 5.18: cow-page-count (c145e0b47c77 "mm: streamline COW logic in do_swap_page()") alone flips it',
      ],
    ],
    ['fork-pinned', 'pin-coherent', ['VIOLATED up to 5.8, holds from 5.9: fork-cow-pinned (70e806e4e645']],
    [
      'dirty-cow',
      'private-mapping-isolated',
      ['VIOLATED up to 4.8, holds from 4.9: foll-cow (19be0eaffa3a "mm: remove gup_flags FOLL_WRITE games from __get_user_pages()") alone flips it'],
    ],
    [
      'thp-dirty-cow',
      'private-mapping-isolated',
      [
        'VIOLATED up to 4.8, holds from 4.9: foll-cow (19be0eaffa3a',
        'holds up to 4.12, VIOLATED from 4.13: thp-foll-cow (8310d48b125d "mm/huge_memory.c: respect FOLL_FORCE/FOLL_COW for thp") alone flips it',
        'VIOLATED up to 4.14, holds from 4.15: touch-pmd-write-only (a8f97366452e',
      ],
    ],
    ['devdax-unbind-pinned', 'pgmap-pinned', ['holds up to 5.17, VIOLATED from 5.18: zone-device-refcount (27674ef6c73f']],
    ['device-coherent-memunmap', 'pgmap-pinned', ['VIOLATED up to 6.0, holds from 6.1: device-private-zero (ef233450898f']],
    ['fork-gup-fast', 'pin-coherent', ['VIOLATED up to 5.10, holds from 5.11: gup-fast-seqcount (57efa1fe5957']],
    ['iouring-ro-remap', 'pin-coherent', ['holds up to 5.8, VIOLATED from 5.9: wp-page-count (09854ba94c6a', 'VIOLATED up to 5.18, holds from 5.19: anon-exclusive (6c287605fd56']],
    ['truncate-private-swap', 'truncate-complete', ['VIOLATED up to 5.17, holds from 5.18: zap-details-fix (5abfd71d936a']],
    [
      'ro-longterm-pin-memfd',
      'pin-coherent',
      [
        'VIOLATED up to 5.7, holds from 5.8: gup-cow-break',
        'holds up to 5.8, VIOLATED from 5.9: the removal of gup-cow-break',
        'VIOLATED up to 6.1, holds from 6.2: unshare-cow-mapping (84209e87c696',
      ],
    ],
    [
      'fsdax-unpin-break-layouts',
      'fsdax-idle-wakes',
      ['holds up to 5.17, VIOLATED from 5.18: gup-put-folio (d8ddc099c6b3', 'VIOLATED up to 5.18, holds from 5.19: fsdax-unpin-wake (f4f451a16dd1'],
    ],
    [
      'device-memunmap-in-use',
      'pgmap-pinned',
      ['holds up to 5.17, VIOLATED from 5.18: zone-device-refcount (27674ef6c73f', 'VIOLATED up to 6.0, holds from 6.1: device-private-zero (ef233450898f'],
    ],
    ['device-private-fault-race', 'zone-device-free-count', ['VIOLATED up to 6.0, holds from 6.1: device-private-fault-ref (16ce101db85d']],
    // Seed 004: the page-table preallocation deadlocks, the 5.12 regression among them.
    [
      'memcg-writeback-abba',
      'rss-consistent',
      [
        'holds up to 4.7, DEADLOCK from 4.8: pgtable-memcg-charge (3e79ec7ddc33 "arch: x86: charge page tables to kmemcg") + postpone-pte-alloc (7267ec008b5c "mm: postpone page table allocation until we have page to map") together flip it (no smaller subset does)',
        'DEADLOCK up to 4.20, holds from 5.0: fault-prealloc-pte (63f3655f9501',
        'holds up to 5.11, DEADLOCK from 5.12: finish-fault-cleanup (f9ce0be71d1f "mm: Cleanup faultaround and finish_fault() codepaths") alone flips it',
        'DEADLOCK up to 5.13, holds from 5.14: finish-fault-prealloc (e4dc3489143f',
      ],
    ],
    [
      'memcg-writeback-fault-around',
      'no-alloc-under-page-lock',
      [
        'holds up to 4.7, VIOLATED from 4.8: postpone-pte-alloc (7267ec008b5c',
        'VIOLATED up to 4.9, holds from 4.10: stop-leaking-pagetables (b0b9b3df27d1',
        'holds up to 5.11, VIOLATED from 5.12: finish-fault-cleanup (f9ce0be71d1f',
        'VIOLATED up to 5.13, holds from 5.14: finish-fault-prealloc (e4dc3489143f',
      ],
    ],
    [
      'memcg-writeback-shared-write',
      'rss-consistent',
      [
        'holds up to 4.7, DEADLOCK from 4.8: pgtable-memcg-charge (3e79ec7ddc33',
        'DEADLOCK up to 4.20, holds from 5.0: fault-prealloc-pte (63f3655f9501',
        'holds up to 5.11, DEADLOCK from 5.12: finish-fault-cleanup (f9ce0be71d1f',
        'DEADLOCK up to 5.13, holds from 5.14: finish-fault-prealloc (e4dc3489143f',
      ],
    ],
    ['thp-pmd-race', 'pmd-stable', ['VIOLATED up to 4.4, holds from 4.5: fault-pmd-trans-unstable (ad33bb04b2a6']],
    ['shmem-thp-fault', 'rss-consistent', ['VIOLATED up to 4.18, holds from 4.19: thp-file-rss-counter (fadae2953072']],
    // Seed 004's scenarios that no release breaks: the proposed patch, or the mutant that shows the invariant can fail.
    [
      'oom-page-lock',
      'rss-consistent',
      ['holds on 4.5, DEADLOCK with 4.5 +avoid-premature-exposure: avoid-premature-exposure ('],
      ['--kernel', '4.5', '--patch', 'avoid-premature-exposure'],
    ],
    [
      'dax-rwr-sandwich',
      'rss-consistent',
      ['holds on 4.6, DEADLOCK with 4.6 +avoid-premature-exposure: avoid-premature-exposure ('],
      ['--kernel', '4.6', '--patch', 'avoid-premature-exposure'],
    ],
    [
      'fault-double-install',
      'install-once',
      ['holds on 6.2, VIOLATED with 6.2 MUTANT fault-no-pte-recheck: MUTANT fault-no-pte-recheck alone flips it'],
      ['--kernel', '6.2', '--mutant', 'fault-no-pte-recheck'],
    ],
    [
      'khugepaged-collapse',
      'no-retract-under-read',
      ['holds on 6.2, VIOLATED with 6.2 MUTANT collapse-under-read: MUTANT collapse-under-read alone'],
      ['--kernel', '6.2', '--mutant', 'collapse-under-read'],
    ],
    [
      'shmem-thp-collapse',
      'pmd-stable',
      ['holds on 6.2, DEADLOCK with 6.2 MUTANT retract-write-lock: MUTANT retract-write-lock alone'],
      ['--kernel', '6.2', '--mutant', 'retract-write-lock'],
    ],
  ];
  for (const [scenario, invariant, lines, args = []] of ANSWERS)
    test(`${scenario}, ${invariant}${args.length ? ` ${args.join(' ')}` : ''}: ${lines.length} flip(s)`, async () => {
      const r = await bisect('-s', scenario, '-i', invariant, ...args);
      expect(r.code, r.err).toBe(0);
      const flips = r.out.split('\n').filter((l) => l.startsWith(`${scenario}, ${invariant}: `));
      expect(flips.length).toBe(lines.length);
      lines.forEach((l, i) => expect(flips[i]).toContain(l));
      for (const f of flips) expect(f).toMatch(/(alone flips it|together flip it \(no smaller subset does\))$/);
    }, 120_000);

  test('scenarios no release and no change breaks: no flip, said plainly, exit 1', async () => {
    for (const [scenario, invariant, args, line] of [
      ['device-private-round-trip', 'pin-coherent', [], 'no flip from 4.4 to'],
      ['oom-page-lock-reaper', 'rss-consistent', ['--kernel', '4.6', '--patch', 'avoid-premature-exposure'], 'no flip between 4.6 and 4.6 +avoid-premature-exposure (holds)'],
    ] as const) {
      const r = await bisect('-s', scenario, '-i', invariant, ...args);
      expect(r.code).toBe(1);
      expect(r.out).toContain(line);
    }
  }, 120_000);

  test('--good and --bad: only the flip between them; a wrong --good is said, exit 1', async () => {
    const r = await bisect('-s', 'cow-swap-gup', '-i', 'cow-isolation', '--good', '5.18', '--bad', '5.10');
    expect(r.code).toBe(0);
    expect(r.out.split('\n').filter((l) => l.startsWith('cow-swap-gup')).length).toBe(1);
    expect(r.out).toContain('VIOLATED up to 5.17, holds from 5.18: cow-page-count');
    const wrong = await bisect('-s', 'cow-swap-gup', '-i', 'cow-isolation', '--good', '5.10', '--bad', '5.18');
    expect(wrong.code).toBe(1);
    expect(wrong.out).toContain('problem: --good 5.10: the verdict there is VIOLATED, not holds');
  }, 60_000);

  test('over my own changes: which patch makes it hold, which mutant breaks it', async () => {
    const r = await bisect('-s', 'cow-swap-gup', '-i', 'cow-isolation', '--kernel', '5.17', '--patch', 'zap-details-fix', '--patch', 'cow-page-count', '--patch', 'i-mmap-shared');
    expect(r.code).toBe(0);
    expect(r.out).toContain('VIOLATED on 5.17, holds with 5.17 +zap-details-fix +cow-page-count +i-mmap-shared: cow-page-count (c145e0b47c77');
    const m = await bisect('-s', 'fork-pinned', '-i', 'pin-coherent', '--kernel', '6.2', '--mutant', 'fork-shares-pinned', '--json');
    expect(m.code).toBe(0);
    const j = JSON.parse(m.out) as { flips: { culprit: { kind: string; name: string }[] }[] };
    expect(j.flips[0]!.culprit).toEqual([{ kind: 'mutant', name: 'fork-shares-pinned', commit: null, title: null }]);
    const none = await bisect('-s', 'cow-swap-gup', '-i', 'cow-isolation', '--kernel', '6.2', '--patch', 'zap-details-fix');
    expect(none.code).toBe(1);
    expect(none.out).toContain('no flip between 6.2 and 6.2 +zap-details-fix');
  }, 60_000);

  test('bad input: one line, exit 2', async () => {
    for (const [args, msg] of [
      [['-s', 'cow-swap-gup', '-i', 'cow-isolation', '--patch', 'cow-page-count'], '--patch, --revert and --mutant need --kernel'],
      [['-s', 'cow-swap-gup', '-i', 'cow-isolation', '--kernel', '5.17'], 'needs the changes to bisect'],
      [['-s', 'cow-swap-gup', '-i', 'cow-isolation,pin-coherent'], 'bisect takes one --invariant'],
      [['-s', 'cow-swap-gup', '-i', 'cow-isolation', '--kernel', '5.17', '--patch', 'no-such'], 'unknown switch "no-such"'],
    ] as const) {
      const r = await bisect(...args);
      expect([r.code, r.err.trim().split('\n').length]).toEqual([2, 1]);
      expect(r.err).toContain(msg);
    }
  });
});

describe('trace diff', () => {
  const trace = async (scenario: string, invariant: string, kernel: string): Promise<string> => {
    const file = join(cache, `${scenario}-${kernel}.itf.json`);
    const r = await mmcheckHere(['check', '-s', scenario, '-i', invariant, '-k', kernel, '--trace-out', file, '-q']);
    expect(r.code).toBe(1);
    return file;
  };
  test('cow-swap-gup on 5.17 and 5.18: the first divergent decision is the swap-in reuse test, and 5.18 holds', async () => {
    const file = await trace('cow-swap-gup', 'cow-isolation', '5.17');
    const r = await mmcheckHere(['trace', 'diff', file, '--kernel', '5.18']);
    expect(r.code).toBe(0);
    expect(r.out).toContain('first divergent decision, step 11 (P: write P:0 := 2 · do_swap_page: map):');
    expect(r.out).toContain('  5.17: map pfn 1 writable (reuse_swap_page: mapcount + swapcount = 1 <= 1)');
    expect(r.out).toMatch(/ {2}5\.18: map pfn 1 R\/O \(page_count 3 != 1\).*do_wp_page: page_count 3 > 1 \+ PageSwapCache: copy \(wp_page_copy\)/);
    expect(r.out).toContain('5.18: cow-isolation holds along this interleaving');
    // Step 5 reaches the same outcome for another reason: marked, but not the divergence.
    expect(r.out).toMatch(/ {2}5 {2}C .*do_swap_page: map {3}<- the same outcome, another reason/);
    const html = join(cache, 'diff.html');
    const j = JSON.parse((await mmcheckHere(['trace', 'diff', file, '--kernel', '5.18', '--json', '--html', html])).out) as {
      first: number;
      bViolation: unknown;
      rows: { differs: boolean }[];
    };
    expect(j.first).toBe(11);
    expect(j.bViolation).toBeNull();
    expect(j.rows.filter((x) => x.differs).length).toBe(1);
  });
  test('the same interleaving on a kernel that decides alike, on a switch set, and on the release that fixed the pgmap reference', async () => {
    const file = await trace('cow-swap-gup', 'cow-isolation', '5.17');
    const same = await mmcheckHere(['trace', 'diff', file, '--kernel', '5.7']);
    expect(same.out).toContain('the two kernels decide alike at every step of the trace');
    expect(same.out).toContain('5.7: cow-isolation violated at its step 11');
    const fixed = await mmcheckHere(['trace', 'diff', file, '--revert', 'gup-cow-break', '--patch', 'cow-page-count']);
    expect(fixed.out).toContain('5.17 +cow-page-count -gup-cow-break: cow-isolation holds along this interleaving');
    const dm = await trace('device-memunmap-in-use', 'pgmap-pinned', '5.18');
    const r = await mmcheckHere(['trace', 'diff', dm, '--kernel', '6.1']);
    expect(r.out).toContain("  5.18: percpu_ref_kill; percpu_ref_put_many(1): the pgmap's reference is 0");
    expect(r.out).toContain("  6.1: percpu_ref_kill: the pgmap's reference is 1");
  });
  test('bad input: one line, exit 2', async () => {
    const file = await trace('cow-swap-gup', 'cow-isolation', '5.17');
    for (const [args, msg] of [
      [[file], 'trace diff needs the other kernel'],
      [[file, '--kernel', '3.1'], 'kernel 3.1 is older than'],
      [[file, '--patch', 'no-such'], 'unknown switch "no-such"'],
      [[join(cache, 'none.json'), '--kernel', '5.18'], 'cannot read trace file'],
    ] as const) {
      const r = await mmcheckHere(['trace', 'diff', ...args]);
      expect([r.code, r.err.trim().split('\n').length]).toEqual([2, 1]);
      expect(r.err).toContain(msg);
    }
  });
});
