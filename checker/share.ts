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
 * engine's.
 *
 * The table and the arenas cannot move while the others probe them: before
 * each state a worker checks that it has room for the state's successors
 * (its share of the table's free slots, its arena's free records), and if
 * not it pauses the level; the coordinator grows what is short and resumes.
 */
import { fingerprint, fpLo } from './fingerprint.js';
import type { Invariant, Model } from './model.js';
import { makeExpander, type PorInfo, type Reductions, type ReductionStats, type Sink } from './reduce.js';
import { FLAG, hasCommitted, hiWord, loWord } from './shared-table.js';
import { radixSort64 } from './sort.js';

/** Candidate record: [lock, parent rank, emission, action, low word, slot, state...]. */
export const HDR = 6;
const LOCK = 0;
const RANK = 1;
const EMIT = 2;
const ACT = 3;
export const LO = 4;
export const SLOT = 5;
/** Successors of one state are numbered below this; keys are rank * EMISSIONS + emission. */
export const EMISSIONS = 65536;
/** Successors inserted together: the cache misses of their first probes overlap. */
const BATCH = 512;
/** Frontier states taken at a time from the shared counter. */
const CHUNK = 64;

/** Shared control words, each on its own cache line: the chunk counter, the pause and found flags. */
export const NEXT = 0;
export const PAUSE = 16;
export const FOUND = 32;
export const CONTROL_WORDS = 48;

/** Bits of a candidate reference that name its worker: ref = index << bits | worker. */
export function workerBits(workers: number): number {
  return workers <= 1 ? 0 : 32 - Math.clz32(workers - 1);
}

export function sharedInts(words: number): Int32Array {
  return new Int32Array(new SharedArrayBuffer(Math.max(1, words) * 4));
}

/** A worker's part of the level being expanded: its last level's candidates and their global ranks. */
export interface FrontierPart {
  data: Int32Array;
  count: number;
  ranks: Float64Array;
}

/** What the coordinator hands the workers for a level (or a resumed one). */
export interface LevelPlan {
  table: Int32Array;
  /** Every worker's candidate arena, by worker. */
  arenas: Int32Array[];
  /** How many new states this worker may insert this level before it must pause. */
  budget: number;
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
}

export interface CommitResult {
  count: number;
  /** The new states' keys (rank * EMISSIONS + emission), sorted, shared for the rank merge. */
  keys: Float64Array;
  /** (parent rank, action) of each new state, in candidate order. */
  parents: Uint32Array;
  /** Per invariant, the first violating new state in key order (its candidate position) and its message. */
  violations: { invariant: string; position: number; key: number; message: string }[];
  /** The new states (the next level's frontier part) and the emptied arena for the next candidates. */
  frontier: Int32Array;
  arena: Int32Array;
  /** Their ranks by candidate position when this worker is alone (else setRanks gives them). */
  ranks: Float64Array;
}

export class Share {
  readonly W: number;
  readonly stride: number;
  private readonly bits: number;
  private readonly maxSucc: number;
  private table: Int32Array = new Int32Array(2);
  private mask = 0;
  private arenas: Int32Array[] = [];
  /** This worker's candidates of the level being built. */
  private cand: Int32Array;
  private candCount = 0;
  /** This worker's part of the level being expanded. */
  private own: Int32Array;
  private ownRanks = sharedFloats(1024);
  private parts: FrontierPart[] = [];
  private total = 0;
  private budget = 0;
  private inserted = 0;
  private probe = false;
  private pos = 0;
  private end = 0;
  /** Successors waiting to be inserted: [hi, lo, rank, emission, action, state...]. */
  private readonly batch: Int32Array;
  private pending = 0;
  private readonly bstride: number;
  readonly coverage: Float64Array;
  transitions = 0;
  private levelTransitions = 0;
  private deadlockRank = -1;
  readonly stats: ReductionStats = { ampleStates: 0 };
  private readonly expand: ReturnType<typeof makeExpander>;
  private readonly violated = new Set<string>();
  private readonly cur: Int32Array;
  private readonly scratch: Int32Array;
  private rank = 0;
  private emission = 0;

