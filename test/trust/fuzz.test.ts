/**
 * Scenario files attacked: thousands of mutants of the built-in scenarios
 * (a field replaced by another value or type, deleted, an entry repeated, an
 * unknown field added, a key given twice). Each is either refused with a
 * ScenarioFileError (one line: the file, the JSON path, the reason) or runs:
 * the model builds and a search with every invariant completes or stops at
 * its limit, with every layout index checked (MMCHECK_ASSERT). Nothing else
 * may happen: no other exception, no write outside an object. A sample goes
 * through the real command too, which may exit only 0-5 and prints one line
 * for 2. FUZZ_RUNS raises the count (the note's fuzz run used 20,000).
 */
import { fc, test as fcTest } from '@fast-check/vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect } from 'vitest';
import { explore } from '../../checker/explore.js';
import { INVARIANTS, toEngineInvariant } from '../../invariants/registry.js';
import { parseScenario, ScenarioFileError } from '../../model/scenario-file.js';
import { resolveVariant } from '../../model/variants.js';
import { ScenarioError, scenarioKernelProblem } from '../../model/scenario.js';
import { MMModel } from '../../model/world.js';

const ROOT = new URL('../../', import.meta.url);
const BIN = new URL('../../bin/mmcheck.js', import.meta.url).pathname;
const BUILTIN = readdirSync(new URL('scenarios/', ROOT))
  .filter((f) => f.endsWith('.json') && f !== 'scenario.schema.json')
  .map((f) => JSON.parse(readFileSync(new URL(`scenarios/${f}`, ROOT), 'utf8')) as unknown);
const RUNS = Number(process.env.FUZZ_RUNS ?? 1500);
const KERNELS = ['4.6', '4.8', '5.7', '5.9', '5.17', '5.18', '5.19', '6.2'];

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

/** Every place in a JSON document: the path of keys and indices to it. */
function places(x: Json, path: (string | number)[] = [], out: (string | number)[][] = []): (string | number)[][] {
  out.push(path);
  if (Array.isArray(x)) x.forEach((v, i) => places(v, [...path, i], out));
  else if (x && typeof x === 'object') for (const [k, v] of Object.entries(x)) places(v, [...path, k], out);
  return out;
}

const interesting = fc.oneof(
  fc.integer({ min: -3, max: 40 }),
  fc.constantFrom(-1, 0, 1, 15, 16, 17, 255, 256, 2 ** 31, 1e99, 0.5),
  fc.constantFrom('', 'constructor', '__proto__', 'toString', 'P', 'C', 'P:0', 'C:0', 'memfd', 'buf', 'fixed-buffer', 'x'.repeat(40), 'a/b', '../x'),
  fc.boolean(),
  fc.constant(null),
  fc.constant([]),
  fc.constant({}),
  fc.jsonValue({ maxDepth: 2 }),
);

const mutation = fc.record({
  scenario: fc.nat(BUILTIN.length - 1),
  at: fc.nat(),
  kind: fc.constantFrom('replace', 'replace', 'replace', 'delete', 'repeat', 'add-field', 'duplicate-key'),
  value: interesting,
  kernel: fc.constantFrom(...KERNELS),
});

/** The mutant's text (a key given twice cannot be made with JSON.stringify). */
function mutate(m: { scenario: number; at: number; kind: string; value: unknown }): string {
  const doc = structuredClone(BUILTIN[m.scenario]) as Json;
  const all = places(doc).filter((p) => p.length > 0);
  const path = all[m.at % all.length]!;
  const parent = path.slice(0, -1).reduce<Json>((o, k) => (o as Record<string, Json>)[k as string]!, doc) as Record<string, Json> | Json[];
  const key = path[path.length - 1]!;
  switch (m.kind) {
    case 'replace':
      (parent as Record<string, Json>)[key as string] = m.value as Json;
      break;
    case 'delete':
      if (Array.isArray(parent)) parent.splice(key as number, 1);
      else delete parent[key as string];
      break;
    case 'repeat':
      if (Array.isArray(parent)) parent.splice(key as number, 0, structuredClone(parent[key as number]!));
      break;
    case 'add-field':
      if (!Array.isArray(parent)) parent[typeof m.value === 'string' && m.value ? m.value : 'extra'] = m.value as Json;
      break;
    case 'duplicate-key':
      if (!Array.isArray(parent)) {
        const text = JSON.stringify(doc);
        const k = JSON.stringify(key);
        return text.replace(`${k}:`, () => `${k}:${JSON.stringify(m.value)},${k}:`); // a function: no $& patterns
      }
  }
  return JSON.stringify(doc);
}

describe('scenario mutants', () => {
  fcTest.prop([mutation], { numRuns: RUNS })('refused with one line, or checked without an internal error', (m) => {
    const text = mutate(m);
    let spec: ReturnType<typeof parseScenario>;
    try {
      spec = parseScenario(text, 'mutant.json');
    } catch (e) {
      expect(e).toBeInstanceOf(ScenarioFileError);
      const msg = (e as Error).message;
      expect(msg).toMatch(/^mutant\.json: /);
      expect(msg).not.toContain('\n');
      return;
    }
    // A scenario modelled on some releases only is refused on the others, in one line (the CLI's exit 2).
    const problem = scenarioKernelProblem(spec, m.kernel);
    if (problem) {
      expect(() => new MMModel(spec, resolveVariant({ kernel: m.kernel }))).toThrow(ScenarioError);
      expect(problem).not.toContain('\n');
      return;
    }
    const model = new MMModel(spec, resolveVariant({ kernel: m.kernel }));
    const view = model.view(new Int32Array(model.stateWords));
    const invariants = INVARIANTS.filter((i) => !i.notApplicable?.(model.variant)).map((i) => toEngineInvariant(i, view));
    const r = explore(model, invariants, { maxStates: 400, strategy: m.at % 2 ? 'dfs' : 'bfs' });
    expect(['holds', 'violated', 'deadlock', 'incomplete']).toContain(r.verdict);
  });

  fcTest.prop([mutation], { numRuns: 25 })('through the command: exit 0 to 5 only, one line for 2, never an internal error', (m) => {
    const dir = mkdtempSync(join(tmpdir(), 'fuzz-'));
    const file = join(dir, 'mutant.json');
    writeFileSync(file, mutate(m));
    const r = spawnSync(process.execPath, [BIN, 'check', '-s', file, '-k', m.kernel, '--max-states', '400', '-j', '1', '-q'], { encoding: 'utf8' });
    expect([0, 1, 2, 3, 4, 5]).toContain(r.status);
    if (r.status === 2) expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).not.toMatch(/internal error|\n\s+at /);
  });
});
