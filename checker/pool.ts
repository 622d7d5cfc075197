/**
 * The BFS worker threads, kept between searches. A new thread costs its
 * start, the import of the model's modules and a cold JIT: 0.1-0.3 s, which
 * is most of a small scenario's search. matrix, bisect and gate run hundreds
 * of small searches in one process, so a thread that finished a search
 * cleanly waits here, unreferenced (it does not keep the process alive), for
 * the next one; the next search builds its own model in it. A thread that
 * was stopped, failed, or ran a factory marked `isolated` is terminated.
 */
import { Worker } from 'node:worker_threads';
import { jsUrl } from './factory.js';
import type { WorkerInit } from './worker.js';

const WORKER_URL = jsUrl('checker/worker.js');

/** A worker and the replies it owes, in order. */
export class Remote {
  private pending: { resolve: (v: unknown) => void; reject: (e: unknown) => void }[] = [];
  private failed: unknown = null;
  /** Set when the coordinator terminates it: its exit is then expected. */
  private ending = false;
  constructor(readonly worker: Worker) {
    worker.on('message', (m: { error?: string; name?: string; stack?: string }) => {
      if (m && typeof m === 'object' && 'error' in m && m.error) {
        // Rebuilt with the worker's class name, so callers can tell a user's error from an engine bug.
        const e = new Error(m.error);
        e.name = m.name ?? 'Error';
        e.stack = `worker: ${m.stack ?? m.error}`;
        this.fail(e);
      } else this.pending.shift()?.resolve(m);
    });
    worker.on('error', (e) => this.fail(e));
    // A worker that ends by itself (the model's or an invariant's code called process.exit) would leave its replies owed for ever.
    worker.on('exit', (code) => {
      forget(this);
      if (!this.ending) this.fail(new WorkerExitedError(code));
    });
  }
  fail(e: unknown): void {
    this.failed ??= e;
    for (const p of this.pending.splice(0)) p.reject(this.failed);
  }
  /** Whether it can serve another search: it never failed and owes nothing. */
  get sound(): boolean {
    return this.failed === null && !this.ending && this.pending.length === 0;
  }
  next<T>(): Promise<T> {
    if (this.failed) return Promise.reject(this.failed);
    return new Promise((resolve, reject) => this.pending.push({ resolve: resolve as (v: unknown) => void, reject }));
  }
  ask<T>(msg: unknown): Promise<T> {
    const p = this.next<T>();
    this.worker.postMessage(msg);
    return p;
  }
  terminate(): Promise<number> {
    this.ending = true;
    forget(this);
    return this.worker.terminate();
  }
}

/** A worker thread ended by itself, in the middle of the search. */
export class WorkerExitedError extends Error {
  override name = 'WorkerExited';
  constructor(readonly code: number) {
    super(`a worker thread ended by itself in the middle of the search (exit code ${code}): code it runs called process.exit() or failed`);
  }
}

/** Threads waiting for a search. */
const idle: Remote[] = [];

function forget(r: Remote): void {
  const i = idle.indexOf(r);
  if (i >= 0) idle.splice(i, 1);
}

/**
 * `count` workers for a search, numbered from `firstId`, each building the
 * model of `init` (its first reply is { ready, arena, coverage }): idle
 * threads first, unless the factory is isolated.
 */
export function takeWorkers(count: number, init: Omit<WorkerInit, 'id'>, firstId = 0): Remote[] {
  return Array.from({ length: count }, (_, i) => {
    const id = firstId + i;
    const r = init.factory.isolated ? undefined : idle.pop();
    if (!r) return new Remote(new Worker(new URL(WORKER_URL), { workerData: { ...init, id } }));
    r.worker.ref();
    r.worker.postMessage({ cmd: 'init', init: { ...init, id } });
    return r;
  });
}

/**
 * After a search: a clean one's threads drop its model and state and wait
 * for the next search; the others are terminated.
 */
export async function releaseWorkers(remotes: readonly Remote[], clean: boolean, isolated: boolean): Promise<void> {
  await Promise.all(
    remotes.map(async (r) => {
      if (clean && !isolated && r.sound) {
        try {
          await r.ask({ cmd: 'drop' });
          r.worker.unref();
          idle.push(r);
          return;
        } catch {
          // It failed while dropping: not fit for another search.
        }
      }
      await r.terminate();
    }),
  );
}

/** The thread ids of the idle threads, oldest first. */
export function idleWorkers(): number[] {
  return idle.map((r) => r.worker.threadId);
}

/** Ends the idle threads (tests, and a caller that wants no thread left behind). */
export async function endIdleWorkers(): Promise<void> {
  await Promise.all(idle.slice().map((r) => r.terminate()));
}
