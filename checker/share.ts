/**
 * One worker's share of a level-synchronous parallel BFS. The workers take
 * the level's states in chunks from a shared counter (so none waits long for
 * the others at the level's end), expand them, and insert each successor
 * straight into the shared visited table (shared-table.ts): a successor costs
 * no message and no copy to another thread. A new state becomes a candidate
 * in this worker's arena, which the other workers can read and lower.
 *
 * Determinism: every successor has a key (rank of its parent in the level,
 * index among that parent's successors), and the sequential BFS discovers a
 * level in key order. A state reached from several parents keeps its
 * smallest key (and that parent and action), whichever worker got there
 * first: the key is lowered under a per-candidate lock. After the level each
 * worker sorts its candidates by key, and the workers merge their key lists
 * into global ranks. Hence states, transitions, depths and traces do not
 * depend on the number of workers or on timing, and they are the sequential
 * engine's. (With partial-order reduction, the cycle proviso looks only at
 * states of earlier levels, which is what keeps it deterministic; the
 * sequential engine also sees the level being built, so where ample sets
 * apply the two may reduce differently.)
 *
 * The table and the arenas cannot move while the others probe them: before
 * each state a worker checks that it has room for the state's successors
 * (its share of the table's free slots, its arena's free records), and if
 * not it pauses the level; the coordinator grows what is short and resumes.
 */
import { fingerprint, fpLo, HashedBuffer, hashedInWasm } from './fingerprint.js';
import type { Invariant, Model, Witness } from './model.js';
import { makeExpander, type PorInfo, type Reductions, type ReductionStats, type Sink } from './reduce.js';
import { FLAG, hasCommitted, hiWord, loWord } from './shared-table.js';
import { radixSort64 } from './sort.js';
import { NO_PARENT } from './store.js';

/**
 * A candidate is two records: its key record [low word, parent rank,
 * emission, action], 16 bytes, which the other workers read and lower (kept
 * apart so that a level's keys stay in cache), and its state record [slot,
 * state...].
 */
const LO = 0;
const RANK = 1;
const EMIT = 2;
const ACT = 3;
const KEY_WORDS = 4;
/** Set in a key record's emission word while a worker holds it. */
const LOCKED = 0x40000000;
export const HDR = 1;
export const SLOT = 0;
/** Successors of one state are numbered below this; keys are rank * EMISSIONS + emission. */
export const EMISSIONS = 65536;
/**
 * Successors inserted together: the cache misses of their first probes
 * overlap. It pays for the copy of each successor to the batch, for small
 * states (the classic model, 13 words: 6.3 s against 8.8 s inserted one by
 * one) and large ones (MM cow-fork-gup, 70 words: 2.9-3.4 us a state against
 * 3.0-3.6, 1 worker, 10 alternating runs).
 */
const BATCH = 512;
/** A batch row's header: hi, lo, rank, emission, action. */
const BATCH_WORDS = 5;
/**
 * States of this many words or more are copied by memcpy (set()), mostly
 * between arrays made once. MM cow-fork-gup (70 words) on 1 worker ran in 4.4-5.4 s with
 * memcpy, against 5.5-7.1 s with element loops (alternating runs). A small
 * state (the classic model, 13 words) goes by the loop, which costs less than
 * the call.
 */
const LARGE_STATE = 24;
/** Frontier states taken at a time from the shared counter. */
const CHUNK = 64;

/**
 * Shared control words, each on its own cache line: the chunk counter, the
 * pause and found flags, then per worker the new states and transitions of
 * the level so far (for progress and --max-states while a level runs).
 */
export const NEXT = 0;
export const PAUSE = 16;
export const FOUND = 32;
const PROGRESS = 48;
export function controlWords(workers: number): number {
  return PROGRESS + 16 * workers;
}
/** The new states and transitions the workers have reported for the level so far. */
export function levelProgress(ctl: Int32Array, workers: number): { inserted: number; transitions: number } {
  let inserted = 0;
  let transitions = 0;
  for (let w = 0; w < workers; w++) {
    inserted += Atomics.load(ctl, PROGRESS + 16 * w);
    transitions += Atomics.load(ctl, PROGRESS + 16 * w + 1);
  }
  return { inserted, transitions };
}

