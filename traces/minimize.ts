/**
 * Counterexamples a person can follow: among the shortest traces to a
 * violation, the one with the fewest preemptions.
 *
 * A preemption is a switch, between two steps, away from a thread that is in
 * the middle of an operation and could have taken its next step (a switch
 * away from an idle, blocked or finished thread is free). The search is a
 * breadth-first search over (state, last thread) pairs with the cost
 * (steps, preemptions) in lexicographic order, bounded by the length of the
 * trace being improved; ties go to the first found (the model's successor
 * order), so the result is deterministic.
 *
 * A trace found by DFS is first shortened by dropping whole operations and
 * single steps while it still replays to the same violation; the bounded
 * search then finds the shortest, least-preempted one.
 */
import { fingerprint, fpLo } from '../checker/fingerprint.js';
import type { Invariant, PathStep } from '../checker/model.js';
import { replayActions, ReplayError } from '../checker/path.js';
import { SuccessorBuffer } from '../checker/successor-buffer.js';
import { FingerprintSet } from '../checker/visited.js';
import type { MMModel } from '../model/world.js';

export interface Minimized {
  path: PathStep[];
  preemptions: number;
  /** False when the bounded search was too large and the input was kept. */
  optimal: boolean;
}

/** Preemptions along a path (see the module comment). */
export function countPreemptions(model: MMModel, path: readonly PathStep[]): number {
  let n = 0;
  for (let i = 2; i < path.length; i++) {
    const prev = model.actions[path[i - 1]!.action]!.thread;
    const cur = model.actions[path[i]!.action]!.thread;
    if (prev !== cur && canContinue(model, path[i - 1]!.state, prev)) n++;
  }
  return n;
}

/** Thread t is mid-operation in s and one of its steps is enabled. */
export function canContinue(model: MMModel, s: Int32Array, t: number): boolean {
  if (!model.view(s).threadBusy(t)) return false;
  let enabled = false;
  model.successors(s, (_n, a) => {
    if (!enabled && model.actions[a]!.thread === t) enabled = true;
  });
  return enabled;
}

/** Drops whole operations, then single steps, while the actions still replay to a violation of `inv`. */
export function shorten(model: MMModel, inv: Invariant, actions: number[]): number[] {
  const violates = (acts: number[]): boolean => {
    try {
      const p = replayActions(model, acts);
      return inv.check(p[p.length - 1]!.state) !== null;
    } catch (e) {
      if (e instanceof ReplayError) return false;
      throw e;
    }
  };
  let cur = actions;
  // Whole operations: a maximal run of one thread's steps from an op's first step.
  let changed = true;
  while (changed) {
    changed = false;
    for (let i = 1; i < cur.length && !changed; i++) {
      const a = model.actions[cur[i]!]!;
      if (a.step !== 0) continue;
      let j = i + 1;
      while (j < cur.length && model.actions[cur[j]!]!.thread === a.thread && model.actions[cur[j]!]!.step !== 0) j++;
      const cand = [...cur.slice(0, i), ...cur.slice(j)];
      if (violates(cand)) {
        cur = cand;
        changed = true;
      }
    }
  }
  for (let i = cur.length - 1; i >= 1; i--) {
    const cand = [...cur.slice(0, i), ...cur.slice(i + 1)];
    if (violates(cand)) cur = cand;
  }
  return cur;
}

interface Node {
  state: Int32Array;
  last: number; // thread of the last step, -1 at the start
  pre: number;
  parent: Node | null;
  action: number;
  /** The pair's key (pairKeyLo). */
  hi: number;
  lo: number;
}

/**
 * The low half of a (state, last thread) pair's key: the state's fingerprint
 * with the thread mixed into its low half. The multiplier is odd, so two
 * threads never give the same key for one state; two pairs share a key only
 * when 64-bit fingerprints collide, which the search assumes never happens.
 */
