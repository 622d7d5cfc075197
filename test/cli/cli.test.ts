/**
 * The mmcheck command end to end (the compiled CLI, as a user runs it):
 * every exit code, bad flags, JSON output and trace files. Most run in this
 * process (mmcheckHere); what is about the process (Ctrl-C, EPIPE, the
 * environment, memory) spawns it, and "in-process and spawned" runs a set
 * of commands both ways and compares them.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { ALL_WORKERS, LONG_RUN, mmcheckHere, mmcheckWith } from '../helpers.js';

const BIN = new URL('../../bin/mmcheck.js', import.meta.url).pathname;

/** The command as a user runs it: a process of its own. */
function spawned(...args: string[]) {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

/** The command run in this process. */
const mmcheck = (...args: string[]) => mmcheckHere(args);

describe('in-process and spawned: the same exit code, stdout and stderr', () => {
  // A representative command of each kind: a violation with its trace, JSON, a limit, a list, help, bad usage, a trace file.
  const dir = mkdtempSync(join(tmpdir(), 'mmcheck-both-'));
  const cases: string[][] = [
    ['check', '--invariant', 'pin-coherent', '--scenario', 'iouring-ro-remap', '--kernel', '5.18'],
    ['check', '-i', 'cow-isolation', '-s', 'cow-fork-gup', '-k', '5.7', '--json', '--continue', '--coverage'],
    ['check', '-i', 'cow-isolation', '--kernel', '6.2', '--max-states', '2000'],
    ['check', '-i', 'anon-exclusive', '-k', '5.18'],
    ['list', 'kernels', '--json'],
    ['check', '--help'],
    ['check', '--dept', '3'],
    ['trace', 'show', '/nonexistent-dir/missing.itf.json'],
    [],
  ];
  // The run's own timings differ between two runs.
  const timeless = (s: string) => s.replace(/"(seconds|statesPerSecond)": [\d.e+-]+/g, '"$1": T').replace(/[\d.]+ s, [\d,]+ states\/s/g, 'T');
  for (const args of cases) {
    test(`mmcheck ${args.join(' ')}`, async () => {
      const a = spawned(...args);
      const b = await mmcheckHere(args);
      expect(b.code).toBe(a.code);
      expect(timeless(b.out)).toBe(timeless(a.out));
      expect(b.err).toBe(a.err);
    });
  }
  test('a trace written in-process is the file the command writes', async () => {
    const [a, b] = [join(dir, 'a.itf.json'), join(dir, 'b.itf.json')];
    const args = ['check', '-i', 'pin-coherent', '-s', 'fork-pinned', '-k', '5.8', '-q', '--trace-out'];
    expect(spawned(...args, a).code).toBe(1);
    expect((await mmcheckHere([...args, b])).code).toBe(1);
    expect(readFileSync(b, 'utf8')).toBe(readFileSync(a, 'utf8'));
  });
});

describe('mmcheck check', () => {
  test('exit 1 on a violation, with the trace step by step', async () => {
    const r = await mmcheck('check', '--invariant', 'pin-coherent', '--scenario', 'iouring-ro-remap', '--kernel', '5.18');
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/VIOLATED pin-coherent: pin "fixed-buffer"/);
    expect(r.out).toMatch(/states \d+, transitions \d+, depth 7, [\d.]+ s, [\d,]+ states\/s/);
    expect(r.out).toMatch(/wp_page_copy: install {2}mm\/memory.c:wp_page_copy/);
  });

  test('exit 0 when the invariant holds, saying how far', async () => {
    const r = await mmcheck('check', '--invariant', 'pin-coherent', '--scenario', 'iouring-ro-remap', '--kernel', '5.19', '--depth', '12');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/HOLDS: every reachable state explored/);
    const b = await mmcheck('check', '--invariant', 'anon-exclusive', '--depth', '3');
    expect(b.code).toBe(0);
    expect(b.out).toMatch(/HOLDS to depth 3 \(bounded/);
  });

  test('--json prints one object with the verdict, counts and the trace', async () => {
    const r = await mmcheck('check', '--invariant', 'cow-isolation', '--scenario', 'cow-fork-gup', '--kernel', '5.7', '--json');
    expect(r.code).toBe(1);
    const j = JSON.parse(r.out);
    expect(j).toMatchObject({ verdict: 'violated', invariant: 'cow-isolation', kernel: '5.7', scenario: 'cow-fork-gup' });
    for (const k of ['depth', 'states', 'transitions', 'seconds']) expect(typeof j[k]).toBe('number');
    expect(j.trace.length).toBeGreaterThan(0);
    for (const s of j.trace) {
      expect(typeof s.thread).toBe('string');
      expect(typeof s.action).toBe('string');
      expect(s.kernelFunction).toMatch(/\.c:/);
    }
  });

  test('exit 3 when a limit stops the search: incomplete, never a silent partial result', async () => {
    const r = await mmcheck('check', '--invariant', 'cow-isolation', '--kernel', '6.2', '--max-states', '2000', '--json');
    expect(r.code).toBe(3);
    expect(JSON.parse(r.out)).toMatchObject({ verdict: 'incomplete', stoppedBy: 'max-states' });
  });

  test('--trace-out writes an ITF trace', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mmcheck-'));
    const file = join(dir, 't.itf.json');
    const r = await mmcheck('check', '-i', 'pin-coherent', '-s', 'fork-pinned', '-k', '5.8', '--trace-out', file);
    expect(r.code).toBe(1);
    const itf = JSON.parse(readFileSync(file, 'utf8'));
    expect(itf['#meta']).toMatchObject({ format: 'ITF', invariant: 'pin-coherent', scenario: 'fork-pinned', kernel: '5.8' });
    expect(itf.states.length).toBeGreaterThan(1);
  });

  test('--strategy dfs also finds the violation', async () => {
    const r = await mmcheck('check', '-i', 'pin-coherent', '-s', 'fork-pinned', '-k', '5.7', '--strategy', 'dfs');
    expect(r.code).toBe(1);
  });
});

