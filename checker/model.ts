/**
 * The contract between a model and the engine. The engine knows nothing else
 * about the model: states are packed fixed-size Int32Arrays, actions are small
 * integers, and invariants are predicates over the packed state.
 */

/** Called by a model for each successor: `next` is only valid during the call. */
export type Emit = (next: Int32Array, action: number) => void;

export interface Model {
  /** Words (32-bit) per packed state. */
  readonly stateWords: number;
  /** Action ids are 0 .. actionCount-1. */
  readonly actionCount: number;
  /** Emits each initial state (action is the initial state's ordinal). */
  initialStates(emit: Emit): void;
  /**
   * Emits every successor of `state`. Each action id must determine at most one
   * successor of a given state: traces are rebuilt by replaying action ids.
   */
  successors(state: Int32Array, emit: Emit): void;
  /**
   * Called on a state without successors: true when that is a deadlock (some
   * thread waits and nothing can move), false when it is a normal end.
   * Without it every state without successors is a normal end.
   */
  isDeadlock?(state: Int32Array): boolean;
  /** Why a deadlocked state is one, in one line (who waits for what); cold path, for reports. */
  deadlockMessage?(state: Int32Array): string;
  /** Readable name of an action, for traces and coverage (cold path). */
  actionName(action: number): string;
  /**
   * Symmetry reduction: rewrite `state` in place into the representative of
   * its symmetry class. Every action must commute with the symmetry.
   */
  canonicalize?(state: Int32Array): void;
  /** Partial-order reduction: each action's thread and the objects it may touch. */
  readonly porInfo?: import('./reduce.js').PorInfo;
  /**
   * Facts the model recorded about the transitions it generated (e.g. the
   * lock orders it took): the engine returns their union over every worker,
   * sorted (ExploreResult.observations). The set depends only on the states
   * expanded, not on the worker that expanded them.
   */
  observations?(): string[];
  /**
   * Turns recording off while the engine only looks for a successor past
   * the depth bound (those transitions are not part of the exploration).
   */
  setObserving?(on: boolean): void;
}

/** A named predicate over packed states: null when it holds, else a message. */
export interface Invariant {
  readonly name: string;
  check(state: Int32Array): string | null;
}

/**
 * A reachability witness (stateright's "sometimes"): a state for which
 * check() is true should be reachable. One that is never found says that a
 * HOLDS may be vacuous: what the check is about never happened.
 */
export interface Witness {
  readonly name: string;
  check(state: Int32Array): boolean;
}

export interface WitnessResult {
  name: string;
  found: boolean;
  /** Depth of the first state found (BFS: the smallest); -1 when not found. */
  depth: number;
}

export type Strategy = 'bfs' | 'dfs';

export interface ExploreOptions {
  strategy?: Strategy;
  /** Explore states at most this many steps from an initial state. */
  maxDepth?: number;
  /** Stop at the first violation (default) or go on and report each invariant's first. */
  stopAtFirst?: boolean;
  /** Treat deadlocks as violations (default true). */
  checkDeadlock?: boolean;
  /** Limits: a run stopped by one reports verdict "incomplete". */
  maxStates?: number;
  maxSeconds?: number;
  /** Initial capacity of the visited table, in states. */
  expectedStates?: number;
  /** Symmetry and partial-order reduction (default: both on; models without support are unaffected). */
  reductions?: import('./reduce.js').Reductions;
  /** Worker threads for BFS (exploreParallel). */
  workers?: number;
  /** BFS: start the workers after the first when a level to expand has this many states (default SPREAD_AT in parallel.ts; 0: all at once). */
  spreadAt?: number;
  /** Stop when the engine's tables (visited set, parent pointers, frontier) use this many bytes or more. */
  maxMemory?: number;
  /** Called about once a second with progress figures. */
  onProgress?: (p: Progress) => void;
  /** Polled between levels / batches: return true to stop (e.g. on SIGINT). */
  shouldStop?: () => boolean;
  /** Aborting it stops the parallel engine at once (its workers are terminated). */
  signal?: AbortSignal;
  /** Count coverage into this array (shared memory, so that a thread that stops this search can still read it). */
  coverageBuffer?: Float64Array;
  /** The sequential engine keeps [states, transitions, depth] here as it goes (shared memory, read by whoever must report a search it stopped). */
  counters?: Float64Array;
}

export interface Progress {
  depth: number;
  states: number;
  transitions: number;
  frontier: number;
  seconds: number;
  /** Bytes of the engine's tables (visited set, parent pointers, frontier). */
  bytes: number;
}

export interface PathStep {
  /** The action that led to `state` (for the first step: the initial state's ordinal). */
  action: number;
  state: Int32Array;
}

export interface Violation {
  /** Invariant name, or "deadlock". */
  invariant: string;
  message: string;
  /** From an initial state to the violating state, inclusive. */
  path: PathStep[];
}

export type Verdict = 'holds' | 'violated' | 'deadlock' | 'incomplete';

export interface ExploreResult {
  verdict: Verdict;
  /** Why a run is incomplete (a limit, or an interrupt). */
  stoppedBy?: 'max-states' | 'max-seconds' | 'max-memory' | 'interrupted';
  violations: Violation[];
  /** Distinct states reached. */
  states: number;
  transitions: number;
  /** Deepest level reached (BFS) or deepest state (DFS). */
  depthReached: number;
  /** True when the depth bound cut off states that still had successors to explore. */
  depthBounded: boolean;
  /** BFS: number of new states per level. */
  levelSizes: number[];
  /** How often each action fired (index: action id). */
  coverage: Float64Array;
  seconds: number;
  /** Optimistic fingerprint-collision probability, computed as TLC does. */
  collisionProbability: number;
  strategy: Strategy;
  /** Worker threads asked for (0: the sequential engine). */
  workers: number;
  /** Worker threads started (BFS starts the others only when a level is large: ExploreOptions.spreadAt); 0 for the sequential engine. */
  workersStarted: number;
  /** Bytes of the visited table(s) and parent pointers at the end. */
  tableBytes: number;
  /** States expanded with a partial-order-reduced (ample) set. */
  ampleStates: number;
  reductions: import('./reduce.js').Reductions;
  /** Each witness, found or not (among the states explored). */
  witnesses: WitnessResult[];
  /** The model's observations (Model.observations), union over workers, sorted. */
  observations: string[];
}
