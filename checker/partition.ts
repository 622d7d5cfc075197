/**
 * One worker's share of a level-synchronous parallel BFS. Worker w owns the
 * fingerprints in the w-th of W equal ranges of the 64-bit space: it keeps
 * their visited table (plain inserts, no atomics), dedups the successors that
 * fall in its range, and expands the states it owns.
 *
 * Determinism: every state of a level has a key (rank of its parent in the
 * previous level, index among that parent's successors), and the level's
 * order is the order of keys - the order in which a sequential BFS discovers
 * it. A state reached from several parents keeps its smallest key, so its
 * recorded parent is the one a sequential BFS records. Global ranks come from
 * merging the owners' sorted key lists. Hence states, transitions, depths,
 * and traces are the same for any number of workers, and the same as the
 * sequential engine's.
 *
 * Records kept and exchanged: [hi, lo31, parent rank, emission, action, state...].
 */
import { fingerprint, fpLo } from './fingerprint.js';
import { LevelTable, NEW, OLD } from './level-table.js';
import type { Invariant, Model } from './model.js';
import { makeExpander, type PorInfo, type Reductions, type ReductionStats, type Sink } from './reduce.js';
import { type Mesh, Ring } from './ring.js';
import { radixSort64 } from './sort.js';

export const HDR = 5;
/** Successors deduplicated together: their cache misses overlap. */
const BATCH = 1024;
import { CHUNK as CHUNK_RECORDS } from './ring.js';
/** Successors of one state are numbered below this; keys are rank * EMISSIONS + emission. */
export const EMISSIONS = 65536;

/** A growable record arena, on a SharedArrayBuffer when it crosses threads. */
export class Arena {
  data: Int32Array;
  length = 0; // records

  constructor(
    readonly stride: number,
    records: number,
    readonly shared: boolean,
  ) {
    this.data = Arena.alloc(stride * Math.max(16, records), shared);
  }

  static alloc(words: number, shared: boolean): Int32Array {
    return shared ? new Int32Array(new SharedArrayBuffer(words * 4)) : new Int32Array(words);
  }

  /** Offset of a new record (the arena grows as needed). */
  add(): number {
    const off = this.length * this.stride;
    if (off + this.stride > this.data.length) {
      const d = Arena.alloc(Math.max(this.data.length * 2, off + this.stride), this.shared);
      d.set(this.data.subarray(0, off));
      this.data = d;
    }
    this.length++;
    return off;
  }
}

/** Which worker owns fingerprint hi: contiguous ranges of the high word. */
export function ownerOf(hi: number, workers: number): number {
  return workers === 1 ? 0 : Math.floor((hi / 4294967296) * workers);
}

export interface CommitResult {
  count: number;
  /** The new states' keys (rank * EMISSIONS + emission), sorted, shared for the rank merge. */
  keys: Float64Array;
  /** (parent rank, action) of each new state, in candidate order. */
  parents: Uint32Array;
  /** Per invariant, the first violating new state in key order (its candidate position) and its message. */
  violations: { invariant: string; position: number; key: number; message: string }[];
}

export class Partition {
  readonly W: number;
  readonly stride: number;
  readonly visited: LevelTable;
  /** This worker's states of the current level and their global ranks. */
  private frontier: Arena;
  private ranks = new Float64Array(0);
  /** The committed level's candidates in key order (sorted position -> candidate), or null when already in order. */
  private order: Uint32Array | null = null;
  private cand: Arena;
  /** Candidates were appended in key order and no key was lowered. */
  private ordered = true;
  private lastKey = -1;
  outboxes: Arena[];
  readonly coverage: Float64Array;
  transitions = 0;
  readonly stats: ReductionStats = { ampleStates: 0 };
  private readonly expand: ReturnType<typeof makeExpander>;
  private violated = new Set<string>();

  constructor(
    readonly model: Model,
    readonly invariants: readonly Invariant[],
    readonly id: number,
    readonly workers: number,
    reductions: Reductions,
    expectedStates: number,
  ) {
    this.W = model.stateWords;
    this.stride = HDR + this.W;
    this.visited = new LevelTable(Math.ceil(expectedStates / workers));
    this.frontier = new Arena(this.stride, 1024, false);
    this.cand = new Arena(this.stride, 1024, false);
    this.outboxes = Array.from({ length: workers }, (_, w) => new Arena(this.stride, w === id ? BATCH + 64 : 1024, w !== id));
    this.coverage = new Float64Array(model.actionCount);
    this.cur = new Int32Array(this.W);
    const por: PorInfo | null = model.porInfo ?? null;
    this.expand = makeExpander(model, reductions, this.stats, por);
  }

