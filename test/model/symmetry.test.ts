/**
 * Frame symmetry's shortcut while a state is expanded: a successor with its
 * parent's places may still need renumbering when a frame nothing refers to
 * changed content, or when a swap-cache link moved. Hand-built states where
 * the shortcut must not apply.
 */
import { describe, expect, test } from 'vitest';
import { PG_DATA, PG_FLAGS, PG_PRIVATE, PG_REF, PG_SWAPCACHE } from '../../model/layout.js';
import { FrameSymmetry } from '../../model/symmetry.js';
import { model } from '../helpers.js';

/** cow-fork-gup's layout, with every place that refers to a frame cleared and every frame free. */
function bare() {
  const m = model('cow-fork-gup', { kernel: '6.2' });
  const L = m.layout;
  const s = new Int32Array(L.words);
  expect(L.shape.frames).toBeGreaterThanOrEqual(2);
  expect(L.shape.swapSlots).toBeGreaterThanOrEqual(1);
  return { L, s, sym: new FrameSymmetry(L) };
}

/** Canonicalises `child` while `parent` is being expanded, and without a parent; both must agree. */
function both(sym: FrameSymmetry, parent: Int32Array, child: Int32Array): [string, string] {
  const a = child.slice();
  sym.expanding(parent);
  sym.canonicalize(a);
  sym.expanded();
  const b = child.slice();
  sym.canonicalize(b);
  return [String(a), String(b)];
}

describe('frame symmetry while expanding a parent', () => {
  test('frames nothing refers to are ordered by content: a content change can reorder them', () => {
    const { L, s, sym } = bare();
    // Two isolated pages (held, but by no place the state names), ordered by their data.
    for (const [pfn, data] of [[1, 1], [2, 2]] as const) {
      s[L.page(pfn) + PG_REF] = 1;
      s[L.page(pfn) + PG_DATA] = data;
    }
    const parent = s.slice();
    sym.canonicalize(parent);
    expect(String(parent)).toBe(String(s)); // already canonical
    const child = parent.slice();
    child[L.page(1) + PG_DATA] = 3; // now sorts after pfn 2
    const [during, full] = both(sym, parent, child);
    expect(during).toBe(full);
    expect(full).not.toBe(String(child));
  });

  test('a swap-cache link orders its page by the slot: dropping it can reorder', () => {
    const { L, s, sym } = bare();
    // pfn 1 is in the swap cache (ordered by its slot), pfn 2 is isolated (ordered after it).
    for (const pfn of [1, 2]) s[L.page(pfn) + PG_REF] = 1;
    s[L.page(1) + PG_FLAGS] = PG_SWAPCACHE;
    s[L.page(1) + PG_PRIVATE] = 1; // swap slot 0
    s[L.page(1) + PG_DATA] = 5;
    const parent = s.slice();
    sym.canonicalize(parent);
    expect(String(parent)).toBe(String(s));
    // pfn 1 leaves the swap cache: now both are ordered by content, and pfn 2's is smaller.
    const child = parent.slice();
    child[L.page(1) + PG_FLAGS] = 0;
    child[L.page(1) + PG_PRIVATE] = 0;
    const [during, full] = both(sym, parent, child);
    expect(during).toBe(full);
    expect(full).not.toBe(String(child));
  });
});
