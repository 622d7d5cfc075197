/**
 * A device's pgmap outlives its pages (seed 002; 0dc45ca1ce18): its percpu
 * reference covers every allocated device-private page, memunmap_pages
 * returns (and the driver frees the pgmap) only when no page of it is in
 * use, and nothing uses the pgmap after the driver freed it
 * (page->pgmap->ops->migrate_to_ram, ->page_free). 5.18-6.0 took the
 * reference in bulk and dropped it in bulk in memunmap_pages, so it could
 * return with pages still mapped; 6.1 takes one per allocated page.
 */
import { PGMAP_FREED, PGMAP_GHOST_UAF, pgmapRef, pgmapState } from '../model/kernel/memremap.js';
import { PG_DEVFREE } from '../model/layout.js';
import type { MMInvariant } from './invariant.js';

export const pgmapPinned: MMInvariant = {
  name: 'pgmap-pinned',
  description: "a pgmap's reference covers its allocated pages; memunmap_pages returns only when none is in use; nothing uses a pgmap its driver freed",
  reference: 'mm/memremap.c:memunmap_pages, zone_device_page_init, free_zone_device_page; 0dc45ca1ce18 (6.1); seed 002',
  reads: ['pgmap', 'frame', 'devframe'],
  when: 'always',
  defaultScenario: 'device-memunmap-in-use',
  check(v) {
    if (!v.world.devPrivate) return null;
    const ref = v.s[pgmapRef(v)]!;
    const state = v.s[pgmapState(v)]!;
    if (state & PGMAP_GHOST_UAF) return 'the pgmap was used after its driver freed it (page->pgmap->ops: a use after free)';
    let inUse = 0;
    let first = 0;
    for (let d = 1; d <= v.devFrames; d++)
      if (!v.pageTest(v.frames + d, PG_DEVFREE)) {
        inUse++;
        first ||= v.frames + d;
      }
    if ((state & 3) === PGMAP_FREED && inUse) return `memunmap_pages returned and the driver freed the pgmap while pfn ${first} is in use`;
    if ((state & 3) !== PGMAP_FREED && ref < inUse) return `the pgmap's reference is ${ref}, below its ${inUse} allocated page(s) (pfn ${first})`;
    return null;
  },
};