  constructor(
    readonly model: Model,
    readonly invariants: readonly Invariant[],
    readonly id: number,
    readonly workers: number,
    reductions: Reductions,
    private readonly ctl: Int32Array,
  ) {
    this.W = model.stateWords;
    this.stride = HDR + this.W;
    this.bits = workerBits(workers);
    this.maxSucc = Math.max(1, model.actionCount);
    this.cand = sharedInts(this.stride * Math.max(1024, 4 * this.maxSucc));
    this.own = sharedInts(this.stride * 16);
    this.bstride = 5 + this.W;
    this.batch = new Int32Array(this.bstride * (BATCH + this.maxSucc));
    this.coverage = new Float64Array(model.actionCount);
    this.cur = new Int32Array(this.W);
    this.scratch = new Int32Array(this.W);
    const por: PorInfo | null = model.porInfo ?? null;
    this.expand = makeExpander(model, reductions, this.stats, por);
  }

  /** The arena this worker's candidates go to (the coordinator passes it to the others). */
  get arena(): Int32Array {
    return this.cand;
  }

  /** Doubles this worker's arena (all workers are paused). */
  growArena(): Int32Array {
    const d = sharedInts(this.cand.length * 2);
    d.set(this.cand.subarray(0, this.candCount * this.stride));
    this.cand = d;
    return d;
  }

  private plan(p: LevelPlan): void {
    this.table = p.table;
    this.mask = (p.table.length >> 1) - 1;
    this.arenas = p.arenas;
    this.arenas[this.id] = this.cand;
    this.budget = p.budget;
  }

  /** Starts a level: `parts` are all workers' parts of the frontier, in worker order; a probe only looks for a new state. */
  startLevel(p: LevelPlan, parts: FrontierPart[], probe: boolean): Segment {
    this.plan(p);
    this.parts = parts;
    this.total = parts.reduce((a, x) => a + x.count, 0);
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
    const W = this.W;
    const b = this.batch;
    const off = this.pending++ * this.bstride;
    b[off] = hiWord(fingerprint(next, 0, W));
    b[off + 1] = loWord(fpLo);
    b[off + 2] = this.rank;
    b[off + 3] = this.emission++;
    b[off + 4] = action;
    for (let i = 0; i < W; i++) b[off + 5 + i] = next[i]!;
    if (this.pending >= BATCH) this.flush();
  };

  private readonly probeSink: Sink = (next) => {
    const hi = hiWord(fingerprint(next, 0, this.W));
    if (!hasCommitted(this.table, hi, loWord(fpLo))) Atomics.store(this.ctl, FOUND, 1);
  };

