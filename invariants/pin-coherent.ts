/**
 * No wrong COW (docs/rules.md#pin-coherence): a FOLL_PIN reference taken through
 * (mm, addr) keeps seeing what the process sees there: as long as the user
 * has not unmapped or zapped (mm, addr), the entry there still refers to the
 * pinned page (present, migration, or swap with the page in the swap cache).
 * Otherwise a COW replaced the page under the pin and DMA and CPU diverge
 * (the io_uring/RDMA/VFIO corruption that PG_anon_exclusive fixed).
 *
 * A pin of a non-anonymous page (the shared zeropage, a page-cache page) is
 * covered when it is FOLL_LONGTERM: short-term R/O pins of such pages have
 * snapshot semantics, but long-term ones must see what the process sees
 * (84209e87c696 in 6.2, docs/rules.md#ro-longterm-pins). A pending GUP-fast reference is not a pin yet.
 */
import { formatGupFlags, GUP_ANON, GUP_DETACHED, GUP_LONGTERM, GUP_PENDING, GUP_PIN, gupAddr, gupKind, gupMm, gupPfn } from '../model/gup.js';
import { MM_LIVE } from '../model/layout.js';
import { formatPte } from '../model/pte.js';
import type { MMInvariant } from './invariant.js';

export const pinCoherent: MMInvariant = {
  name: 'pin-coherent',
  description: 'a page pinned with FOLL_PIN through (mm, addr) stays the page mapped at (mm, addr) until the user unmaps it',
  reference: 'mm/gup.c FOLL_PIN; 6c287605fd56, a7f226604170 (5.19); docs/rules.md#pin-coherence',
  reads: ['mm', 'frame', 'gup', 'slot'],
  when: 'always',
  defaultScenario: 'iouring-ro-remap',
  check(v) {
    for (let g = 0; g < v.gupSlots; g++) {
      const r = v.gup(g);
      if (gupKind(r) !== GUP_PIN || r & (GUP_DETACHED | GUP_PENDING)) continue;
      if (!(r & GUP_ANON) && !(r & GUP_LONGTERM)) continue;
      const m = gupMm(r);
      const a = gupAddr(r);
      if (v.mmState(m) !== MM_LIVE) continue;
      const pfn = gupPfn(r);
      const e = v.mapped(m, a);
      if (!v.entryRefersTo(e, pfn)) {
        return (
          `pin "${v.world.gupNames[g]}" (${formatGupFlags(r)} on ${pfn === 0 ? 'the zeropage' : `pfn ${pfn}`} through ${v.addrName(m, a)}) is stale: ` +
          `${v.addrName(m, a)} is now ${formatPte(e)}`
        );
      }
    }
    return null;
  },
};
