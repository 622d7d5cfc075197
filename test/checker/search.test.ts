import { fc, test as fcTest } from '@fast-check/vitest';
import { describe, expect, test } from 'vitest';
import { explore, replayActions, ReplayError } from '../../checker/explore.js';
import type { Emit, Invariant, Model } from '../../checker/model.js';
import { IncrementModel } from '../../checker/examples/increment.js';
import { AbbaModel, distances, GraphModel } from './toys.js';

const at = (node: number): Invariant => ({
  name: `not-at-${node}`,
  check: (s) => (s[0] === node ? `reached ${node}` : null),
});

describe('BFS counterexamples are shortest', () => {
  test('on a ladder with shortcuts the BFS trace has the known shortest length', () => {
    // 0 -> 1 -> ... -> 9 and shortcuts 0->3, 3->7: shortest to 9 is 0,3,7,8,9 (4 steps).
    const edges: [number, number][] = [];
    for (let i = 0; i < 9; i++) edges.push([i, i + 1]);
    edges.push([0, 3], [3, 7]);
    const r = explore(new GraphModel(10, edges), [at(9)]);
    expect(r.verdict).toBe('violated');
    expect(r.violations[0]!.path.map((p) => p.state[0])).toEqual([0, 3, 7, 8, 9]);
  });

  fcTest.prop([fc.integer({ min: 2, max: 12 }).chain((n) => fc.tuple(fc.constant(n), fc.array(fc.tuple(fc.nat(n - 1), fc.nat(n - 1)), { maxLength: 40 }), fc.nat(n - 1)))])(
    'on random graphs the BFS trace length is the shortest distance',
    ([n, edges, target]) => {
      const d = distances(n, edges)[target]!;
      const r = explore(new GraphModel(n, edges), [at(target)]);
      if (d < 0) expect(r.verdict).toBe('holds');
      else {
        expect(r.verdict).toBe('violated');
        expect(r.violations[0]!.path.length - 1).toBe(d);
      }
    },
  );

  fcTest.prop([fc.integer({ min: 2, max: 12 }).chain((n) => fc.tuple(fc.constant(n), fc.array(fc.tuple(fc.nat(n - 1), fc.nat(n - 1)), { maxLength: 40 })))])(
    'BFS and DFS reach the same states on random graphs',
    ([n, edges]) => {
      const reach = distances(n, edges).filter((x) => x >= 0).length;
      expect(explore(new GraphModel(n, edges), [], { strategy: 'bfs' }).states).toBe(reach);
      expect(explore(new GraphModel(n, edges), [], { strategy: 'dfs' }).states).toBe(reach);
    },
  );
});

describe('deadlock', () => {
  test('ABBA lock order is reported as a deadlock with its trace', () => {
    const r = explore(new AbbaModel(), []);
    expect(r.verdict).toBe('deadlock');
    const end = r.violations[0]!.path.at(-1)!.state;
    expect([end[0], end[1]]).toEqual([1, 2]);
  });
  test('the same lock order terminates: holds', () => {
    expect(explore(new AbbaModel(true), []).verdict).toBe('holds');
  });
  test('deadlock checking can be switched off', () => {
    expect(explore(new AbbaModel(), [], { checkDeadlock: false }).verdict).toBe('holds');
  });
});

describe('violations, limits and replay', () => {
  test('continue mode reports the first violation of each invariant', () => {
    const edges: [number, number][] = [
      [0, 1],
      [1, 2],
      [2, 3],
    ];
    const r = explore(new GraphModel(4, edges), [at(3), at(1)], { stopAtFirst: false });
    expect(r.violations.map((v) => [v.invariant, v.path.length - 1])).toEqual([
      ['not-at-1', 1],
      ['not-at-3', 3],
    ]);
  });

  test('a state limit makes the verdict incomplete', () => {
    const r = explore(new IncrementModel(3), [], { maxStates: 5000 });
    expect(r.verdict).toBe('incomplete');
    expect(r.stoppedBy).toBe('max-states');
    expect(r.states).toBeGreaterThanOrEqual(5000);
    expect(r.states).toBeLessThan(197632);
  });

  test('DFS stops at the expansion that passes a state limit, however small the run', () => {
    // 3 threads, one step each at a time: an expansion adds at most 3 states.
    const small = explore(new IncrementModel(3), [], { strategy: 'dfs', maxDepth: 6 });
    for (const limit of [1, 100, small.states - 1]) {
      const r = explore(new IncrementModel(3), [], { strategy: 'dfs', maxDepth: 6, maxStates: limit });
      expect(r.verdict).toBe('incomplete');
      expect(r.states).toBeGreaterThan(limit);
      expect(r.states).toBeLessThanOrEqual(limit + 3);
    }
    expect(explore(new IncrementModel(3), [], { strategy: 'dfs', maxDepth: 6, maxStates: small.states }).verdict).toBe('holds');
  });

  test('an interrupt stops the search as incomplete', () => {
    const r = explore(new IncrementModel(3), [], { shouldStop: () => true });
    expect(r.verdict).toBe('incomplete');
    expect(r.stoppedBy).toBe('interrupted');
  });

  test('replay rejects a nondeterministic model with a reason', () => {
    const nondet: Model = {
      stateWords: 1,
      actionCount: 1,
      initialStates: (emit: Emit) => emit(new Int32Array([0]), 0),
      successors: (_s, emit) => {
        emit(new Int32Array([1]), 0);
        emit(new Int32Array([2]), 0);
      },
      actionName: () => 'flip',
    };
    expect(() => replayActions(nondet, [0, 0])).toThrow(ReplayError);
    expect(() => replayActions(nondet, [0, 0])).toThrow(/nondeterministic/);
  });

  test('every DFS counterexample replays to a violating state', () => {
    const edges: [number, number][] = [
      [0, 1],
      [1, 2],
      [0, 2],
      [2, 3],
      [3, 1],
    ];
    const r = explore(new GraphModel(4, edges), [at(3)], { strategy: 'dfs' });
    const path = r.violations[0]!.path;
    const replayed = replayActions(
      new GraphModel(4, edges),
      path.map((p) => p.action),
    );
    expect(replayed.at(-1)!.state[0]).toBe(3);
  });
});
