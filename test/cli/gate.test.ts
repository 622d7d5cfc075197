/**
 * mmcheck gate end to end: the table, JUnit XML, the Markdown summary (and
 * $GITHUB_STEP_SUMMARY), traces of unexpected violations, exit codes, bad
 * configs, determinism and Ctrl-C. In this process (mmcheckHere) but for
 * $GITHUB_STEP_SUMMARY, invariant files and Ctrl-C, which spawn the command.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { outcome } from '../../cli/main.js';
import { LONG_RUN, mmcheckHereIn } from '../helpers.js';

const BIN = new URL('../../bin/mmcheck.js', import.meta.url).pathname;
const ROOT = new URL('../../', import.meta.url).pathname;

/** The command in a process of its own. */
function spawned(args: string[], env: Record<string, string> = {}, cwd = ROOT) {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', cwd, env: { ...process.env, NO_COLOR: '1', GITHUB_STEP_SUMMARY: '', ...env } });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

/** The command run in this process (in the repository, as spawned()). */
const mmcheck = (args: string[]) => mmcheckHereIn(ROOT, args);

function config(dir: string, checks: unknown[], extra: Record<string, unknown> = {}): string {
  const file = join(dir, 'gate.json');
  writeFileSync(file, JSON.stringify({ ...extra, checks }));
  return file;
}

const AS_EXPECTED = [
  { name: 'io_uring R/O remap', scenario: 'iouring-ro-remap', invariants: ['pin-coherent'], kernels: ['5.18'], expect: 'violated' },
  { scenario: 'iouring-ro-remap', invariants: ['pin-coherent'], kernels: ['5.19', '6.2'], expect: 'holds', depth: 12 },
  { scenario: 'fork-pinned', invariants: ['pin-coherent'], kernels: ['6.2'], mutants: ['fork-shares-pinned'], expect: 'violated' },
];

describe('mmcheck gate', () => {
  test('every verdict as expected: exit 0, a table, JUnit XML and a Markdown summary', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gate-'));
    const cfg = config(dir, AS_EXPECTED);
    const junit = join(dir, 'junit.xml');
    const summary = join(dir, 'summary.md');
    const r = await mmcheck(['gate', '--config', cfg, '--junit', junit, '--summary', summary, '--jobs', '2', '--traces', join(dir, 't')]);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^ +CHECK +EXPECTED +GOT +STATES +SECONDS$/m);
    expect(r.out).toMatch(/^ok +iouring-ro-remap pin-coherent @ 5\.18 +violated +violated +\d+ +[\d.]+$/m);
    expect(r.out).toMatch(/^ok +fork-pinned pin-coherent @ 6\.2 \(mutant fork-shares-pinned\) +violated +violated/m);
    expect(r.out).toMatch(/4 of 4 as expected, 0 different/);
    const xml = readFileSync(junit, 'utf8');
    expect(xml).toMatch(/<testsuites name="mmcheck gate" tests="4" failures="0" errors="0"/);
    expect(xml.match(/<testcase /g)).toHaveLength(4);
    expect(xml).toContain('name="io_uring R/O remap: iouring-ro-remap pin-coherent @ 5.18"');
    const md = readFileSync(summary, 'utf8');
    expect(md).toMatch(/^## mmcheck gate: every verdict as expected/);
    expect(md).toMatch(/\| ✅ \| iouring-ro-remap pin-coherent @ 6.2 \(depth 12\) \| holds \| holds \|/);
    expect(existsSync(join(dir, 't'))).toBe(false); // no unexpected violation, no trace
  });

  test('a verdict that changed: exit 1, the trace of the unexpected violation saved, a bug that moved is a failure too', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gate-'));
    const cfg = config(dir, [
      { name: 'wrongly expected to hold', scenario: 'iouring-ro-remap', invariants: ['pin-coherent'], kernels: ['5.18'], expect: 'holds' },
      { name: 'the bug moved', scenario: 'iouring-ro-remap', invariants: ['pin-coherent'], kernels: ['5.19'], expect: 'violated' },
      { scenario: 'fork-pinned', invariants: ['pin-coherent'], kernels: ['5.9'], expect: 'holds' },
    ]);
    const stepSummary = join(dir, 'step-summary.md');
    writeFileSync(stepSummary, '# earlier step\n');
    const junit = join(dir, 'junit.xml');
    const traces = join(dir, 'traces');
    // The environment: a process of its own.
    const r = spawned(['gate', '-c', cfg, '--junit', junit, '--traces', traces, '--jobs', '1'], { GITHUB_STEP_SUMMARY: stepSummary });
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/^FAIL +iouring-ro-remap pin-coherent @ 5\.18 +holds +violated/m);
    expect(r.out).toMatch(/^FAIL +iouring-ro-remap pin-coherent @ 5\.19 +violated +holds/m);
    expect(r.out).toMatch(/^ok +fork-pinned pin-coherent @ 5\.9 +holds +holds/m);
    expect(r.out).toMatch(/1 of 3 as expected, 2 different/);
    const saved = readdirSync(traces);
    expect(saved).toEqual(['001-iouring-ro-remap-5.18-pin-coherent.itf.json']);
    expect(r.out).toContain(`trace: ${join(traces, saved[0]!)}`);
    expect((await mmcheck(['trace', 'replay', join(traces, saved[0]!)])).code).toBe(0);
    const xml = readFileSync(junit, 'utf8');
    expect(xml).toMatch(/failures="2" errors="0"/);
    expect(xml).toMatch(/<failure message="expected holds, got violated" type="violated">pin-coherent: pin &quot;fixed-buffer&quot;/);
    expect(xml).toMatch(/<failure message="expected violated, got holds" type="holds">/);
    const md = readFileSync(stepSummary, 'utf8');
    expect(md.startsWith('# earlier step\n')).toBe(true); // appended, not overwritten
    expect(md).toMatch(/## mmcheck gate: 2 verdicts changed/);
    expect(md).toMatch(/\| iouring-ro-remap pin-coherent @ 5.18 \| holds \| \*\*violated\*\* \| pin-coherent: pin "fixed-buffer"/);
  });

  test('a HOLDS whose witness is not found is "vacuous", which never passes; strict rows also need every operation to complete and every thread to finish', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gate-'));
    const never = { name: 'the page holds 99', when: [{ at: 'P:0', data: 99 }] };
    const cfg = config(dir, [
      {
        name: 'found',
        scenario: 'iouring-ro-remap',
        invariants: ['pin-coherent'],
        kernels: ['6.2'],
        expect: 'holds',
        witnesses: [{ name: 'the device writes 3', when: [{ at: 'P:0', data: 3 }] }],
      },
      { name: 'not found', scenario: 'iouring-ro-remap', invariants: ['pin-coherent'], kernels: ['6.2'], expect: 'holds', witnesses: [never] },
      { name: 'strict', scenario: 'iouring-ro-remap', invariants: ['pin-coherent'], kernels: ['6.2'], expect: 'holds', strict: true, depth: 3 },
    ]);
    const r = await mmcheck(['gate', '-c', cfg, '-j', '1']);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/^ok +iouring-ro-remap pin-coherent @ 6\.2 +holds +holds/m);
    expect(r.out).toMatch(/^FAIL +iouring-ro-remap pin-coherent @ 6\.2 +holds +vacuous/m);
    expect(r.out).toMatch(/expected holds, got vacuous - holds, but not found: the page holds 99/);
    // Within 3 steps each operation completes on some path, but not all six of P's.
    expect(r.out).toMatch(/@ 6\.2 \(depth 3\): expected holds, got vacuous - holds, but not found: thread P finishes/);
    const bad = config(dir, [
      { scenario: 'iouring-ro-remap', invariants: ['pin-coherent'], kernels: ['6.2'], expect: 'holds', witnesses: [{ name: 'x', when: [{ at: 'Q:0', data: 1 }] }] },
    ]);
    const e = await mmcheck(['gate', '-c', bad]);
    expect(e.code).toBe(2);
    expect(e.err).toMatch(/checks\[0\]\.witnesses: .*witnesses\[3\]\.when\[0\]\.at: "Q:0" is not a process and a covered address/);
  });

  test('a limit makes a row incomplete, which never passes', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gate-'));
    const cfg = config(dir, [{ scenario: 'cow-fork-gup', invariants: ['cow-isolation'], kernels: ['6.2'], expect: 'holds', maxStates: 1000 }]);
    const r = await mmcheck(['gate', '-c', cfg]);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/^FAIL +cow-fork-gup cow-isolation @ 6\.2 +holds +incomplete/m);
    expect(r.out).toMatch(/expected holds, got incomplete - stopped by max-states/);
  });

  test('the same config gives the same result on every run', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gate-'));
    const cfg = config(dir, AS_EXPECTED);
    const strip = (s: string) => s.replace(/ +[\d.]+$/gm, '').replace(/; [\d.]+ s$/m, '');
    const a = await mmcheck(['gate', '-c', cfg, '--jobs', '2']);
    const b = await mmcheck(['gate', '-c', cfg, '--jobs', '1']);
    expect(a.code).toBe(0);
    expect(strip(b.out)).toBe(strip(a.out));
  });

  test('scenario files and invariant files in a config, relative to it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'gate-'));
    writeFileSync(join(dir, 'mine.json'), readFileSync(join(ROOT, 'scenarios/ro-longterm-pin-zeropage.json'), 'utf8').replace('"ro-longterm-pin-zeropage"', '"mine"'));
    writeFileSync(join(dir, 'inv.mjs'), readFileSync(join(ROOT, 'examples/invariants/no-longterm-zeropage-pin.mjs'), 'utf8'));
    const cfg = config(
      dir,
      [
        { scenario: './mine.json', invariants: ['no-longterm-zeropage-pin'], kernels: ['6.1'], expect: 'violated' },
        { scenario: './mine.json', invariants: ['no-longterm-zeropage-pin', 'pin-coherent'], kernels: ['6.2'], expect: 'holds' },
      ],
      { invariantsFiles: ['./inv.mjs'] },
    );
    // An invariant file stays registered in the process that loads it: a process of its own.
    const r = spawned(['gate', '-c', cfg], {}, dir);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/2 of 2 as expected/);
  });

  test('Ctrl-C: the running checks stop, the table so far is printed, exit 130', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gate-'));
    const cfg = config(dir, [{ scenario: LONG_RUN, invariants: ['cow-isolation'], kernels: ['6.2', '6.1', '6.0'], expect: 'holds' }]);
    const child = spawn(process.execPath, [BIN, 'gate', '-c', cfg, '--jobs', '2'], { env: { ...process.env, NO_COLOR: '1' } });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    setTimeout(() => child.kill('SIGINT'), 1200);
    const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
    expect(code).toBe(130);
    expect(out).toMatch(/interrupted/);
    expect(out).toMatch(/0 of 3 as expected, 3 different \(interrupted\)/);
  });

  const bad: [string, unknown, RegExp][] = [
    ['malformed JSON', '{"checks": [', /gate\.json is not valid JSON/],
    ['no checks', {}, /gate\.json: \(top level\): missing field "checks"/],
    [
      'a misspelt verdict',
      { checks: [{ scenario: 'fork-pinned', invariants: ['pin-coherent'], kernels: ['6.2'], expect: 'hold' }] },
      /checks\[0\]\.expect: must be one of "holds", "violated", "deadlock", got "hold" \(did you mean "holds"\?\)/,
    ],
    [
      'an unknown field',
      { checks: [{ scenario: 'fork-pinned', invariants: ['pin-coherent'], kernel: ['6.2'], expect: 'holds' }] },
      /checks\[0\]\.kernel: unknown field \(did you mean "kernels"\?\)/,
    ],
    [
      'a kernel that is not a number',
      { checks: [{ scenario: 'fork-pinned', invariants: ['pin-coherent'], kernels: [6.2], expect: 'holds' }] },
      /checks\[0\]\.kernels\[0\]: expected a string, got 6\.2/,
    ],
    [
      'an unknown scenario',
      { checks: [{ scenario: 'fork-pined', invariants: ['pin-coherent'], kernels: ['6.2'], expect: 'holds' }] },
      /checks\[0\]\.scenario: unknown scenario "fork-pined" \(did you mean "fork-pinned"\?\)/,
    ],
    [
      'an unknown invariant',
      { checks: [{ scenario: 'fork-pinned', invariants: ['pin-coherant'], kernels: ['6.2'], expect: 'holds' }] },
      /checks\[0\]\.invariants\[0\]: unknown invariant "pin-coherant" \(did you mean "pin-coherent"\?\)/,
    ],
    [
      'a bad kernel',
      { checks: [{ scenario: 'fork-pinned', invariants: ['pin-coherent'], kernels: ['6.2', '3.18'], expect: 'holds' }] },
      /checks\[0\]\.kernels\[1\]: kernel 3\.18 is older than 4\.4, the oldest release mmcheck knows/,
    ],
    [
      'an unknown mutant',
      { checks: [{ scenario: 'fork-pinned', invariants: ['pin-coherent'], kernels: ['6.2'], mutants: ['fork-shares-pined'], expect: 'violated' }] },
      /checks\[0\]\.mutants: unknown mutant "fork-shares-pined" \(did you mean "fork-shares-pinned"\?\)/,
    ],
    [
      'an invariant that does not apply',
      { checks: [{ scenario: 'fork-pinned', invariants: ['anon-exclusive'], kernels: ['5.10'], expect: 'holds' }] },
      /checks\[0\]\.kernels\[0\]: anon-exclusive does not apply/,
    ],
  ];
  for (const [what, body, msg] of bad) {
    test(`a bad config, ${what}: one line, exit 2`, async () => {
      const dir = mkdtempSync(join(tmpdir(), 'gate-'));
      const file = join(dir, 'gate.json');
      writeFileSync(file, typeof body === 'string' ? body : JSON.stringify(body));
      const r = await mmcheck(['gate', '--config', file]);
      expect(r.code).toBe(2);
      expect(r.err).toMatch(msg);
      expect(r.err.trim().split('\n')).toHaveLength(1);
      expect(r.out).toBe('');
    });
  }

  test('bad gate flags and a missing config: one line, exit 2', async () => {
    for (const [args, msg] of [
      [['gate', '--config', '/nonexistent/gate.json'], /cannot read gate config \/nonexistent\/gate\.json: ENOENT/],
      [['gate', '--jobs', '0'], /--jobs needs an integer from 1 to 64/],
      [['gate', '--jobs'], /--jobs/],
      [['gate', 'extra'], /gate takes no positional arguments/],
      [['gate', '--only', 'no-such-check'], /--only no-such-check: no check matches/],
    ] as [string[], RegExp][]) {
      const r = await mmcheck(args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.err).toMatch(msg);
      expect(r.err.trim().split('\n')).toHaveLength(1);
    }
  });
});

