/**
 * A device page never goes to the page allocator or an LRU list (seed 002:
 * Dan Williams's "code may assume a page at refcount 0 is on an LRU"): its
 * last put runs the ZONE_DEVICE path (->page_free, or the FS_DAX wake-up),
 * never __free_pages. Recorded as a ghost bit of the pgmap whenever the
 * page allocator's free path (free_frame) meets a device page, whatever put
 * led there (the mutant devpriv-put-to-buddy is one).
 */
import { PGMAP_GHOST_BUDDY, pgmapState } from '../model/kernel/memremap.js';
import type { MMInvariant } from './invariant.js';

export const zoneDeviceNeverLru: MMInvariant = {
  name: 'zone-device-never-lru',
  description: 'a device page never reaches the page allocator or an LRU list: its last put takes the ZONE_DEVICE path',
  reference: 'mm/swap.c:__put_page -> free_zone_device_page (5.18), put_devmap_managed_page; seed 002',
  reads: ['pgmap'],
  when: 'always',
  defaultScenario: 'device-private-fault-race',
  check(v) {
    if (!v.devFrames || !v.L.bases.pgmap?.length) return null;
    const state = v.s[pgmapState(v)]!;
    return state & PGMAP_GHOST_BUDDY
      ? 'a device page was freed to the page allocator (__free_pages) or isolated as an LRU page: the LRU and buddy lists never hold ZONE_DEVICE pages'
      : null;
  },
};