/** Bits of a candidate reference that name its worker: ref = index << bits | worker. */
export function workerBits(workers: number): number {
  return workers <= 1 ? 0 : 32 - Math.clz32(workers - 1);
}

export function sharedInts(words: number): Int32Array {
  return new Int32Array(new SharedArrayBuffer(Math.max(1, words) * 4));
}

/**
 * The level being expanded: the last level's candidates, in every worker's
 * state arena, and in rank order their references (ref = index << bits | worker).
 */
export interface Frontier {
  byRank: Int32Array;
  total: number;
  states: Int32Array[];
}

/** Where a level's parent pointers go, placed by rank (shared by the workers). */
export interface LevelParents {
  /** Index of the previous level's first state, or -1 for the initial states. */
  prevBase: number;
  parents: Uint32Array;
  actions: Uint32Array;
  byRank: Int32Array;
}

/** What the coordinator hands the workers for a level (or a resumed one). */
export interface LevelPlan {
  table: Int32Array;
  /** Every worker's key records (of this level's candidates), by worker. */
  keyArenas: Int32Array[];
  /** How many new states this worker may insert this level before it must pause. */
  budget: number;
  /** This worker is the only one running this level (the others have not started yet): no atomics needed. */
  alone: boolean;
}

export interface Segment {
  /** Stopped for room (or because another worker did); resume continues where it stopped. */
  paused: boolean;
  /** This worker's arena needs to grow before it can resume. */
  arenaFull: boolean;
  /** New states this worker inserted this level so far. */
  inserted: number;
  transitions: number;
  /** Global rank of the first deadlocked state this worker met, or -1. */
  deadlockRank: number;
  /** States this worker expanded with an ample set, since the search began. */
  ampleStates: number;
}

export interface CommitResult {
  count: number;
  /** The new states' keys (rank * EMISSIONS + emission), sorted, shared for the rank merge. */
  keys: Float64Array;
  /** Per invariant, the first violating new state in key order (its place in `keys`) and its message. */
  violations: { invariant: string; position: number; key: number; message: string }[];
  /** The witnesses (by index) this worker found for the first time among the new states. */
  witnessesFound: number[];
  /** The new states (the next level's frontier) and the emptied arenas for the next candidates. */
  frontier: Int32Array;
  arena: { states: Int32Array; keys: Int32Array };
}

export class Share {
  readonly W: number;
  readonly stride: number;
  private readonly bits: number;
  /** Candidates a worker may make in one level: what a reference's index bits can name (2 ** (31 - bits)). */
  private readonly maxCandidates: number;
  /** Set by each level's plan (LevelPlan.alone). */
  private alone = false;
  private readonly maxSucc: number;
  private table: Int32Array = new Int32Array(2);
  private mask = 0;
  private keyArenas: Int32Array[] = [];
  /** This worker's candidates of the level being built: key and state records. */
  private keyRecs: Int32Array;
  private cand: Int32Array;
  private candCount = 0;
  /** This worker's part of the level being expanded. */
  private own: Int32Array;
  private frontier: Frontier = { byRank: new Int32Array(0), total: 0, states: [] };
  /** The committed candidates in key order, and their parent ranks and actions in that order. */
  private order: Uint32Array | null = null;
  private orderBuf = new Uint32Array(1024);
  private keyBuf = sharedFloats(1024);
  private rankBuf = new Float64Array(1024);
  private sortedParent = new Uint32Array(1024);
  private sortedAction = new Uint32Array(1024);
  private violations: CommitResult['violations'] = [];
  private budget = 0;
  private inserted = 0;
  private probe = false;
  private pos = 0;
  private end = 0;
  /** Successors waiting to be inserted: [hi, lo, rank, emission, action] by row, and their states by row. */
  private readonly batch: Int32Array;
  private readonly batchStates: Int32Array;
  /** Where batchStates lives when states are hashed in wasm: there they are hashed in place. */
  private readonly hashed: HashedBuffer | null;
  /** Each row's state as its own array, for copies that allocate nothing (large states). */
  private readonly rows: Int32Array[];
  private pending = 0;
  readonly coverage: Float64Array;
  private levelTransitions = 0;
  private deadlockRank = -1;
  readonly stats: ReductionStats = { ampleStates: 0 };
  private readonly expand: ReturnType<typeof makeExpander>;
  /** Per invariant (by index: no string lookups per state), whether it was violated already. */
  private readonly violated: Uint8Array;
  /** Per witness, whether this worker found it already. */
  private readonly witnessFound: Uint8Array;
  private witnessesLeft = 0;
  /**
   * This level's candidates that violate an invariant, and those that show
   * a witness, as pairs (candidate index, invariant or witness index), found
   * as each candidate is made; commit() keeps the first in key order. Two
   * ints a pair: in --continue mode a level may have a violation per state.
   */
  private readonly violating = new Pairs();
  private readonly witnessing = new Pairs();
  /** A small state copied out of an arena, for the model or the invariants (a large one goes to a spare record). */
  private readonly cur: Int32Array;
  private rank = 0;
  private emission = 0;