describe('a sharded gate', () => {
  // Rows of several costs, one failing (its trace file must keep its name in the merged report).
  const ROWS = [
    ...AS_EXPECTED,
    { scenario: 'cow-swap-gup', invariants: ['cow-isolation'], kernels: ['5.7', '5.17', '5.18', '6.2'], expect: 'holds' },
    { scenario: 'fsdax-unpin-break-layouts', invariants: ['fsdax-idle-wakes'], kernels: ['5.17', '5.18', '5.19'], expect: 'holds' },
    { scenario: 'device-coherent-memunmap', invariants: ['pgmap-pinned'], kernels: ['6.0', '6.1'], expect: 'holds' },
  ];
  /** A report without its timings (seconds, wall time), which differ from run to run. */
  const untimed = (s: string) =>
    s
      .replace(/ +\d+\.\d+$/gm, '')
      .replace(/; \d+\.\d+ s$/gm, '')
      .replace(/time="[\d.]+"/g, '')
      .replace(/ \| [\d.]+ \|$/gm, ' |')
      .replace(/(shard \d\/\d: \d+ of \d+ rows)/, '');

  test('3 shards merged give the table, JUnit and summary of one run; each row runs in exactly one shard', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'shard-'));
    const cfg = config(dir, ROWS);
    const one = await mmcheck([
      'gate',
      '-c',
      cfg,
      '--junit',
      join(dir, 'one.xml'),
      '--summary',
      join(dir, 'one.md'),
      '--traces',
      join(dir, 't'),
      '--record-costs',
      join(dir, 'costs.json'),
    ]);
    expect(one.code).toBe(1);
    const shards: { code: number | null; out: string; err: string }[] = [];
    for (const i of [1, 2, 3])
      shards.push(await mmcheck(['gate', '-c', cfg, '--shard', `${i}/3`, '--costs', join(dir, 'costs.json'), '--results', join(dir, `s${i}.json`), '--traces', join(dir, 't')]));
    const counts = shards.map((s) => Number(/shard \d\/3: (\d+) of 13 rows/.exec(s.out)![1]));
    expect(counts.reduce((a, b) => a + b, 0)).toBe(13);
    for (const c of counts) expect(c).toBeGreaterThan(0);
    const merged = await mmcheck(['gate', 'merge', ...[3, 1, 2].map((i) => join(dir, `s${i}.json`)), '--junit', join(dir, 'm.xml'), '--summary', join(dir, 'm.md')]);
    expect(merged.code).toBe(1);
    expect(untimed(merged.out)).toBe(untimed(one.out));
    expect(untimed(readFileSync(join(dir, 'm.xml'), 'utf8'))).toBe(untimed(readFileSync(join(dir, 'one.xml'), 'utf8')));
    expect(untimed(readFileSync(join(dir, 'm.md'), 'utf8'))).toBe(untimed(readFileSync(join(dir, 'one.md'), 'utf8')));
    // The merge appends its summary to the $GITHUB_STEP_SUMMARY of the environment it is given (once, it read this process's).
    const step = join(dir, 'step.md');
    writeFileSync(step, '# earlier step\n');
    const shardFiles = [1, 2, 3].map((i) => join(dir, `s${i}.json`));
    const inEnv = await outcome(['gate', 'merge', ...shardFiles], { env: { ...process.env, NO_COLOR: '1', GITHUB_STEP_SUMMARY: step } });
    expect(inEnv.code).toBe(1);
    expect(untimed(readFileSync(step, 'utf8'))).toBe(`# earlier step\n${untimed(readFileSync(join(dir, 'one.md'), 'utf8'))}`);
    // The same shards on another run (the assignment depends on the costs and the config only).
    const again = await mmcheck(['gate', '-c', cfg, '--shard', '2/3', '--costs', join(dir, 'costs.json')]);
    expect(
      again.out
        .split('\n')
        .slice(2, 2 + counts[1]!)
        .map((l) => l.replace(/ +[\d.]+$/, '')),
    ).toEqual(
      shards[1]!.out
        .split('\n')
        .slice(2, 2 + counts[1]!)
        .map((l) => l.replace(/ +[\d.]+$/, '')),
    );
  });
  test('merge refuses a missing shard, a row twice, another config; --shard is checked', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'shard-'));
    const cfg = config(dir, AS_EXPECTED);
    for (const i of [1, 2]) await mmcheck(['gate', '-c', cfg, '--shard', `${i}/2`, '--results', join(dir, `s${i}.json`)]);
    const missing = await mmcheck(['gate', 'merge', join(dir, 's1.json')]);
    expect([missing.code, missing.err.trim()]).toEqual([2, expect.stringMatching(/gate merge: \d of 4 rows; shard 2\/2 missing/)]);
    const twice = await mmcheck(['gate', 'merge', join(dir, 's1.json'), join(dir, 's1.json'), join(dir, 's2.json')]);
    expect(twice.code).toBe(2);
    expect(twice.err).toMatch(/is also in/);
    const other = config(mkdtempSync(join(tmpdir(), 'shard-')), ROWS);
    await mmcheck(['gate', '-c', other, '--shard', '2/2', '--results', join(dir, 'o2.json'), '--only', 'fork-pinned']);
    const mixed = await mmcheck(['gate', 'merge', join(dir, 's1.json'), join(dir, 'o2.json')]);
    expect(mixed.code).toBe(2);
    expect(mixed.err).toMatch(/its shard is of another gate run/);
    for (const bad of ['0/3', '4/3', 'x', '1/0']) {
      const r = await mmcheck(['gate', '-c', cfg, '--shard', bad]);
      expect([r.code, r.err.trim().split('\n').length]).toEqual([2, 1]);
      expect(r.err).toMatch(/--shard must be i\/N/);
    }
    expect((await mmcheck(['gate', 'merge'])).err).toMatch(/gate merge needs the results files/);
  });
});
