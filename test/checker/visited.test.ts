import { fc, test as fcTest } from '@fast-check/vitest';
import { describe, expect, test } from 'vitest';
import { fingerprint, fpLo, HashedBuffer, WASM_WORDS } from '../../checker/fingerprint.js';
import { FingerprintSet } from '../../checker/visited.js';
import { xxh64Low, xxh64Module, xxh64Reference } from '../../checker/xxh64.js';

describe('fingerprints and the visited set', () => {
  fcTest.prop([fc.array(fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }), { minLength: 1, maxLength: 80 })])(
    'equal states have equal fingerprints, and never the empty marker',
    (words) => {
      const a = Int32Array.from(words);
      const b = Int32Array.from(words);
      const ha = fingerprint(a, 0, a.length);
      const la = fpLo;
      expect(fingerprint(b, 0, b.length)).toBe(ha);
      expect(fpLo).toBe(la);
      expect(ha !== 0 || la !== 0).toBe(true);
    },
  );

  test('the BigInt transcription of XXH64 gives the reference test vector', () => {
    // xxhash's sanity check: XXH64 of no input, seed 0.
    expect(xxh64Reference(new Int32Array(0))).toBe(0xef46db3751d8e999n);
  });

  fcTest.prop([fc.array(fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }), { maxLength: 90 })])(
    'the wasm XXH64 agrees with the transcription, and long states are fingerprinted by it',
    (words) => {
      const a = Int32Array.from(words);
      const m = xxh64Module();
      m.words.set(a);
      const hi = m.hash(0, a.length) >>> 0;
      const ref = xxh64Reference(a);
      expect((BigInt(hi) << 32n) | BigInt(xxh64Low(m.words) >>> 0)).toBe(ref);
      if (a.length >= WASM_WORDS) {
        // At an offset too, as the engine hashes states inside its arenas.
        const padded = new Int32Array(a.length + 3);
        padded.set(a, 3);
        expect(fingerprint(padded, 3, a.length)).toBe(Number(ref >> 32n));
        expect(fpLo).toBe(Number(ref & 0xffffffffn) || (ref === 0n ? 1 : 0));
        // And in place, in a buffer that is wasm memory beyond the first page (the engine's batch).
        const buf = new HashedBuffer(3 * 20000);
        buf.words.set(a, 40000);
        expect(buf.fingerprint(40000, a.length)).toBe(fingerprint(a, 0, a.length));
        const lo = fpLo;
        fingerprint(a, 0, a.length);
        expect(lo).toBe(fpLo);
      }
    },
  );

  fcTest.prop([fc.array(fc.integer({ min: 0, max: 1 << 20 }), { maxLength: 600 })])('insert/has agree with a JS Set as the table grows', (keys) => {
    const set = new FingerprintSet(8);
    const oracle = new Set<number>();
    for (const k of keys) {
      const words = Int32Array.of(k, k >> 3);
      const hi = fingerprint(words, 0, 2);
      const lo = fpLo;
      expect(set.insert(hi, lo)).toBe(!oracle.has(k));
      oracle.add(k);
    }
    expect(set.size).toBe(oracle.size);
    for (const k of oracle) {
      const words = Int32Array.of(k, k >> 3);
      expect(set.has(fingerprint(words, 0, 2), fpLo)).toBe(true);
    }
  });

  fcTest.prop([fc.uniqueArray(fc.integer({ min: 0, max: 1 << 24 }), { minLength: 2, maxLength: 300 })])('distinct small states get distinct fingerprints', (keys) => {
    const seen = new Set<string>();
    for (const k of keys) {
      const h = fingerprint(Int32Array.of(k), 0, 1);
      seen.add(`${h}:${fpLo}`);
    }
    expect(seen.size).toBe(keys.length);
  });
});
