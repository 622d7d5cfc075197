/**
 * Reference accounting (MM-SEMANTICS 1.3 A6, made exact): every allocated
 * page's _refcount is the sum of its holders - one per present PTE, one per
 * FOLL_GET, GUP_PIN_COUNTING_BIAS per FOLL_PIN, one for the swap cache, one
 * for the page cache, one per reference a thread holds mid-operation - and
 * _mapcount counts its present PTEs (migration entries hold no reference: the
 * migrating thread's isolation reference keeps the page). A free page is
 * referenced by nothing. Each swap slot's count is its number of swap entries.
 */
import { GUP_NONE, gupKind, gupPfn } from '../model/gup.js';
import { PG_SWAPCACHE } from '../model/layout.js';
import { PTE_SWAP, pteKind, pteTarget } from '../model/pte.js';
import type { MMInvariant } from './invariant.js';

export const refcountSane: MMInvariant = {
  name: 'refcount-sane',
  description: '_refcount = mappings + GUP references + swap/page cache + held references; nothing refers to a free page',
  reference: 'include/linux/mm.h page_ref_*, GUP_PIN_COUNTING_BIAS; mm/swapfile.c swap_map; MM-SEMANTICS 1.3 A6',
  when: 'always',
  defaultScenario: 'cow-fork-gup',
  check(v) {
    for (let pfn = 1; pfn <= v.frames; pfn++) {
      const maps = v.mappingsOf(pfn);
      const gup = v.gupRefsOf(pfn);
      const held = v.threadRefsOf(pfn);
      const cache = (v.pageTest(pfn, PG_SWAPCACHE) ? 1 : 0) + (v.inPageCache(pfn) ? 1 : 0);
      const ref = v.pageRef(pfn);
      if (ref === 0) {
        if (maps > 0) return `pfn ${pfn} is free but mapped by ${maps} PTE(s)`;
        if (v.migrationEntriesOf(pfn) > 0) return `pfn ${pfn} is free but a migration entry still points at it`;
        for (let g = 0; g < v.gupSlots; g++) {
          const r = v.gup(g);
          if (gupKind(r) !== GUP_NONE && gupPfn(r) === pfn) return `pfn ${pfn} is free but GUP reference "${v.world.gupNames[g]}" holds it`;
        }
        if (held > 0) return `pfn ${pfn} is free but a thread holds a reference to it`;
        if (v.pageFlags(pfn) !== 0 || v.pageMapcount(pfn) !== 0) return `pfn ${pfn} is free but its flags or _mapcount were changed after it was freed`;
        continue;
      }
      const want = maps + gup + held + cache;
      if (ref !== want) {
        return (
          `pfn ${pfn}: _refcount is ${ref} but ${want} references exist ` +
          `(${maps} mapped, ${gup} GUP, ${cache} swap/page cache, ${held} held by threads)`
        );
      }
      if (v.pageMapcount(pfn) !== maps) return `pfn ${pfn}: _mapcount is ${v.pageMapcount(pfn)} but ${maps} PTE(s) map it`;
    }
    for (let slot = 0; slot < v.swapSlots; slot++) {
      let entries = 0;
      for (let m = 0; m < v.mms; m++) {
        for (let a = 0; a < v.addrs; a++) {
          const e = v.pte(m, a);
          if (pteKind(e) === PTE_SWAP && pteTarget(e) === slot) entries++;
        }
      }
      if (v.swapCount(slot) !== entries) return `swap slot ${slot}: swap_map count is ${v.swapCount(slot)} but ${entries} swap entries use it`;
    }
    return null;
  },
};
