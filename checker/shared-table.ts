/**
 * The visited table that every worker of the parallel BFS probes and inserts
 * into at once: open addressing with linear probing over a SharedArrayBuffer,
 * two words a slot, 8 bytes a state.
 *
 * A slot holds [hi, word]: hi is the fingerprint's high word (never 0, so 0
 * marks an empty slot) and word is either the low 31 bits (never 0) of a
 * state visited in an earlier level, or FLAG | ref for a state first reached
 * in the level being built, whose record (low word, smallest key, state) is
 * candidate `ref` of some worker. A worker claims an empty slot with a
 * compare-and-swap on hi and then publishes the word; a prober that sees its
 * hi with word 0 waits for the word. After the level each worker turns its
 * candidates' slots into ordinary ones (Share.commit in share.ts).
 *
 * Slots are placed by hi alone, so the table can be rehashed into a larger
 * one without the candidates' low words.
 */

export const FLAG = 0x80000000 | 0;
/** Above this load the workers pause and the coordinator grows the table. */
export const MAX_LOAD = 0.75;
const MIN_CAPACITY = 1 << 16;

/** hi normalised to be non-zero (0 marks an empty slot). */
export function hiWord(hi: number): number {
  return hi === 0 ? 0x2545f491 : hi | 0;
}

/** The low word normalised to 31 non-zero bits. */
export function loWord(lo: number): number {
  const l = lo & 0x7fffffff;
  return l === 0 ? 1 : l;
}

/** A power-of-two slot count that keeps `states` below the maximum load. */
export function capacityFor(states: number, atLeast = MIN_CAPACITY): number {
  let cap = MIN_CAPACITY;
  while (cap * MAX_LOAD < states || cap < atLeast) cap *= 2;
  return cap;
}

export function newTable(capacity: number): Int32Array {
  return new Int32Array(new SharedArrayBuffer(capacity * 8));
}

/** Whether (hi, lo31) was visited in an earlier level (this level's candidates do not count). */
export function hasCommitted(t: Int32Array, hi: number, lo31: number): boolean {
  const mask = (t.length >> 1) - 1;
  let i = hi & mask;
  for (;;) {
    const a = t[i << 1]!;
    if (a === 0) return false;
    if (a === hi && t[(i << 1) + 1] === lo31) return true;
    i = (i + 1) & mask;
  }
}

/**
 * Copies every slot of `old` into a table of `capacity` slots (between levels
 * or while the workers are paused); `moved(ref, slot)` is told the new slot
 * of each candidate.
 */
export function rehash(old: Int32Array, capacity: number, moved: (ref: number, slot: number) => void): Int32Array {
  const t = newTable(capacity);
  const mask = capacity - 1;
  for (let j = 0; j < old.length; j += 2) {
    const hi = old[j]!;
    if (hi === 0) continue;
    const w = old[j + 1]!;
    let i = hi & mask;
    while (t[i << 1] !== 0) i = (i + 1) & mask;
    t[i << 1] = hi;
    t[(i << 1) + 1] = w;
    if (w & FLAG) moved(w & 0x7fffffff, i);
  }
  return t;
}
