/**
 * refcount-sane's messages name what refers to a frame, on states built by
 * hand from cow-fork-gup's initial state (P maps pfn 1; pfns 2 and 3 are free).
 */
import { expect, test } from 'vitest';
import { refcountSane } from '../../invariants/refcount-sane.js';
import { GUP_GET, GUP_PIN, gupRecord } from '../../model/gup.js';
import { ptePresent } from '../../model/pte.js';
import { PG_COMPOUND, PG_MAP, PG_REF, PG_THP } from '../../model/layout.js';
import { compoundTail } from '../../model/objects.js';
import { model } from '../helpers.js';

function initial() {
  const m = model('cow-fork-gup', { kernel: '6.2' });
  let s = new Int32Array(0);
  m.initialStates((x) => (s = x.slice()));
  return { m, k: m.view(s) };
}

test('the initial state is sane', () => {
  const { k } = initial();
  expect(refcountSane.check(k)).toBeNull();
});

test('a GUP reference on a free frame is named', () => {
  const { m, k } = initial();
  k.setGup(0, gupRecord(GUP_GET, 0, 0, 0, 2));
  expect(refcountSane.check(k)).toBe(`pfn 2 is free but GUP reference "${m.world.gupNames[0]}" holds it`);
});

test('a PTE mapping a free frame is found before the GUP references are looked at', () => {
  const { k } = initial();
  k.setPte(1, 0, ptePresent(3, false, false));
  k.setGup(0, gupRecord(GUP_PIN, 0, 0, 0, 3));
  expect(refcountSane.check(k)).toBe('pfn 3 is free but mapped by 1 PTE(s) or huge pmd(s)');
});

test('a pin not counted in _refcount is reported with its bias', () => {
  const { k } = initial();
  k.setGup(0, gupRecord(GUP_PIN, 0, 0, 0, 1));
  expect(refcountSane.check(k)).toBe('pfn 1: _refcount is 1 but 1025 references exist (1 mapped, 1024 GUP, 0 swap/page cache, 0 held by threads)');
});

test('a tail page is accounted on its head: its own _refcount must stay 0, and its head must be a THP', () => {
  // thp-pte-cow-fork-gup's world (a THP VMA of two pages: frames have their compound word); P maps pfn 1 at P:0.
  const m = model('thp-pte-cow-fork-gup', { kernel: '6.2' });
  let s = new Int32Array(0);
  m.initialStates((x) => (s = x.slice()));
  const k = m.view(s);
  k.setPageWord(1, PG_REF, 1);
  k.setPageWord(1, PG_MAP, 1);
  k.setPte(0, 0, ptePresent(1, true, true));
  expect(refcountSane.check(k)).toBeNull();
  // pfn 2 becomes a tail of pfn 1, which is not a THP head.
  k.setPageWord(2, PG_COMPOUND, compoundTail(1, 1));
  expect(refcountSane.check(k)).toBe('pfn 2 is a tail of pfn 1, which is not a THP');
  k.setPageFlag(1, PG_THP);
  // A PTE mapping the tail is a reference on the head.
  k.setPte(0, 1, ptePresent(2, true, true));
  k.setPageWord(2, PG_MAP, 1);
  expect(refcountSane.check(k)).toBe('pfn 1: _refcount is 1 but 2 references exist (2 PTE(s) and huge pmd(s) of the THP, 0 GUP, 0 swap/page cache, 0 held by threads)');
  k.setPageWord(1, PG_REF, 2);
  expect(refcountSane.check(k)).toBeNull();
  k.setPageWord(2, PG_REF, 1);
  expect(refcountSane.check(k)).toBe("pfn 2: a tail page has _refcount 1 of its own (its references are its head's)");
});

test('frames have no compound word in a world without THPs', () => {
  const { m } = initial();
  expect(m.layout.folios).toBe(false);
  expect(model('thp-pte-cow-fork-gup', { kernel: '6.2' }).layout.frameWords).toBe(m.layout.frameWords + 1);
});
