/**
 * Invariant files (--invariants-file): the README's worked example end to end
 * (in worker threads too), on both sides of the fix; trace files that name a
 * user invariant replay; bad files get one line and exit 2. And the readable
 * state's helpers parse every entry the model can produce.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import type { Invariant } from '../../checker/model.js';
import { explore } from '../../checker/explore.js';
import { parseGup, parsePte, readableState } from '../../model/readable.js';
import { model, workersAsked } from '../helpers.js';

const BIN = new URL('../../bin/mmcheck.js', import.meta.url).pathname;
const EXAMPLE = new URL('../../examples/invariants/no-longterm-zeropage-pin.mjs', import.meta.url).pathname;

function mmcheck(args: string[], cwd?: string) {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', cwd, env: { ...process.env, NO_COLOR: '1', ...workersAsked(args) } });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

describe('the worked example', () => {
  test('violated on 6.1 (BFS on two workers and DFS in process), holds on 6.2; the trace replays from anywhere with its invariant file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'inv-'));
    const file = join(dir, 'no-longterm-zeropage-pin.mjs');
    copyFileSync(EXAMPLE, file); // outside the mmcheck tree: `import 'mmcheck'` still resolves
    const trace = join(dir, 't.itf.json');
    const bad = mmcheck(['check', '--invariants-file', file, '--kernel', '6.1', '--workers', '2', '--trace-out', trace]);
    expect(bad.code).toBe(1);
    expect(bad.out).toMatch(/no-longterm-zeropage-pin on scenario ro-longterm-pin-zeropage, kernel 6\.1/);
    expect(bad.out).toMatch(/VIOLATED no-longterm-zeropage-pin: long-term pin "pin" holds the zeropage/);
    expect(mmcheck(['check', '--invariants-file', file, '--kernel', '6.1', '--strategy', 'dfs']).code).toBe(1);
    const good = mmcheck(['check', '--invariants-file', file, '--kernel', '6.2', '--workers', '2']);
    expect(good.code).toBe(0);
    expect(good.out).toMatch(/HOLDS: every reachable state explored/);
    expect(JSON.parse(readFileSync(trace, 'utf8'))['#meta'].invariantFile).toBe(file);
    // Replay imports no module a trace names: the file must be given, and be the same (by SHA-256).
    const without = mmcheck(['trace', 'replay', trace], tmpdir());
    expect(without.code).toBe(2);
    expect(without.err).toMatch(
      /its invariant no-longterm-zeropage-pin comes from .*no-longterm-zeropage-pin\.mjs; replay loads no module a trace file names: give it with --invariants-file/,
    );
    const replay = mmcheck(['trace', 'replay', trace, '--invariants-file', file], tmpdir());
    expect(replay.out).toMatch(/^replayed 4 steps: no-longterm-zeropage-pin is violated/);
    expect(replay.code).toBe(0);
    const changed = join(dir, 'changed.mjs');
    writeFileSync(changed, `${readFileSync(file, 'utf8')}\n// changed\n`);
    const other = mmcheck(['trace', 'replay', trace, '--invariants-file', changed], tmpdir());
    expect(other.code).toBe(1);
    expect(other.out).toMatch(/^diverged at step 0: .*changed\.mjs is not that file \(SHA-256 /);
  });

  test('with other invariants, on another scenario, and listed', () => {
    const r = mmcheck(['check', '--invariants-file', EXAMPLE, '-i', 'no-longterm-zeropage-pin,pin-coherent', '-s', 'ro-longterm-pin-memfd', '-k', '6.1', '--continue']);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/VIOLATED pin-coherent/);
    expect(r.out).not.toMatch(/VIOLATED no-longterm-zeropage-pin/); // a memfd page is not the zeropage
    expect(mmcheck(['list', 'invariants', '--invariants-file', EXAMPLE]).out).toMatch(/no-longterm-zeropage-pin\s+always\s+ro-longterm-pin-zeropage/);
  });
});

describe('bad invariant files: one line, exit 2', () => {
  const dir = mkdtempSync(join(tmpdir(), 'inv-bad-'));
  const write = (name: string, text: string) => {
    writeFileSync(join(dir, name), text);
    return join(dir, name);
  };
  const ok = (body: string) => `export const invariants = [{ name: 'mine', description: 'd', defaultScenario: 'fork-pinned', check(v) { ${body} } }];`;
  const cases: [string, string[], RegExp][] = [
    ['a missing file', ['check', '--invariants-file', join(dir, 'nope.mjs')], /cannot read invariants file .*nope\.mjs: ENOENT/],
    ['a syntax error', ['check', '--invariants-file', write('syntax.mjs', 'export const invariants = [{;')], /cannot load invariants file .*syntax\.mjs: SyntaxError: /],
    ['no export', ['check', '--invariants-file', write('none.mjs', 'const x = 1;')], /none\.mjs: exports no "invariants" \(and no default export\)/],
    [
      'a bad name',
      ['check', '--invariants-file', write('name.mjs', "export default { name: 'My Invariant', description: 'd', check() { return null; } };")],
      /name\.mjs: invariants\[0\]: "name" must be a kebab-case string/,
    ],
    [
      'no check',
      ['check', '--invariants-file', write('nocheck.mjs', "export const invariants = [{ name: 'x', description: 'd' }];")],
      /nocheck\.mjs: invariants\[0\]: x: needs a check\(v\) function/,
    ],
    [
      'a bad when',
      ['check', '--invariants-file', write('when.mjs', "export const invariants = [{ name: 'x', description: 'd', when: 'quiesent', check() { return null; } }];")],
      /"when" must be one of .* \(did you mean "quiescent"\?\)/,
    ],
    [
      'a built-in name',
      ['check', '--invariants-file', write('clash.mjs', "export const invariants = [{ name: 'pin-coherent', description: 'd', check() { return null; } }];")],
      /"pin-coherent" is already a built-in invariant/,
    ],
    [
      'no scenario',
      ['check', '--invariants-file', write('nosc.mjs', "export const invariants = [{ name: 'x', description: 'd', check() { return null; } }];")],
      /invariant x \(from .*nosc\.mjs\) names no defaultScenario: give --scenario/,
    ],
    [
      'a check that throws, in a worker',
      ['check', '--invariants-file', write('throws.mjs', ok("throw new Error('oops');")), '--workers', '2'],
      /^mmcheck: invariant mine: check\(\) threw: Error: oops\n$/,
    ],
    [
      'a check that throws, in the DFS worker',
      ['check', '--invariants-file', write('throws2.mjs', ok('return v.nothing.here;')), '--strategy', 'dfs'],
      /^mmcheck: invariant mine: check\(\) threw: TypeError: Cannot read properties of undefined/,
    ],
  ];
  for (const [what, args, msg] of cases) {
    test(what, () => {
      const r = mmcheck(args);
      expect(r.code).toBe(2);
      expect(r.err).toMatch(msg);
      expect(r.err.trim().split('\n')).toHaveLength(1);
      expect(r.out).toBe('');
    });
  }
});

describe('the readable state helpers', () => {
  test('parsePte and parseGup read every entry of every reachable state, consistently with the pages', () => {
    let seen = 0;
    for (const [sc, k] of [
      ['cow-swap-gup', '5.17'],
      ['zap-migrate', '5.17'],
      ['ro-longterm-pin-zeropage', '6.1'],
      ['fork-gup-fast', '5.10'],
    ] as const) {
      const m = model(sc, { kernel: k });
      const probe: Invariant = {
        name: 'parses',
        check(s) {
          const r = readableState(m, s);
          for (const mm of Object.values(r.mms)) {
            for (const text of Object.values(mm.ptes)) {
              const pte = parsePte(text);
              seen++;
              if ((pte.kind === 'present' && !pte.zeropage) || pte.kind === 'migration') {
                if (!r.pages[String(pte.pfn)]) return `${text}: no such page`;
              }
              if (pte.kind === 'swap' && !r.swap[String(pte.slot)]) return `${text}: no such slot`;
            }
          }
          for (const text of Object.values(r.gup)) {
            const g = parseGup(text);
            if (g && !(g.mm in r.mms)) return `${text}: no such mm`;
            if (g && g.pfn !== 0 && !r.pages[String(g.pfn)]) return `${text}: no such page`;
          }
          return null;
        },
      };
      expect(explore(m, [probe], { stopAtFirst: true }).verdict).toBe('holds');
    }
    expect(seen).toBeGreaterThan(10_000);
    expect(() => parsePte('present(pfn x)')).toThrow(/not a page-table entry/);
    expect(parsePte('devmap(pfn 4, rw)')).toEqual({ kind: 'devmap', pfn: 4, write: true });
    expect(parsePte('device-private(pfn 5, readable)')).toEqual({ kind: 'device-private', pfn: 5, write: false });
    expect(parseGup('none')).toBeNull();
    expect(parseGup('FOLL_PIN|FOLL_WRITE|FOLL_LONGTERM on pfn 3 via C:1 (unmapped since)')).toEqual({
      pin: true,
      write: true,
      longterm: true,
      pfn: 3,
      mm: 'C',
      addr: 1,
      detached: true,
    });
  });
});
