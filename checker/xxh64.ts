/**
 * XXH64 (Yann Collet's xxHash, 64-bit) over little-endian words, as a small
 * WebAssembly function assembled here at load time: wasm has 64-bit
 * multiplies, which JavaScript lacks, so a 70-word MM state hashes in half the
 * time of the two 32-bit lanes fingerprint.ts computes in JavaScript. The
 * caller puts the words in the module's memory (at offset 0, or in the pages
 * after the first, where the engine keeps its batch of successors); the
 * hash's high half is returned and its low half left in the last word of the
 * first page.
 *
 * The layout of the code follows the reference (XXH64 with seed 0): four
 * accumulators over 32-byte stripes, then 8-byte lanes, then a 4-byte tail,
 * then the avalanche. test/checker/visited.test.ts checks it against a
 * BigInt transcription of the reference.
 */

const P1 = 0x9e3779b185ebca87n;
const P2 = 0xc2b2ae3d27d4eb4fn;
const P3 = 0x165667b19e3779f9n;
const P4 = 0x85ebca77c2b2ae63n;
const P5 = 0x27d4eb2f165667c5n;

/** Words the first page holds, less the word that returns the low half. */
export const XXH64_MAX_WORDS = 16383;
const LO_WORD = 16383;
/** Words of a 64 KiB wasm page. */
export const PAGE_WORDS = 16384;

function sleb(x: bigint): number[] {
  let v = BigInt.asIntN(64, x);
  const out: number[] = [];
  for (;;) {
    const b = Number(v & 0x7fn);
    v >>= 7n;
    if ((v === 0n && !(b & 0x40)) || (v === -1n && b & 0x40)) {
      out.push(b);
      return out;
    }
    out.push(b | 0x80);
  }
}

function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n) b |= 0x80;
    out.push(b);
  } while (n);
  return out;
}

// The few opcodes used (WebAssembly core spec, binary format).
const get = (i: number) => [0x20, i];
const set = (i: number) => [0x21, i];
const tee = (i: number) => [0x22, i];
const i64 = (v: bigint) => [0x42, ...sleb(v)];
const i32 = (v: number) => [0x41, ...sleb(BigInt(v))];
const load64 = (off: number) => [0x29, 3, ...uleb(off)];
const LOAD32_U = [0x35, 2, 0];
const store32 = (off: number) => [0x36, 2, ...uleb(off)];
const [I32_ADD, I32_SUB, I32_SHL, I32_GT_U, I32_LE_U, I32_GE_U, I32_WRAP] = [0x6a, 0x6b, 0x74, 0x4b, 0x4d, 0x4f, 0xa7];
const [I64_ADD, I64_MUL, I64_XOR, I64_SHR_U, I64_ROTL, I64_EXTEND_U] = [0x7c, 0x7e, 0x85, 0x88, 0x89, 0xad];
const [IF, ELSE, BLOCK, LOOP, END, BR, BR_IF, VOID] = [0x04, 0x05, 0x02, 0x03, 0x0b, 0x0c, 0x0d, 0x40];

// Locals: the parameters (first word, words), then p, bytes, limit, stop (i32: the end), v1..v4, h (i64).
const START = 0;
const LEN = 1;
const P = 2;
const BYTES = 3;
const LIMIT = 4;
const STOP = 5;
const V = [6, 7, 8, 9];
const H = 10;

/** XXH64_round(acc, input) = rotl(acc + input * P2, 31) * P1, leaving the result on the stack. */
const round = (acc: number[], input: number[]) => [...acc, ...input, ...i64(P2), I64_MUL, I64_ADD, ...i64(31n), I64_ROTL, ...i64(P1), I64_MUL];
const mergeRound = (v: number) => [...get(H), ...round(i64(0n), get(v)), I64_XOR, ...i64(P1), I64_MUL, ...i64(P4), I64_ADD, ...set(H)];

