/**
 * No missed COW (CVE-2020-29374, docs/rules.md#no-missed-cow): while an mm maps an
 * anon page writable, nothing outside that mm references the page: no GUP
 * reference taken through another mm, no entry of another mm. Otherwise the
 * writer's data leaks to the other side (the vmsplice-after-fork attack).
 */
import { formatGupFlags, GUP_NONE, GUP_PENDING, gupKind, gupMm, gupPfn } from '../model/gup.js';
import { PG_ANON } from '../model/layout.js';
import { isWritable, mapsNormalPage, pteTarget } from '../model/pte.js';
import type { MMInvariant } from './invariant.js';

export const cowIsolation: MMInvariant = {
  name: 'cow-isolation',
  description: 'an anon page mapped writable by an mm is referenced by nothing outside that mm (no missed COW)',
  reference: 'CVE-2020-29374; mm/memory.c:do_wp_page; docs/rules.md#no-missed-cow',
  reads: ['mm', 'frame', 'gup', 'slot'],
  when: 'always',
  defaultScenario: 'cow-fork-gup',
  check(v) {
    for (let m = 0; m < v.mms; m++) {
      for (let a = 0; a < v.addrs; a++) {
        const e = v.mapped(m, a);
        if (!isWritable(e) || !mapsNormalPage(e)) continue;
        const pfn = pteTarget(e);
        if (!v.pageTest(pfn, PG_ANON)) continue;
        for (let g = 0; g < v.gupSlots; g++) {
          const r = v.gup(g);
          if (gupKind(r) === GUP_NONE || r & GUP_PENDING || gupPfn(r) !== pfn || gupMm(r) === m) continue;
          return (
            `${v.addrName(m, a)} maps pfn ${pfn} writable while ${v.mmName(gupMm(r))} holds GUP reference ` +
            `"${v.world.gupNames[g]}" (${formatGupFlags(r)}) on it: ${v.mmName(m)}'s writes leak to ${v.mmName(gupMm(r))}`
          );
        }
        // Without allocating (this runs on every state): does another mm refer to it?
        for (let m2 = 0; m2 < v.mms; m2++) {
          if (m2 === m) continue;
          for (let a2 = 0; a2 < v.addrs; a2++) {
            if (v.entryRefersTo(v.mapped(m2, a2), pfn)) {
              return `${v.addrName(m, a)} maps pfn ${pfn} writable while ${v.addrName(m2, a2)} also refers to it`;
            }
          }
        }
      }
    }
    return null;
  },
};
