/**
 * The sequential engine (BFS or DFS, explore.ts) run in a worker thread, so
 * that a deadline and Ctrl-C hold whatever the model's and the invariants'
 * code does: the search is asked to stop (a flag it reads every 1024
 * expansions), and a search that does not answer within GRACE_MS (an
 * invariant stuck in a loop) is terminated and reported as incomplete with
 * the counts it had reached. A worker that ends by itself is an error, not
 * a silent result.
 */
import { Worker } from 'node:worker_threads';
import { jsUrl, type ModelFactory } from './factory.js';
import type { ExploreOptions, ExploreResult } from './model.js';
import { GRACE_MS, isAllocationFailure } from './parallel.js';
import { WorkerExitedError } from './pool.js';
import { DEFAULT_REDUCTIONS } from './search.js';
import type { SequentialInit } from './sequential-worker.js';
import { timeoutAfter } from './timer.js';

const WORKER_URL = jsUrl('checker/sequential-worker.js');

export function exploreSequential(factory: ModelFactory, actionCount: number, opts: ExploreOptions = {}): Promise<ExploreResult> {
  const t0 = performance.now();
  const control = new Int32Array(new SharedArrayBuffer(4));
  const coverage = new Float64Array(new SharedArrayBuffer(Math.max(1, actionCount) * 8));
  const counters = new Float64Array(new SharedArrayBuffer(3 * 8));
  const { onProgress, shouldStop: _s, signal, ...plain } = opts;
  const init: SequentialInit = { factory, opts: { ...plain, coverageBuffer: coverage, counters }, control };
  const worker = new Worker(new URL(WORKER_URL), { workerData: init });
  return new Promise<ExploreResult>((resolve, reject) => {
    let settled = false;
    let stopping: NonNullable<ExploreResult['stoppedBy']> | undefined;
    let cancelGrace = (): void => {};
    const finish = (f: () => void): void => {
      if (settled) return;
      settled = true;
      cancelDeadline();
      cancelGrace();
      signal?.removeEventListener('abort', onAbort);
      void worker.terminate();
      f();
    };
    /** The search did not answer: what it had reached is the result. */
    const incomplete = (why: NonNullable<ExploreResult['stoppedBy']>): ExploreResult => ({
      verdict: 'incomplete',
      stoppedBy: why,
      violations: [],
      states: counters[0]!,
      transitions: counters[1]!,
      depthReached: counters[2]!,
      depthBounded: false,
      levelSizes: [],
      coverage: Float64Array.from(coverage),
      seconds: (performance.now() - t0) / 1000,
      collisionProbability: 0,
      strategy: opts.strategy ?? 'bfs',
      workers: 0,
      workersStarted: 0,
      tableBytes: 0,
      ampleStates: 0,
      reductions: opts.reductions ?? DEFAULT_REDUCTIONS,
      witnesses: [],
      observations: [],
    });
    /** Asks the search to stop; terminates it if it does not within GRACE_MS. */
    const stop = (why: NonNullable<ExploreResult['stoppedBy']>, grace = GRACE_MS): void => {
      if (stopping) return;
      stopping = why;
      Atomics.store(control, 0, 1);
      cancelGrace = timeoutAfter(grace, () => finish(() => resolve(incomplete(why))));
    };
    const onAbort = (): void => stop('interrupted');
    signal?.addEventListener('abort', onAbort);
    if (signal?.aborted) onAbort();
    // The search checks --max-seconds itself; this is for one that cannot (stuck in an invariant).
    const cancelDeadline = opts.maxSeconds === undefined ? () => {} : timeoutAfter(opts.maxSeconds * 1000 + GRACE_MS, () => stop('max-seconds', 0));
    worker.on('message', (m: { progress?: Parameters<NonNullable<ExploreOptions['onProgress']>>[0]; result?: ExploreResult; error?: string; name?: string; stack?: string }) => {
      if (m.progress) onProgress?.(m.progress);
      else if (m.result) {
        const r = m.result;
        // An interrupt the search saw itself: say so (the search reports it as stopped by its own poll).
        finish(() => resolve(stopping === 'interrupted' && r.verdict === 'incomplete' ? { ...r, stoppedBy: 'interrupted' } : r));
      } else if (m.error !== undefined) {
        const e = new Error(m.error);
        e.name = m.name ?? 'Error';
        e.stack = `worker: ${m.stack ?? m.error}`;
        finish(() => (isAllocationFailure(e) ? resolve(incomplete('max-memory')) : reject(e)));
      }
    });
    worker.on('error', (e) => finish(() => (isAllocationFailure(e) ? resolve(incomplete('max-memory')) : reject(e))));
    worker.on('exit', (code) => finish(() => reject(new WorkerExitedError(code))));
  });
}