  get frontierCount(): number {
    return this.frontier.length;
  }

  /** The global rank of the state being expanded, and the number of its next successor. */
  private rank = 0;
  private emission = 0;
  private levelTransitions = 0;
  private readonly cur: Int32Array;

  /** For the partial-order cycle proviso: whether a successor this worker owns was visited already. */
  private readonly isVisited = (st: Int32Array): boolean => {
    const hi = fingerprint(st, 0, this.W);
    return ownerOf(hi, this.workers) === this.id && this.visited.has(hi, LevelTable.lo31(hi, fpLo));
  };

  /** Counts a successor and returns its fingerprint's high word (fpLo holds the low one). */
  private generated(next: Int32Array, action: number): number {
    this.levelTransitions++;
    this.coverage[action]!++;
    return fingerprint(next, 0, this.W);
  }

  /** Writes the record [hi, lo31, parent rank, emission, action, state...] at `off` of `d`. */
  private write(d: Int32Array, off: number, hi: number, lo: number, action: number, next: Int32Array): void {
    const W = this.W;
    d[off] = hi;
    d[off + 1] = LevelTable.lo31(hi, lo);
    d[off + 2] = this.rank;
    d[off + 3] = this.emission++;
    d[off + 4] = action;
    d.set(next.length === W ? next : next.subarray(0, W), off + HDR);
  }

  /**
   * Expands every state of this worker's frontier with its global rank; our
   * own successors are batched and deduplicated in a tight loop; `between(i)`
   * runs after state i. Returns the rank of the first deadlocked state, or -1.
   */
  private expandFrontier(sink: Sink, between: (i: number) => void): number {
    const W = this.W;
    const S = this.stride;
    const cur = this.cur;
    const fd = this.frontier.data;
    const mine = this.outboxes[this.id]!;
    let deadlockRank = -1;
    for (let i = 0; i < this.frontier.length; i++) {
      const off = i * S + HDR;
      for (let j = 0; j < W; j++) cur[j] = fd[off + j]!;
      this.rank = this.ranks[i]!;
      this.emission = 0;
      const n = this.expand(cur, sink, this.isVisited);
      if (n === 0 && deadlockRank < 0 && this.model.isDeadlock?.(cur)) deadlockRank = this.rank;
      if (mine.length >= BATCH) this.flush(mine);
      between(i);
    }
    this.flush(mine);
    return deadlockRank;
  }

  /** Expands this worker's states; successors owned by others go to their outboxes. */
  expandLevel(): { transitions: number; deadlockRank: number } {
    for (const o of this.outboxes) o.length = 0;
    this.levelTransitions = 0;
    const sink = (next: Int32Array, action: number): void => {
      const hi = this.generated(next, action);
      const lo = fpLo;
      const box = this.outboxes[ownerOf(hi, this.workers)]!;
      const off = box.add();
      this.write(box.data, off, hi, lo, action, next);
    };
    const deadlockRank = this.expandFrontier(sink, () => {});
    this.transitions += this.levelTransitions;
    return { transitions: this.levelTransitions, deadlockRank };
  }

