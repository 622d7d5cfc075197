/**
 * LSD radix sort of 64-bit keys (hi, lo) carrying a 32-bit payload, by 8-bit
 * digits (256 buckets stay in cache): one pass counts every digit's
 * histogram, and a digit that is the same in every key (e.g. the top of a
 * small rank) costs no pass. It puts a level's new states in key order, the
 * order a sequential BFS discovers them in.
 */

export interface Sorted {
  hi: Uint32Array;
  lo: Uint32Array;
  pay: Uint32Array;
}

/** Sorts n records (hi[i], lo[i], pay[i]) by (hi, lo) ascending; the result may be in fresh arrays. */
export function radixSort64(n: number, hi: Uint32Array, lo: Uint32Array, pay: Uint32Array): Sorted {
  const counts = new Uint32Array(8 * 256);
  for (let i = 0; i < n; i++) {
    const l = lo[i]!;
    const h = hi[i]!;
    counts[l & 0xff]!++;
    counts[256 + ((l >>> 8) & 0xff)]!++;
    counts[512 + ((l >>> 16) & 0xff)]!++;
    counts[768 + (l >>> 24)]!++;
    counts[1024 + (h & 0xff)]!++;
    counts[1280 + ((h >>> 8) & 0xff)]!++;
    counts[1536 + ((h >>> 16) & 0xff)]!++;
    counts[1792 + (h >>> 24)]!++;
  }
  let sh = hi;
  let sl = lo;
  let sp = pay;
  let dh: Uint32Array | null = null;
  let dl: Uint32Array | null = null;
  let dp: Uint32Array | null = null;
  for (let pass = 0; pass < 8; pass++) {
    const base = pass * 256;
    const word = pass < 4 ? sl : sh;
    const shift = (pass & 3) * 8;
    if (n === 0 || counts[base + ((word[0]! >>> shift) & 0xff)] === n) continue; // one digit value: already in order
    let sum = 0;
    for (let d = base; d < base + 256; d++) {
      const c = counts[d]!;
      counts[d] = sum;
      sum += c;
    }
    dh ??= new Uint32Array(n);
    dl ??= new Uint32Array(n);
    dp ??= new Uint32Array(n);
    for (let i = 0; i < n; i++) {
      const j = counts[base + ((word[i]! >>> shift) & 0xff)]!++;
      dh[j] = sh[i]!;
      dl[j] = sl[i]!;
      dp[j] = sp[i]!;
    }
    [sh, dh] = [dh, sh];
    [sl, dl] = [dl, sl];
    [sp, dp] = [dp, sp];
  }
  return { hi: sh, lo: sl, pay: sp };
}
