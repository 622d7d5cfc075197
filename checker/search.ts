/**
 * Bookkeeping shared by the sequential search strategies: counts, coverage,
 * invariant checks, first violation per invariant, limits and progress.
 */
import { collisionProbability, fingerprint, fpLo } from './fingerprint.js';
import type { ExploreOptions, ExploreResult, Invariant, Model, PathStep, Strategy, Violation, Witness } from './model.js';
import { replayActions } from './path.js';
import { canonicalizer, makeExpander, type Reductions, type ReductionStats } from './reduce.js';
import { NO_PARENT, ParentStore } from './store.js';
import { FingerprintSet } from './visited.js';

interface Found {
  invariant: string;
  message: string;
  index: number;
}

export const DEFAULT_REDUCTIONS: Reductions = { symmetry: true, por: true };

export class Search {
  readonly visited: FingerprintSet;
  readonly parents: ParentStore;
  readonly coverage: Float64Array;
  transitions = 0;
  depthReached = 0;
  depthBounded = false;
  levelSizes: number[] = [];
  readonly found: Found[] = [];
  private readonly violatedNames = new Set<string>();
  stoppedBy: ExploreResult['stoppedBy'];
  /** Set when the search must end now (first violation, a limit, an interrupt). */
  halt = false;
  /**
   * Level-synchronous mode (BFS): a violation or a limit ends the search at
   * the end of the current level, as the parallel engine does, so that both
   * report the same states and transitions.
   */
  levelSync = false;
  /** Set in level-synchronous mode: end after this level. */
  endOfLevel = false;
  private readonly t0 = performance.now();
  private lastProgress = this.t0;
  private pollCounter = 0;
  readonly stopAtFirst: boolean;
  readonly checkDeadlock: boolean;
  readonly maxDepth: number;
  readonly reductions: Reductions;
  readonly stats: ReductionStats = { ampleStates: 0 };
  /** expand(state, sink, isVisited): successors after reductions; returns the number of successors. */
  readonly expand: ReturnType<typeof makeExpander>;
  private readonly W: number;
  /** Per witness: the depth it was first found at, or -1. */
  readonly witnessDepth: Int32Array;
  private witnessesLeft = 0;

  constructor(
    readonly model: Model,
    readonly invariants: readonly Invariant[],
    readonly opts: ExploreOptions,
    readonly withDepth: boolean,
    readonly witnesses: readonly Witness[] = [],
  ) {
    this.witnessDepth = new Int32Array(witnesses.length).fill(-1);
    this.W = model.stateWords;
    const expected = opts.expectedStates ?? 1 << 16;
    this.visited = new FingerprintSet(expected, withDepth);
    this.parents = new ParentStore(Math.min(expected, 1 << 24), withDepth, model.actionCount > 0xffff);
    this.coverage = opts.coverageBuffer ?? new Float64Array(model.actionCount);
    this.stopAtFirst = opts.stopAtFirst ?? true;
    this.checkDeadlock = opts.checkDeadlock ?? true;
    this.maxDepth = opts.maxDepth ?? Infinity;
    this.reductions = opts.reductions ?? DEFAULT_REDUCTIONS;
    this.expand = makeExpander(model, this.reductions, this.stats, model.porInfo ?? null);
    this.witnessesLeft = witnesses.length;
  }

  get states(): number {
    return this.parents.length;
  }

  /** Whether a (canonical) state was visited already: the partial-order reduction's proviso. */
  readonly isVisited = (s: Int32Array): boolean => this.visited.has(fingerprint(s, 0, this.W), fpLo);

  /**
   * Discovers the initial states (canonical when symmetry is on; each one's
   * ordinal is its action): hands each new one to `onNew`, then checks it.
   */
  seedInitial(onNew: (s: Int32Array, index: number) => void): void {
    const canon = canonicalizer(this.model, this.reductions);
    let ordinal = 0;
    this.model.initialStates((init) => {
      const o = ordinal++;
      if (this.halt) return;
      const s = init.slice(0, this.W);
      if (canon) canon(s);
      const index = this.discover(s, NO_PARENT, o);
      if (index < 0) return;
      onNew(s, index);
      this.checkState(s, index, 0);
    });
  }

  /**
   * Records `s` as reached from `parent` by `action` when it is new: returns
   * its index, or -1 when it was visited (then visited.value is its index, if
   * the set keeps values).
   */
  discover(s: Int32Array, parent: number, action: number, depth = 0): number {
    const hi = fingerprint(s, 0, this.W);
    if (!this.visited.insert(hi, fpLo)) return -1;
    const index = this.parents.add(parent, action, depth);
    if (this.withDepth) this.visited.value = index;
    return index;
  }

  /** Checks every not-yet-violated invariant, and every witness not yet found, on a newly reached state. */
  checkState(state: Int32Array, index: number, depth: number): void {
    if (this.witnessesLeft > 0) {
      const ws = this.witnesses;
      for (let i = 0; i < ws.length; i++) {
        if (this.witnessDepth[i]! < 0 && ws[i]!.check(state)) {
          this.witnessDepth[i] = depth;
          this.witnessesLeft--;
        }
      }
    }
    const invs = this.invariants;
    for (let i = 0; i < invs.length; i++) {
      const inv = invs[i]!;
      if (this.violatedNames.has(inv.name)) continue;
      const msg = inv.check(state);
      if (msg !== null) this.record(inv.name, msg, index);
    }
  }

