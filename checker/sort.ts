/**
 * LSD radix sort of 64-bit fingerprints (hi, lo) carrying a 32-bit payload:
 * orders a level's new states by fingerprint, the canonical order that keeps
 * parallel BFS independent of the number of workers.
 */

/** Sorts n records of keys (hi[i], lo[i]) with payload pay[i], ascending; uses tmp arrays of length >= n. */
export function radixSort64(
  n: number,
  hi: Uint32Array,
  lo: Uint32Array,
  pay: Uint32Array,
  thi: Uint32Array,
  tlo: Uint32Array,
  tpay: Uint32Array,
): void {
  const count = new Uint32Array(65536);
  let sh = hi,
    sl = lo,
    sp = pay,
    dh = thi,
    dl = tlo,
    dp = tpay;
  for (let pass = 0; pass < 4; pass++) {
    const word = pass < 2 ? sl : sh;
    const shift = (pass & 1) * 16;
    count.fill(0);
    for (let i = 0; i < n; i++) count[(word[i]! >>> shift) & 0xffff]!++;
    let sum = 0;
    for (let d = 0; d < 65536; d++) {
      const c = count[d]!;
      count[d] = sum;
      sum += c;
    }
    for (let i = 0; i < n; i++) {
      const d = (word[i]! >>> shift) & 0xffff;
      const j = count[d]!++;
      dh[j] = sh[i]!;
      dl[j] = sl[i]!;
      dp[j] = sp[i]!;
    }
    const th = sh,
      tl = sl,
      tp = sp;
    sh = dh;
    sl = dl;
    sp = dp;
    dh = th;
    dl = tl;
    dp = tp;
  }
  // After 4 passes the sorted data is back in the original arrays.
}