  constructor(
    readonly model: Model,
    readonly invariants: readonly Invariant[],
    readonly id: number,
    readonly workers: number,
    reductions: Reductions,
    private readonly ctl: Int32Array,
    readonly witnesses: readonly Witness[] = [],
  ) {
    this.witnessFound = new Uint8Array(witnesses.length);
    this.W = model.stateWords;
    this.stride = HDR + this.W;
    this.bits = workerBits(workers);
    this.maxCandidates = 2 ** (31 - this.bits);
    this.violated = new Uint8Array(invariants.length);
    this.maxSucc = Math.max(1, model.actionCount);
    // Keys number a state's successors below EMISSIONS (each action gives at most one successor).
    if (this.maxSucc >= EMISSIONS) throw new Error(`the parallel engine supports at most ${EMISSIONS - 1} actions (the model has ${model.actionCount})`);
    this.cand = this.stateArena(this.minRecords);
    this.keyRecs = sharedInts(KEY_WORDS * this.minRecords);
    this.own = this.stateArena(16);
    const rows = BATCH + this.maxSucc;
    this.batch = new Int32Array(BATCH_WORDS * rows);
    this.hashed = hashedInWasm(this.W) ? new HashedBuffer(this.W * rows) : null;
    this.batchStates = this.hashed ? this.hashed.words : new Int32Array(this.W * rows);
    this.rows = Array.from({ length: rows }, (_, r) => this.batchStates.subarray(r * this.W, (r + 1) * this.W));
    // In shared memory: the coordinator reads it at the end of each level, and still after it terminated this worker.
    this.coverage = new Float64Array(new SharedArrayBuffer(Math.max(1, model.actionCount) * 8));
    this.cur = new Int32Array(this.W);
    const por: PorInfo | null = model.porInfo ?? null;
    this.expand = makeExpander(model, reductions, this.stats, por);
    this.witnessesLeft = witnesses.length;
  }

  private get minRecords(): number {
    return Math.max(1024, 4 * this.maxSucc);
  }

  /** A state arena of `records` records. */
  private stateArena(records: number): Int32Array {
    return sharedInts(this.stride * records);
  }

  /** Records a state arena holds. */
  private recordsOf(a: Int32Array): number {
    return Math.floor(a.length / this.stride);
  }

  /**
   * The state at `off` in arena `a` as an array of its own, for the model:
   * copied into cur, a plain array (the model copies a state it expands to
   * its scratch once per action, and a copy from shared memory costs more:
   * 36 ns against 25 for 70 words). A large one still goes through a view made
   * for the copy: through this worker's spare record instead, it would be two
   * copies, which cost as much.
   */
  private load(a: Int32Array, off: number): Int32Array {
    const W = this.W;
    const cur = this.cur;
    if (W >= LARGE_STATE) cur.set(a.subarray(off, off + W));
    else for (let i = 0; i < W; i++) cur[i] = a[off + i]!;
    return cur;
  }

