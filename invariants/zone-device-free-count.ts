/**
 * A free device-private page is free by its release's convention (seed 002):
 * on its driver's free list it sits at _refcount 1 up to 6.0 and 0 from 6.1
 * (ef233450898f), and nothing refers to it: no device-private entry, PTE or
 * GUP reference maps it, and no thread uses it (a fault's migrate_to_ram on a
 * page that ->page_free already put back: the race 16ce101db85d closed in
 * 6.1, and memunmap_pages' page_free of a page in use up to 5.17).
 */
import { deviceBase, deviceHolders, devprivCounts, PGMAP_GHOST_FREE_PAGE, pgmapState } from '../model/kernel/memremap.js';
import { PG_DEVFREE, PG_REF } from '../model/layout.js';
import type { MMInvariant } from './invariant.js';

export const zoneDeviceFreeCount: MMInvariant = {
  name: 'zone-device-free-count',
  description:
    "a device-private or coherent page on its driver's free list is at the free count (1 up to 6.0, 0 from 6.1) and nothing maps or uses it; an idle device-dax page is at 1 and a page at 1 has no holder",
  reference: 'mm/memremap.c:free_zone_device_page, zone_device_page_init; mm/memory.c:do_swap_page; ef233450898f, 16ce101db85d (6.1); seed 002',
  reads: ['pgmap', 'frame', 'devframe', 'mm', 'gup'],
  when: 'always',
  defaultScenario: 'device-private-fault-race',
  check(v) {
    if (v.world.devType === 'generic') return genericProblem(v);
    if (!v.world.devFreeList) return null;
    const state = v.s[pgmapState(v)]!;
    if (state & PGMAP_GHOST_FREE_PAGE) return "a fault's migrate_to_ram used a device page that ->page_free had put back on the driver's free list";
    const { free } = devprivCounts(v);
    for (let d = 1; d <= v.devFrames; d++) {
      const pfn = v.frames + d;
      if (!v.pageTest(pfn, PG_DEVFREE)) continue;
      const h = deviceHolders(v, pfn);
      if (h.maps) return `pfn ${pfn} is on the driver's free list but ${h.maps} entr${h.maps === 1 ? 'y' : 'ies'} still map it`;
      if (h.gup) return `pfn ${pfn} is on the driver's free list but a GUP reference holds it`;
      if (v.pageWord(pfn, PG_REF) !== free) return `pfn ${pfn} is on the driver's free list at _refcount ${v.pageWord(pfn, PG_REF)}, not ${free}`;
    }
    return null;
  },
};

/**
 * A device-dax (MEMORY_DEVICE_GENERIC) page is never freed: idle, it sits at
 * 1 in every release (0 only after memunmap_pages of 5.7-5.17 put it), and a
 * page at that count has no holder.
 */
function genericProblem(v: Parameters<MMInvariant['check']>[0]): string | null {
  for (let d = 1; d <= v.devFrames; d++) {
    const pfn = v.frames + d;
    const h = deviceHolders(v, pfn);
    const base = deviceBase(v, pfn);
    const ref = v.pageWord(pfn, PG_REF);
    if (ref === base && h.maps + h.gup + h.held > 0)
      return `device-dax pfn ${pfn} is at its idle count ${base} while ${h.gup ? 'a GUP reference' : h.maps ? 'a mapping' : 'a thread'} holds it`;
    if (h.maps + h.gup + h.held === 0 && ref !== base) return `device-dax pfn ${pfn} is held by nothing at _refcount ${ref}, not ${base}`;
  }
  return null;
}