describe('workers, limits, progress and Ctrl-C', () => {
  test('--workers 1 and --workers 2 give the same result', () => {
    const run = (w: string) => {
      const j = JSON.parse(mmcheckWith(ALL_WORKERS, 'check', '-i', 'cow-isolation', '-s', 'cow-swap-gup', '-k', '5.17', '--json', '--workers', w).out);
      expect(j.workersStarted).toBe(Number(w));
      delete j.seconds;
      delete j.statesPerSecond;
      delete j.workers;
      delete j.workersStarted;
      delete j.bytesPerState;
      return j;
    };
    expect(run('2')).toEqual(run('1'));
  });

  test('the same command gives the same result on every run (verdict, counts, trace)', async () => {
    const args = ['check', '-i', 'pin-coherent,cow-isolation,refcount-sane', '-s', 'zap-migrate', '-k', '5.17', '--continue', '--json', '-i', 'no-stale-migration'];
    const parse = (out: string) => {
      const j = JSON.parse(out);
      for (const r of j.runs ?? [j]) for (const k of ['seconds', 'statesPerSecond', 'bytesPerState']) delete r[k];
      return j;
    };
    // A process of its own, then twice in this one: nothing a run leaves behind changes the next.
    const first = parse(spawned(...args).out);
    expect(first.verdict).toBe('violated');
    expect(parse((await mmcheckHere(args)).out)).toEqual(first);
    expect(parse((await mmcheckHere(args)).out)).toEqual(first);
  });

  test('--max-memory stops the search as incomplete (exit 3)', () => {
    // The process's memory: a process of its own.
    const r = spawned('check', '-i', 'cow-isolation', '--max-memory', '1K', '--json');
    expect(r.code).toBe(3);
    expect(JSON.parse(r.out)).toMatchObject({ verdict: 'incomplete', stoppedBy: 'max-memory' });
  });

  test('--progress writes a line a second to stderr; --quiet none', async () => {
    const r = await mmcheck('check', '-s', LONG_RUN, '-i', 'cow-isolation', '-k', '6.2', '--max-seconds', '2.5', '--progress', '--workers', '1');
    expect(r.code).toBe(3);
    expect(r.err).toMatch(/long-run: level \d+, [\d,]+ distinct states, [\d,]+ transitions, frontier [\d,]+, [\d,]+ states\/s, \d+ MiB/);
    const q = await mmcheck('check', '-i', 'pin-coherent', '-s', 'fork-pinned', '--quiet');
    expect(q.err).toBe('');
  });

  test('Ctrl-C: the workers stop, the partial statistics are printed, exit 130', async () => {
    const child = spawn(process.execPath, [BIN, 'check', '-s', LONG_RUN, '-i', 'cow-isolation', '-k', '6.2', '--workers', '2'], {
      env: { ...process.env, NO_COLOR: '1' },
    });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    setTimeout(() => child.kill('SIGINT'), 1500);
    const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
    expect(code).toBe(130);
    expect(out).toMatch(/INCOMPLETE: interrupted/);
    expect(out).toMatch(/states [\d,]+, transitions [\d,]+/);
  });
});

