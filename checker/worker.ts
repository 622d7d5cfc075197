/**
 * A long-lived BFS worker thread: builds the model from its factory and runs
 * the phases the coordinator asks for, level by level (see share.ts); kept
 * for the next search when this one ends cleanly (pool.ts).
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

/** Between two searches the thread holds nothing of either (checker/pool.ts): `init` builds the next one's model. */
type PoolCommand = { cmd: 'init'; init: WorkerInit } | { cmd: 'drop' };

const port = parentPort!;
/** The search this thread serves: its model is share.model. */
let share: Share | null = null;
/** Milliseconds per command, for MMCHECK_PROFILE. */
const time: Record<string, number> = {};

/** Builds the model of a search and says it is ready, with the arenas and coverage counts the coordinator reads. */
async function init(w: WorkerInit): Promise<void> {
  for (const k of Object.keys(time)) delete time[k];
  const built = await loadModel(w.factory);
  share = new Share(built.model, built.invariants, w.id, w.workers, w.reductions, w.control, built.witnesses);
  port.postMessage({ ready: true, arena: share.arena, coverage: share.coverage });
}

port.on('message', (c: Command | PoolCommand) => {
  const t0 = performance.now();
  try {
    if (c.cmd === 'init') {
      init(c.init).catch((e: unknown) => port.postMessage(errorMessage(e)));
      return;
    }
    if (c.cmd === 'drop') {
      share = null;
      port.postMessage({ dropped: true });
      return;
    }
    const s = share!;
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
        port.postMessage({ observations: s.model.observations?.() ?? [] });
        break;
    }
    time[c.cmd] = (time[c.cmd] ?? 0) + performance.now() - t0;
  } catch (e) {
    port.postMessage(errorMessage(e));
  }
});

/** An error as a message: its class name and message survive the thread boundary (the stack for debugging). */
function errorMessage(e: unknown): { error: string; name: string; stack?: string } {
  return e instanceof Error ? { error: e.message, name: e.name, stack: e.stack } : { error: String(e), name: 'Error' };
}

init(workerData as WorkerInit).catch((e: unknown) => port.postMessage(errorMessage(e)));