  /** The arenas this worker's candidates go to (the coordinator passes them to the others). */
  get arena(): { states: Int32Array; keys: Int32Array } {
    return { states: this.cand, keys: this.keyRecs };
  }

  /** Doubles this worker's arenas (all workers are paused). */
  growArena(): { states: Int32Array; keys: Int32Array } {
    const records = 2 * this.capacity;
    if (this.recordsOf(this.cand) < records) {
      const d = this.stateArena(records);
      d.set(this.cand.subarray(0, this.candCount * this.stride));
      this.cand = d;
    }
    if (this.keyRecs.length < records * KEY_WORDS) {
      const k = sharedInts(records * KEY_WORDS);
      k.set(this.keyRecs.subarray(0, this.candCount * KEY_WORDS));
      this.keyRecs = k;
    }
    return this.arena;
  }

  /** Candidates the arenas have room for. */
  private get capacity(): number {
    return Math.min(this.recordsOf(this.cand), this.keyRecs.length / KEY_WORDS);
  }

  private plan(p: LevelPlan): void {
    this.table = p.table;
    this.mask = (p.table.length >> 1) - 1;
    this.keyArenas = p.keyArenas;
    this.keyArenas[this.id] = this.keyRecs;
    this.budget = p.budget;
    this.alone = p.alone;
  }

  /** Starts a level; a probe only looks for a new state. */
  startLevel(p: LevelPlan, frontier: Frontier, probe: boolean): Segment {
    this.plan(p);
    this.frontier = frontier;
    this.probe = probe;
    this.pos = this.end = 0;
    this.inserted = 0;
    this.levelTransitions = 0;
    this.deadlockRank = -1;
    return this.run();
  }

  /** Continues a paused level, with a grown table or arenas. */
  resume(p: LevelPlan): Segment {
    this.plan(p);
    return this.run();
  }

  /** For the partial-order cycle proviso: whether a successor was visited at this depth or before (deterministic). */
  private readonly isVisited = (st: Int32Array): boolean => {
    const hi = hiWord(fingerprint(st, 0, this.W));
    return hasCommitted(this.table, hi, loWord(fpLo));
  };

  private readonly sink: Sink = (next, action) => {
    this.levelTransitions++;
    this.coverage[action]!++;
    const b = this.batch;
    const row = this.pending++;
    const off = row * BATCH_WORDS;
    b[off] = this.stage(row, next);
    b[off + 1] = loWord(fpLo);
    b[off + 2] = this.rank;
    b[off + 3] = this.emission++;
    b[off + 4] = action;
    if (this.pending >= BATCH) this.flush();
  };

  /** Copies a state to batch row `row`; returns its fingerprint's high word (fpLo holds the low half). */
  private stage(row: number, state: Int32Array): number {
    const W = this.W;
    const at = row * W;
    if (state.length === W)
      this.batchStates.set(state, at); // a memcpy, no view needed
    else this.batchStates.set(state.subarray(0, W), at);
    return hiWord(this.hashed ? this.hashed.fingerprint(at, W) : fingerprint(state, 0, W));
  }

  /** Past the depth bound: only whether some successor is new. */
  private readonly probeSink: Sink = (next) => {
    if (!this.isVisited(next)) Atomics.store(this.ctl, FOUND, 1);
  };

