/**
 * 64-bit fingerprints of packed states. A state of at least WASM_WORDS words
 * is hashed by XXH64 in WebAssembly (xxh64.ts); a smaller one by two
 * independent 32-bit murmur3-style lanes in JavaScript, which cost less than
 * the copy to wasm memory and the call there (classic model, 13 words: 50 ns
 * against 55; MM model, 70 words: 150-190 ns against 70-90). The choice
 * depends only on the length, so one model always gets the same function. The
 * pair (0, 0) is reserved as "empty slot" by the visited table, so it is
 * never returned.
 */
import { readFileSync } from 'node:fs';
import { PAGE_WORDS, XXH64_MAX_WORDS, xxh64Low, xxh64Module } from './xxh64.js';

const C1 = 0xcc9e2d51;
const C2 = 0x1b873593;

/** The low lane of the last fingerprint; read it right after calling fingerprint(). */
export let fpLo = 0;

/** States of this many words or more are hashed in wasm. */
export const WASM_WORDS = 24;

/**
 * Whether the process may use wasm memories: V8 reserves about 10 GB of
 * address space for each (guard regions for its bounds checks), which a
 * limit on the address space (ulimit -v) cannot hold. Under such a limit
 * every state is hashed in JavaScript. The limit is the process's, so the
 * main thread and every worker decide alike (they must hash alike).
 */
function wasmAllowed(): boolean {
  try {
    const line = /^Max address space\s+(\S+)/m.exec(readFileSync('/proc/self/limits', 'utf8'));
    return !line || line[1] === 'unlimited';
  } catch {
    return true; // no /proc: no such limit to mind
  }
}
export const WASM_HASH = wasmAllowed();
const wasm = WASM_HASH ? xxh64Module() : null;
const mem = wasm ? wasm.words : new Int32Array(0);

/** Whether a state of `len` words is hashed by XXH64 in wasm (else by the JavaScript lanes). */
export function hashedInWasm(len: number): boolean {
  return WASM_HASH && len >= WASM_WORDS && len <= XXH64_MAX_WORDS;
}

/** Returns the high lane of the fingerprint of words[off .. off+len); sets fpLo. */
export function fingerprint(words: Int32Array, off: number, len: number): number {
  if (hashedInWasm(len)) {
    if (off === 0 && words.length === len) mem.set(words);
    else for (let i = 0; i < len; i++) mem[i] = words[off + i]!;
    return wasmResult(wasm!.hash(0, len), mem);
  }
  let h1 = 0x9747b28c;
  let h2 = 0x85ebca6b ^ len;
  const end = off + len;
  for (let i = off; i < end; i++) {
    let k = Math.imul(words[i]!, C1);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, C2);
    h1 ^= k;
    h1 = (h1 << 13) | (h1 >>> 19);
    h1 = (Math.imul(h1, 5) + 0xe6546b64) | 0;
    // Second lane: a different multiply-rotate chain over the same words.
    let m = Math.imul(words[i]! ^ 0x5bd1e995, 0x27d4eb2d);
    m ^= m >>> 15;
    h2 = Math.imul(h2 ^ m, 0x165667b1);
    h2 = (h2 << 11) | (h2 >>> 21);
  }
  h1 ^= len;
  h1 = fmix(h1);
  h2 = fmix(h2 + h1);
  if (h1 === 0 && h2 === 0) h2 = 1;
  fpLo = h2 >>> 0;
  return h1 >>> 0;
}

/** A wasm hash's result: sets fpLo from the module's memory and returns the high half, never (0, 0). */
function wasmResult(hi: number, mem: Int32Array): number {
  const lo = xxh64Low(mem);
  fpLo = hi === 0 && lo === 0 ? 1 : lo >>> 0;
  return hi >>> 0;
}

function fmix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h;
}

/** TLC's optimistic estimate of the probability of at least one collision. */
export function collisionProbability(states: number, transitions: number): number {
  // TLC: n * (t - n) / 2^64 for n distinct states and t generated states.
  const p = (states * Math.max(0, transitions - states)) / 2 ** 64;
  return Math.min(1, p);
}

/**
 * Words that are fingerprinted where they are: the memory of an XXH64
 * instance of their own, after its first page, so that no copy to wasm memory
 * is needed. The engine's batch of successors lives in one (each successor is
 * copied there anyway): 25 ns less per successor of a 70-word MM state.
 */
export class HashedBuffer {
  readonly words: Int32Array;
  private readonly mem: Int32Array;
  private readonly hash: (start: number, words: number) => number;

  constructor(words: number) {
    const m = xxh64Module(Math.ceil(words / PAGE_WORDS));
    this.mem = m.words;
    this.hash = m.hash;
    this.words = m.words.subarray(PAGE_WORDS, PAGE_WORDS + words);
  }

  /** fingerprint(this.words, off, len), for a length that hashedInWasm() accepts; sets fpLo. */
  fingerprint(off: number, len: number): number {
    return wasmResult(this.hash(PAGE_WORDS + off, len), this.mem);
  }
}
