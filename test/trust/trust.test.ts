/**
 * Every reproducer of the trust issue (test/trust/repro/), pinned: the right
 * verdict, or one line and the right exit code. Each of these failed before
 * its fix: a false violation, a vacuous HOLDS, a crash (exit 70), a hang, or
 * an output lost without a word.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { explore } from '../../checker/explore.js';
import { findInvariant, INVARIANTS, toEngineInvariant } from '../../invariants/registry.js';
import { TH_PC } from '../../model/layout.js';
import { loadScenarioFile } from '../../model/scenario-file.js';
import { resolveVariant } from '../../model/variants.js';
import { MMModel } from '../../model/world.js';
import { isPresent, isWritable, PTE_DIRTY, pteTarget } from '../../model/pte.js';
import { PG_ANON } from '../../model/layout.js';
import { LONG_RUN, mmcheckHereIn, workersAsked } from '../helpers.js';

const BIN = new URL('../../bin/mmcheck.js', import.meta.url).pathname;
const REPRO = new URL('./repro/', import.meta.url).pathname;

/** The command in a process of its own: for invariant files, signals, memory limits and what a process does. */
function spawned(args: string[], opts: { cwd?: string; input?: string } = {}) {
  const r = spawnSync(process.execPath, [BIN, ...args], {
    encoding: 'utf8',
    cwd: opts.cwd ?? REPRO,
    // Every worker asked for takes part (-j 2 in a user's code that throws, loops or exits), however small the search.
    env: { ...process.env, NO_COLOR: '1', GITHUB_STEP_SUMMARY: '', ...workersAsked(args) },
    timeout: 60_000,
  });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

/** The command run in this process, in REPRO (or `cwd`). */
const mmcheck = (args: string[], opts: { cwd?: string } = {}) => mmcheckHereIn(opts.cwd ?? REPRO, args);

function oneLine(r: { err: string; out: string }, msg: RegExp): void {
  expect(r.err).toMatch(msg);
  expect(r.err.trim().split('\n')).toHaveLength(1);
  expect(r.err).not.toMatch(/\n\s+at |internal error/);
}

function world(file: string, kernel: string): MMModel {
  return new MMModel(loadScenarioFile(join(REPRO, file)), resolveVariant({ kernel }));
}

/** Every invariant that applies on the kernel, explored exhaustively. */
function checkAll(m: MMModel) {
  const view = m.view(new Int32Array(m.stateWords));
  const invs = INVARIANTS.filter((i) => !i.notApplicable?.(m.variant)).map((i) => toEngineInvariant(i, view));
  return explore(m, invs, {});
}

/** The coverage of a thread's operation by outcome: how often it completed and how often it failed. */
function outcomes(m: MMModel, coverage: Float64Array, thread: string, op: string): { done: number; failed: number } {
  let done = 0;
  let failed = 0;
  m.actions.forEach((a, i) => {
    if (a.threadName !== thread || !a.op.startsWith(op)) return;
    if (a.outcome === 'done') done += coverage[i]!;
    if (a.outcome === 'failed') failed += coverage[i]!;
  });
  return { done, failed };
}

describe('wrong or vacuous verdicts', () => {
  for (const [file, kernel] of [
    ['fork-oom.json', '5.9'],
    ['fork-oom2.json', '6.1'],
  ] as const) {
    test(`${file} on ${kernel}: fork's early COW copy finds no page: -ENOMEM, the child torn down, every invariant holds`, () => {
      const m = world(file, kernel);
      const r = checkAll(m);
      expect(r.verdict).toBe('holds');
      // Both ends are reached: a fork that fails for want of a page, and one that completes.
      const fork = outcomes(m, r.coverage, 'P', 'fork');
      expect(fork.failed).toBeGreaterThan(0);
      expect(fork.done).toBeGreaterThan(0);
    });
  }

  test('fork-split.json: no rmap walker runs between copy_present_pte deciding and copying (both PT locks are held)', () => {
    const m = world('fork-split.json', '6.1');
    const apply = m.actions.findIndex((a) => a.threadName === 'P' && a.label === 'copy_present_pte: share or copy');
    const applyStep = m.actions[apply]!.step;
    let between = 0;
    const probe = {
      name: 'no-migration-inside-copy-pte-range',
      check(s: Int32Array): string | null {
        const pc = s[m.layout.threadBase[0]! + TH_PC]!;
        if (pc === 0 || (pc & 0xff) !== applyStep) return null;
        between++;
        let bad: string | null = null;
        m.successors(s, (_n, a) => {
          const x = m.actions[a]!;
          if (x.threadName === 'kcompactd' && x.label === 'try_to_migrate_one') bad = 'kcompactd migrates a PTE that fork has decided on but not copied';
        });
        return bad;
      },
    };
    const r = explore(m, [probe], {});
    expect(r.verdict).toBe('holds');
    expect(between).toBeGreaterThan(0); // the window is reached: the check is not vacuous
    // GUP-fast, which takes no lock, still runs inside it (the 5.10 race needs that).
    const g = m.actions.findIndex((a) => a.threadName === 'G' && a.label === 'try_grab_folio');
    expect(r.coverage[g]! + r.coverage[g + 1]! + r.coverage[g + 2]!).toBeGreaterThan(0);
  });

  test('shared-gup-58.json: 5.8 breaks COW for GUP only in COW mappings; a R/O GUP on MAP_SHARED stays a read', () => {
    const spec = loadScenarioFile(join(REPRO, 'shared-gup-58.json'));
    const end = (private_: boolean) => {
      const sc = { ...spec, vmas: spec.vmas.map((v) => ({ ...v, shared: !private_ })) };
      const m = new MMModel(sc, resolveVariant({ kernel: '5.8' }));
      let last: Int32Array | null = null;
      explore(
        m,
        [
          {
            name: 'last',
            check: (s) => {
              last = s.slice();
              return null;
            },
          },
        ],
        {},
      );
      return m.view(last!);
    };
    const shared = end(false);
    const e = shared.pte(0, 0);
    expect(isPresent(e) && !isWritable(e) && !(e & PTE_DIRTY)).toBe(true); // no write fault was forced
    expect(shared.pageTest(pteTarget(e), PG_ANON)).toBe(false); // the GUP holds the page-cache page
    const priv = end(true);
    expect(priv.pageTest(pteTarget(priv.pte(0, 0)), PG_ANON)).toBe(true); // the forced write fault made a COW copy
  });

  test('too-few-frames.json on 5.18: the write never completes (no frame for the copy); a warning, and VACUOUS (exit 4) under --strict', async () => {
    // On 5.9-5.18 C's write fault must copy the pinned page and finds no frame: pin-coherent "holds" only because nothing was written.
    const plain = await mmcheck(['check', '-s', './too-few-frames.json', '-k', '5.18', '-j', '1', '-q']);
    expect(plain.code).toBe(0);
    expect(plain.out).toMatch(/^warning: never completed on any path: C: write C:0 := 3$/m);
    const strict = await mmcheck(['check', '-s', './too-few-frames.json', '-k', '5.18', '-j', '1', '--strict', '--json']);
    expect(strict.code).toBe(4);
    const j = JSON.parse(strict.out);
    expect(j.verdict).toBe('vacuous');
    expect(j.neverCompleted).toEqual(['C: write C:0 := 3']);
  });
});

describe('locks and waits (a review against 5.7.6 and 6.2.12)', () => {
  test('munmap-twice, truncate-migrate: a writer that leaves the queue without the lock wakes the readers behind it: no false lost wake-up', () => {
    for (const f of ['munmap-twice-lost-wake.json', 'truncate-migrate-false-lost-wake.json']) {
      for (const kernel of ['5.17', '6.2']) {
        // No deadlock (the state invariants checked with it hold too; no-stale-migration is 5.17's own bug here).
        const m = world(f, kernel);
        const view = m.view(new Int32Array(m.stateWords));
        const result = explore(
          m,
          ['rss-consistent', 'refcount-sane'].map((n) => toEngineInvariant(findInvariant(n)!, view)),
          {},
        );
        expect(`${f} ${kernel} ${result.verdict}`).toBe(`${f} ${kernel} holds`);
      }
    }
  });
  test('zap-migrate-munmap.json: munmap takes i_mmap_rwsem for write (unlink_file_vma), so on 6.2 the undo-range inversion deadlocks through writer fairness', async () => {
    const r = await mmcheck(['check', '-s', './zap-migrate-munmap.json', '-i', 'rss-consistent', '-k', '6.2', '--mutant', 'undo-range-i-mmap-first', '--json']);
    expect(r.code).toBe(1);
    const j = JSON.parse(r.out);
    expect(j.verdict).toBe('deadlock');
    expect(j.waitFor.cycle).toHaveLength(3);
    expect(j.message).toMatch(/queued behind main \(a waiting writer: rw-semaphores are writer-fair\)/);
    expect((await mmcheck(['check', '-s', './zap-migrate-munmap.json', '-i', 'rss-consistent', '-k', '6.2'])).code).toBe(0);
  });
  test('fork-twice-disabled.json: two forks into one child are refused (they crashed the checker)', async () => {
    const r = await mmcheck(['check', '-s', './fork-twice-disabled.json']);
    expect(r.code).toBe(2);
    oneLine(r, /threads\[2\]\.menu\[0\]\.child: "C" is already created by F1's menu entry 0: give each fork a child of its own/);
  });
});

describe('scenario content: one line with the JSON path, exit 2', () => {
  const cases: [string, RegExp][] = [
    ['scen-swapped-more-than-slots.json', /pages: 3 swapped pages need 3 swap slots, the scenario has 1/],
    ['scen-pgoff-beyond-file.json', /vmas\[0\]: maps pages 15\.\.16 of memfd, which never has more than 2 pages/],
    ['scen-dup-cached-index.json', /files\[0\]\.cached\[1\]\.index: page 0 is cached twice/],
    ['scen-vmas-empty.json', /vmas: need at least one VMA/],
    ['scen-shared-map-beyond-file.json', /vmas\[0\]: maps pages 0\.\.1 of memfd, which never has more than 1 page/],
    ['scen-pgoff1-2pages-2page-file.json', /vmas\[0\]: maps pages 1\.\.2 of memfd, which never has more than 2 pages/],
    ['scen-pages-more-than-frames.json', /frames: the world at the start needs 5 page frames \(5 anonymous or private, 0 in the page cache\), the scenario has 2/],
    ['scen-op-constructor.json', /threads\[0\]\.menu\[0\]\.op: unknown op "constructor"/],
    ['scen-proto-field.json', /constructor: unknown field/],
    ['scen-deep-constructor-field.json', /nested more than 32 levels deep/],
  ];
  for (const [file, msg] of cases) {
    test(file, async () => {
      const r = await mmcheck(['check', '-s', `./${file}`, '-q']);
      expect(r.code).toBe(2);
      oneLine(r, new RegExp(`^mmcheck: \\./${file.replace(/\./g, '\\.')}: .*${msg.source}`));
    });
  }
  test('a key given twice in one object', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dup-'));
    writeFileSync(join(dir, 'dup.json'), readFileSync(join(REPRO, 'too-few-frames.json'), 'utf8').replace('"frames": 1,', '"frames": 1, "frames": 3,'));
    const r = await mmcheck(['check', '-s', join(dir, 'dup.json')]);
    expect(r.code).toBe(2);
    oneLine(r, /dup\.json: frames: given twice in one object/);
  });
  test('scen-explode.json: a world larger than the memory allowed stops as INCOMPLETE (max-memory), with statistics', () => {
    // The process's memory: a process of its own.
    const r = spawned(['check', '-s', './scen-explode.json', '-i', 'rss-consistent', '--max-memory', '300M', '-j', '2', '--json']);
    expect(r.code).toBe(3);
    const j = JSON.parse(r.out);
    expect(j).toMatchObject({ verdict: 'incomplete', stoppedBy: 'max-memory' });
    expect(j.states).toBeGreaterThan(1000);
  });
});

describe('invariant files: one line, the right exit code, never a hang', () => {
  const cases: [string, string[], number, RegExp][] = [
    ['inv-throw-null-at-import.mjs', [], 2, /cannot load invariants file inv-throw-null-at-import\.mjs: null was thrown/],
    ['inv-throw-null-in-check.mjs', ['-j', '2'], 2, /invariant throw-null-in-check: check\(\) threw: null was thrown/],
    ['inv-throw-null-in-check.mjs', ['--strategy', 'dfs'], 2, /invariant throw-null-in-check: check\(\) threw: null was thrown/],
    ['inv-na-throws.mjs', [], 2, /invariant na-throws: notApplicable\(\) threw: Error: na boom/],
    ['inv-named-deadlock.mjs', [], 2, /"deadlock" is reserved/],
    ['inv-random-name.mjs', ['-j', '2'], 2, /an invariant file must define the same invariants each time it is loaded/],
    ['inv-tla-forever.mjs', [], 2, /its top-level code never finishes/],
    ['inv-exit-in-check.mjs', ['-j', '2'], 2, /a worker thread ended by itself .* whose code may have called process\.exit\(\)/],
    ['inv-exit-in-check.mjs', ['--strategy', 'dfs'], 2, /a worker thread ended by itself/],
  ];
  for (const [file, extra, code, msg] of cases) {
    test(`${file} ${extra.join(' ')}`, () => {
      const r = spawned(['check', '--invariants-file', file, ...extra, '-q']);
      expect(r.code).toBe(code);
      oneLine(r, msg);
    });
  }
  for (const extra of [
    ['-j', '2'],
    ['--strategy', 'dfs'],
  ]) {
    test(`inv-loops-forever.mjs ${extra.join(' ')}: --max-seconds holds (the workers are terminated): INCOMPLETE, exit 3`, () => {
      const t0 = Date.now();
      const r = spawned(['check', '--invariants-file', 'inv-loops-forever.mjs', ...extra, '--max-seconds', '1', '--json']);
      expect(r.code).toBe(3);
      expect(JSON.parse(r.out)).toMatchObject({ verdict: 'incomplete', stoppedBy: 'max-seconds' });
      expect(Date.now() - t0).toBeLessThan(20_000);
    });
    test(`inv-loops-forever.mjs ${extra.join(' ')}: Ctrl-C stops it: exit 130 with the statistics`, async () => {
      const r = await interrupted(['check', '--invariants-file', 'inv-loops-forever.mjs', ...extra, '--json'], 'SIGINT', 1500);
      expect(r.code).toBe(130);
      expect(JSON.parse(r.out)).toMatchObject({ verdict: 'incomplete', stoppedBy: 'interrupted' });
    });
  }
});

/** Runs mmcheck, sends it a signal after `ms`, and collects what it printed. */
/**
 * Runs mmcheck and sends it `signal` after `ms` of wall time and, with `cpuMs`, once the process has had that much
 * CPU time (/proc/PID/stat): on a loaded machine wall time alone may end before the search has done anything, or
 * before Node has run mmcheck's first line (a signal then kills Node, or is lost where the parent ignores it, as for
 * any program; Node's own start-up handler makes SigCgt no sign of mmcheck's).
 */
function interrupted(args: string[], signal: NodeJS.Signals, ms: number, cpuMs = 0): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [BIN, ...args], { cwd: REPRO, env: { ...process.env, NO_COLOR: '1', ...workersAsked(args) } });
    let out = '';
    let err = '';
    p.stdout.on('data', (d) => (out += d));
    p.stderr.on('data', (d) => (err += d));
    const cpu = (): number => {
      try {
        const f = readFileSync(`/proc/${p.pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
        return ((Number(f[11]) + Number(f[12])) * 1000) / 100; // utime + stime, in clock ticks of 1/100 s
      } catch {
        return Number.POSITIVE_INFINITY;
      }
    };
    const send = (): void => {
      if (cpu() >= cpuMs) p.kill(signal);
      else setTimeout(send, 10);
    };
    setTimeout(send, ms);
    p.on('close', (code) => resolve({ code, out, err }));
  });
}

describe('signals, limits and outputs', () => {
  test('DFS honours Ctrl-C; SIGTERM is handled like it (exit 143)', async () => {
    const a = await interrupted(['check', '-s', LONG_RUN, '-i', 'anon-exclusive', '--strategy', 'dfs', '--json'], 'SIGINT', 1500, 1500);
    expect(a.code).toBe(130);
    expect(JSON.parse(a.out)).toMatchObject({ verdict: 'incomplete', stoppedBy: 'interrupted' });
    const b = await interrupted(['check', '-s', LONG_RUN, '-i', 'anon-exclusive', '-j', '2', '--json'], 'SIGTERM', 1500, 3000);
    expect(b.code).toBe(143);
    const j = JSON.parse(b.out);
    expect(j).toMatchObject({ verdict: 'incomplete', stoppedBy: 'interrupted' });
    expect(j.states).toBeGreaterThan(0);
    // Coverage is that of the levels completed, not zero.
    expect(j.coverage.neverTaken.length).toBeLessThan(j.coverage.steps);
  });

  test('Ctrl-C while the workers start: exit 130 with the statistics', async () => {
    const r = await interrupted(['check', '-s', LONG_RUN, '-i', 'anon-exclusive', '-j', '2', '--json'], 'SIGINT', 250, 300);
    expect(r.code, `stdout: ${r.out.slice(0, 400)}\nstderr: ${r.err.slice(0, 400)}`).toBe(130);
    expect(JSON.parse(r.out)).toMatchObject({ verdict: 'incomplete', stoppedBy: 'interrupted' });
  });

  test('gate-c-msecbig.json and --max-seconds 1e99: a limit larger than a timer holds is no limit', async () => {
    expect((await mmcheck(['check', '-s', 'iouring-ro-remap', '-i', 'pin-coherent', '-k', '6.2', '--max-seconds', '1e99', '-q'])).code).toBe(0);
    const g = await mmcheck(['gate', '-c', 'gate-c-msecbig.json', '-j', '1']);
    expect(g.code).toBe(0);
    expect(g.out).toMatch(/^ok .*holds +holds/m);
  });

  test('mmcheck starts under ulimit -v 4000000 (no wasm memory reserves its 10 GB)', () => {
    const r = spawnSync('bash', ['-c', `ulimit -v 4000000 && "${process.execPath}" "${BIN}" check -i anon-exclusive --depth 8 -j 2 -q`], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  });

  test('a write error on stdout is one line and exit 6', () => {
    const r = spawnSync('bash', ['-c', `"${process.execPath}" "${BIN}" check -s iouring-ro-remap -i pin-coherent -q > /dev/full`], { encoding: 'utf8' });
    expect(r.status).toBe(6);
    expect(r.stderr.trim()).toBe('mmcheck: cannot write the output: ENOSPC');
  });

  test('--trace-out is checked before the run: empty, a directory, not writable', async () => {
    oneLine(await mmcheck(['check', '--trace-out', '']), /--trace-out needs a file name/);
    oneLine(await mmcheck(['check', '--trace-out', tmpdir()]), /is a directory: give a file name/);
    oneLine(await mmcheck(['check', '--trace-out', '/proc/nope/t.json']), /cannot write there \(ENOENT\)/);
  });

  test('a trace that cannot be written is reported in text and JSON, exit 6', () => {
    const dir = mkdtempSync(join(tmpdir(), 'lost-'));
    const file = join(dir, 'gone', 't.json');
    mkdirSync(join(dir, 'gone'));
    // The directory exists when checked and is gone when the trace is written: race it with a file of its name.
    const r = spawnSync(
      'bash',
      [
        '-c',
        `"${process.execPath}" "${BIN}" check -s iouring-ro-remap -i pin-coherent -k 5.18 --json --trace-out ${file} & sleep 0.05; rmdir ${join(dir, 'gone')}; touch ${join(dir, 'gone')}; wait $!`,
      ],
      { encoding: 'utf8' },
    );
    if (r.status === 6) {
      expect(JSON.parse(r.stdout).outputLost[0]).toMatchObject({ file, error: 'ENOTDIR' });
    } else {
      // The run was faster than the race: the trace was written.
      expect(r.status).toBe(1);
    }
  });
});

describe('gate configs', () => {
  const gate = async (cfg: string, extra: string[] = []) => {
    const dir = mkdtempSync(join(tmpdir(), 'gate-'));
    const r = await mmcheck(['gate', '-c', cfg, '--traces', join(dir, 't'), '--junit', join(dir, 'j.xml'), '--summary', join(dir, 's.md'), '-j', '1', ...extra]);
    return { ...r, dir };
  };
  test('gate-c-evil.json and gate-c-slash.json: a trace file stays inside --traces, named safely', async () => {
    for (const cfg of ['gate-c-evil.json', 'gate-c-slash.json']) {
      const r = await gate(cfg);
      expect(r.code).toBe(1);
      const files = readdirSync(join(r.dir, 't'));
      expect(files).toHaveLength(1);
      expect(files[0]).toMatch(/^001-[A-Za-z0-9._+-]+\.itf\.json$/);
      expect(readdirSync(r.dir).sort()).toEqual(['j.xml', 's.md', 't']);
    }
  });
  test('gate-c-same.json and gate-c-dupdepth.json: every row its own trace file', async () => {
    for (const cfg of ['gate-c-same.json', 'gate-c-dupdepth.json']) {
      const r = await gate(cfg);
      expect(readdirSync(join(r.dir, 't'))).toHaveLength(2);
    }
  });
  test('gate-c-trfile.json, gate-c-trro.json: --traces cannot be made: the table, JUnit and summary are still written', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gate-'));
    writeFileSync(join(dir, 'file'), '');
    for (const traces of [join(dir, 'file'), '/proc/nope']) {
      const r = await mmcheck(['gate', '-c', 'gate-c-trfile.json', '--traces', traces, '--junit', join(dir, 'j.xml'), '-j', '1']);
      expect(r.code).toBe(1);
      expect(r.out).toMatch(/^FAIL +iouring-ro-remap/m);
      expect(r.out).toMatch(/^error: .*could not write its trace to .*: (ENOTDIR|ENOENT)$/m);
      expect(readFileSync(join(dir, 'j.xml'), 'utf8')).toMatch(/<testsuites /);
    }
  });
  test('gate-c-junit.json: a report that cannot be written is an error line and exit 6', async () => {
    const r = await mmcheck(['gate', '-c', 'gate-c-junit.json', '--junit', '/proc/nope/j.xml', '-j', '1']);
    expect(r.code).toBe(6);
    expect(r.out).toMatch(/^error: could not write \/proc\/nope\/j\.xml: ENOENT$/m);
  });
  test('gate-c-ctl.json: control characters are escaped in JUnit XML and on the terminal', async () => {
    const r = await gate('gate-c-ctl.json');
    expect(r.code).toBe(0);
    const xml = readFileSync(join(r.dir, 'j.xml'), 'utf8');
    // eslint-disable-next-line no-control-regex
    expect(xml).not.toMatch(/[\u0000-\u0008\u000b\u000c\u000e-\u001f]/);
    expect(xml).toContain('bad \\x01 \\x1b[31m name');
    // eslint-disable-next-line no-control-regex
    expect(r.out).not.toMatch(/[\u0001\u001b]/);
  });
  test('gate-c-ddfs.json: a dfs row deeper than 65535 is a config error', async () => {
    const r = await mmcheck(['gate', '-c', 'gate-c-ddfs.json']);
    expect(r.code).toBe(2);
    oneLine(r, /gate-c-ddfs\.json: checks\[0\]\.depth: a dfs check's depth must be at most 65535, got 70000/);
  });
});

describe('trace files', () => {
  for (const [file, msg] of [
    ['trace-states-empty.itf.json', /states: must not be empty/],
    ['trace-mms-null.itf.json', /states\[2\]\.mms: expected an object, got null/],
    ['trace-notes-5.itf.json', /states\[3\]\.#meta\.notes: expected a list, got 5/],
    ['trace-switches-5.itf.json', /#meta\.switches: expected a list, got 5/],
    ['trace-spec-null.itf.json', /#meta\.scenarioSpec: expected an object, got null/],
    ['trace-version-minus1.itf.json', /#meta\.mmcheck-trace-version: -1 is not a trace format this mmcheck/],
  ] as const) {
    test(`${file}: one line naming the field, exit 2, in show, html and replay`, async () => {
      for (const cmd of [['show'], ['html', '-o', join(tmpdir(), 'x.html')], ['replay']]) {
        const r = await mmcheck(['trace', cmd[0]!, file, ...cmd.slice(1)]);
        expect(r.code).toBe(2);
        oneLine(r, cmd[0] === 'replay' && file !== 'trace-version-minus1.itf.json' ? /trace format/ : msg);
      }
    });
  }

  test('the tampered traces, made again in the current format: replay names what diverged (exit 1)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tamper-'));
    const good = join(dir, 'good.itf.json');
    expect((await mmcheck(['check', '-s', 'iouring-ro-remap', '-i', 'pin-coherent', '-k', '5.18', '-q', '--trace-out', good])).code).toBe(1);
    expect((await mmcheck(['trace', 'replay', good])).code).toBe(0);
    const tamper = (name: string, f: (t: Record<string, any>) => void): string => {
      const t = JSON.parse(readFileSync(good, 'utf8'));
      f(t);
      const file = join(dir, `${name}.itf.json`);
      writeFileSync(file, JSON.stringify(t));
      return file;
    };
    const cases: [string, (t: Record<string, any>) => void, RegExp][] = [
      ['kernel-relabelled', (t) => (t['#meta'].kernel = '6.2'), /#meta\.epoch: kernel 6\.2 is epoch E5, the file says E3/],
      [
        'kernel-relabelled-same-epoch',
        (t) => (t['#meta'].kernel = '5.18.3'),
        /#meta\.description: .* but the trace is a counterexample to pin-coherent on iouring-ro-remap, kernel 5\.18\.3/,
      ],
      [
        'kernelfunction-tampered',
        (t) => (t.states[3]['#meta'].kernelFunction = 'mm/evil.c:do_evil (1.0)'),
        /states\[3\]\.#meta\.kernelFunction: the file has "mm\/evil\.c:do_evil \(1\.0\)"/,
      ],
      ['switch-dropped', (t) => t['#meta'].switches.pop(), /#meta\.switches: kernel 5\.18 has switches its file does not list as changed \(without i-mmap-shared\)/],
      ['scenario-relabelled', (t) => (t['#meta'].scenario = 'cow-fork-gup'), /#meta\.scenario: "cow-fork-gup", but the recorded scenario definition is "iouring-ro-remap"/],
      ['notes-tampered', (t) => (t.states[2]['#meta'].notes = ['nothing happened']), /states\[2\]\.#meta\.notes/],
      ['preemption-tampered', (t) => (t.states[2]['#meta'].preempted = true), /states\[2\]\.#meta\.preempted/],
      ['count-tampered', (t) => (t['#meta'].operations = 9), /#meta\.operations: the file has 9, the trace has 4/],
    ];
    for (const [name, f, msg] of cases) {
      const r = await mmcheck(['trace', 'replay', tamper(name, f)]);
      expect(r.code, name).toBe(1);
      expect(r.out).toMatch(msg);
    }
    const v = await mmcheck(['trace', 'replay', tamper('version', (t) => (t['#meta']['mmcheck-trace-version'] = -1))]);
    expect(v.code).toBe(2);
  });
});

describe('kernels', () => {
  test('newer than the newest modelled: a warning and modelledAs; newer than the newest release known, or not a release: exit 2', async () => {
    const r = await mmcheck(['check', '-s', 'iouring-ro-remap', '-i', 'pin-coherent', '-k', '7.0', '--json']);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.out);
    expect(j.modelledAs).toBe('6.2');
    expect(j.warnings[0]).toMatch(/kernel 7\.0 is newer than the newest modelled release: it is checked as 6\.2/);
    const text = await mmcheck(['check', '-s', 'iouring-ro-remap', '-i', 'pin-coherent', '-k', '6.10', '-q']);
    expect(text.out).toMatch(/^warning: kernel 6\.10 is newer than the newest modelled release/);
    oneLine(await mmcheck(['check', '-k', '9.99']), /kernel 9\.99 is newer than the newest release mmcheck knows \(7\.2/);
    oneLine(await mmcheck(['check', '-k', '5.25']), /there is no Linux release 5\.25 \(after 5\.19 came 6\.0\)/);
    expect((await mmcheck(['check', '-s', 'iouring-ro-remap', '-i', 'pin-coherent', '-k', '7.3-rc6', '-q'])).code).toBe(0);
    oneLine(await mmcheck(['check', '-k', '7.3']), /newer than the newest release mmcheck knows/);
  });
  test('an invariant that does not exist on the kernel: NOT APPLICABLE, exit 5 (2 means a typo)', async () => {
    const r = await mmcheck(['check', '-i', 'anon-exclusive', '-k', '5.18']);
    expect(r.code).toBe(5);
    expect(r.out).toMatch(/^NOT APPLICABLE on kernel 5\.18: nothing was checked/m);
    expect(r.out).toMatch(/anon-exclusive does not apply: kernel 5\.18 has no PG_anon_exclusive/);
    expect(JSON.parse((await mmcheck(['check', '-i', 'anon-exclusive', '-k', '5.18', '--json'])).out).verdict).toBe('not-applicable');
  });
});

describe('help', () => {
  const subs = [['check'], ['gate'], ['list'], ['schema'], ['trace', 'replay'], ['trace', 'show'], ['trace', 'html']];
  for (const sub of subs) {
    test(`mmcheck ${sub.join(' ')} --help / -h / mmcheck help ${sub.join(' ')}: its options, one line each, exit 0`, async () => {
      const a = await mmcheck([...sub, '--help']);
      expect(a.code).toBe(0);
      expect(a.out).toMatch(new RegExp(`^usage: mmcheck ${sub.join(' ')}`));
      expect(a.out).toMatch(/^options:$/m);
      expect(a.out).toMatch(/^ {2}-h, --help +print this help$/m);
      expect((await mmcheck([...sub, '-h'])).out).toBe(a.out);
      expect((await mmcheck(['help', ...sub])).out).toBe(a.out);
    });
  }
  test('every option of check is in its help', async () => {
    const help = (await mmcheck(['check', '--help'])).out;
    for (const o of [
      'invariant',
      'scenario',
      'kernel',
      'depth',
      'strategy',
      'workers',
      'mutant',
      'patch',
      'revert',
      'continue',
      'strict',
      'max-states',
      'max-seconds',
      'max-memory',
      'no-symmetry',
      'no-por',
      'reduction-factor',
      'trace-out',
      'json',
      'coverage',
      'no-color',
      'quiet',
      'progress',
      'invariants-file',
    ]) {
      expect(help).toContain(`--${o}`);
    }
  });
});

// Guard against a silently skipped suite: the invariants the tests above rely on exist.
test('the built-in invariants are there', () => {
  for (const n of ['anon-exclusive', 'pin-coherent', 'rss-consistent']) expect(findInvariant(n)).toBeDefined();
});