  /** Expands states, in chunks of consecutive ranks, until the level is done or a pause. */
  private run(): Segment {
    const ctl = this.ctl;
    const S = this.stride;
    const A = this.maxSucc;
    const { byRank, total, states } = this.frontier;
    const bits = this.bits;
    const wmask = (1 << bits) - 1;
    let paused = false;
    let arenaFull = false;
    for (;;) {
      if (this.pos >= this.end) {
        Atomics.store(ctl, PROGRESS + 16 * this.id, this.inserted);
        Atomics.store(ctl, PROGRESS + 16 * this.id + 1, Math.min(this.levelTransitions, 0x7fffffff));
        const p = Atomics.add(ctl, NEXT, 1) * CHUNK;
        if (p >= total) break;
        this.pos = p;
        this.end = Math.min(total, p + CHUNK);
      }
      if (this.probe) {
        if (Atomics.load(ctl, FOUND) !== 0) break;
      } else {
        if (this.candCount + this.pending + A > this.capacity || this.inserted + this.pending + A > this.budget) {
          this.flush();
          arenaFull = this.candCount + A > this.capacity;
          if (arenaFull || this.inserted + A > this.budget) {
            Atomics.store(ctl, PAUSE, 1);
            paused = true;
            break;
          }
        }
        if (Atomics.load(ctl, PAUSE) !== 0) {
          paused = true;
          break;
        }
      }
      const ref = byRank[this.pos]!;
      const cur = this.load(states[ref & wmask]!, (ref >>> bits) * S + HDR);
      this.rank = this.pos++;
      this.emission = 0;
      if (this.probe) this.model.setObserving?.(false);
      const n = this.expand(cur, this.probe ? this.probeSink : this.sink, this.isVisited);
      if (this.probe) this.model.setObserving?.(true);
      if (n === 0 && !this.probe && this.deadlockRank < 0 && this.model.isDeadlock?.(cur)) this.deadlockRank = this.rank;
    }
    this.flush();
    return { paused, arenaFull, inserted: this.inserted, transitions: this.levelTransitions, deadlockRank: this.deadlockRank, ampleStates: this.stats.ampleStates };
  }

  /** Keeps the touch loop from being optimised away. */
  private touched = 0;

  /** Inserts the batched successors: first touch their first slots, then probe. */
  private flush(): void {
    const n = this.pending;
    if (n === 0) return;
    const b = this.batch;
    const B = BATCH_WORDS;
    const t = this.table;
    const mask = this.mask;
    let x = 0;
    for (let r = 0, off = 0; r < n; r++, off += B) x ^= t[(b[off]! & mask) << 1]!;
    // Then the key records of this level's states found there (a second wave of misses, overlapped too).
    const bits = this.bits;
    const wmask = (1 << bits) - 1;
    const ka = this.keyArenas;
    for (let r = 0, off = 0; r < n; r++, off += B) {
      const w = t[((b[off]! & mask) << 1) + 1]!;
      if (w & FLAG) {
        const ref = w & 0x7fffffff;
        x ^= ka[ref & wmask]![(ref >>> bits) * KEY_WORDS]!;
      }
    }
    this.touched ^= x;
    for (let r = 0, off = 0; r < n; r++, off += B) this.insert(b[off]!, b[off + 1]!, b[off + 2]!, b[off + 3]!, b[off + 4]!, r);
    this.pending = 0;
  }

  /** A new state becomes this worker's candidate; a state of this level keeps its smallest key; an old one is dropped. */
  private insert(hi: number, lo: number, rank: number, emission: number, action: number, row: number): void {
    const t = this.table;
    const mask = this.mask;
    let i = hi & mask;
    for (;;) {
      const j = i << 1;
      let a = t[j]!;
      if (a === 0) {
        // Alone, a worker needs no atomics: nothing else writes the table or its key records.
        if (this.alone) {
          t[j] = hi;
          t[j + 1] = FLAG | this.candidate(lo, rank, emission, action, row, i);
          this.inserted++;
          return;
        }
        a = Atomics.compareExchange(t, j, 0, hi);
        if (a === 0) {
          const ref = this.candidate(lo, rank, emission, action, row, i);
          Atomics.store(t, j + 1, FLAG | ref);
          this.inserted++;
          return;
        }
      }
      if (a === hi) {
        let w = t[j + 1]!;
        while (w === 0) w = Atomics.load(t, j + 1); // claimed, its word not yet written
        if (w & FLAG) {
          const ref = w & 0x7fffffff;
          const d = this.keyArenas[ref & ((1 << this.bits) - 1)]!;
          const off = (ref >>> this.bits) * KEY_WORDS;
          if (Atomics.load(d, off + LO) === lo) {
            lower(d, off, rank, emission, action, this.alone);
            return;
          }
        } else if (w === lo) return;
      }
      i = (i + 1) & mask;
    }
  }

