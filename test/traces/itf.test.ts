/**
 * Trace files follow the ITF rules (as Apalache and Quint write them):
 * "#meta", "vars", "states"; every state has every var; every integer outside
 * "#meta" is {"#bigint": "<digits>"}.
 */
import { describe, expect, test } from 'vitest';
import { checkTraceFile, TraceFileError, traceToItf } from '../../traces/itf.js';
import { buildTrace } from '../../traces/trace.js';
import { check } from '../helpers.js';
import { assertItf, assertItfValue } from './itf-rules.js';

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
    assertItf(json);
    const last = json.states.at(-1);
    expect(last['#meta']).toMatchObject({ thread: 'P', kernelFunction: expect.stringMatching(/do_swap_page/) });
  });

  test('the metadata: tool, kernel and its switches, scenario (and its definition), invariant, message; per state the action, thread and kernel function', () => {
    const { result, model } = check('iouring-ro-remap', '5.18', ['pin-coherent']);
    const json = JSON.parse(JSON.stringify(traceToItf(buildTrace(model, result.violations[0]!), { scenario: model.scenario, variant: model.variant, toolVersion: '9.9.9' })));
    expect(json['#meta']).toMatchObject({ tool: 'mmcheck 9.9.9', kernel: '5.18', epoch: 'E3', scenario: 'iouring-ro-remap', invariant: 'pin-coherent' });
    expect(json['#meta'].switches).toEqual(expect.arrayContaining(['wp-page-count', 'cow-page-count']));
    expect(json['#meta'].switches).not.toContain('anon-exclusive');
    expect(json['#meta'].scenarioSpec.name).toBe('iouring-ro-remap');
    expect(json.vars).toEqual(expect.arrayContaining(['mms', 'pages', 'gup', 'threads']));
    for (const st of json.states.slice(1)) {
      expect(st['#meta']).toMatchObject({ action: expect.any(String), thread: 'P', kernelFunction: expect.stringMatching(/^[\w/]+\.c:\w+/) });
    }
  });

  test('the rules checker rejects what is not ITF (so it can fail)', () => {
    const ok = { vars: ['x'], states: [{ x: { '#bigint': '1' } }] };
    expect(() => assertItf(ok)).not.toThrow();
    expect(() => assertItf({ vars: ['x'], states: [{ x: 1 }] })).toThrow(/bare number/);
    expect(() => assertItf({ vars: ['x', 'y'], states: [{ x: true }] })).toThrow();
    expect(() => assertItf({ vars: ['x'], states: [{ x: true }], extra: 1 })).toThrow();
    expect(() => assertItfValue({ '#bigint': 'one' }, 'v')).toThrow(/#bigint/);
    expect(() => assertItfValue({ '#set': 3 }, 'v')).toThrow(/#set/);
    expect(() => assertItfValue({ '#map': [[true]] }, 'v')).toThrow(/pair/);
    expect(() => assertItfValue({ '#what': [] }, 'v')).toThrow(/unknown tag/);
    expect(() => assertItfValue(null, 'v')).toThrow(/null/);
  });
});

describe('reading trace files', () => {
  const good = (): Record<string, any> => {
    const { result, model } = check('fork-pinned', '5.8', ['pin-coherent']);
    return JSON.parse(JSON.stringify(traceToItf(buildTrace(model, result.violations[0]!), { scenario: model.scenario, variant: model.variant, toolVersion: '0.0.0' })));
  };
  const reason = (x: unknown): string => {
    try {
      checkTraceFile(x);
      return 'accepted';
    } catch (e) {
      if (e instanceof TraceFileError) return e.message;
      throw e;
    }
  };

  test('each problem gets one clear reason', () => {
    expect(reason(good())).toBe('accepted');
    expect(reason([])).toMatch(/not a JSON object/);
    expect(reason('x')).toMatch(/not a JSON object/);
    expect(reason({ vars: [], states: [] })).toMatch(/needs "#meta", "vars" and "states"/);
    const other = good();
    delete other['#meta']['mmcheck-trace-version'];
    expect(reason(other)).toMatch(/not one written by mmcheck/);
    const newer = good();
    newer['#meta']['mmcheck-trace-version'] = 4;
    newer['#meta'].tool = 'mmcheck 7.0.0';
    expect(reason(newer)).toBe('#meta.mmcheck-trace-version: 4 is not a trace format this mmcheck reads (1, 2, 3): it was written by mmcheck 7.0.0');
    const noKernel = good();
    delete noKernel['#meta'].kernel;
    expect(reason(noKernel)).toBe('#meta: missing field "kernel"');
    const noVar = good();
    delete noVar.states[1].pages;
    expect(reason(noVar)).toBe('states[1]: missing field "pages"');
    const noAction = good();
    delete noAction.states[2]['#meta'].actionId;
    expect(reason(noAction)).toBe('states[2].#meta.actionId: missing (every step names its action)');
    const typed = good();
    typed.states[3]['#meta'].notes = 5;
    expect(reason(typed)).toBe('states[3].#meta.notes: expected a list, got 5');
  });
});