  /**
   * One level with W > 1, pipelined: expand our states, sending each
   * successor to its owner through a ring and deduplicating what the others
   * send us as it arrives (between our own states, and whenever a ring to a
   * slow receiver is full), until every sender has finished the level.
   */
  runLevel(level: number): { transitions: number; deadlockRank: number } {
    const self = this.id;
    const workers = this.workers;
    const out = this.out!;
    const inbound = this.inbound!;
    const bells = this.bells!;
    const mine = this.outboxes[self]!;
    mine.length = 0;
    this.levelTransitions = 0;
    const ring = (w: number): void => {
      Atomics.add(bells, w, 1);
      Atomics.notify(bells, w);
    };
    const drain = (): boolean => {
      let any = false;
      for (let w = 0; w < workers; w++) {
        const r = inbound[w];
        if (!r) continue;
        for (let c = r.peek(); c; c = r.peek()) {
          this.consume(r.data, c[0], c[1]);
          r.release();
          ring(w); // the sender may be waiting for a free slot
          any = true;
        }
      }
      return any;
    };
    const waitFor = (cond: () => boolean): void => {
      while (!cond()) {
        const seen = Atomics.load(bells, self);
        if (drain() || cond()) continue;
        Atomics.wait(bells, self, seen, 5);
      }
    };
    const sink = (next: Int32Array, action: number): void => {
      const hi = this.generated(next, action);
      const lo = fpLo;
      const owner = ownerOf(hi, workers);
      if (owner === self) {
        const off = mine.add();
        this.write(mine.data, off, hi, lo, action, next);
        return;
      }
      const r = out[owner]!;
      if (r.fill === 0 && !r.canWrite()) waitFor(() => r.canWrite());
      this.write(r.data, r.next(), hi, lo, action, next);
      if (r.fill === CHUNK_RECORDS) {
        r.publish();
        ring(owner);
      }
    };
    const deadlockRank = this.expandFrontier(sink, (i) => {
      if ((i & 15) === 15) drain();
    });
    for (let w = 0; w < workers; w++) {
      const r = out[w];
      if (!r) continue;
      if (r.fill > 0) r.publish();
      r.finish(level);
      ring(w);
    }
    waitFor(() => inbound.every((r) => !r || r.drained(level)));
    this.transitions += this.levelTransitions;
    return { transitions: this.levelTransitions, deadlockRank };
  }

  /** Deduplicates `n` records of a received chunk. */
  private consume(d: Int32Array, start: number, n: number): void {
    const S = this.stride;
    this.sink ^= this.visited.touch(d.subarray(start, start + n * S), n, S);
    for (let r = 0, off = start; r < n; r++, off += S) {
      this.consider(d[off]! >>> 0, d[off + 1]!, d[off + 2]!, d[off + 3]!, d[off + 4]!, d, off + HDR);
    }
  }

  /** Connects this worker to the others' rings (W > 1). */
  attach(mesh: Mesh): void {
    this.out = mesh.rings[this.id]!.map((b) => (b ? new Ring(b, this.stride) : null));
    this.inbound = mesh.rings.map((row) => (row[this.id] ? new Ring(row[this.id]!, this.stride) : null));
    this.bells = new Int32Array(mesh.doorbells);
  }
  private out: (Ring | null)[] | null = null;
  private inbound: (Ring | null)[] | null = null;
  private bells: Int32Array | null = null;

  /** Takes the successors other workers found in this worker's range, in sender order. */
  receive(boxes: readonly { data: Int32Array; length: number }[]): void {
    const S = this.stride;
    for (let w = 0; w < boxes.length; w++) {
      if (w === this.id) continue; // flushed while expanding
      const box = boxes[w]!;
      const d = box.data;
      for (let start = 0; start < box.length; start += BATCH) {
        const end = Math.min(box.length, start + BATCH);
        this.sink ^= this.visited.touch(d.subarray(start * S, end * S), end - start, S);
        for (let r = start; r < end; r++) {
          const off = r * S;
          this.consider(d[off]! >>> 0, d[off + 1]!, d[off + 2]!, d[off + 3]!, d[off + 4]!, d, off + HDR);
        }
      }
    }
  }

  /** Deduplicates a batch of our own successors: first touch their slots, then probe. */
  private flush(box: Arena): void {
    const S = this.stride;
    const d = box.data;
    this.sink ^= this.visited.touch(d, box.length, S);
    for (let r = 0; r < box.length; r++) {
      const off = r * S;
      this.consider(d[off]! >>> 0, d[off + 1]!, d[off + 2]!, d[off + 3]!, d[off + 4]!, d, off + HDR);
    }
    box.length = 0;
  }
  /** Keeps the touch loops from being optimised away. */
  private sink = 0;

  /** New states become candidates; a state reached again in this level keeps its smallest key. */
  private consider(hi: number, lo31: number, rank: number, emission: number, action: number, src: Int32Array, srcOff: number): void {
    const c = this.cand;
    const r = this.visited.probe(hi, lo31, c.length);
    if (r === OLD) return;
    const key = rank * EMISSIONS + emission;
    if (r === NEW) {
      const co = c.add();
      const cd = c.data;
      cd[co] = hi;
      cd[co + 1] = lo31;
      cd[co + 2] = rank;
      cd[co + 3] = emission;
      cd[co + 4] = action;
      const W = this.W;
      if (srcOff === 0 && src.length === W) cd.set(src, co + HDR);
      else for (let i = 0; i < W; i++) cd[co + HDR + i] = src[srcOff + i]!;
      if (key < this.lastKey) this.ordered = false;
      else this.lastKey = key;
      return;
    }
    const co = r * this.stride;
    const cd = c.data;
    if (key < cd[co + 2]! * EMISSIONS + cd[co + 3]!) {
      cd[co + 2] = rank;
      cd[co + 3] = emission;
      cd[co + 4] = action;
      this.ordered = false;
    }
  }

