/**
 * Growable packed arrays for the engine: the per-state parent pointers (so a
 * trace is a chain of (parent index, action) rebuilt by replay, as TLC does)
 * and the frontier/stack of full states awaiting expansion.
 */

export const NO_PARENT = 0xffffffff;

/**
 * parent[i], action[i] (and optionally depth[i]) for each distinct state i,
 * in chunks so that growing never copies nor leaves half the memory unused:
 * 6 bytes a state with 16-bit action ids.
 */
const CHUNK_BITS = 18;
const CHUNK = 1 << CHUNK_BITS;
const MASK = CHUNK - 1;

export class ParentStore {
  private parents: Uint32Array[] = [];
  private actions: (Uint16Array | Uint32Array)[] = [];
  private depths: Uint16Array[] = [];
  length = 0;

  constructor(
    _initial = 0,
    private readonly withDepth = false,
    private readonly wideActions = false,
  ) {}

  private ensure(n: number): void {
    while (this.parents.length * CHUNK < n) {
      this.parents.push(new Uint32Array(CHUNK));
      this.actions.push(this.wideActions ? new Uint32Array(CHUNK) : new Uint16Array(CHUNK));
      if (this.withDepth) this.depths.push(new Uint16Array(CHUNK));
    }
  }

  add(parent: number, action: number, depth = 0): number {
    const i = this.length++;
    this.ensure(this.length);
    this.parents[i >>> CHUNK_BITS]![i & MASK] = parent;
    this.actions[i >>> CHUNK_BITS]![i & MASK] = action;
    if (this.withDepth) this.depths[i >>> CHUNK_BITS]![i & MASK] = depth;
    return i;
  }

  /** Appends n entries to fill with setAt (a level placed by rank); returns the first index. */
  reserve(n: number): number {
    const first = this.length;
    this.length += n;
    this.ensure(this.length);
    return first;
  }

  /** Copies n entries placed elsewhere (a level by rank) to indices first ... first+n-1, reserved. */
  setLevel(first: number, parents: Uint32Array, actions: Uint32Array, n: number): void {
    for (let i = first, k = 0; k < n; ) {
      const c = i >>> CHUNK_BITS;
      const m = Math.min(n - k, CHUNK - (i & MASK));
      this.parents[c]!.set(parents.subarray(k, k + m), i & MASK);
      this.actions[c]!.set(actions.subarray(k, k + m), i & MASK);
      i += m;
      k += m;
    }
  }

  setAt(i: number, parent: number, action: number): void {
    this.parents[i >>> CHUNK_BITS]![i & MASK] = parent;
    this.actions[i >>> CHUNK_BITS]![i & MASK] = action;
  }

  parentOf(i: number): number {
    return this.parents[i >>> CHUNK_BITS]![i & MASK]!;
  }
  actionOf(i: number): number {
    return this.actions[i >>> CHUNK_BITS]![i & MASK]!;
  }
  depthOf(i: number): number {
    return this.depths[i >>> CHUNK_BITS]![i & MASK]!;
  }
  /** Updates a state reached again at a smaller depth (bounded DFS). */
  update(i: number, parent: number, action: number, depth: number): void {
    this.setAt(i, parent, action);
    this.depths[i >>> CHUNK_BITS]![i & MASK] = depth;
  }

  /** Indices from the root to `index`, inclusive. */
  chain(index: number): number[] {
    const out: number[] = [];
    for (let i = index; i !== NO_PARENT; i = this.parentOf(i)) out.push(i);
    return out.reverse();
  }

  /** The actions from the root to `index`: the first is the initial state's ordinal. */
  actionsTo(index: number): number[] {
    return this.chain(index).map((i) => this.actionOf(i));
  }

  get bytes(): number {
    const per = 4 + (this.wideActions ? 4 : 2) + (this.withDepth ? 2 : 0);
    return this.parents.length * CHUNK * per;
  }
}

/**
 * Fixed-stride records of (state words, extra words) in one growable
 * Int32Array; used as a FIFO (BFS level) or a LIFO (DFS stack).
 */
export class StateQueue {
  data: Int32Array;
  readonly stride: number;
  /** Records held. */
  length = 0;

  constructor(
    readonly stateWords: number,
    readonly extraWords: number,
    initialRecords = 1024,
  ) {
    this.stride = stateWords + extraWords;
    this.data = new Int32Array(this.stride * initialRecords);
  }

  /** Appends a record; returns its offset so the caller can fill the extras. */
  push(state: Int32Array): number {
    const off = this.length * this.stride;
    if (off + this.stride > this.data.length) {
      const d = new Int32Array(Math.max(this.data.length * 2, off + this.stride));
      d.set(this.data.subarray(0, off));
      this.data = d;
    }
    this.data.set(state.length === this.stateWords ? state : state.subarray(0, this.stateWords), off);
    this.length++;
    return off;
  }

  /** Removes the last record; returns its offset (valid until the next push). */
  pop(): number {
    this.length--;
    return this.length * this.stride;
  }

  clear(): void {
    this.length = 0;
  }

  /** Drops storage beyond `records` (keeps memory in check after a large level). */
  shrink(records: number): void {
    const keep = Math.max(records, 1024) * this.stride;
    if (this.data.length > keep * 4) this.data = new Int32Array(keep);
  }
}
