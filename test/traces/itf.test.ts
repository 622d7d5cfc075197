/**
 * Trace files follow the ITF rules (as Apalache and Quint write them):
 * "#meta", "vars", "states"; every state has every var; every integer outside
 * "#meta" is {"#bigint": "<digits>"}.
 */
import { describe, expect, test } from 'vitest';
import { traceToItf } from '../../traces/itf.js';
import { buildTrace } from '../../traces/trace.js';
import { check } from '../helpers.js';

function assertItfValue(x: unknown, path: string): void {
  if (typeof x === 'number') throw new Error(`${path}: a bare number (${x}); ITF wants {"#bigint": "..."}`);
  if (Array.isArray(x)) x.forEach((v, i) => assertItfValue(v, `${path}[${i}]`));
  else if (x && typeof x === 'object') {
    const o = x as Record<string, unknown>;
    if ('#bigint' in o) {
      expect(Object.keys(o)).toEqual(['#bigint']);
      expect(o['#bigint']).toMatch(/^-?\d+$/);
      return;
    }
    for (const [k, v] of Object.entries(o)) if (k !== '#meta') assertItfValue(v, `${path}.${k}`);
  }
}

describe('ITF trace files', () => {
  test('a violation trace is valid ITF and carries mmcheck metadata', () => {
    const { result, model } = check('cow-swap-gup', '5.17', ['cow-isolation']);
    const trace = buildTrace(model, result.violations[0]!);
    const itf = traceToItf(trace, { scenario: model.scenario, variant: model.variant, toolVersion: '0.0.0' });
    const json = JSON.parse(JSON.stringify(itf));
    expect(Object.keys(json)).toEqual(['#meta', 'vars', 'states']);
    expect(json['#meta']).toMatchObject({ format: 'ITF', kernel: '5.17', invariant: 'cow-isolation', scenario: 'cow-swap-gup' });
    expect(json['#meta'].message).toBe(result.violations[0]!.message);
    expect(json.states).toHaveLength(result.violations[0]!.path.length);
    for (const st of json.states) {
      for (const v of json.vars) expect(st).toHaveProperty(v);
      assertItfValue(st, 'state');
    }
    const last = json.states.at(-1);
    expect(last['#meta']).toMatchObject({ thread: 'P', kernelFunction: expect.stringMatching(/do_swap_page/) });
  });
});
