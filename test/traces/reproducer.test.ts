/**
 * C reproducers run on the machine's own kernel: each built-in violation
 * that user space can order is written as a C program, compiled with gcc and
 * run; what it reads must be the model's verdict for the running release
 * (this kind of machine runs 6.18: the fixed behaviour). The release is
 * printed. Skipped only where gcc is missing and not required (.ci/run sets
 * MMCHECK_REQUIRE_GCC=1), or where the program says the kernel lacks what it
 * needs (exit 4, with its reason). A trace whose page starts in swap gets
 * a swap file of its own when there is no swap and the program runs as root.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { release, tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { mmcheckHere } from '../helpers.js';

const GCC = ['/usr/bin/gcc', '/usr/bin/cc'].find((p) => existsSync(p));
if (process.env.MMCHECK_REQUIRE_GCC === '1' && !GCC) throw new Error('MMCHECK_REQUIRE_GCC=1 but there is no gcc');
const dir = mkdtempSync(join(tmpdir(), 'mmcheck-repro-'));
/** The running kernel as a release mmcheck models: "6.18.44-fc-v1045" -> "6.18.44". */
const running = /^\d+\.\d+(\.\d+)?/.exec(release())![0];

async function traceOf(scenario: string, invariant: string, kernel: string): Promise<string> {
  const file = join(dir, `${basename(scenario, '.json')}-${kernel}.itf.json`);
  const r = await mmcheckHere(['check', '-s', scenario, '-i', invariant, '-k', kernel, '--trace-out', file]);
  expect(r.code, r.out + r.err).toBe(1);
  return file;
}

function build(c: string, ...flags: string[]): string {
  const exe = c.replace(/\.c$/, flags.length ? '-flags' : '');
  const r = spawnSync(GCC!, ['-O2', '-Wall', '-Wextra', '-Werror', ...flags, '-o', exe, c], { encoding: 'utf8' });
  expect(r.status, r.stderr).toBe(0);
  return exe;
}

function run(exe: string): { code: number | null; out: string } {
  const r = spawnSync(exe, [], { encoding: 'utf8', timeout: 30_000 });
  return { code: r.status, out: r.stdout + r.stderr };
}

// Built-in violations that user space orders whole: CVE-2020-29374 and its THP forms (cow.c's vmsplice tests).
const REPRODUCIBLE = [
  ['cow-fork-gup', 'cow-isolation', '5.7'],
  ['thp-cow-fork-gup', 'cow-isolation', '5.7'],
  ['thp-vmsplice-before-fork', 'cow-isolation', '5.7'],
  // The 5.9-5.17 leak through swap-in (do_swap_page's reuse_swap_page): the page starts swapped (MADV_PAGEOUT).
  ['cow-swap-gup', 'cow-isolation', '5.10'],
] as const;

describe.skipIf(!GCC)(`reproducers on this machine's kernel (${release()})`, () => {
  for (const [scenario, invariant, kernel] of REPRODUCIBLE)
    test(`${scenario} (violated on ${kernel}): the program reads what the model says of ${running}`, async (ctx) => {
      const c = join(dir, `${scenario}.c`);
      const w = await mmcheckHere(['trace', 'reproducer', await traceOf(scenario, invariant, kernel), '-o', c]);
      expect(w.code, w.out + w.err).toBe(0);
      expect(w.out).toMatch(/pipe "pipe" reads 1 when fixed, 2 with the bug/);
      const model = await mmcheckHere(['check', '-s', scenario, '-i', invariant, '-k', running]);
      expect([0, 1], model.out + model.err).toContain(model.code);
      const r = run(build(c));
      console.log(`${scenario} on Linux ${release()} (model: ${model.code === 0 ? 'holds' : 'VIOLATED'} on ${running}):\n${r.out}`);
      expect(r.out).toContain(`kernel Linux ${release()}`);
      if (r.code === 4) return ctx.skip(r.out.split('\n').find((l) => l.startsWith('skip:')));
      expect(r.code, r.out).toBe(model.code === 0 ? 0 : 1);
      expect(r.out).toMatch(model.code === 0 ? /^fixed: /m : /^bug: /m);
    }, 120_000);

  test("the program's own check can fail: with the page shared on purpose (MAP_SHARED) it reports the leak", async () => {
    const c = join(dir, 'cow-fork-gup.c');
    const w = await mmcheckHere(['trace', 'reproducer', await traceOf('cow-fork-gup', 'cow-isolation', '5.7'), '-o', c]);
    expect(w.code).toBe(0);
    const r = run(build(c, '-DREPRO_MAP=MAP_SHARED'));
    expect(r.code, r.out).toBe(1);
    expect(r.out).toContain('pipe "pipe" (vmsplice by C): 4096 byte(s) read, 0 as when taken (1), 4096 from the later write (2)');
    expect(r.out).toContain("bug: the kernel behaves as mmcheck's model of 5.7: cow-isolation is broken");
  }, 60_000);
});

