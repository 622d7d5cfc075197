/**
 * The sequential engine (BFS or DFS) in a worker thread: the thread that
 * started it stays free to stop it at a deadline or on Ctrl-C, also when an
 * invariant's code never returns (see sequential.ts).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { explore } from './explore.js';
import { loadModel, type ModelFactory } from './factory.js';
import type { ExploreOptions, Progress } from './model.js';

export interface SequentialInit {
  factory: ModelFactory;
  /** The options that cross a thread boundary (no functions, no signal). */
  opts: ExploreOptions;
  /** [stop flag]: set to 1 to stop (checked every 1024 expansions). */
  control: Int32Array;
}

async function main(): Promise<void> {
  const init = workerData as SequentialInit;
  const { model, invariants, witnesses } = await loadModel(init.factory);
  const result = explore(
    model,
    invariants,
    {
      ...init.opts,
      shouldStop: () => Atomics.load(init.control, 0) !== 0,
      onProgress: (p: Progress) => parentPort!.postMessage({ progress: p }),
    },
    witnesses,
  );
  parentPort!.postMessage({ result });
}

main().catch((e: unknown) => {
  parentPort!.postMessage(e instanceof Error ? { error: e.message, name: e.name, stack: e.stack } : { error: String(e), name: 'Error' });
});