  private candidate(lo: number, rank: number, emission: number, action: number, row: number, slot: number): number {
    const idx = this.candCount++;
    // A constant, not 2 ** (31 - bits) here: V8 calls pow() for a ** it cannot fold (1.4% of a search's time).
    if (idx >= this.maxCandidates) throw new Error(`more than ${this.maxCandidates} new states in one level for one worker`);
    const k = this.keyRecs;
    const ko = idx * KEY_WORDS;
    k[ko + LO] = lo;
    k[ko + RANK] = rank;
    k[ko + EMIT] = emission;
    k[ko + ACT] = action;
    const d = this.cand;
    const off = idx * this.stride;
    d[off + SLOT] = slot;
    const W = this.W;
    if (W >= LARGE_STATE) d.set(this.rows[row]!, off + HDR);
    else {
      const b = this.batchStates;
      for (let i = 0, from = row * W; i < W; i++) d[off + HDR + i] = b[from + i]!;
    }
    if (this.invariants.length > 0 || this.witnessesLeft > 0) this.check(idx, this.rows[row]!);
    return (idx << this.bits) | this.id;
  }

  /**
   * Checks a new state as it becomes a candidate, while it is in the batch
   * row it was hashed from (at commit it would be read back from the arena:
   * a copy and a cache miss per state). Every invariant not violated in an
   * earlier level is checked, since a later candidate may have a smaller key.
   */
  private check(cand: number, state: Int32Array): void {
    if (this.witnessesLeft > 0) {
      const ws = this.witnesses;
      for (let i = 0; i < ws.length; i++) if (!this.witnessFound[i] && ws[i]!.check(state)) this.witnessing.add(cand, i);
    }
    const invs = this.invariants;
    for (let i = 0; i < invs.length; i++) if (!this.violated[i] && invs[i]!.check(state) !== null) this.violating.add(cand, i);
  }

  /**
   * After the level (no one probes): the candidates' slots become ordinary
   * visited slots, they are put in key order, the first violation of each
   * invariant in that order is kept (check() found them), and they become
   * this worker's part of the next frontier.
   */
  commit(): CommitResult {
    const n = this.candCount;
    const S = this.stride;
    const d = this.cand;
    const kr = this.keyRecs;
    const t = this.table;
    for (let c = 0, off = 0; c < n; c++, off += S) t[(d[off + SLOT]! << 1) + 1] = kr[c * KEY_WORDS + LO]!;
    // Reused from level to level: a fresh buffer costs its page faults again (the others read it only while placing).
    if (this.keyBuf.length < n) this.keyBuf = sharedFloats(n * 2);
    const keys = this.keyBuf;
    const order = this.keyOrder(keys);
    if (this.sortedParent.length < n) {
      this.sortedParent = new Uint32Array(n * 2);
      this.sortedAction = new Uint32Array(n * 2);
    }
    for (let k = 0; k < n; k++) {
      const ko = (order ? order[k]! : k) * KEY_WORDS;
      this.sortedParent[k] = kr[ko + RANK]!;
      this.sortedAction[k] = kr[ko + ACT]!;
    }
    const violations: CommitResult['violations'] = [];
    const witnessesFound: number[] = [];
    if (this.violating.count > 0 || this.witnessing.count > 0) {
      // The first state of each invariant's violations and of each witness's, in key order.
      const pos = positions(order, n);
      for (const [, w] of this.witnessing.firstBy(pos)) {
        this.witnessFound[w] = 1;
        this.witnessesLeft--;
        witnessesFound.push(w);
      }
      for (const [cand, i] of this.violating.firstBy(pos)) {
        this.violated[i] = 1;
        const k = pos(cand);
        // The message again, from the state's record (check() kept only the pair).
        const state = d.subarray(cand * S + HDR, cand * S + HDR + this.W);
        const message = this.invariants[i]!.check(state) ?? 'violated when the state was made, but not when checked again: check() must depend on the state alone';
        violations.push({ invariant: this.invariants[i]!.name, position: k, key: keys[k]!, message });
      }
      this.witnessing.clear();
      this.violating.clear();
    }
    // The candidates are the next frontier part; the old part's arena takes the next candidates.
    const old = this.own;
    this.own = d;
    this.cand = this.recordsOf(old) >= this.minRecords ? old : this.stateArena(this.minRecords);
    if (this.keyRecs.length < KEY_WORDS * this.minRecords) this.keyRecs = sharedInts(KEY_WORDS * this.minRecords);
    this.candCount = 0;
    this.order = order;
    this.violations = violations;
    return { count: n, keys, violations, witnessesFound, frontier: this.own, arena: this.arena };
  }

