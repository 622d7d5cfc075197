/**
 * Scenario files: the built-ins are shipped as files in the format users
 * write; the schema rejects what does not fit with the path and the reason,
 * and never with a crash.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { fc, test as fcTest } from '@fast-check/vitest';
import { describe, expect, test } from 'vitest';
import { GATE_SCHEMA } from '../../cli/gate.js';
import { jsonSchemaDocument } from '../../model/json-schema.js';
import { parseScenario, SCENARIO_SCHEMA, ScenarioFileError } from '../../model/scenario-file.js';
import { SCENARIOS } from '../../model/scenarios.js';
import { explore } from '../../checker/explore.js';
import { resolveVariant } from '../../model/variants.js';
import { MMModel } from '../../model/world.js';

const ROOT = new URL('../../', import.meta.url);
const read = (p: string) => readFileSync(new URL(p, ROOT), 'utf8');
const base = () => JSON.parse(read('scenarios/iouring-ro-remap.json')) as Record<string, any>;

function reason(mutate: (s: Record<string, any>) => void): string {
  const s = base();
  mutate(s);
  try {
    parseScenario(JSON.stringify(s), 'x.json');
    return 'accepted';
  } catch (e) {
    if (e instanceof ScenarioFileError) return e.message;
    throw e;
  }
}

describe('built-in scenarios are scenario files', () => {
  test('every file in scenarios/ is a built-in and every built-in is a file', () => {
    const files = readdirSync(new URL('scenarios/', ROOT)).filter((f) => f.endsWith('.json') && f !== 'scenario.schema.json');
    expect(files.map((f) => f.replace(/\.json$/, '')).sort()).toEqual(SCENARIOS.map((s) => s.name).sort());
    expect(SCENARIOS.length).toBe(53);
  });

  test('a built-in read back from its own JSON is the same scenario', () => {
    for (const s of SCENARIOS) expect(parseScenario(JSON.stringify(s), s.name)).toEqual(s);
  });

  test('the JSON Schema files for editors are generated from the validator and up to date', () => {
    expect(JSON.parse(read('scenarios/scenario.schema.json'))).toEqual(jsonSchemaDocument('mmcheck scenario', SCENARIO_SCHEMA));
    expect(JSON.parse(read('gate.schema.json'))).toEqual(jsonSchemaDocument('mmcheck gate config', GATE_SCHEMA));
  });
});

describe('bad scenario files: the path and the reason', () => {
  const cases: [string, (s: Record<string, any>) => void, string][] = [
    ['a missing field', (s) => delete s.frames, 'x.json: (top level): missing field "frames"'],
    ['a wrong type', (s) => (s.frames = '2'), 'x.json: frames: expected an integer, got "2"'],
    ['out of range', (s) => (s.frames = 99), 'x.json: frames: must be at most 30, got 99'],
    [
      'an unknown field',
      (s) => (s.thread = []),
      'x.json: thread: unknown field (did you mean "threads"?); expected one of name, title, description, reference, processes, files, device, vmas, pages, frames, swapSlots, pageTables, reclaim, witnesses, threads',
    ],
    [
      'an unknown operation',
      (s) => (s.threads[0].menu[1].op = 'mprotekt'),
      'x.json: threads[0].menu[1].op: unknown op "mprotekt" (did you mean "mprotect"?); one of read, write, gup, put, device-write, fork, mprotect, mprotect-subpage, madv-dontfork, madv-dofork, madv-dontneed, munmap, reclaim, pageout, truncate, punch, migrate, writeback, collapse, memunmap, migrate-to-device, break-layouts, oom-reaper, exit',
    ],
    ['a field of another operation', (s) => (s.threads[0].menu[1].addr = 0), 'x.json: threads[0].menu[1].addr: unknown field; expected one of op, vma, prot, max'],
    ['a bad enum', (s) => (s.vmas[0].prot = 'rwx'), 'x.json: vmas[0].prot: must be one of "r", "rw", got "rwx" (did you mean "rw"?)'],
    ['a bound out of range', (s) => (s.threads[0].menu[0].max = 4), 'x.json: threads[0].menu[0].max: must be at most 3, got 4'],
    ['an empty menu', (s) => (s.threads[0].menu = []), 'x.json: threads[0].menu: must not be empty'],
    ['a thread in no process', (s) => (s.threads[0].mm = 'Q'), 'x.json: threads[0].mm: unknown process "Q" (did you mean "P"?)'],
    ['an unknown VMA', (s) => (s.threads[0].menu[1].vma = 'heap'), 'x.json: threads[0].menu[1].vma: unknown VMA "heap"'],
    ['an address no VMA covers', (s) => (s.pages[0].addr = 5), 'x.json: pages[0].addr: no VMA covers address 5'],
    ['a put of a reference nobody takes', (s) => (s.threads[0].menu.at(-1).ref = 'other'), 'x.json: threads[0].menu[5].ref: no "gup" entry takes reference "other"'],
    ['two processes of one name', (s) => (s.processes = ['P', 'P']), 'x.json: processes[1]: "P" is used twice'],
    ['overlapping VMAs', (s) => s.vmas.push({ name: 'b', start: 0, pages: 1, prot: 'r' }), 'x.json: vmas[1]: overlaps VMA "buf"'],
    [
      'migrate with both forms',
      (s) => s.threads[0].menu.push({ op: 'migrate', mm: 'P', addr: 0, file: 'f', index: 0 }),
      'x.json: threads[0].menu[6]: give either "file" and "index" or "mm" and "addr"',
    ],
    ['a kernel thread doing user work', (s) => (s.threads[0].mm = null), 'x.json: threads[0].menu[0]: a kernel thread cannot do "gup"'],
    ['null where a name belongs', (s) => (s.processes = [null]), 'x.json: processes[0]: expected a string, got null'],
  ];
  for (const [what, mutate, msg] of cases) test(what, () => expect(reason(mutate)).toBe(msg));

  test('not JSON at all', () => {
    expect(() => parseScenario('{"name": ', 'x.json')).toThrow(/^x\.json is not valid JSON: /);
  });

  fcTest.prop([fc.array(fc.tuple(fc.constantFrom('frames', 'vmas', 'pages', 'threads', 'processes', 'swapSlots', 'files', 'name'), fc.jsonValue()), { maxLength: 3 })], {
    numRuns: 300,
  })('any field replaced by any JSON value: a scenario or one ScenarioFileError, never a crash', (edits) => {
    const s = base();
    for (const [k, v] of edits) s[k] = v;
    try {
      parseScenario(JSON.stringify(s), 'x.json');
    } catch (e) {
      expect(e).toBeInstanceOf(ScenarioFileError);
      expect((e as Error).message).toMatch(/^x\.json: /);
    }
  });

  // Entries valid in the base scenario, with at most one field changed to a nearby value.
  const TEMPLATES: Record<string, unknown>[] = [
    { op: 'read', addr: 0 },
    { op: 'write', addr: 0, value: 3 },
    { op: 'gup', ref: 'extra', addr: 0, pin: false },
    { op: 'gup', ref: 'fast', addr: 0, pin: true, write: true, longterm: true, fast: true },
    { op: 'put', ref: 'fixed-buffer' },
    { op: 'device-write', ref: 'fixed-buffer', value: 5 },
    { op: 'mprotect', vma: 'buf', prot: 'r' },
    { op: 'madv-dontneed', addr: 0 },
    { op: 'munmap', vma: 'buf' },
    { op: 'pageout', addr: 0 },
    { op: 'migrate', mm: 'P', addr: 0 },
    { op: 'exit' },
  ];
  const nearlyValidEntry = fc
    .tuple(
      fc.constantFrom(...TEMPLATES),
      fc.option(
        fc.tuple(
          fc.constantFrom('op', 'addr', 'value', 'ref', 'vma', 'prot', 'max', 'pin', 'mm'),
          fc.constantFrom<unknown>(0, 1, 3, 16, -1, 'buf', 'P', 'Q', 'r', 'fixed-buffer', true, null),
        ),
      ),
    )
    .map(([t, edit]) => (edit ? { ...t, [edit[0]]: edit[1] } : t));

  fcTest.prop([fc.oneof(fc.jsonValue(), nearlyValidEntry, nearlyValidEntry)], { numRuns: 400 })('any menu entry: accepted or one clear error', (entry) => {
    const s = base();
    s.threads[0].menu.push(entry);
    try {
      const spec = parseScenario(JSON.stringify(s), 'x.json');
      // Accepted: the model builds and explores without an internal error.
      const r = explore(new MMModel(spec, resolveVariant({ kernel: '5.18' })), [], { maxStates: 3000 });
      expect(r.states).toBeGreaterThan(0);
    } catch (e) {
      expect(e).toBeInstanceOf(ScenarioFileError);
      expect((e as Error).message).toMatch(/^x\.json: threads\[0\]\.menu\[6\]/);
    }
  });
});
