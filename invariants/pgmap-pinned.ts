/**
 * A device's pgmap outlives its pages (seed 002; 0dc45ca1ce18): its percpu
 * reference covers every page in use, memunmap_pages returns (and the
 * driver frees the pgmap) only when no page of it is in use, and nothing
 * uses the pgmap or a struct page of it after that (page->pgmap->ops->
 * migrate_to_ram, ->page_free, an unpin). In use: a device-private or
 * coherent page off the driver's free list; a device-dax page that a GUP
 * reference, a thread or (6.15) a mapping holds. 5.18-6.0 took the
 * reference in bulk and dropped it in bulk in memunmap_pages, so it could
 * return with pages still mapped; 6.1 takes one per allocated
 * device-private or coherent page; device-dax keeps the bulk reference, so
 * from 5.18 a long-term pin outlives the device's memmap.
 */
import { deviceHolders, PGMAP_FREED, PGMAP_GHOST_UAF, pgmapRef, pgmapState } from '../model/kernel/memremap.js';
import { PG_DEVFREE } from '../model/layout.js';
import type { MMInvariant } from './invariant.js';

export const pgmapPinned: MMInvariant = {
  name: 'pgmap-pinned',
  description: "a pgmap's reference covers its pages in use; memunmap_pages returns only when none is in use; nothing uses a pgmap (or its struct pages) after its driver freed it",
  reference: 'mm/memremap.c:memunmap_pages, zone_device_page_init, free_zone_device_page; 0dc45ca1ce18 (6.1); seed 002',
  reads: ['pgmap', 'frame', 'devframe', 'mm', 'gup'],
  when: 'always',
  defaultScenario: 'device-memunmap-in-use',
  check(v) {
    const generic = v.world.devType === 'generic';
    if (!v.world.devFreeList && !generic) return null;
    const ref = v.s[pgmapRef(v)]!;
    const state = v.s[pgmapState(v)]!;
    if (state & PGMAP_GHOST_UAF) return 'the pgmap (or a struct page of it) was used after memunmap_pages returned and its driver freed it: a use after free';
    let inUse = 0;
    let first = 0;
    for (let d = 1; d <= v.devFrames; d++) {
      const pfn = v.frames + d;
      const busy = generic ? holds(v, pfn) : !v.pageTest(pfn, PG_DEVFREE);
      if (busy) {
        inUse++;
        first ||= pfn;
      }
    }
    if ((state & 3) === PGMAP_FREED && inUse) return `memunmap_pages returned and the driver freed the pgmap while pfn ${first} is in use`;
    if ((state & 3) !== PGMAP_FREED && ref < inUse) return `the pgmap's reference is ${ref}, below its ${inUse} page(s) in use (pfn ${first})`;
    return null;
  },
};

/** A device-dax page is in use while anything holds a reference to it. */
function holds(v: Parameters<MMInvariant['check']>[0], pfn: number): boolean {
  const h = deviceHolders(v, pfn);
  return h.maps + h.gup + h.held > 0;
}
