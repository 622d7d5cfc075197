/**
 * The radix sort that puts a level's new states in key order: sorted by
 * (hi, lo), the payload kept with its key, also when digits are skipped
 * because every key shares them.
 */
import { fc, test } from '@fast-check/vitest';
import { describe, expect } from 'vitest';
import { radixSort64 } from '../../checker/sort.js';

const key = fc.tuple(fc.nat({ max: 0xffffffff }), fc.nat({ max: 0xffffffff }));
// Small keys too: most digits are then the same in every key and their passes are skipped.
const smallKey = fc.tuple(fc.nat({ max: 300 }), fc.nat({ max: 70000 }));

describe('radixSort64', () => {
  test.prop([fc.array(fc.oneof(key, smallKey), { maxLength: 400 })])('orders keys as a comparison sort does, payloads with them', (keys) => {
    const n = keys.length;
    const hi = Uint32Array.from(keys, (k) => k[0]);
    const lo = Uint32Array.from(keys, (k) => k[1]);
    const pay = Uint32Array.from(keys, (_, i) => i);
    const r = radixSort64(n, hi, lo, pay);
    const expected = keys.map((k, i) => [k[0], k[1], i] as const).sort((a, b) => a[0] - b[0] || a[1] - b[1] || a[2] - b[2]);
    expect([...r.pay.subarray(0, n)]).toEqual(expected.map((e) => e[2])); // stable: equal keys keep their order
    expect([...r.hi.subarray(0, n)]).toEqual(expected.map((e) => e[0]));
    expect([...r.lo.subarray(0, n)]).toEqual(expected.map((e) => e[1]));
  });
});
