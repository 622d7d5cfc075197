/**
 * Growable packed arrays for the engine: the per-state parent pointers (so a
 * trace is a chain of (parent index, action) rebuilt by replay, as TLC does)
 * and the frontier/stack of full states awaiting expansion.
 */

export const NO_PARENT = 0xffffffff;

/** parent[i], action[i] (and optionally depth[i]) for each distinct state i. */
export class ParentStore {
  parent: Uint32Array;
  action: Uint32Array;
  depth: Uint16Array | null;
  length = 0;

  constructor(initial = 1 << 16, withDepth = false) {
    this.parent = new Uint32Array(initial);
    this.action = new Uint32Array(initial);
    this.depth = withDepth ? new Uint16Array(initial) : null;
  }

  add(parent: number, action: number, depth = 0): number {
    if (this.length === this.parent.length) this.grow();
    const i = this.length++;
    this.parent[i] = parent;
    this.action[i] = action;
    if (this.depth) this.depth[i] = depth;
    return i;
  }

  /** Indices from the root to `index`, inclusive. */
  chain(index: number): number[] {
    const out: number[] = [];
    for (let i = index; i !== NO_PARENT; i = this.parent[i]!) out.push(i);
    return out.reverse();
  }

  get bytes(): number {
    return this.parent.byteLength + this.action.byteLength + (this.depth ? this.depth.byteLength : 0);
  }

  private grow(): void {
    const n = this.parent.length * 2;
    const p = new Uint32Array(n);
    p.set(this.parent);
    this.parent = p;
    const a = new Uint32Array(n);
    a.set(this.action);
    this.action = a;
    if (this.depth) {
      const d = new Uint16Array(n);
      d.set(this.depth);
      this.depth = d;
    }
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
