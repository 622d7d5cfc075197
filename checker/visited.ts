/**
 * The visited set: 64-bit fingerprints in an open-addressing table with
 * linear probing (two Uint32 words a slot; (0,0) marks an empty slot).
 * Optionally each slot also carries a 32-bit value (the state's index), which
 * depth-bounded DFS needs to find a state again.
 *
 * This single-threaded table is the oracle the faster sets are tested against.
 */

const MAX_LOAD = 0.75;

export class FingerprintSet {
  private table: Uint32Array;
  private values: Uint32Array | null;
  private mask: number;
  private count = 0;
  /** Slot of the last insert() or find(), for value access. */
  lastSlot = -1;

  constructor(expected = 1 << 16, withValues = false) {
    let cap = 1 << 10;
    while (cap * MAX_LOAD < expected) cap *= 2;
    this.table = new Uint32Array(cap * 2);
    this.values = withValues ? new Uint32Array(cap) : null;
    this.mask = cap - 1;
  }

  get size(): number {
    return this.count;
  }

  get capacity(): number {
    return this.mask + 1;
  }

  /** Bytes held by the table (and values). */
  get bytes(): number {
    return this.table.byteLength + (this.values ? this.values.byteLength : 0);
  }

  /** The bytes the next growth allocates, if `inserts` more inserts may make it grow; else 0. */
  growthWithin(inserts: number): number {
    return this.count + inserts > (this.mask + 1) * MAX_LOAD ? this.bytes * 2 : 0;
  }

  /** Inserts (hi, lo); true when it was not there. Sets lastSlot either way. */
  insert(hi: number, lo: number): boolean {
    if (this.count + 1 > (this.mask + 1) * MAX_LOAD) this.grow();
    const t = this.table;
    let i = (hi ^ Math.imul(lo, 0x9e3779b1)) & this.mask;
    for (;;) {
      const j = i << 1;
      const a = t[j]!;
      const b = t[j + 1]!;
      if (a === 0 && b === 0) {
        t[j] = hi;
        t[j + 1] = lo;
        this.count++;
        this.lastSlot = i;
        return true;
      }
      if (a === hi && b === lo) {
        this.lastSlot = i;
        return false;
      }
      i = (i + 1) & this.mask;
    }
  }

  has(hi: number, lo: number): boolean {
    const t = this.table;
    let i = (hi ^ Math.imul(lo, 0x9e3779b1)) & this.mask;
    for (;;) {
      const j = i << 1;
      const a = t[j]!;
      const b = t[j + 1]!;
      if (a === 0 && b === 0) return false;
      if (a === hi && b === lo) {
        this.lastSlot = i;
        return true;
      }
      i = (i + 1) & this.mask;
    }
  }

  /** The value stored at the slot of the last insert()/has(). */
  get value(): number {
    return this.values![this.lastSlot]!;
  }

  set value(v: number) {
    this.values![this.lastSlot] = v;
  }

  private grow(): void {
    const old = this.table;
    const oldValues = this.values;
    const cap = (this.mask + 1) * 2;
    this.table = new Uint32Array(cap * 2);
    this.values = oldValues ? new Uint32Array(cap) : null;
    this.mask = cap - 1;
    this.count = 0;
    for (let j = 0; j < old.length; j += 2) {
      const hi = old[j]!;
      const lo = old[j + 1]!;
      if (hi === 0 && lo === 0) continue;
      this.insert(hi, lo);
      if (oldValues) this.values![this.lastSlot] = oldValues[j >> 1]!;
    }
  }
}
