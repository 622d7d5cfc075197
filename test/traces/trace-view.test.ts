/**
 * What the trace page draws, without a browser: the relations of every
 * kind the issue names appear on the traces that have them, the layout is
 * the union over all steps, and the violation's objects are found.
 */
import { describe, expect, test } from 'vitest';
import { findInvariant, toEngineInvariant } from '../../invariants/registry.js';
import { minimize } from '../../traces/minimize.js';
import { buildTrace } from '../../traces/trace.js';
import { elixirTag, sourceSegments, switchLink, traceView } from '../../traces/trace-view.js';
import type { ScenarioSpec } from '../../model/scenario.js';
import { check } from '../helpers.js';

function viewOf(scenario: string, kernel: string, invariant: string, mutants: string[] = []) {
  const { result, model } = check(scenario, kernel, [invariant], { mutants });
  const v = result.violations[0]!;
  const inv = toEngineInvariant(findInvariant(invariant)!, model.view(new Int32Array(model.stateWords)));
  const trace = buildTrace(model, { ...v, path: minimize(model, inv, v.path, false).path });
  return { trace, view: traceView(trace, kernel) };
}
const kinds = (view: ReturnType<typeof traceView>) => new Set(view.states.flatMap((s) => s.relations.map((r) => `${r.kind} ${r.from} -> ${r.to}`)));

describe('trace view', () => {
  test('a huge PMD points at its folio, a PTE table at its table; the layout keeps every row of every step', () => {
    const { view } = viewOf('thp-pte-cow-fork-gup', '5.7', 'cow-isolation');
    const all = [...kinds(view)];
    expect(all).toContain('huge P pmd -> pfn 1');
    expect(all.some((k) => /^table P pmd -> page table \d+$/.test(k))).toBe(true);
    for (const s of view.states) for (const key of Object.keys(s.fields)) expect(view.boxes.some((b) => b.rows.includes(key))).toBe(true);
    expect(view.boxes.map((b) => b.id).slice(0, 2)).toEqual(['mm P', 'mm C']);
  });

  test('a device-private entry points at its device frame', () => {
    const { view } = viewOf('device-private-fault-race', '6.0', 'zone-device-free-count');
    expect([...kinds(view)].some((k) => /^device P:0 -> pfn \d+$/.test(k))).toBe(true);
  });

  test('the violation names its objects; a deadlock names the sleeping thread', () => {
    const { view } = viewOf('cow-fork-gup', '5.7', 'cow-isolation');
    expect(view.offending.sort()).toEqual(['P:0', 'pfn 1', 'ref "pipe"']);
    const z = viewOf('zap-migrate', '5.17', 'no-stale-migration').view;
    expect(z.offending).toEqual(['P:0']); // "a migration entry ... still mapped": the PTE that holds one
  });

  test('a deadlock: each sleeper points at what the other thread holds, both outlined', () => {
    const { result, model } = check('memcg-writeback-abba', '4.8', ['rss-consistent']);
    const d = result.violations.find((v) => v.invariant === 'deadlock')!;
    const trace = buildTrace(model, d);
    const view = traceView(trace, '4.8');
    expect(trace.message).toBe('wait-for cycle: P sleeps on data PG_writeback, which only W can end; W sleeps on pfn 2 PG_locked, held by P');
    expect(view.states.at(-1)!.relations.filter((r) => r.kind === 'waits')).toEqual([
      { from: 'thread P', to: 'thread W', kind: 'waits' },
      { from: 'thread W', to: 'locks of P', kind: 'waits' },
    ]);
    expect(view.offending).toEqual(expect.arrayContaining(['thread P', 'thread W', 'pfn 2', 'locks of P']));
  });

  test('process names with - and . keep their arrows and outlines', () => {
    const spec = {
      name: 'dash',
      title: 't',
      reference: 'r',
      description: 'd',
      processes: ['par-ent', 'ch.ild'],
      vmas: [{ name: 'heap', start: 0, pages: 1, prot: 'rw' }],
      pages: [{ addr: 0, data: 1 }],
      frames: 3,
      swapSlots: 0,
      threads: [
        {
          name: 'par-ent',
          mm: 'par-ent',
          menu: [
            { op: 'fork', child: 'ch.ild' },
            { op: 'write', addr: 0, value: 2 },
          ],
        },
        {
          name: 'ch.ild',
          mm: 'ch.ild',
          menu: [
            { op: 'gup', ref: 'pipe', addr: 0, pin: false },
            { op: 'madv-dontneed', addr: 0 },
          ],
        },
      ],
    } as unknown as ScenarioSpec;
    const { result, model } = check(spec, '5.7', ['cow-isolation']);
    const trace = buildTrace(model, result.violations[0]!);
    const view = traceView(trace, '5.7');
    expect(view.offending.sort()).toEqual(['par-ent:0', 'pfn 1', 'ref "pipe"']);
    expect(view.states.at(-1)!.relations).toEqual(
      expect.arrayContaining([
        { from: 'par-ent:0', to: 'pfn 1', kind: 'map' },
        { from: 'ref "pipe"', to: 'ch.ild:0', kind: 'through' },
      ]),
    );
  });

  test('links: elixir tags and identifiers, commits of switches', () => {
    expect(elixirTag('5.10.89')).toBe('v5.10.89');
    expect(elixirTag('5.17+modified')).toBe('v5.17');
    expect(elixirTag('not-a-release')).toBeNull();
    expect(sourceSegments('mm/memory.c:do_wp_page (5.7-6.2) -> mm/rmap.c:page_move_anon_rmap', '5.7')).toEqual([
      { text: 'mm/memory.c:' },
      { text: 'do_wp_page', href: 'https://elixir.bootlin.com/linux/v5.7/A/ident/do_wp_page' },
      { text: ' (5.7-6.2) -> mm/rmap.c:' },
      { text: 'page_move_anon_rmap', href: 'https://elixir.bootlin.com/linux/v5.7/A/ident/page_move_anon_rmap' },
    ]);
    expect(switchLink('cow-page-count').href).toBe('https://git.kernel.org/pub/scm/linux/kernel/git/torvalds/linux.git/commit/?id=c145e0b47c77');
    expect(switchLink('avoid-premature-exposure').href).toBeNull(); // an mmotm patch, no commit
  });
});
