/**
 * The visited table of one BFS partition, which also dedups the level being
 * built in the same probe. Fingerprints are kept as 63 bits (hi, lo & 2^31-1);
 * the top bit of the low word marks a state first reached in the current
 * level, whose slot then holds its candidate index instead of the low word
 * (the candidate keeps the low word). commitLevel() turns the level's slots
 * into ordinary ones.
 */

const FLAG = 0x80000000;
const MAX_LOAD = 0.75;

export const OLD = -1;
export const NEW = -2;

export class LevelTable {
  private table: Uint32Array;
  private mask: number;
  private count = 0;
  /** Per candidate: its slot and its 31-bit low word. */
  private candSlot = new Uint32Array(1024);
  private candLo = new Uint32Array(1024);
  private cands = 0;

  constructor(expected: number) {
    let cap = 1 << 10;
    while (cap * MAX_LOAD < expected) cap *= 2;
    this.table = new Uint32Array(cap * 2);
    this.mask = cap - 1;
  }

  get size(): number {
    return this.count;
  }

  get bytes(): number {
    return this.table.byteLength;
  }

  /** Normalised low word: 31 bits, never making (0, 0). */
  static lo31(hi: number, lo: number): number {
    const l = lo & 0x7fffffff;
    return hi === 0 && l === 0 ? 1 : l;
  }

  /**
   * OLD when seen in an earlier level; NEW when inserted now as candidate
   * number `nextCand`; else the candidate index of this level's earlier entry.
   */
  probe(hi: number, lo31: number, nextCand: number): number {
    if (this.count + 1 > (this.mask + 1) * MAX_LOAD) this.grow();
    const t = this.table;
    let i = (hi ^ Math.imul(lo31, 0x9e3779b1)) & this.mask;
    for (;;) {
      const j = i << 1;
      const a = t[j]!;
      const b = t[j + 1]!;
      if (a === 0 && b === 0) {
        t[j] = hi;
        t[j + 1] = (FLAG | nextCand) >>> 0;
        this.count++;
        if (nextCand >= this.candSlot.length) this.growCands();
        this.candSlot[nextCand] = i;
        this.candLo[nextCand] = lo31;
        this.cands = nextCand + 1;
        return NEW;
      }
      if (a === hi) {
        if (b & FLAG) {
          const c = b & 0x7fffffff;
          if (this.candLo[c] === lo31) return c;
        } else if (b === lo31) return OLD;
      }
      i = (i + 1) & this.mask;
    }
  }

  /**
   * Touches the first slot of each of n fingerprints (stride words apart in
   * `recs`) so that the cache misses of a batch overlap; returns a dummy.
   */
  touch(recs: Int32Array, n: number, stride: number): number {
    const t = this.table;
    const mask = this.mask;
    let x = 0;
    for (let r = 0, off = 0; r < n; r++, off += stride) {
      const hi = recs[off]! >>> 0;
      x ^= t[((hi ^ Math.imul(recs[off + 1]!, 0x9e3779b1)) & mask) << 1]!;
    }
    return x;
  }

  /** Whether (hi, lo31) was seen in an earlier level or this one. */
  has(hi: number, lo31: number): boolean {
    const t = this.table;
    let i = (hi ^ Math.imul(lo31, 0x9e3779b1)) & this.mask;
    for (;;) {
      const j = i << 1;
      const a = t[j]!;
      const b = t[j + 1]!;
      if (a === 0 && b === 0) return false;
      if (a === hi && (b & FLAG ? this.candLo[b & 0x7fffffff] === lo31 : b === lo31)) return true;
      i = (i + 1) & this.mask;
    }
  }

  /** The level's candidates become ordinary visited entries. */
  commitLevel(): void {
    const t = this.table;
    for (let c = 0; c < this.cands; c++) t[(this.candSlot[c]! << 1) + 1] = this.candLo[c]!;
    this.cands = 0;
  }

  /** Forgets the level's candidates (a probe beyond the depth bound). */
  dropLevel(): void {
    // Removing from linear probing needs a rebuild; a dropped level is the last one.
    const t = this.table;
    const old = t.slice();
    t.fill(0);
    this.count = 0;
    for (let j = 0; j < old.length; j += 2) {
      if ((old[j] === 0 && old[j + 1] === 0) || old[j + 1]! & FLAG) continue;
      this.reinsert(old[j]!, old[j + 1]!, -1);
    }
    this.cands = 0;
  }

  private reinsert(hi: number, word: number, cand: number): void {
    const t = this.table;
    const lo31 = cand >= 0 ? this.candLo[cand]! : word;
    let i = (hi ^ Math.imul(lo31, 0x9e3779b1)) & this.mask;
    while (t[i << 1] !== 0 || t[(i << 1) + 1] !== 0) i = (i + 1) & this.mask;
    t[i << 1] = hi;
    t[(i << 1) + 1] = word;
    if (cand >= 0) this.candSlot[cand] = i;
    this.count++;
  }

  private grow(): void {
    const old = this.table;
    const cap = (this.mask + 1) * 2;
    this.table = new Uint32Array(cap * 2);
    this.mask = cap - 1;
    this.count = 0;
    for (let j = 0; j < old.length; j += 2) {
      const hi = old[j]!;
      const w = old[j + 1]!;
      if (hi === 0 && w === 0) continue;
      this.reinsert(hi, w, w & FLAG ? w & 0x7fffffff : -1);
    }
  }

  private growCands(): void {
    const s = new Uint32Array(this.candSlot.length * 2);
    s.set(this.candSlot);
    this.candSlot = s;
    const l = new Uint32Array(this.candLo.length * 2);
    l.set(this.candLo);
    this.candLo = l;
  }
}
