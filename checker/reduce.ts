/**
 * Reductions applied while expanding a state, each switchable:
 *
 * - symmetry: the model's canonicalize() maps every successor to the
 *   representative of its symmetry class (e.g. renumbers interchangeable page
 *   frames) before it is fingerprinted, so symmetric states are stored once.
 *
 * - partial-order reduction (ample sets): from the model's declared footprints
 *   (the objects each action may touch), an action is safe when no other
 *   thread's action can ever touch its objects and no checked invariant reads
 *   them. When every enabled action of some thread is safe, only that thread
 *   is expanded (C0/C1/C2), unless one of its successors was already visited
 *   (a conservative cycle proviso, C3, valid for BFS and DFS).
 */
import type { Emit, Model } from './model.js';
import { SuccessorBuffer } from './successor-buffer.js';

export interface Reductions {
  symmetry: boolean;
  por: boolean;
}

export interface ReductionStats {
  /** States expanded with an ample set smaller than all enabled actions. */
  ampleStates: number;
}

/** Objects per action and the thread each belongs to, as the model declares them. */
export interface PorInfo {
  actionThread: Int32Array;
  actionObjects: Uint32Array;
  /** Objects that the checked invariants read. */
  visibleObjects: number;
}

export type Sink = (next: Int32Array, action: number) => void;

/** The model's canonicalize(), bound, when symmetry reduction is on and the model has one; else null. */
export function canonicalizer(model: Model, red: Reductions): ((s: Int32Array) => void) | null {
  return red.symmetry && model.canonicalize ? model.canonicalize.bind(model) : null;
}

/**
 * Builds the expansion function: expand(state, sink, isVisited) calls sink
 * for each successor to explore (canonical when symmetry is on) and returns
 * how many successors the state has in all (0: a dead end).
 */
export function makeExpander(
  model: Model,
  red: Reductions,
  stats: ReductionStats,
  por: PorInfo | null,
): (state: Int32Array, sink: Sink, isVisited: (s: Int32Array) => boolean) => number {
  const canon = canonicalizer(model, red);
  const safe = red.por && por ? safeActions(por) : null;
  // With no safe action no ample set can ever be chosen: skip collecting the successors.
  if (!safe?.includes(1)) {
    let count = 0;
    let target: Sink = () => {};
    const emit: Emit = (next, action) => {
      count++;
      if (canon) canon(next);
      target(next, action);
    };
    return (state, sink) => {
      count = 0;
      target = sink;
      model.successors(state, emit);
      return count;
    };
  }
  const W = model.stateWords;
  const succ = new SuccessorBuffer(W);
  const collect: Emit = (next, action) => {
    if (canon) canon(next);
    succ.add(next, action);
  };
  return (state, sink, isVisited) => {
    succ.clear();
    model.successors(state, collect);
    const { states: buf, actions: acts, count: n } = succ;
    let chosen = -1;
    // The first thread whose enabled actions are all safe (threads in action order).
    for (let i = 0; i < n && chosen < 0; i++) {
      const t = por!.actionThread[acts[i]!]!;
      let ok = true;
      let k = 0;
      for (let j = 0; j < n; j++) {
        if (por!.actionThread[acts[j]!] !== t) continue;
        k++;
        if (!safe[acts[j]!] || isVisited(buf.subarray(j * W, j * W + W))) ok = false;
      }
      if (ok && k > 0 && k < n) chosen = t;
    }
    if (chosen >= 0) stats.ampleStates++;
    for (let j = 0; j < n; j++) {
      if (chosen >= 0 && por!.actionThread[acts[j]!] !== chosen) continue;
      sink(buf.subarray(j * W, j * W + W), acts[j]!);
    }
    return n;
  };
}

/** An action is safe when no other thread's action touches its objects and no invariant reads them. */
export function safeActions(por: PorInfo): Uint8Array {
  const threads = new Map<number, number>();
  por.actionThread.forEach((t, a) => threads.set(t, (threads.get(t) ?? 0) | por.actionObjects[a]!));
  const safe = new Uint8Array(por.actionThread.length);
  por.actionThread.forEach((t, a) => {
    let others = por.visibleObjects;
    for (const [u, objs] of threads) if (u !== t) others |= objs;
    safe[a] = (por.actionObjects[a]! & others) === 0 ? 1 : 0;
  });
  return safe;
}
