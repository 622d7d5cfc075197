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

/**
 * One level of the search: its pairs in the order first found, as columns
 * (no object and no state copy allocated per pair: the search meets hundreds
 * of thousands of pairs, and their garbage was a seventh of its time).
 */
class Level {
  count = 0;
  states: Int32Array;
  last: Int32Array;
  pre: Int32Array;
  /** The pair of the level before that it came from, and the action. */
  parent: Int32Array;
  action: Int32Array;
  hi: Int32Array;
  lo: Int32Array;

  constructor(
    private readonly W: number,
    capacity = 256,
  ) {
    this.states = new Int32Array(capacity * W);
    this.last = new Int32Array(capacity);
    this.pre = new Int32Array(capacity);
    this.parent = new Int32Array(capacity);
    this.action = new Int32Array(capacity);
    this.hi = new Int32Array(capacity);
    this.lo = new Int32Array(capacity);
  }

  /** Sets pair k (k = count appends one) to `state` at `from` in `src`. */
  set(k: number, src: Int32Array, from: number, last: number, pre: number, parent: number, action: number, hi: number, lo: number): void {
    if (k === this.count) {
      if (k === this.last.length) this.grow();
      this.count++;
    }
    this.states.set(src.subarray(from, from + this.W), k * this.W);
    this.last[k] = last;
    this.pre[k] = pre;
    this.parent[k] = parent;
    this.action[k] = action;
    this.hi[k] = hi;
    this.lo[k] = lo;
  }

  state(k: number): Int32Array {
    return this.states.subarray(k * this.W, (k + 1) * this.W);
  }

  private grow(): void {
    const n = this.last.length * 2;
    const more = (a: Int32Array, size: number): Int32Array => {
      const b = new Int32Array(size);
      b.set(a);
      return b;
    };
    this.states = more(this.states, n * this.W);
    this.last = more(this.last, n);
    this.pre = more(this.pre, n);
    this.parent = more(this.parent, n);
    this.action = more(this.action, n);
    this.hi = more(this.hi, n);
    this.lo = more(this.lo, n);
  }
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

/** A shortest violation with the fewest preemptions: its actions (the first is the initial state's ordinal) and preemptions. */
interface Found {
  actions: number[];
  pre: number;
}

/**
 * The shortest violation of `inv` within `maxDepth` steps, with the fewest
 * preemptions; null when none (or when more than `budget` pairs would be needed).
 * The pairs are kept in fingerprint tables, not in maps of strings: on the
 * 5.17 cow-isolation violation the whole command took 1.27-1.58 s so, against
 * 1.58-2.06 s with string keys and a fresh array per successor.
 */
export function fewestPreemptions(model: MMModel, inv: Invariant, maxDepth: number, budget = 400_000): Found | null | 'too-large' {
  const W = model.stateWords;
  // Every level's pairs (their states are dropped once the next level is built), and where each pair is in its level.
  const levels: Level[] = [];
  let level = new Level(W);
  let where = new FingerprintSet(1 << 12, true);
  model.initialStates((s, ordinal) => {
    const hi = fingerprint(s, 0, W);
    const lo = pairKeyLo(hi, fpLo, -1);
    if (where.insert(hi, lo)) level.set(level.count, s, 0, -1, 0, -1, ordinal, hi, lo);
  });
  const seen = new FingerprintSet(1 << 12);
  // Reused for every pair: its successors, the threads with an enabled step, and a view.
  const succ = new SuccessorBuffer(W);
  const enabled = new Uint8Array(model.programs.length);
  const view = model.view(new Int32Array(W));
  const found = (d: number, k: number): Found => {
    const actions: number[] = [];
    for (let l = d, i = k; l >= 0; i = levels[l]!.parent[i]!, l--) actions.push(levels[l]!.action[i]!);
    return { actions: actions.reverse(), pre: levels[d]!.pre[k]! };
  };
  let total = 0;
  for (let depth = 0; depth <= maxDepth; depth++) {
    levels.push(level);
    // A violation at this depth: the fewest preemptions, first found on ties.
    let best = -1;
    for (let k = 0; k < level.count; k++) if (inv.check(level.state(k)) !== null && (best < 0 || level.pre[k]! < level.pre[best]!)) best = k;
    if (best >= 0) return found(depth, best);
    if (depth === maxDepth) return null;
    for (let k = 0; k < level.count; k++) seen.insert(level.hi[k]!, level.lo[k]!);
    const next = new Level(W, Math.max(256, level.count));
    where = new FingerprintSet(1 << 12, true);
    for (let k = 0; k < level.count; k++) {
      const state = level.state(k);
      const last = level.last[k]!;
      succ.clear();
      enabled.fill(0);
      model.successors(state, (s, a) => {
        succ.add(s, a);
        enabled[model.actions[a]!.thread] = 1;
      });
      const { states, actions: acts, count } = succ;
      const lastCanContinue = last >= 0 && enabled[last] === 1 && view.bind(state).threadBusy(last);
      for (let i = 0; i < count; i++) {
        const a = acts[i]!;
        const t = model.actions[a]!.thread;
        const pre = level.pre[k]! + (t !== last && lastCanContinue ? 1 : 0);
        const hi = fingerprint(states, i * W, W);
        const lo = pairKeyLo(hi, fpLo, t);
        if (seen.has(hi, lo)) continue;
        if (where.insert(hi, lo)) {
          where.value = next.count;
          next.set(next.count, states, i * W, t, pre, k, a, hi, lo);
        } else if (pre < next.pre[where.value]!) next.set(where.value, states, i * W, t, pre, k, a, hi, lo);
      }
    }
    total += next.count;
    if (total > budget) return 'too-large';
    // The states of the level just expanded are no longer needed (the path needs only parents and actions).
    level.states = new Int32Array(0);
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
  const p = replayActions(model, found.actions);
  return { path: p, preemptions: found.pre, optimal: true };
}