const body = [
  ...get(LEN),
  ...i32(2),
  I32_SHL,
  ...set(BYTES),
  ...get(START),
  ...i32(2),
  I32_SHL,
  ...tee(P),
  ...get(BYTES),
  I32_ADD,
  ...set(STOP),
  ...get(BYTES),
  ...i32(32),
  I32_GE_U,
  IF,
  VOID,
  ...i64(P1 + P2),
  ...set(V[0]!),
  ...i64(P2),
  ...set(V[1]!),
  ...i64(0n),
  ...set(V[2]!),
  ...i64(-P1),
  ...set(V[3]!),
  ...get(STOP),
  ...i32(32),
  I32_SUB,
  ...set(LIMIT),
  LOOP,
  VOID,
  ...V.flatMap((v, k) => [...round(get(v), [...get(P), ...load64(8 * k)]), ...set(v)]),
  ...get(P),
  ...i32(32),
  I32_ADD,
  ...tee(P),
  ...get(LIMIT),
  I32_LE_U,
  BR_IF,
  0,
  END,
  ...get(V[0]!),
  ...i64(1n),
  I64_ROTL,
  ...get(V[1]!),
  ...i64(7n),
  I64_ROTL,
  I64_ADD,
  ...get(V[2]!),
  ...i64(12n),
  I64_ROTL,
  I64_ADD,
  ...get(V[3]!),
  ...i64(18n),
  I64_ROTL,
  I64_ADD,
  ...set(H),
  ...V.flatMap(mergeRound),
  ELSE,
  ...i64(P5),
  ...set(H),
  END,
  ...get(H),
  ...get(BYTES),
  I64_EXTEND_U,
  I64_ADD,
  ...set(H),
  BLOCK,
  VOID,
  LOOP,
  VOID,
  ...get(P),
  ...i32(8),
  I32_ADD,
  ...get(STOP),
  I32_GT_U,
  BR_IF,
  1,
  ...get(H),
  ...round(i64(0n), [...get(P), ...load64(0)]),
  I64_XOR,
  ...i64(27n),
  I64_ROTL,
  ...i64(P1),
  I64_MUL,
  ...i64(P4),
  I64_ADD,
  ...set(H),
  ...get(P),
  ...i32(8),
  I32_ADD,
  ...set(P),
  BR,
  0,
  END,
  END,
  ...get(P),
  ...i32(4),
  I32_ADD,
  ...get(STOP),
  I32_LE_U,
  IF,
  VOID,
  ...get(H),
  ...get(P),
  ...LOAD32_U,
  ...i64(P1),
  I64_MUL,
  I64_XOR,
  ...i64(23n),
  I64_ROTL,
  ...i64(P2),
  I64_MUL,
  ...i64(P3),
  I64_ADD,
  ...set(H),
  END,
  // The avalanche.
  ...get(H),
  ...get(H),
  ...i64(33n),
  I64_SHR_U,
  I64_XOR,
  ...i64(P2),
  I64_MUL,
  ...tee(H),
  ...get(H),
  ...i64(29n),
  I64_SHR_U,
  I64_XOR,
  ...i64(P3),
  I64_MUL,
  ...tee(H),
  ...get(H),
  ...i64(32n),
  I64_SHR_U,
  I64_XOR,
  ...set(H),
  ...i32(0),
  ...get(H),
  I32_WRAP,
  ...store32(4 * LO_WORD),
  ...get(H),
  ...i64(32n),
  I64_SHR_U,
  I32_WRAP,
  END,
];

const name = (s: string) => [s.length, ...[...s].map((c) => c.charCodeAt(0))];
const section = (id: number, bytes: number[]) => [id, ...uleb(bytes.length), ...bytes];
const code = [2, 4, 0x7f, 5, 0x7e, ...body]; // locals: 4 x i32, 5 x i64
const moduleBytes = (pages: number) =>
  new Uint8Array([
    0x00,
    0x61,
    0x73,
    0x6d,
    1,
    0,
    0,
    0,
    ...section(1, [1, 0x60, 2, 0x7f, 0x7f, 1, 0x7f]), // type 0: (i32, i32) -> i32
    ...section(3, [1, 0]), // function 0 has type 0
    ...section(5, [1, 1, ...uleb(pages), ...uleb(pages)]), // one memory of exactly `pages` pages (a maximum: less address space reserved)
    ...section(7, [2, ...name('xxh64'), 0, 0, ...name('memory'), 2, 0]),
    ...section(10, [1, ...uleb(code.length), ...code]),
  ]);

// The WebAssembly API Node provides (its types come with TypeScript's DOM library, which this project does not load).
declare const WebAssembly: {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object) => { exports: { memory: { buffer: ArrayBuffer }; xxh64: (start: number, words: number) => number } };
};

/**
 * An instance: its memory (one page, and `extraPages` after it), and the
 * function that hashes `words` words from word `start`.
 */
export function xxh64Module(extraPages = 0): { words: Int32Array; hash: (start: number, words: number) => number } {
  const inst = new WebAssembly.Instance(new WebAssembly.Module(moduleBytes(1 + extraPages)));
  return { words: new Int32Array(inst.exports.memory.buffer), hash: inst.exports.xxh64 };
}

/** The low half of the last hash, from the module's memory. */
export function xxh64Low(words: Int32Array): number {
  return words[LO_WORD]!;
}

/** XXH64 of `words` (seed 0) by the reference algorithm, in BigInt: slow, for tests. */
export function xxh64Reference(words: Int32Array): bigint {
  const M = (x: bigint) => BigInt.asUintN(64, x);
  const rotl = (x: bigint, r: bigint) => M((x << r) | (x >> (64n - r)));
  const rnd = (acc: bigint, input: bigint) => M(rotl(M(acc + M(input * P2)), 31n) * P1);
  const u64 = (i: number) => BigInt(words[i]! >>> 0) | (BigInt(words[i + 1]! >>> 0) << 32n);
  const len = words.length * 4;
  let i = 0;
  let h: bigint;
  if (len >= 32) {
    const v = [M(P1 + P2), P2, 0n, M(-P1)];
    for (; (i + 8) * 4 <= len; i += 8) for (let k = 0; k < 4; k++) v[k] = rnd(v[k]!, u64(i + 2 * k));
    h = M(rotl(v[0]!, 1n) + rotl(v[1]!, 7n) + rotl(v[2]!, 12n) + rotl(v[3]!, 18n));
    for (const x of v) h = M(M((h ^ rnd(0n, x)) * P1) + P4);
  } else h = P5;
  h = M(h + BigInt(len));
  for (; (i + 2) * 4 <= len; i += 2) h = M(M(rotl(h ^ rnd(0n, u64(i)), 27n) * P1) + P4);
  if ((i + 1) * 4 <= len) h = M(M(rotl(h ^ M(BigInt(words[i]! >>> 0) * P1), 23n) * P2) + P3);
  h = M((h ^ (h >> 33n)) * P2);
  h = M((h ^ (h >> 29n)) * P3);
  return h ^ (h >> 32n);
}
