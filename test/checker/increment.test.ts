import { describe, expect, test } from 'vitest';
import { explore } from '../../checker/explore.js';
import { IncrementModel } from '../../checker/examples/increment.js';

/** An independent count: a naive search over string-keyed states. */
function naiveCount(threads: number): { states: number; transitions: number } {
  type S = { x: number; th: [number, number, number][] };
  const key = (s: S) => JSON.stringify(s);
  const init: S = { x: 0, th: Array.from({ length: threads }, () => [0, 0, 0] as [number, number, number]) };
  const seen = new Set([key(init)]);
  const todo = [init];
  let transitions = 0;
  while (todo.length) {
    const s = todo.pop()!;
    for (let i = 0; i < threads; i++) {
      const n: S = { x: s.x, th: s.th.map((t) => [...t] as [number, number, number]) };
      const t = n.th[i]!;
      if (t[0] === 0) {
        t[1] = n.x;
        t[0] = 1;
      } else {
        n.x = (t[1] + 1) % 8;
        t[1] = 0;
        t[2] = (t[2] + 1) % 4;
        t[0] = 0;
      }
      transitions++;
      const k = key(n);
      if (!seen.has(k)) {
        seen.add(k);
        todo.push(n);
      }
    }
  }
  return { states: seen.size, transitions };
}

describe('engine on the classic increment model', () => {
  for (const threads of [1, 2, 3]) {
    test(`${threads} threads: BFS and DFS count exactly the reachable states`, () => {
      const want = naiveCount(threads);
      for (const strategy of ['bfs', 'dfs'] as const) {
        const r = explore(new IncrementModel(threads), [], { strategy });
        expect(r.verdict).toBe('holds');
        expect(r.states).toBe(want.states);
        expect(r.transitions).toBe(want.transitions);
        expect(r.depthBounded).toBe(false);
      }
    });
  }

  test('2 threads: 4,096 states, the known figure for this model', () => {
    // 4 threads give 8,519,680 states and 34,078,720 transitions (bench/).
    expect(explore(new IncrementModel(2), []).states).toBe(4096);
  });

  test('a depth bound stops the search and says so', () => {
    const r = explore(new IncrementModel(2), [], { maxDepth: 3 });
    expect(r.depthReached).toBe(3);
    expect(r.depthBounded).toBe(true);
    expect(r.levelSizes.reduce((a, b) => a + b, 0)).toBe(r.states);
  });

  test('bounded DFS explores exactly the states within the bound that BFS finds', () => {
    for (const d of [1, 4, 9]) {
      const b = explore(new IncrementModel(3), [], { strategy: 'bfs', maxDepth: d });
      const f = explore(new IncrementModel(3), [], { strategy: 'dfs', maxDepth: d });
      expect(f.states).toBe(b.states);
    }
  });

  test('coverage counts each action', () => {
    const r = explore(new IncrementModel(2), []);
    expect([...r.coverage]).toEqual([r.transitions / 2, r.transitions / 2]);
  });
});