describe.skipIf(!GCC)('the programs themselves', () => {
  // Names with . and -, a byte above 127, a read-only VMA with a page: each once broke the generated C.
  const odd = {
    name: 'odd-names',
    title: 't',
    reference: 'r',
    description: 'cow-fork-gup with awkward names, data and a read-only VMA',
    processes: ['par-ent', 'p'],
    vmas: [
      { name: 'heap', start: 0, pages: 1, prot: 'rw' },
      { name: 'ro', start: 1, pages: 1, prot: 'r' },
    ],
    pages: [
      { addr: 0, data: 200 },
      { addr: 1, data: 7 },
    ],
    frames: 4,
    swapSlots: 0,
    threads: [
      { name: 'par-ent', mm: 'par-ent', menu: [{ op: 'fork', child: 'p' }, { op: 'write', addr: 0, value: 201 }, { op: 'exit' }] },
      { name: 'p', mm: 'p', menu: [{ op: 'gup', ref: 'pipe', addr: 0, pin: false }, { op: 'madv-dontneed', addr: 0 }, { op: 'exit' }] },
    ],
  };

  test('odd names, a byte above 127, a read-only VMA: builds with -Werror and reads what the model says', async (ctx) => {
    const sc = join(dir, 'odd-names.json');
    writeFileSync(sc, JSON.stringify(odd));
    const c = join(dir, 'odd-names.c');
    const w = await mmcheckHere(['trace', 'reproducer', await traceOf(sc, 'cow-isolation', '5.7'), '-o', c]);
    expect(w.code, w.out + w.err).toBe(0);
    expect(w.out).toContain('pipe "pipe" reads 200 when fixed, 201 with the bug');
    const r = run(build(c));
    if (r.code === 4) return ctx.skip(r.out);
    expect(r.code, r.out).toBe(0);
    expect(r.out).toContain('4096 as when taken (200), 0 from the later write (201)');
  }, 60_000);

  test('a process that fails ends the whole run: exit 2, no process left behind', async () => {
    const c = join(dir, 'cow-fork-gup.c');
    expect((await mmcheckHere(['trace', 'reproducer', await traceOf('cow-fork-gup', 'cow-isolation', '5.7'), '-o', c])).code).toBe(0);
    const exe = build(c);
    // vmsplice() fails in the child (an LD_PRELOAD shim): the child says why, and the first process ends the run.
    const shim = join(dir, 'fail.c');
    writeFileSync(
      shim,
      '#define _GNU_SOURCE\n#include <errno.h>\n#include <fcntl.h>\n#include <sys/uio.h>\nssize_t vmsplice(int fd, const struct iovec *iov, size_t n, unsigned int f) { (void)fd; (void)iov; (void)n; (void)f; errno = EPERM; return -1; }\n',
    );
    const so = join(dir, 'fail.so');
    expect(spawnSync(GCC!, ['-shared', '-fPIC', '-o', so, shim], { encoding: 'utf8' }).status).toBe(0);
    const r = spawnSync(exe, [], { encoding: 'utf8', timeout: 20_000, env: { ...process.env, LD_PRELOAD: so } });
    expect(r.error).toBeUndefined(); // not killed by the timeout: nobody waits forever
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('error: vmsplice: Operation not permitted');
    expect(spawnSync('pgrep', ['-f', exe]).status).toBe(1); // no process of it is left
  }, 60_000);
});

describe('traces user space cannot order are refused with the reason, exit 5', () => {
  const REFUSED = [
    ['dirty-cow', 'private-mapping-isolated', '4.8', 'a race inside follow_page_pte, which user space cannot order'],
    ['fork-gup-fast', 'pin-coherent', '5.10', 'a race inside copy_present_pte'],
    ['fork-pinned', 'pin-coherent', '5.8', 'a FOLL_PIN reference needs io_uring fixed buffers or the gup_test module'],
    ['reclaim-gup-fast', 'pin-coherent', '5.10', 'user space cannot order'],
    ['thp-pte-cow-fork-gup', 'cow-isolation', '5.7', 'VMA thp is a THP of 2 model pages'],
    ['truncate-private-swap', 'truncate-complete', '5.17', 'not reproducible from user space: '],
  ] as const;
  for (const [scenario, invariant, kernel, reason] of REFUSED)
    test(`${scenario} on ${kernel}`, async () => {
      const out = join(dir, `${scenario}-refused.c`);
      const r = await mmcheckHere(['trace', 'reproducer', await traceOf(scenario, invariant, kernel), '-o', out]);
      expect(r.code, r.out + r.err).toBe(5);
      expect(r.out).toContain(reason);
      expect(existsSync(out)).toBe(false);
    }, 60_000);

  test('bad input: no -o, not a trace file', async () => {
    const file = await traceOf('cow-fork-gup', 'cow-isolation', '5.7');
    const noOut = await mmcheckHere(['trace', 'reproducer', file]);
    expect([noOut.code, noOut.err.trim()]).toEqual([2, 'mmcheck: trace reproducer needs -o OUT.c']);
    const bad = await mmcheckHere(['trace', 'reproducer', join(dir, 'missing.json'), '-o', join(dir, 'x.c')]);
    expect(bad.code).toBe(2);
    expect(bad.err.trim().split('\n').length).toBe(1);
    expect(readFileSync(file, 'utf8')).toContain('"format": "ITF"');
  });
});