  /** Expands states until the level is done or a pause. */
  private run(): Segment {
    const ctl = this.ctl;
    const W = this.W;
    const S = this.stride;
    const cur = this.cur;
    const A = this.maxSucc;
    const arenaCap = () => Math.floor(this.cand.length / S);
    let paused = false;
    let arenaFull = false;
    let part = 0;
    let partBase = 0;
    for (;;) {
      if (this.pos >= this.end) {
        const p = Atomics.add(ctl, NEXT, 1) * CHUNK;
        if (p >= this.total) break;
        this.pos = p;
        this.end = Math.min(this.total, p + CHUNK);
        part = 0;
        partBase = 0;
      }
      if (this.probe) {
        if (Atomics.load(ctl, FOUND) !== 0) break;
      } else {
        if (this.candCount + this.pending + A > arenaCap() || this.inserted + this.pending + A > this.budget) {
          this.flush();
          arenaFull = this.candCount + A > arenaCap();
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
      while (this.pos >= partBase + this.parts[part]!.count) partBase += this.parts[part++]!.count;
      const fp = this.parts[part]!;
      const i = this.pos - partBase;
      const fd = fp.data;
      const off = i * S + HDR;
      for (let j = 0; j < W; j++) cur[j] = fd[off + j]!;
      this.rank = fp.ranks[i]!;
      this.emission = 0;
      this.pos++;
      const n = this.expand(cur, this.probe ? this.probeSink : this.sink, this.isVisited);
      if (n === 0 && !this.probe && this.deadlockRank < 0 && this.model.isDeadlock?.(cur)) this.deadlockRank = this.rank;
    }
    this.flush();
    if (!paused) this.transitions += this.levelTransitions;
    return { paused, arenaFull, inserted: this.inserted, transitions: this.levelTransitions, deadlockRank: this.deadlockRank };
  }

  /** Keeps the touch loop from being optimised away. */
  private touched = 0;

  /** Inserts the batched successors: first touch their first slots, then probe. */
  private flush(): void {
    const n = this.pending;
    if (n === 0) return;
    const b = this.batch;
    const B = this.bstride;
    const t = this.table;
    const mask = this.mask;
    let x = 0;
    for (let r = 0, off = 0; r < n; r++, off += B) x ^= t[(b[off]! & mask) << 1]!;
    this.touched ^= x;
    for (let r = 0, off = 0; r < n; r++, off += B) this.insert(b[off]!, b[off + 1]!, b[off + 2]!, b[off + 3]!, b[off + 4]!, b, off + 5);
    this.pending = 0;
  }

  /** A new state becomes this worker's candidate; a state of this level keeps its smallest key; an old one is dropped. */
  private insert(hi: number, lo: number, rank: number, emission: number, action: number, src: Int32Array, srcOff: number): void {
    const t = this.table;
    const mask = this.mask;
    let i = hi & mask;
    for (;;) {
      const j = i << 1;
      let a = t[j]!;
      if (a === 0) {
        a = Atomics.compareExchange(t, j, 0, hi);
        if (a === 0) {
          const ref = this.candidate(lo, rank, emission, action, src, srcOff, i);
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
          const d = this.arenas[ref & ((1 << this.bits) - 1)]!;
          const off = (ref >>> this.bits) * this.stride;
          if (Atomics.load(d, off + LO) === lo) {
            lower(d, off, rank, emission, action);
            return;
          }
        } else if (w === lo) return;
      }
      i = (i + 1) & mask;
    }
  }

  private candidate(lo: number, rank: number, emission: number, action: number, src: Int32Array, srcOff: number, slot: number): number {
    const idx = this.candCount++;
    if (idx >= 2 ** (31 - this.bits)) throw new Error(`more than ${2 ** (31 - this.bits)} new states in one level for one worker`);
    const d = this.cand;
    const off = idx * this.stride;
    d[off + LOCK] = 0;
    d[off + RANK] = rank;
    d[off + EMIT] = emission;
    d[off + ACT] = action;
    d[off + LO] = lo;
    d[off + SLOT] = slot;
    const W = this.W;
    for (let k = 0; k < W; k++) d[off + HDR + k] = src[srcOff + k]!;
    return (idx << this.bits) | this.id;
  }

  /**
   * After the level (no one probes): the candidates' slots become ordinary
   * visited slots, invariants are checked in key order, and the candidates
   * become this worker's part of the next frontier.
   */
  commit(): CommitResult {
    const n = this.candCount;
    const S = this.stride;
    const W = this.W;
    const d = this.cand;
    const t = this.table;
    for (let c = 0, off = 0; c < n; c++, off += S) t[(d[off + SLOT]! << 1) + 1] = d[off + LO]!;
    const keys = sharedFloats(n);
    const order = this.keyOrder(keys);
    const parents = new Uint32Array(new SharedArrayBuffer(Math.max(1, n) * 8));
    for (let c = 0, off = 0; c < n; c++, off += S) {
      parents[2 * c] = d[off + RANK]!;
      parents[2 * c + 1] = d[off + ACT]!;
    }
    const violations: CommitResult['violations'] = [];
    if (this.invariants.length > 0) {
      // In key order, so that the first violation per invariant is the smallest key.
      const state = this.scratch;
      for (let k = 0; k < n; k++) {
        const c = order ? order[k]! : k;
        const off = c * S + HDR;
        for (let j = 0; j < W; j++) state[j] = d[off + j]!;
        for (const inv of this.invariants) {
          if (this.violated.has(inv.name)) continue;
          const msg = inv.check(state);
          if (msg !== null) {
            this.violated.add(inv.name);
            violations.push({ invariant: inv.name, position: c, key: keys[k]!, message: msg });
          }
        }
      }
    }
    // The candidates are the next frontier part; the old part's arena takes the next candidates.
    const old = this.own;
    this.own = d;
    this.cand = old.length >= S * Math.max(1024, 4 * this.maxSucc) ? old : sharedInts(S * Math.max(1024, 4 * this.maxSucc));
    this.candCount = 0;
    if (this.ownRanks.length < n) this.ownRanks = sharedFloats(Math.max(n, this.ownRanks.length * 2));
    this.order = order;
    for (let k = 0; k < n; k++) this.ownRanks[order ? order[k]! : k] = k; // the global ranks when alone
    this.ownCount = n;
    return { count: n, keys, parents, violations, frontier: this.own, arena: this.cand, ranks: this.ownRanks };
  }
  private order: Uint32Array | null = null;
  private ownCount = 0;

  /** This worker's part of the next frontier. */
  get frontierPart(): FrontierPart {
    return { data: this.own, count: this.ownCount, ranks: this.ownRanks };
  }

  /** Fills `keys` in key order; returns the permutation that sorts the candidates, or null when they are in order already. */
  private keyOrder(keys: Float64Array): Uint32Array | null {
    const n = this.candCount;
    const S = this.stride;
    const d = this.cand;
    let sorted = true;
    for (let c = 0, off = 0, prev = -1; c < n; c++, off += S) {
      const key = d[off + RANK]! * EMISSIONS + d[off + EMIT]!;
      keys[c] = key;
      if (key < prev) sorted = false;
      prev = key;
    }
    if (sorted) return null;
    const khi = new Uint32Array(n);
    const klo = new Uint32Array(n);
    const pay = new Uint32Array(n);
    for (let i = 0, off = 0; i < n; i++, off += S) {
      khi[i] = d[off + RANK]!;
      klo[i] = d[off + EMIT]!;
      pay[i] = i;
    }
    const r = radixSort64(n, khi, klo, pay);
    for (let k = 0; k < n; k++) keys[k] = r.hi[k]! * EMISSIONS + r.lo[k]!;
    return r.pay;
  }

  /** Global ranks of this worker's new states: their place among all workers' keys (two-pointer merges). */
  setRanks(allKeys: readonly { keys: Float64Array; count: number }[]): Float64Array {
    const mine = allKeys[this.id]!;
    const n = mine.count;
    const add = new Float64Array(n);
    allKeys.forEach((other, w) => {
      if (w === this.id) return;
      let j = 0;
      for (let k = 0; k < n; k++) {
        const key = mine.keys[k]!;
        while (j < other.count && other.keys[j]! < key) j++;
        add[k]! += j;
      }
    });
    const order = this.order;
    for (let k = 0; k < n; k++) this.ownRanks[order ? order[k]! : k] = k + add[k]!;
    return this.ownRanks;
  }

  /** Seeds level 0 with the initial states (rank 0, their ordinals as emission numbers and actions). */
  seed(p: LevelPlan, states: Int32Array, ordinals: Int32Array, count: number): CommitResult {
    while (this.cand.length < count * this.stride) this.growArena(); // no one else runs yet
    this.plan(p);
    for (let k = 0; k < count; k++) {
      const hi = hiWord(fingerprint(states, k * this.W, this.W));
      this.insert(hi, loWord(fpLo), 0, ordinals[k]!, ordinals[k]!, states, k * this.W);
    }
    return this.commit();
  }
}

/** Lowers a candidate's key to (rank, emission) if that is smaller; the rank never rises, so a larger one is skipped unlocked. */
function lower(d: Int32Array, off: number, rank: number, emission: number, action: number): void {
  if (rank > Atomics.load(d, off + RANK)) return;
  while (Atomics.compareExchange(d, off + LOCK, 0, 1) !== 0);
  const r = d[off + RANK]!;
  if (rank < r || (rank === r && emission < d[off + EMIT]!)) {
    d[off + RANK] = rank;
    d[off + EMIT] = emission;
    d[off + ACT] = action;
  }
  Atomics.store(d, off + LOCK, 0);
}

function sharedFloats(n: number): Float64Array {
  return new Float64Array(new SharedArrayBuffer(Math.max(1, n) * 8));
}
