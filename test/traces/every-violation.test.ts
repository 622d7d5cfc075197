/**
 * Every violation the project's gate expects (each built-in scenario on each
 * kernel where it fails, and each mutant): the minimized trace is written as
 * an ITF file, validated against the ITF rules, replayed against the model,
 * shown as text and drawn as HTML. And a replay catches a tampered file at
 * the step and field that differ.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import { findInvariant, toEngineInvariant } from '../../invariants/registry.js';
import { traceToHtml } from '../../traces/html.js';
import { checkTraceFile, traceFromItf, traceToItf, type ItfTrace } from '../../traces/itf.js';
import { minimize } from '../../traces/minimize.js';
import { renderTrace } from '../../traces/render-text.js';
import { replayTrace } from '../../traces/replay.js';
import { buildTrace } from '../../traces/trace.js';
import { check } from '../helpers.js';
import { assertItf } from './itf-rules.js';

interface GateCheck {
  name: string;
  scenario: string;
  invariants: string[];
  kernels: string[];
  expect: 'holds' | 'violated';
  depth?: number;
  mutants?: string[];
  patch?: string[];
  revert?: string[];
}

const gate = JSON.parse(readFileSync(new URL('../../mmcheck.gate.json', import.meta.url), 'utf8')) as { checks: GateCheck[] };
// lock-order's traces come from searches of their own (cli/lock-order.ts): test/model/locks.test.ts writes, replays and shows them.
const violations = gate.checks.filter((c) => c.expect === 'violated' && !c.invariants.includes('lock-order')).flatMap((c) => c.kernels.map((k) => ({ ...c, kernel: k })));

function savedTrace(c: GateCheck & { kernel: string }): ItfTrace {
  const { result, model } = check(c.scenario, c.kernel, c.invariants, { maxDepth: c.depth, mutants: c.mutants, patch: c.patch, revert: c.revert });
  expect(result.verdict).toBe('violated');
  const v = result.violations[0]!;
  const inv = toEngineInvariant(findInvariant(v.invariant)!, model.view(new Int32Array(model.stateWords)));
  const best = minimize(model, inv, v.path, false);
  const trace = buildTrace(model, { ...v, path: best.path }, best.optimal);
  const itf = traceToItf(trace, { scenario: model.scenario, variant: model.variant, toolVersion: 'test' });
  return JSON.parse(JSON.stringify(itf)) as ItfTrace; // as a file holds it
}

describe('every built-in violation: trace file, replay, show, html', () => {
  test('the gate lists violations on every scenario family', () => {
    expect(violations.length).toBeGreaterThan(60);
  });

  for (const c of violations) {
    const label = `${c.scenario} ${c.kernel} ${c.invariants.join(',')}${c.mutants ? ` mutant ${c.mutants}` : ''}${c.patch ? ` patch ${c.patch}` : ''}${c.revert ? ` revert ${c.revert}` : ''}`;
    test(label, () => {
      const file = savedTrace(c);
      assertItf(file);
      expect(checkTraceFile(file)).toBe(file);
      const replay = replayTrace(file);
      expect(replay).toEqual({ ok: true, steps: file.states.length - 1, message: file['#meta'].message });

      const t = traceFromItf(file);
      const text = renderTrace(t, { color: false });
      expect(text.split('\n')[0]).toMatch(/^Trace: (\d+ steps?, \d+ threads? \(.+\), \d+ operations?, \d+ preemptions?|0 steps: the initial state breaks it)$/);
      expect(text.split('\n').at(-1)).toBe(`VIOLATED ${t.invariant}: ${t.message}`);
      for (const s of t.steps) expect(text).toContain(s.kernelFunction);

      const html = traceToHtml(t, { kernel: c.kernel, scenario: c.scenario });
      expect(html).toMatch(/^<!doctype html>/);
      expect(html).not.toMatch(/<(script|link|img)[^>]+(src|href)=/i); // self-contained
      expect(html).toContain(JSON.stringify(t.message).replace(/</g, '\\u003c'));
    });
  }
});

describe('replay catches what does not match', () => {
  const base = violations.find((c) => c.scenario === 'cow-fork-gup' && c.kernel === '5.7')!;

  test('a tampered field: diverged at that step, naming the field', () => {
    const file = savedTrace(base);
    const st = file.states[2]! as unknown as { pages: Record<string, { refcount: { '#bigint': string } }> };
    const pfn = Object.keys(st.pages)[0]!;
    st.pages[pfn]!.refcount = { '#bigint': '42' };
    const r = replayTrace(file);
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.step).toBe(2);
      expect(r.reason).toMatch(new RegExp(`^pfn ${pfn} refcount: the file has "42", the model gives "\\d+"$`));
    }
  });

  test('an action that is not enabled: diverged at that step', () => {
    const file = savedTrace(base);
    file.states.splice(1, 1); // drop fork: the child cannot run
    const r = replayTrace(file);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.step).toBe(1);
  });

  test('a different message: the violation is confirmed but not the one recorded', () => {
    const file = savedTrace(base);
    file['#meta'].message = 'something else';
    const r = replayTrace(file);
    expect(r).toMatchObject({ ok: false, reason: expect.stringMatching(/is violated, but with ".*", not "something else"/) });
  });

  test('a kernel switch this mmcheck does not know: a clear reason', () => {
    const file = savedTrace(base);
    file['#meta'].switches = [...file['#meta'].switches, 'from-the-future'];
    expect(replayTrace(file)).toEqual({ ok: false, step: 0, reason: '#meta.switches: switch "from-the-future" is unknown to this mmcheck' });
  });
});