  /**
   * The candidates become the next frontier; invariants are checked on them.
   * Only their keys are sorted (the records stay where they are): a state's
   * global rank, not its place in memory, is what the next level needs.
   */
  commit(): CommitResult {
    const n = this.cand.length;
    const S = this.stride;
    this.visited.commitLevel();
    const cd = this.cand.data;
    const keys = new Float64Array(new SharedArrayBuffer(Math.max(1, n) * 8));
    const parents = new Uint32Array(new SharedArrayBuffer(Math.max(1, n) * 8));
    this.order = this.ordered ? null : this.sortKeys();
    for (let k = 0; k < n; k++) {
      const c = this.order ? this.order[k]! : k;
      keys[k] = cd[c * S + 2]! * EMISSIONS + cd[c * S + 3]!;
    }
    const violations: CommitResult['violations'] = [];
    for (let c = 0; c < n; c++) {
      const off = c * S;
      parents[2 * c] = cd[off + 2]!;
      parents[2 * c + 1] = cd[off + 4]!;
    }
    if (this.invariants.length > 0) {
      // In key order, so that the first violation per invariant is the smallest key.
      for (let k = 0; k < n; k++) {
        const c = this.order ? this.order[k]! : k;
        const state = cd.subarray(c * S + HDR, c * S + S);
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
    // The candidates are the next frontier; the old frontier's arena is reused for candidates.
    const f = this.frontier;
    this.frontier = this.cand;
    this.cand = f;
    this.cand.length = 0;
    this.ordered = true;
    this.lastKey = -1;
    if (this.ranks.length < n) this.ranks = new Float64Array(Math.max(n, this.ranks.length * 2));
    for (let k = 0; k < n; k++) this.ranks[this.order ? this.order[k]! : k] = k; // the global ranks when alone
    return { count: n, keys, parents, violations };
  }

  /** Global ranks of this worker's new states: their place among all owners' keys (two-pointer merges). */
  setRanks(allKeys: readonly { keys: Float64Array; count: number }[]): void {
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
    for (let k = 0; k < n; k++) this.ranks[this.order ? this.order[k]! : k] = k + add[k]!;
  }

  /** Ranks of this worker's frontier, in candidate order (for the coordinator to place parents). */
  globalRanks(n: number): Float64Array {
    return this.ranks.slice(0, n);
  }

  /** The permutation that puts the candidates in key order (radix sort of (rank, emission)). */
  private sortKeys(): Uint32Array {
    const n = this.cand.length;
    const S = this.stride;
    const cd = this.cand.data;
    const khi = new Uint32Array(n);
    const klo = new Uint32Array(n);
    const pay = new Uint32Array(n);
    for (let i = 0; i < n; i++) {
      khi[i] = cd[i * S + 2]!;
      klo[i] = cd[i * S + 3]!;
      pay[i] = i;
    }
    radixSort64(n, khi, klo, pay, new Uint32Array(n), new Uint32Array(n), new Uint32Array(n));
    return pay;
  }

  /** Seeds level 0: the initial states this worker owns, with their ordinals as emission numbers. */
  seed(states: Int32Array, ordinals: Int32Array, count: number): CommitResult {
    for (let k = 0; k < count; k++) {
      const hi = fingerprint(states, k * this.W, this.W);
      this.consider(hi, LevelTable.lo31(hi, fpLo), 0, ordinals[k]!, ordinals[k]!, states, k * this.W);
    }
    return this.commit();
  }

  /** Drops the received candidates (a probe past the depth bound); returns how many new states there were. */
  discard(): number {
    const n = this.cand.length;
    this.cand.length = 0;
    this.ordered = true;
    this.lastKey = -1;
    this.visited.dropLevel();
    return n;
  }

  /** Bytes of the visited table. */
  get bytes(): number {
    return this.visited.bytes;
  }
}