describe('bad input: one line, exit 2, no stack trace', () => {
  const cases: [string[], RegExp][] = [
    [['chek'], /unknown command "chek" \(did you mean "check"\?\)/],
    [['check', '--invariant', 'pin-coherant'], /unknown invariant "pin-coherant" \(did you mean "pin-coherent"\?\)/],
    [['check', '--kernel', '5.x'], /bad kernel version "5.x"/],
    [['check', '--kernel', '3.18'], /kernel 3.18 is older than 4.4, the oldest release mmcheck knows/],
    [['check', '--scenario', 'cow-fork'], /unknown scenario "cow-fork"/],
    [['check', '--mutant', 'fork-keep-exclusive'], /unknown mutant "fork-keep-exclusive" \(did you mean "fork-keeps-exclusive"\?\)/],
    [['check', '--patch', 'nope'], /unknown switch "nope"/],
    [['check', '--depth'], /--depth/],
    [['check', '--depth', '-3'], /--depth needs an integer from 0 to 1000000, got "-3"/],
    [['check', '--depth', 'abc'], /--depth needs an integer from 0 to 1000000, got "abc"/],
    [['check', '--max-seconds', '0'], /--max-seconds needs a positive number/],
    [['check', '--frobnicate'], /check: unknown option --frobnicate/],
    [['check', '--dept', '3'], /check: unknown option --dept \(did you mean "--depth"\?\)/],
    [['check', '--strategy', 'random'], /--strategy must be bfs or dfs/],
    [['check', '--workers', '0'], /--workers needs an integer from 1 to 64/],
    [['check', '--max-memory', 'lots'], /--max-memory needs a size such as 512M/],
    [['check', '--quiet', '--progress'], /contradict/],
    [['check', 'extra'], /no positional arguments/],
    [['check', '--trace-out', '/nonexistent-dir/t.json'], /--trace-out \/nonexistent-dir\/t.json: cannot write there \(ENOENT\)/],
    [['list', 'kernel'], /cannot list "kernel" \(did you mean "kernels"\?\)/],
    [['list'], /list what\?/],
    [[], /usage:/],
  ];
  for (const [args, msg] of cases) {
    test(`mmcheck ${args.join(' ')}`, async () => {
      const r = await mmcheck(...args);
      expect(r.code).toBe(2);
      expect(r.err).toMatch(msg);
      expect(r.err).not.toMatch(/\n\s+at /);
      if (args.length) expect(r.err.trim().split('\n')).toHaveLength(1);
      expect(r.out).toBe('');
    });
  }
});

describe('a reader that goes away', () => {
  test('mmcheck ... | head: no EPIPE stack trace', async () => {
    const child = spawn(process.execPath, [BIN, 'check', '-i', 'cow-isolation', '-s', 'cow-fork-gup', '-k', '5.7', '--workers', '1'], {
      env: { ...process.env, NO_COLOR: '1' },
    });
    child.stdout.destroy(); // as `| head -0` would
    let err = '';
    child.stderr.on('data', (d) => (err += d));
    const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
    expect(err).toBe('');
    expect(code).toBe(1);
  });
});

describe('mmcheck list, help, version', () => {
  test('lists what there is', async () => {
    for (const what of ['invariants', 'kernels', 'scenarios', 'mutants', 'switches']) {
      const r = await mmcheck('list', what);
      expect(r.code).toBe(0);
      expect(r.out.length).toBeGreaterThan(20);
    }
    expect((await mmcheck('list', 'invariants')).out).toMatch(/anon-exclusive\s+always\s+cow-fork-gup/);
    const kernels = JSON.parse((await mmcheck('list', 'kernels', '--json')).out);
    expect(kernels[0]).toMatchObject({ version: '4.4', modelled: 'partly', switches: [] });
    expect(kernels[0].carried).toEqual(['anon COW, the rest of GUP, fork, swap, migration, truncation and hole punching, RSS: as 5.7']);
    expect(kernels.find((k: { version: string }) => k.version === '4.8').switches).toEqual(['fault-pmd-trans-unstable', 'pgtable-memcg-charge', 'postpone-pte-alloc']);
    expect(kernels.find((k: { version: string }) => k.version === '5.7')).toMatchObject({ version: '5.7', epoch: 'E0', modelled: 'yes' });
    expect(kernels.at(-1)).toMatchObject({ version: '7.2', modelled: 'as 6.2' });
  });
  test('help and version', async () => {
    expect((await mmcheck('help')).code).toBe(0);
    expect((await mmcheck('--version')).out).toMatch(/^mmcheck \d+\.\d+\.\d+/);
  });
});