  /**
   * Fills `keys` in key order; returns the permutation that sorts the
   * candidates, or null when they are in order already. A worker creates its
   * candidates in key order, except those another worker lowered later (under
   * 1% of them): only these are sorted, and each is moved into place by a
   * binary search and a block move, so the level costs two passes over its
   * keys and the moves (it was a merge that compared every candidate).
   */
  private keyOrder(keys: Float64Array): Uint32Array | null {
    const n = this.candCount;
    const kr = this.keyRecs;
    let outliers = 0;
    for (let c = 0, off = 0, last = -1; c < n; c++, off += KEY_WORDS) {
      const key = kr[off + RANK]! * EMISSIONS + kr[off + EMIT]!;
      keys[c] = key;
      if (key < last) outliers++;
      else last = key;
    }
    if (outliers === 0) return null;
    if (this.orderBuf.length < n) this.orderBuf = new Uint32Array(n * 2);
    const order = this.orderBuf;
    const out = new Uint32Array(outliers);
    const ohi = new Uint32Array(outliers);
    const olo = new Uint32Array(outliers);
    // The keys in order move to the front (end <= c: nothing is overwritten before it is read).
    let end = 0;
    for (let c = 0, o = 0, last = -1; c < n; c++) {
      const key = keys[c]!;
      if (key < last) {
        out[o] = c;
        ohi[o] = kr[c * KEY_WORDS + RANK]!;
        olo[o++] = kr[c * KEY_WORDS + EMIT]!;
      } else {
        keys[end] = key;
        order[end++] = c;
        last = key;
      }
    }
    const sorted = radixSort64(outliers, ohi, olo, out).pay;
    // Merge from the back: the largest outlier goes after every key above it, and so on down (keys are distinct).
    let free = n;
    for (let q = outliers - 1; q >= 0; q--) {
      const c = sorted[q]!;
      const key = kr[c * KEY_WORDS + RANK]! * EMISSIONS + kr[c * KEY_WORDS + EMIT]!;
      let lo = 0;
      let hi = end;
      while (lo < hi) {
        const m = (lo + hi) >>> 1;
        if (keys[m]! < key) lo = m + 1;
        else hi = m;
      }
      const run = end - lo;
      keys.copyWithin(free - run, lo, end);
      order.copyWithin(free - run, lo, end);
      free -= run + 1;
      end = lo;
      keys[free] = key;
      order[free] = c;
    }
    return order;
  }