  reportDeadlock(index: number, message: string): void {
    if (!this.checkDeadlock || this.violatedNames.has('deadlock')) return;
    this.record('deadlock', message, index);
  }

  private record(invariant: string, message: string, index: number): void {
    if (this.stopAtFirst && this.found.length > 0) return; // only the first (in BFS order)
    this.violatedNames.add(invariant);
    this.found.push({ invariant, message, index });
    const done = this.stopAtFirst || this.violatedNames.size >= this.invariants.length + (this.checkDeadlock ? 1 : 0);
    if (done) {
      if (this.levelSync) this.endOfLevel = true;
      else this.halt = true;
    }
  }

  get bytes(): number {
    return this.visited.bytes + this.parents.bytes;
  }

  /** Polls limits, interrupts and progress; cheap enough to call per expansion. */
  poll(frontier: number, depth: number): void {
    // Past N states (checked at every expansion: a comparison); the clock and the rest every 1024 expansions.
    if (!this.levelSync && this.opts.maxStates !== undefined && this.states > this.opts.maxStates) this.stop('max-states');
    if (++this.pollCounter & 1023) return;
    const now = performance.now();
    const o = this.opts;
    if (o.counters) {
      o.counters[0] = this.states;
      o.counters[1] = this.transitions;
      o.counters[2] = Math.max(depth, this.depthReached);
    }
    if (!this.levelSync) this.checkLimits(now);
    if (o.shouldStop?.()) this.stop('interrupted');
    if (o.onProgress && now - this.lastProgress >= 1000) {
      this.lastProgress = now;
      o.onProgress({
        depth,
        states: this.states,
        transitions: this.transitions,
        frontier,
        seconds: (now - this.t0) / 1000,
        bytes: this.bytes,
      });
    }
  }

  /** The state, time and memory limits (BFS: at the end of each level). */
  checkLimits(now = performance.now()): void {
    const o = this.opts;
    if (o.maxStates !== undefined && this.states > o.maxStates) this.stop('max-states');
    if (o.maxSeconds !== undefined && (now - this.t0) / 1000 >= o.maxSeconds) this.stop('max-seconds');
    // The process's memory (whatever else it holds), as the parallel engine counts it, with the visited table's next growth if it is due before the next look.
    if (o.maxMemory !== undefined) {
      const due = this.visited.growthWithin(1024 * Math.max(1, this.model.actionCount));
      if (process.memoryUsage.rss() + due >= o.maxMemory) this.stop('max-memory');
    }
  }

  stop(why: NonNullable<ExploreResult['stoppedBy']>): void {
    if (!this.stoppedBy) this.stoppedBy = why;
    if (this.levelSync && why !== 'interrupted') this.endOfLevel = true;
    else this.halt = true;
  }

  finish(strategy: Strategy): ExploreResult {
    const violations = this.found.map((f) => violationFromPath(this.model, this.invariants, f.invariant, f.message, chainActions(this.parents, f.index)));
    return {
      ...verdictOf(violations, violations.length ? undefined : this.stoppedBy),
      violations,
      states: this.states,
      transitions: this.transitions,
      depthReached: this.depthReached,
      depthBounded: this.depthBounded,
      levelSizes: this.levelSizes,
      coverage: this.coverage,
      seconds: (performance.now() - this.t0) / 1000,
      collisionProbability: collisionProbability(this.states, this.transitions),
      strategy,
      workers: 0,
      workersStarted: 0,
      tableBytes: this.bytes,
      ampleStates: this.stats.ampleStates,
      reductions: this.reductions,
      witnesses: witnessResults(this.witnesses, this.witnessDepth),
      observations: [...new Set(this.model.observations?.() ?? [])].sort(),
    };
  }
}

export function witnessResults(witnesses: readonly Witness[], depth: ArrayLike<number>): ExploreResult['witnesses'] {
  return witnesses.map((w, i) => ({ name: w.name, found: depth[i]! >= 0, depth: depth[i]! }));
}

export function chainActions(parents: ParentStore, index: number): number[] {
  return parents.actionsTo(index);
}

export function verdictOf(violations: readonly Violation[], stoppedBy: ExploreResult['stoppedBy']) {
  let verdict: ExploreResult['verdict'];
  if (violations.some((v) => v.invariant !== 'deadlock')) verdict = 'violated';
  else if (violations.length > 0) verdict = 'deadlock';
  else if (stoppedBy) verdict = 'incomplete';
  else verdict = 'holds';
  return { verdict, stoppedBy };
}

/**
 * Rebuilds a violation's path by replaying its actions. With symmetry the
 * stored states are representatives; the replay yields the concrete states
 * (symmetric to them), so the message is computed again on the last one.
 */
export function violationFromPath(model: Model, invariants: readonly Invariant[], invariant: string, message: string, actions: number[]): Violation {
  const path: PathStep[] = replayActions(model, actions);
  const inv = invariants.find((i) => i.name === invariant);
  const last = path[path.length - 1]!.state;
  const again = inv ? inv.check(last) : invariant === 'deadlock' && model.deadlockMessage ? model.deadlockMessage(last) : null;
  return { invariant, message: again ?? message, path };
}
