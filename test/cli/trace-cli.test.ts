/**
 * mmcheck trace replay|show|html and the trace parts of check, end to end
 * (in this process, mmcheckHere; "show colours on request only" spawns it).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, test } from 'vitest';
import { mmcheckHere } from '../helpers.js';

const BIN = new URL('../../bin/mmcheck.js', import.meta.url).pathname;

const dir = mkdtempSync(join(tmpdir(), 'mmcheck-trace-'));
const file = join(dir, 'cow.itf.json');
let checkOut = '';

beforeAll(async () => {
  const r = await mmcheckHere(['check', '-i', 'cow-isolation', '-s', 'cow-swap-gup', '-k', '5.17', '--trace-out', file, '--workers', '1']);
  expect(r.code).toBe(1);
  checkOut = r.out;
});

describe('check on a violation', () => {
  test('the summary line names steps, threads, operations and preemptions; the trace ends with the violation', () => {
    expect(checkOut).toMatch(/Trace: 11 steps, 2 threads \(P, C\), \d+ operations, 0 preemptions/);
    expect(checkOut).toMatch(/VIOLATED cow-isolation: /);
    expect(checkOut).toMatch(/do_swap_page/);
    expect(checkOut).toMatch(/locks held: /);
    expect(checkOut.trim().split('\n').at(-1)).toBe(`wrote the cow-isolation trace to ${file}`);
  });

  test('--json adds steps and preemptions', async () => {
    const j = JSON.parse((await mmcheckHere(['check', '-i', 'cow-isolation', '-s', 'cow-swap-gup', '-k', '5.17', '--json'])).out);
    expect(j).toMatchObject({ verdict: 'violated', steps: 11, preemptions: 0 });
    expect(j.trace).toHaveLength(11);
  });

  test('--continue writes one trace file per violated invariant', async () => {
    const f = join(dir, 'both.itf.json');
    const r = await mmcheckHere(['check', '-i', 'pin-coherent,cow-isolation', '-s', 'fork-pinned', '-k', '5.8', '--continue', '--trace-out', f]);
    expect(r.code).toBe(1);
    expect(r.out).toContain(`wrote the pin-coherent trace to ${f}`);
    const other = join(dir, 'both-cow-isolation.itf.json');
    expect(r.out).toContain(`wrote the cow-isolation trace to ${other}`);
    expect((await mmcheckHere(['trace', 'replay', other])).code).toBe(0);
  });

  test('a DFS trace is shortened to the same length as BFS', async () => {
    const j = JSON.parse((await mmcheckHere(['check', '-i', 'cow-isolation', '-s', 'cow-swap-gup', '-k', '5.17', '--json', '--strategy', 'dfs'])).out);
    expect(j).toMatchObject({ verdict: 'violated', steps: 11, preemptions: 0 });
  });
});

describe('mmcheck trace', () => {
  test('replay confirms the violation (exit 0)', async () => {
    const r = await mmcheckHere(['trace', 'replay', file]);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^replayed 11 steps: cow-isolation is violated: /);
  });

  test('replay of a tampered file says at which step and field it diverged (exit 1)', async () => {
    const t = JSON.parse(readFileSync(file, 'utf8'));
    t.states[4].mms.P.rss.MM_SWAPENTS = { '#bigint': '7' };
    const bad = join(dir, 'tampered.json');
    writeFileSync(bad, JSON.stringify(t));
    const r = await mmcheckHere(['trace', 'replay', bad]);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/^diverged at step 4: P MM_SWAPENTS: the file has "7", the model gives "1"$/m);
  });

  test('show: one block per step, or one step, or the full state', async () => {
    const all = await mmcheckHere(['trace', 'show', file]);
    expect(all.code).toBe(0);
    expect(all.out).toMatch(/^cow-isolation on scenario cow-swap-gup, kernel 5.17/);
    expect(all.out.match(/^ {1,2}\d+ {2}/gm)).toHaveLength(11);
    expect(all.out).toMatch(/ -> /);
    expect(all.out.trim().split('\n').at(-1)).toMatch(/^VIOLATED cow-isolation: /);
    const one = await mmcheckHere(['trace', 'show', file, '--step', '3']);
    expect(one.out.match(/^ {1,2}\d+ {2}/gm)).toEqual(['  3  ']);
    const full = await mmcheckHere(['trace', 'show', file, '--step', '3', '--full']);
    expect(full.out.split('\n').length).toBeGreaterThan(one.out.split('\n').length);
    expect(full.out).toMatch(/^ +P:0: swap\(slot 0\)$/m);
  });

  test('show colours on request only', () => {
    const r = spawnSync(process.execPath, [BIN, 'trace', 'show', file], { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
    expect(r.stdout).not.toMatch(/\x1b\[/);
  });

  test('html writes one self-contained file', async () => {
    const out = join(dir, 'cow.html');
    const r = await mmcheckHere(['trace', 'html', file, '-o', out]);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/wrote .*cow\.html \(11 steps\)/);
    const html = readFileSync(out, 'utf8');
    expect(html).toMatch(/^<!doctype html>/);
    expect(html).not.toMatch(/<(script|link|img)[^>]+(src|href)=/i);
  });

  const badCases: [string, string[], RegExp][] = [
    ['a missing file', ['trace', 'replay', join(dir, 'nope.json')], /cannot read trace file .*nope\.json: ENOENT/],
    ['malformed JSON', ['trace', 'show', 'MALFORMED'], /is not valid JSON/],
    ['not a trace', ['trace', 'replay', 'NOTITF'], /not an ITF trace/],
    ['a newer trace format', ['trace', 'replay', 'NEWER'], /#meta\.mmcheck-trace-version: 4 is not a trace format this mmcheck replays \(3\): it was written by mmcheck/],
    ['html without -o', ['trace', 'html', 'GOOD'], /trace html needs -o OUT\.html/],
    ['html to a folder that does not exist', ['trace', 'html', 'GOOD', '-o', '/nonexistent-dir/t.html'], /-o \/nonexistent-dir\/t\.html: cannot write there \(ENOENT\)/],
    ['a step out of range', ['trace', 'show', 'GOOD', '--step', '99'], /--step 99: the trace has steps 1 to 11/],
    ['an unknown subcommand', ['trace', 'replya', 'GOOD'], /trace "replya" \(did you mean "replay"\?\)/],
    ['no file', ['trace', 'show'], /trace show needs one trace file/],
  ];
  for (const [what, args, msg] of badCases) {
    test(`bad input, ${what}: one line, exit 2`, async () => {
      writeFileSync(join(dir, 'malformed.json'), '{"#meta": ');
      writeFileSync(join(dir, 'notitf.json'), '{"a": 1}');
      const newer = JSON.parse(readFileSync(file, 'utf8'));
      newer['#meta']['mmcheck-trace-version'] = 4;
      writeFileSync(join(dir, 'newer.json'), JSON.stringify(newer));
      const map: Record<string, string> = { MALFORMED: 'malformed.json', NOTITF: 'notitf.json', NEWER: 'newer.json' };
      const real = args.map((a) => (a === 'GOOD' ? file : map[a] ? join(dir, map[a]!) : a));
      const r = await mmcheckHere([...real]);
      expect(r.code).toBe(2);
      expect(r.err).toMatch(msg);
      expect(r.err.trim().split('\n')).toHaveLength(1);
      expect(r.out).toBe('');
    });
  }
});