  /**
   * Places this worker's new states among all workers' (two-pointer merges
   * of the sorted key lists): writes their parent pointers and references
   * at their global ranks; returns the global ranks of its violations.
   */
  placeLevel(allKeys: readonly { keys: Float64Array; count: number }[], to: LevelParents): number[] {
    const mine = allKeys[this.id]!;
    const n = mine.count;
    if (this.rankBuf.length < n) this.rankBuf = new Float64Array(n * 2);
    const rk = this.rankBuf;
    for (let k = 0; k < n; k++) rk[k] = k;
    allKeys.forEach((other, w) => {
      if (w === this.id) return;
      const ok = other.keys;
      const on = other.count;
      let j = 0;
      for (let k = 0; k < n; k++) {
        const key = mine.keys[k]!;
        while (j < on && ok[j]! < key) j++;
        rk[k]! += j;
      }
    });
    const order = this.order;
    const base = to.prevBase;
    for (let k = 0; k < n; k++) {
      const r = rk[k]!;
      to.parents[r] = base < 0 ? NO_PARENT : base + this.sortedParent[k]!;
      to.actions[r] = this.sortedAction[k]!;
      to.byRank[r] = ((order ? order[k]! : k) << this.bits) | this.id;
    }
    return this.violations.map((v) => rk[v.position]!);
  }

  /** Seeds level 0 with the initial states (rank 0, their ordinals as emission numbers and actions). */
  seed(p: LevelPlan, states: Int32Array, ordinals: Int32Array, count: number): CommitResult {
    while (this.capacity < count) this.growArena(); // no one else runs yet
    this.plan(p);
    const W = this.W;
    for (let k = 0; k < count; k++) {
      // Through batch row 0, as a successor goes (no batch is pending before level 0).
      const hi = this.stage(0, states.subarray(k * W, (k + 1) * W));
      this.insert(hi, loWord(fpLo), 0, ordinals[k]!, ordinals[k]!, 0);
    }
    return this.commit();
  }
}

/**
 * Lowers a candidate's key to (rank, emission) if that is smaller, holding
 * the lock bit of its emission word (a lone worker needs no lock); the rank
 * never rises, so a larger rank is skipped without the lock.
 */
function lower(d: Int32Array, off: number, rank: number, emission: number, action: number, alone: boolean): void {
  if (rank > Atomics.load(d, off + RANK)) return;
  let e: number;
  if (alone) e = d[off + EMIT]!;
  else {
    do e = Atomics.load(d, off + EMIT) & ~LOCKED;
    while (Atomics.compareExchange(d, off + EMIT, e, e | LOCKED) !== e);
  }
  const r = d[off + RANK]!;
  if (rank < r || (rank === r && emission < e)) {
    d[off + RANK] = rank;
    d[off + ACT] = action;
    e = emission;
  }
  if (alone) d[off + EMIT] = e;
  else Atomics.store(d, off + EMIT, e);
}

/** Pairs (candidate, index) in a growing array. */
class Pairs {
  private a = new Int32Array(64);
  count = 0;
  add(cand: number, index: number): void {
    if (2 * this.count + 2 > this.a.length) {
      const b = new Int32Array(2 * this.a.length);
      b.set(this.a);
      this.a = b;
    }
    this.a[2 * this.count] = cand;
    this.a[2 * this.count + 1] = index;
    this.count++;
  }
  clear(): void {
    this.count = 0;
  }
  /**
   * For each index, its pair with the first candidate in key order (pos), in
   * key order and by index for one candidate: the order a pass over the
   * candidates in key order finds them.
   */
  firstBy(pos: (cand: number) => number): [cand: number, index: number][] {
    const best = new Map<number, number>();
    for (let p = 0; p < this.count; p++) {
      const c = this.a[2 * p]!;
      const i = this.a[2 * p + 1]!;
      const b = best.get(i);
      if (b === undefined || pos(c) < pos(b)) best.set(i, c);
    }
    return [...best].map(([i, c]): [number, number] => [c, i]).sort((x, y) => pos(x[0]) - pos(y[0]) || x[1] - y[1]);
  }
}

/** A candidate's place in key order: `order` lists the candidates in key order (null: in index order). */
function positions(order: Uint32Array | null, n: number): (cand: number) => number {
  if (!order) return (c) => c;
  const at = new Uint32Array(n);
  for (let k = 0; k < n; k++) at[order[k]!] = k;
  return (c) => at[c]!;
}

function sharedFloats(n: number): Float64Array {
  return new Float64Array(new SharedArrayBuffer(Math.max(1, n) * 8));
}
