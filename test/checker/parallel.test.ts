/**
 * The parallel engine: results (verdict, states, transitions, depth, trace)
 * are the same for any number of workers, and the same as the sequential
 * BFS's; limits and interrupts stop it as incomplete.
 */
import { describe, expect, test } from 'vitest';
import { explore } from '../../checker/explore.js';
import { jsUrl } from '../../checker/factory.js';
import { createModel as createIncrement, IncrementModel } from '../../checker/examples/increment.js';
import type { Progress } from '../../checker/model.js';
import { exploreParallel } from '../../checker/parallel.js';
import { createModel, mmFactory } from '../../model/factory.js';
import { findScenario } from '../../model/scenarios.js';
import { AbbaModel, summary } from './toys.js';
import { resolveVariant } from '../../model/variants.js';

const increment = (threads: number) => ({ module: jsUrl('checker/examples/increment.js'), args: { threads } });

function mm(scenario: string, kernel: string, invariants: string[]) {
  return mmFactory(findScenario(scenario)!, resolveVariant({ kernel }), invariants);
}

describe('parallel BFS', () => {
  test('classic model, 3 threads: exact counts with 1, 2 and 3 workers, as the sequential engine', async () => {
    const seq = summary(explore(new IncrementModel(3), []));
    expect(seq.states).toBe(197632);
    for (const workers of [1, 2, 3]) expect(summary(await exploreParallel(increment(3), { spreadAt: 0, workers }))).toEqual(seq);
  });

  test('the other workers start when a level reaches spreadAt states, in the middle of the search: the same counts; a small search starts one', async () => {
    const seq = summary(explore(new IncrementModel(3), []));
    const levels = seq.levels;
    // A threshold that the frontier reaches after a few levels, not at the start.
    const at = levels.find((n) => n > 1000)!;
    expect(levels.indexOf(at)).toBeGreaterThan(2);
    for (const workers of [2, 3]) {
      const r = await exploreParallel(increment(3), { spreadAt: at, workers });
      expect(summary(r)).toEqual(seq);
      expect([r.workers, r.workersStarted]).toEqual([workers, workers]);
    }
    const small = await exploreParallel(increment(3), { spreadAt: Math.max(...levels) + 1, workers: 3 });
    expect(summary(small)).toEqual(seq);
    expect([small.workers, small.workersStarted]).toEqual([3, 1]);
  });

  test('a violation: the same shortest trace for 1, 2 and 3 workers and the sequential engine', async () => {
    const f = mm('cow-fork-gup', '5.7', ['cow-isolation', 'pin-coherent']);
    const { model, invariants } = createModel(f.args);
    const seq = summary(explore(model, invariants, {}));
    expect(seq.verdict).toBe('violated');
    for (const workers of [1, 2, 3]) expect(summary(await exploreParallel(f, { spreadAt: 0, workers }))).toEqual(seq);
  });

  test('many states of one level violate, each with its own message: the first in BFS order is reported, whichever worker made it', async () => {
    // x = 5 is first reached at depth 10, by many states at once (the threads' counters differ).
    const args = { threads: 3, violateAt: 5, witnessAt: 6 };
    const { model, invariants, witnesses } = createIncrement(args);
    for (const stopAtFirst of [true, false]) {
      const seq = explore(model, invariants, { stopAtFirst }, witnesses);
      expect(seq.violations.map((v) => [v.message, v.path.length])).toEqual([['x = 5, counters 1 0 0', 11]]);
      for (const workers of [1, 2, 3]) {
        const r = await exploreParallel({ module: increment(3).module, args }, { spreadAt: 0, workers, stopAtFirst });
        expect(summary(r)).toEqual(summary(seq));
        expect(r.witnesses).toEqual(seq.witnesses);
      }
    }
  });

  test('continue mode and a depth bound: the same for any worker count', async () => {
    const f = mm('zap-migrate', '5.17', ['no-stale-migration', 'rss-consistent', 'punch-keeps-cow']);
    const { model, invariants } = createModel(f.args);
    const seq = summary(explore(model, invariants, { stopAtFirst: false, maxDepth: 9 }));
    for (const workers of [1, 2]) {
      const r = await exploreParallel(f, { spreadAt: 0, workers, stopAtFirst: false, maxDepth: 9 });
      expect(summary(r)).toEqual(seq);
      expect(r.depthBounded).toBe(true);
    }
  });

  test('holds: every reachable state, the same counts for 1 and 2 workers', async () => {
    const f = mm('cow-swap-gup', '6.2', ['cow-isolation', 'refcount-sane', 'rss-consistent']);
    const one = summary(await exploreParallel(f, { spreadAt: 0, workers: 1 }));
    expect(one.verdict).toBe('holds');
    expect(summary(await exploreParallel(f, { spreadAt: 0, workers: 2 }))).toEqual(one);
  });

  test('partial-order reduction: the same reduced graph for 1, 2 and 3 workers (the cycle proviso looks only at earlier levels)', async () => {
    const f = { module: jsUrl('checker/examples/counters.js'), args: { threads: 3, k: 6, invariant: true } };
    const reductions = { symmetry: false, por: true };
    const one = await exploreParallel(f, { spreadAt: 0, workers: 1, reductions, stopAtFirst: false });
    const full = await exploreParallel(f, { spreadAt: 0, workers: 1, reductions: { symmetry: false, por: false }, stopAtFirst: false });
    expect(one.ampleStates).toBeGreaterThan(0);
    expect(one.states).toBeLessThan(full.states);
    expect(one.verdict).toBe(full.verdict);
    for (const workers of [2, 3]) {
      const r = await exploreParallel(f, { spreadAt: 0, workers, reductions, stopAtFirst: false });
      expect(summary(r)).toEqual(summary(one));
      expect(r.ampleStates).toBe(one.ampleStates);
    }
  });

  test('a table and arenas far too small at the start grow while the workers pause: exact counts', async () => {
    // 197,632 states from a table sized for 1,000: it and each worker's arenas grow in the middle of levels.
    const seq = summary(explore(new IncrementModel(3), []));
    for (const workers of [2, 3]) expect(summary(await exploreParallel(increment(3), { spreadAt: 0, workers, expectedStates: 1000 }))).toEqual(seq);
  });

  test('a deadlock: the same verdict and trace for 1, 2 and 3 workers as the sequential engine', async () => {
    const seq = summary(explore(new AbbaModel(), []));
    expect(seq.verdict).toBe('deadlock');
    const f = { module: jsUrl('test/checker/toys.js'), args: {} };
    for (const workers of [1, 2, 3]) expect(summary(await exploreParallel(f, { spreadAt: 0, workers }))).toEqual(seq);
    const fine = { module: jsUrl('test/checker/toys.js'), args: { sameOrder: true } };
    expect((await exploreParallel(fine, { spreadAt: 0, workers: 2 })).verdict).toBe('holds');
  });

  test('a state limit drops the level that would pass it: incomplete, the levels before it, the same for any worker count', async () => {
    const full = await exploreParallel(increment(3), { spreadAt: 0, workers: 2 });
    for (const limit of [10_000, 150_000]) {
      const a = await exploreParallel(increment(3), { spreadAt: 0, workers: 1, maxStates: limit });
      const b = await exploreParallel(increment(3), { spreadAt: 0, workers: 2, maxStates: limit });
      expect(a.verdict).toBe('incomplete');
      expect(a.stoppedBy).toBe('max-states');
      expect(summary(b)).toEqual(summary(a));
      const n = a.levelSizes.length;
      expect(a.levelSizes).toEqual(full.levelSizes.slice(0, n));
      expect(a.states).toBeLessThanOrEqual(limit);
      expect(a.states + full.levelSizes[n]!).toBeGreaterThan(limit);
    }
    // A limit the whole space fits in changes nothing.
    expect(summary(await exploreParallel(increment(3), { spreadAt: 0, workers: 2, maxStates: full.states }))).toEqual(summary(full));
  });

  test('a memory limit stops the run when the tables would grow past it: incomplete', async () => {
    const r = await exploreParallel(increment(4), { spreadAt: 0, workers: 2, maxMemory: 64 * 2 ** 20 });
    expect(r.verdict).toBe('incomplete');
    expect(r.stoppedBy).toBe('max-memory');
    expect(r.states).toBe(r.levelSizes.reduce((a, b) => a + b, 0));
    expect(r.states).toBeLessThan(8519680);
  });

  test('progress comes about once a second while a run is long', async () => {
    const seen: Progress[] = [];
    const r = await exploreParallel(increment(4), { spreadAt: 0, workers: 2, maxSeconds: 2.5, onProgress: (p) => seen.push(p) });
    expect(seen.length).toBeGreaterThanOrEqual(1);
    for (const [i, p] of seen.entries()) {
      expect(p.bytes).toBeGreaterThan(0);
      if (i > 0) expect(p.states).toBeGreaterThanOrEqual(seen[i - 1]!.states);
      expect(p.seconds - (i > 0 ? seen[i - 1]!.seconds : 0)).toBeGreaterThanOrEqual(0.99);
    }
    expect(r.stoppedBy).toBe('max-seconds');
  });

  test('a time limit pauses the workers in the middle of a level: incomplete, the levels before it reported', async () => {
    for (const workers of [1, 2]) {
      const r = await exploreParallel(increment(4), { spreadAt: 0, workers, maxSeconds: 0.3 });
      expect(r.verdict).toBe('incomplete');
      expect(r.stoppedBy).toBe('max-seconds');
      expect(r.states).toBe(r.levelSizes.reduce((a, b) => a + b, 0));
      expect(r.states).toBeLessThan(8519680);
      expect(r.depthReached).toBe(r.levelSizes.length - 1);
    }
  });

  test('an abort terminates the workers at once and reports what was done', async () => {
    const ac = new AbortController();
    // After 300 ms and 300 ms of this process's CPU time (the workers are its threads): on a loaded machine the
    // wall clock alone may end before the first level does.
    const cpu0 = process.cpuUsage();
    const abortLater = (): void => {
      const used = process.cpuUsage(cpu0);
      if ((used.user + used.system) / 1000 >= 300) ac.abort();
      else setTimeout(abortLater, 10);
    };
    setTimeout(abortLater, 300);
    const r = await exploreParallel(increment(4), { spreadAt: 0, workers: 2, signal: ac.signal });
    expect(r.verdict).toBe('incomplete');
    expect(r.stoppedBy).toBe('interrupted');
    expect(r.states).toBeGreaterThan(0);
    expect(r.states).toBeLessThan(8519680);
  });

  test('the memory per visited state stays small (fingerprint plus parent pointer)', async () => {
    const r = await exploreParallel(increment(3), { spreadAt: 0, workers: 1, expectedStates: 197632 });
    expect(r.tableBytes / r.states).toBeLessThan(40); // 21.8 for the 4-thread model, see bench/
  });
});
