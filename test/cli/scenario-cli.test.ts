/**
 * --scenario with a scenario file: the same results as the built-in it
 * copies; bounds and programs change what is explored; bad files get one line.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { mmcheckHere } from '../helpers.js';

const builtin = (name: string) => JSON.parse(readFileSync(new URL(`../../scenarios/${name}.json`, import.meta.url), 'utf8'));

const dir = mkdtempSync(join(tmpdir(), 'scenario-'));
function file(name: string, spec: unknown): string {
  const f = join(dir, name);
  writeFileSync(f, typeof spec === 'string' ? spec : JSON.stringify(spec, null, 2));
  return f;
}

describe('mmcheck check --scenario FILE', () => {
  test('a copy of a built-in gives the same verdict, states and trace', async () => {
    const spec = { ...builtin('cow-swap-gup'), name: 'my-copy' };
    const mine = JSON.parse((await mmcheckHere(['check', '-i', 'cow-isolation', '-s', file('copy.json', spec), '-k', '5.17', '--json'])).out);
    const theirs = JSON.parse((await mmcheckHere(['check', '-i', 'cow-isolation', '-s', 'cow-swap-gup', '-k', '5.17', '--json'])).out);
    expect(mine.scenario).toBe('my-copy');
    for (const k of ['verdict', 'states', 'transitions', 'depth', 'message', 'steps', 'preemptions']) expect(mine[k], k).toEqual(theirs[k]);
    expect(mine.trace).toEqual(theirs.trace);
  });

  test('a bound lets an operation run more often: more states', async () => {
    const spec = builtin('iouring-ro-remap');
    const once = JSON.parse((await mmcheckHere(['check', '-i', 'pin-coherent', '-s', file('once.json', spec), '-k', '6.2', '--json'])).out);
    spec.threads[0].menu.find((e: { op: string }) => e.op === 'write').max = 2;
    const twice = JSON.parse((await mmcheckHere(['check', '-i', 'pin-coherent', '-s', file('twice.json', spec), '-k', '6.2', '--json'])).out);
    expect(once.verdict).toBe('holds');
    expect(twice.verdict).toBe('holds');
    expect(twice.states).toBeGreaterThan(once.states);
  });

  test('a fixed program runs its entries in order: one path', async () => {
    const spec = builtin('iouring-ro-remap');
    spec.threads[0].mode = 'program';
    spec.threads[0].menu = spec.threads[0].menu.filter((e: { op: string }) => e.op !== 'device-write');
    delete spec.witnesses; // one of them names the entry taken out
    const r = JSON.parse((await mmcheckHere(['check', '-i', 'pin-coherent', '-s', file('program.json', spec), '-k', '5.18', '--json'])).out);
    expect(r.verdict).toBe('violated');
    expect(r.trace.map((s: { operation: string }) => s.operation.split(' ')[0])).toEqual(
      expect.arrayContaining(['pin_user_pages(FOLL_PIN|FOLL_WRITE|FOLL_LONGTERM)', 'mprotect', 'write']),
    );
  });

  const bad: [string, string[], RegExp][] = [
    ['a missing file', ['-s', join(dir, 'nope.json')], /cannot read scenario file .*nope\.json: ENOENT/],
    ['malformed JSON', ['-s', file('bad1.json', '{"name": "x",')], /bad1\.json is not valid JSON: /],
    ['a schema error', ['-s', file('bad2.json', { ...builtin('fork-pinned'), frames: 'three' })], /bad2\.json: frames: expected an integer, got "three"/],
    [
      'a reference error',
      ['-s', file('bad3.json', { ...builtin('fork-pinned'), processes: ['P'] })],
      /bad3\.json: threads\[0\]\.menu\[1\]\.child: "C" is not a process created by fork/,
    ],
  ];
  for (const [what, args, msg] of bad) {
    test(`bad scenario file, ${what}: one line, exit 2`, async () => {
      const r = await mmcheckHere(['check', '-i', 'pin-coherent', ...args]);
      expect(r.code).toBe(2);
      expect(r.err).toMatch(msg);
      expect(r.err.trim().split('\n')).toHaveLength(1);
    });
  }
});
