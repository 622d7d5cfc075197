/**
 * Bookkeeping shared by the search strategies: counts, coverage, invariant
 * checks, first violation per invariant, limits and progress.
 */
import { collisionProbability, fingerprint, fpLo } from './fingerprint.js';
import type { ExploreOptions, ExploreResult, Invariant, Model, Strategy, Violation } from './model.js';
import { replayActions } from './path.js';
import { ParentStore } from './store.js';
import { FingerprintSet } from './visited.js';

interface Found {
  invariant: string;
  message: string;
  index: number;
}

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
  private readonly t0 = performance.now();
  private lastProgress = this.t0;
  private pollCounter = 0;
  readonly stopAtFirst: boolean;
  readonly checkDeadlock: boolean;
  readonly maxDepth: number;
  private readonly W: number;

  constructor(
    readonly model: Model,
    readonly invariants: readonly Invariant[],
    readonly opts: ExploreOptions,
    readonly withDepth: boolean,
  ) {
    this.W = model.stateWords;
    const expected = opts.expectedStates ?? 1 << 16;
    this.visited = new FingerprintSet(expected, withDepth);
    this.parents = new ParentStore(Math.min(expected, 1 << 24), withDepth);
    this.coverage = new Float64Array(model.actionCount);
    this.stopAtFirst = opts.stopAtFirst ?? true;
    this.checkDeadlock = opts.checkDeadlock ?? true;
    this.maxDepth = opts.maxDepth ?? Infinity;
  }

  get states(): number {
    return this.parents.length;
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

  /** Checks every not-yet-violated invariant on a newly reached state. */
  checkState(state: Int32Array, index: number): void {
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
    this.violatedNames.add(invariant);
    this.found.push({ invariant, message, index });
    if (this.stopAtFirst) this.halt = true;
    else if (this.violatedNames.size >= this.invariants.length + (this.checkDeadlock ? 1 : 0)) this.halt = true;
  }

  /** Polls limits, interrupts and progress; cheap enough to call per expansion. */
  poll(frontier: number, depth: number): void {
    if (++this.pollCounter & 1023) return;
    const now = performance.now();
    const o = this.opts;
    if (o.maxStates !== undefined && this.states >= o.maxStates) this.stop('max-states');
    if (o.maxSeconds !== undefined && (now - this.t0) / 1000 >= o.maxSeconds) this.stop('max-seconds');
    if (o.shouldStop?.()) this.stop('interrupted');
    if (o.onProgress && now - this.lastProgress >= 1000) {
      this.lastProgress = now;
      o.onProgress({
        depth,
        states: this.states,
        transitions: this.transitions,
        frontier,
        seconds: (now - this.t0) / 1000,
      });
    }
  }

  stop(why: NonNullable<ExploreResult['stoppedBy']>): void {
    if (!this.stoppedBy) this.stoppedBy = why;
    this.halt = true;
  }

  finish(strategy: Strategy): ExploreResult {
    const violations: Violation[] = this.found.map((f) => ({
      invariant: f.invariant,
      message: f.message,
      path: this.pathTo(f.index),
    }));
    let verdict: ExploreResult['verdict'];
    if (violations.some((v) => v.invariant !== 'deadlock')) verdict = 'violated';
    else if (violations.length > 0) verdict = 'deadlock';
    else if (this.stoppedBy) verdict = 'incomplete';
    else verdict = 'holds';
    return {
      verdict,
      stoppedBy: this.stoppedBy,
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
    };
  }

  pathTo(index: number) {
    const chain = this.parents.chain(index);
    return replayActions(
      this.model,
      chain.map((i) => this.parents.action[i]!),
    );
  }
}
