/**
 * PG_anon_exclusive (5.19, 6c287605fd56), docs/rules.md#anon-exclusive:
 *   (1) a writable PTE maps an anon page only if the page is exclusive
 *      (VM_BUG_ON in wp_page_reuse and try_to_migrate_one);
 *   (2) a pinned anon page is exclusive (sanity_check_pinned_pages, b6a2619c60b4);
 *   (3) an exclusive page is referenced by the entries of one mm at most.
 */
import { GUP_PENDING, GUP_PIN, gupKind, gupPfn } from '../model/gup.js';
import type { StateView } from '../model/kernel.js';
import { PG_ANON, PG_ANON_EXCLUSIVE } from '../model/layout.js';
import { isWritable, mapsNormalPage, pteTarget } from '../model/pte.js';
import type { MMInvariant } from './invariant.js';

/** The mms whose entries (present, migration, or swap through the swap cache) reference pfn. */
function referencingMms(v: StateView, pfn: number): { mm: number; addr: number }[] {
  const out: { mm: number; addr: number }[] = [];
  for (let m = 0; m < v.mms; m++) {
    for (let a = 0; a < v.addrs; a++) {
      if (v.entryRefersTo(v.mapped(m, a), pfn)) out.push({ mm: m, addr: a });
    }
  }
  return out;
}

export const anonExclusive: MMInvariant = {
  name: 'anon-exclusive',
  description: 'writable anon PTEs and pinned anon pages are PageAnonExclusive, and an exclusive page is mapped by one mm only',
  reference: 'include/linux/page-flags.h PG_anon_exclusive (5.19, 6c287605fd56); docs/rules.md#anon-exclusive',
  reads: ['mm', 'frame', 'gup', 'slot'],
  when: 'always',
  defaultScenario: 'cow-fork-gup',
  notApplicable(variant) {
    return variant.switches.has('anon-exclusive')
      ? null
      : `kernel ${variant.version} has no PG_anon_exclusive (added in 5.19 by 6c287605fd56); check cow-isolation or pin-coherent instead`;
  },
  check(v) {
    for (let m = 0; m < v.mms; m++) {
      for (let a = 0; a < v.addrs; a++) {
        const e = v.mapped(m, a);
        if (!isWritable(e) || !mapsNormalPage(e)) continue;
        const pfn = pteTarget(e);
        if (v.pageTest(pfn, PG_ANON) && !v.pageTest(pfn, PG_ANON_EXCLUSIVE)) {
          return `${v.addrName(m, a)} maps anon pfn ${pfn} writable, but pfn ${pfn} is not PageAnonExclusive`;
        }
      }
    }
    for (let g = 0; g < v.gupSlots; g++) {
      const r = v.gup(g);
      // A GUP-fast pin not yet validated (B3 before B4/B5) may be backed off: not a pin yet.
      if (gupKind(r) !== GUP_PIN || r & GUP_PENDING) continue;
      const pfn = gupPfn(r);
      if (pfn !== 0 && v.pageTest(pfn, PG_ANON) && !v.pageTest(pfn, PG_ANON_EXCLUSIVE)) {
        return `anon pfn ${pfn} is pinned (ref "${v.world.gupNames[g]}") but not PageAnonExclusive`;
      }
    }
    for (let pfn = 1; pfn <= v.frames; pfn++) {
      if (!v.pageTest(pfn, PG_ANON_EXCLUSIVE)) continue;
      // Without allocating (this runs on every state): is it referenced from two mms?
      let first = -1;
      let shared = false;
      for (let m = 0; m < v.mms && !shared; m++) {
        for (let a = 0; a < v.addrs; a++) {
          if (!v.entryRefersTo(v.mapped(m, a), pfn)) continue;
          if (first < 0) first = m;
          else if (first !== m) shared = true;
          break;
        }
      }
      if (shared) {
        const refs = referencingMms(v, pfn);
        return `pfn ${pfn} is PageAnonExclusive but referenced by ${refs.map((r) => v.addrName(r.mm, r.addr)).join(' and ')}`;
      }
    }
    return null;
  },
};
