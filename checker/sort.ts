/**
 * LSD radix sort of 64-bit keys (hi, lo) carrying a 32-bit payload, by
 * 16-bit digits: one pass counts all four digits' histograms, and a digit
 * that is the same in every key (e.g. the top of a small rank) costs no pass.
 * It puts a level's new states in key order, the order a sequential BFS
 * discovers them in.
 */

export interface Sorted {
  hi: Uint32Array;
  lo: Uint32Array;
  pay: Uint32Array;
}

/** Sorts n records (hi[i], lo[i], pay[i]) by (hi, lo) ascending; the result may be in fresh arrays. */
export function radixSort64(n: number, hi: Uint32Array, lo: Uint32Array, pay: Uint32Array): Sorted {
  const counts = new Uint32Array(4 * 65536);
  for (let i = 0; i < n; i++) {
    const l = lo[i]!;
    const h = hi[i]!;
    counts[l & 0xffff]!++;
    counts[65536 + (l >>> 16)]!++;
    counts[131072 + (h & 0xffff)]!++;
    counts[196608 + (h >>> 16)]!++;
  }
  let sh = hi;
  let sl = lo;
  let sp = pay;
  let dh: Uint32Array | null = null;
  let dl: Uint32Array | null = null;
  let dp: Uint32Array | null = null;
  for (let pass = 0; pass < 4; pass++) {
    const base = pass * 65536;
    const word = pass < 2 ? sl : sh;
    const shift = (pass & 1) * 16;
    if (n === 0 || counts[base + ((word[0]! >>> shift) & 0xffff)] === n) continue; // one digit value: already in order
    let sum = 0;
    for (let d = base; d < base + 65536; d++) {
      const c = counts[d]!;
      counts[d] = sum;
      sum += c;
    }
    dh ??= new Uint32Array(n);
    dl ??= new Uint32Array(n);
    dp ??= new Uint32Array(n);
    for (let i = 0; i < n; i++) {
      const j = counts[base + ((word[i]! >>> shift) & 0xffff)]!++;
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
