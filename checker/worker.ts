/**
 * A long-lived BFS worker thread: builds the model from its factory and runs
 * the phases the coordinator asks for, level by level (see partition.ts).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { loadModel, type ModelFactory } from './factory.js';
import { Partition } from './partition.js';
import type { Reductions } from './reduce.js';
import type { Mesh } from './ring.js';

export interface WorkerInit {
  factory: ModelFactory;
  id: number;
  workers: number;
  reductions: Reductions;
  expectedStates: number;
  /** Rings between the workers (W > 1). */
  mesh: Mesh | null;
}

export type Command =
  | { cmd: 'seed'; states: Int32Array; ordinals: Int32Array; count: number }
  | { cmd: 'expand' }
  | { cmd: 'level'; level: number; commit: boolean }
  | { cmd: 'receive'; boxes: { data: Int32Array; length: number }[]; commit: boolean }
  | { cmd: 'ranks'; all: { keys: Float64Array; count: number }[]; count: number }
  | { cmd: 'stats' };

async function main(): Promise<void> {
  const init = workerData as WorkerInit;
  const { model, invariants } = await loadModel(init.factory);
  const p = new Partition(model, invariants, init.id, init.workers, init.reductions, init.expectedStates);
  if (init.mesh) p.attach(init.mesh);
  const port = parentPort!;
  const time: Record<string, number> = {};
  port.on('message', (c: Command) => {
    const t0 = performance.now();
    try {
      switch (c.cmd) {
        case 'seed':
          port.postMessage(p.seed(c.states, c.ordinals, c.count));
          break;
        case 'level': {
          const r = p.runLevel(c.level);
          const done = c.commit ? p.commit() : { count: p.discard() };
          port.postMessage({ ...r, ...done });
          break;
        }
        case 'expand': {
          const r = p.expandLevel();
          port.postMessage({ ...r, boxes: p.outboxes.map((b) => ({ data: b.data, length: b.length })) });
          break;
        }
        case 'receive':
          p.receive(c.boxes);
          port.postMessage(c.commit ? p.commit() : { count: p.discard() });
          break;
        case 'ranks':
          p.setRanks(c.all);
          port.postMessage({ ranks: p.globalRanks(c.count) });
          break;
        case 'stats':
          port.postMessage({
            coverage: p.coverage,
            transitions: p.transitions,
            ampleStates: p.stats.ampleStates,
            bytes: p.bytes,
            time,
          });
          break;
      }
      time[c.cmd] = (time[c.cmd] ?? 0) + performance.now() - t0;
    } catch (e) {
      port.postMessage(errorMessage(e));
    }
  });
  port.postMessage({ ready: true });
}

/** An error as a message: its class name and message survive the thread boundary (the stack for debugging). */
function errorMessage(e: unknown): { error: string; name: string; stack?: string } {
  return e instanceof Error ? { error: e.message, name: e.name, stack: e.stack } : { error: String(e), name: 'Error' };
}

main().catch((e: unknown) => {
  parentPort!.postMessage(errorMessage(e));
});