function pairKeyLo(hi: number, lo: number, thread: number): number {
  const x = (lo ^ Math.imul(thread + 1, 0x9e3779b1)) >>> 0;
  return hi === 0 && x === 0 ? 1 : x; // (0, 0) marks an empty slot
}

/**
 * The shortest violation of `inv` within `maxDepth` steps, with the fewest
 * preemptions; null when none (or when more than `budget` pairs would be needed).
 * The pairs are kept in fingerprint tables, not in maps of strings: on the
 * 5.17 cow-isolation violation the whole command took 1.27-1.58 s so, against
 * 1.58-2.06 s with string keys and a fresh array per successor.
 */
export function fewestPreemptions(model: MMModel, inv: Invariant, maxDepth: number, budget = 400_000): Node | null | 'too-large' {
  const W = model.stateWords;
  // A level's pairs in the order first found, and where each one is in that order.
  let level: Node[] = [];
  let where = new FingerprintSet(1 << 12, true);
  model.initialStates((s, ordinal) => {
    const st = s.slice(0, W);
    const hi = fingerprint(st, 0, W);
    const lo = pairKeyLo(hi, fpLo, -1);
    if (where.insert(hi, lo)) level.push({ state: st, last: -1, pre: 0, parent: null, action: ordinal, hi, lo });
  });
  const seen = new FingerprintSet(1 << 12);
  // Reused for every node: its successors, the threads with an enabled step, and a view.
  const succ = new SuccessorBuffer(W);
  const enabled = new Uint8Array(model.programs.length);
  const view = model.view(new Int32Array(W));
  let total = 0;
  for (let depth = 0; depth <= maxDepth; depth++) {
    // A violation at this depth: the fewest preemptions, first found on ties.
    let best: Node | null = null;
    for (const n of level) if (inv.check(n.state) !== null && (!best || n.pre < best.pre)) best = n;
    if (best) return best;
    if (depth === maxDepth) return null;
    for (const n of level) seen.insert(n.hi, n.lo);
    const next: Node[] = [];
    where = new FingerprintSet(1 << 12, true);
    for (const n of level) {
      succ.clear();
      enabled.fill(0);
      model.successors(n.state, (s, a) => {
        succ.add(s, a);
        enabled[model.actions[a]!.thread] = 1;
      });
      const { states, actions: acts, count } = succ;
      const lastCanContinue = n.last >= 0 && enabled[n.last] === 1 && view.bind(n.state).threadBusy(n.last);
      for (let i = 0; i < count; i++) {
        const a = acts[i]!;
        const t = model.actions[a]!.thread;
        const pre = n.pre + (t !== n.last && lastCanContinue ? 1 : 0);
        const hi = fingerprint(states, i * W, W);
        const lo = pairKeyLo(hi, fpLo, t);
        if (seen.has(hi, lo)) continue;
        const node = (): Node => ({ state: states.slice(i * W, (i + 1) * W), last: t, pre, parent: n, action: a, hi, lo });
        if (where.insert(hi, lo)) {
          where.value = next.length;
          next.push(node());
        } else if (pre < next[where.value]!.pre) next[where.value] = node();
      }
    }
    total += next.length;
    if (total > budget) return 'too-large';
    level = next;
  }
  return null;
}

/** Minimizes a violation's path (shortest, then fewest preemptions); keeps it when the search is too large. */
export function minimize(model: MMModel, inv: Invariant, path: PathStep[], fromDfs: boolean): Minimized {
  let actions = path.map((p) => p.action);
  if (fromDfs) actions = shorten(model, inv, actions);
  const found = fewestPreemptions(model, inv, actions.length - 1);
  if (found === 'too-large' || found === null) {
    const p = replayActions(model, actions);
    return { path: p, preemptions: countPreemptions(model, p), optimal: false };
  }
  const acts: number[] = [];
  for (let n: Node | null = found; n; n = n.parent) acts.push(n.action);
  acts.reverse();
  const p = replayActions(model, acts);
  return { path: p, preemptions: found.pre, optimal: true };
}
