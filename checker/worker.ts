/**
 * A long-lived BFS worker thread: builds the model from its factory and runs
 * the phases the coordinator asks for, level by level (see share.ts).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { loadModel, type ModelFactory } from './factory.js';
import type { Reductions } from './reduce.js';
import { Share, type Frontier, type LevelParents, type LevelPlan } from './share.js';

export interface WorkerInit {
  factory: ModelFactory;
  id: number;
  workers: number;
  reductions: Reductions;
  /** The control words shared by all workers (share.ts). */
  control: Int32Array;
}

export type Command =
  | { cmd: 'seed'; plan: LevelPlan; states: Int32Array; ordinals: Int32Array; count: number }
  | { cmd: 'level'; plan: LevelPlan; frontier: Frontier; probe: boolean }
  | { cmd: 'resume'; plan: LevelPlan }
  | { cmd: 'grow' }
  | { cmd: 'commit' }
  | { cmd: 'place'; all: { keys: Float64Array; count: number }[]; to: LevelParents }
  | { cmd: 'stats' }
  | { cmd: 'observations' };

async function main(): Promise<void> {
  const init = workerData as WorkerInit;
  const { model, invariants, witnesses } = await loadModel(init.factory);
  const s = new Share(model, invariants, init.id, init.workers, init.reductions, init.control, witnesses);
  const port = parentPort!;
  const time: Record<string, number> = {};
  port.on('message', (c: Command) => {
    const t0 = performance.now();
    try {
      switch (c.cmd) {
        case 'seed':
          port.postMessage(s.seed(c.plan, c.states, c.ordinals, c.count));
          break;
        case 'level':
          port.postMessage(s.startLevel(c.plan, c.frontier, c.probe));
          break;
        case 'resume':
          port.postMessage(s.resume(c.plan));
          break;
        case 'grow':
          port.postMessage({ arena: s.growArena() });
          break;
        case 'commit':
          port.postMessage(s.commit());
          break;
        case 'place':
          port.postMessage({ violationRanks: s.placeLevel(c.all, c.to) });
          break;
        case 'stats':
          port.postMessage({ time });
          break;
        case 'observations':
          port.postMessage({ observations: model.observations?.() ?? [] });
          break;
      }
      time[c.cmd] = (time[c.cmd] ?? 0) + performance.now() - t0;
    } catch (e) {
      port.postMessage(errorMessage(e));
    }
  });
  port.postMessage({ ready: true, arena: s.arena, coverage: s.coverage });
}

/** An error as a message: its class name and message survive the thread boundary (the stack for debugging). */
function errorMessage(e: unknown): { error: string; name: string; stack?: string } {
  return e instanceof Error ? { error: e.message, name: e.name, stack: e.stack } : { error: String(e), name: 'Error' };
}

main().catch((e: unknown) => {
  parentPort!.postMessage(errorMessage(e));
});
