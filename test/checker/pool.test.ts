/**
 * The BFS threads kept between searches (checker/pool.ts): a clean search
 * leaves its threads for the next, which builds its own model in them and
 * gets exactly what fresh threads give; a stopped or failed search, and an
 * isolated factory, leave none.
 */
import { afterEach, describe, expect, test } from 'vitest';
import { jsUrl } from '../../checker/factory.js';
import { exploreParallel } from '../../checker/parallel.js';
import { endIdleWorkers, idleWorkers } from '../../checker/pool.js';
import { mmFactory } from '../../model/factory.js';
import { findScenario } from '../../model/scenarios.js';
import { resolveVariant } from '../../model/variants.js';
import { summary } from './toys.js';

const increment = (threads: number, throwAt?: number) => ({ module: jsUrl('checker/examples/increment.js'), args: { threads, throwAt } });
const mm = (kernel: string) => mmFactory(findScenario('cow-fork-gup')!, resolveVariant({ kernel }), ['cow-isolation', 'pin-coherent']);

afterEach(endIdleWorkers);

describe('worker threads kept between searches', () => {
  test('a clean search leaves its threads; the next search runs in them, another model included, with the results of fresh threads', async () => {
    await endIdleWorkers();
    const fresh = [summary(await exploreParallel(mm('5.7'), { spreadAt: 0, workers: 2 }))];
    const threads = idleWorkers();
    expect(threads.length).toBe(2);
    await endIdleWorkers();
    fresh.push(summary(await exploreParallel(increment(3), { spreadAt: 0, workers: 2 })));
    await endIdleWorkers();
    fresh.push(summary(await exploreParallel(mm('6.2'), { spreadAt: 0, workers: 2, maxDepth: 9 })));
    await endIdleWorkers();
    expect(fresh.map((f) => f.verdict)).toEqual(['violated', 'holds', 'holds']);
    expect(fresh[2]!.states).toBeGreaterThan(10_000);

    const kept = [];
    kept.push(summary(await exploreParallel(mm('5.7'), { spreadAt: 0, workers: 2 })));
    const first = idleWorkers();
    kept.push(summary(await exploreParallel(increment(3), { spreadAt: 0, workers: 2 })));
    kept.push(summary(await exploreParallel(mm('6.2'), { spreadAt: 0, workers: 2, maxDepth: 9 })));
    expect(kept).toEqual(fresh);
    // The same two threads served all three searches.
    expect(idleWorkers().sort()).toEqual(first.sort());
  }, 60_000);

  test('a search on fewer workers takes some of the idle threads and starts none', async () => {
    await exploreParallel(increment(2), { spreadAt: 0, workers: 3 });
    const three = idleWorkers();
    expect(three.length).toBe(3);
    await exploreParallel(increment(2), { spreadAt: 0, workers: 1 });
    expect(idleWorkers().sort()).toEqual(three.sort());
  });

  test('an interrupted search leaves no thread behind', async () => {
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 200);
    const r = await exploreParallel(increment(4), { spreadAt: 0, workers: 2, signal: ac.signal });
    expect(r.stoppedBy).toBe('interrupted');
    expect(idleWorkers()).toEqual([]);
  });

  test('a search whose invariant throws fails, leaves no thread behind, and the next search is not affected', async () => {
    await expect(exploreParallel(increment(2, 3), { spreadAt: 0, workers: 2 })).rejects.toThrow('x = 3');
    expect(idleWorkers()).toEqual([]);
    expect((await exploreParallel(increment(2), { spreadAt: 0, workers: 2 })).verdict).toBe('holds');
  });

  test('an isolated factory (an invariant file in the run) gets threads of its own and leaves none', async () => {
    await exploreParallel(increment(2), { spreadAt: 0, workers: 2 });
    const before = idleWorkers();
    await exploreParallel({ ...increment(2), isolated: true }, { spreadAt: 0, workers: 2 });
    expect(idleWorkers()).toEqual(before);
  });
});
