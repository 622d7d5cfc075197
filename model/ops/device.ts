/**
 * The device driver's side of MEMORY_DEVICE_PRIVATE memory (lib/test_hmm.c,
 * drivers/gpu/drm/nouveau/nouveau_dmem.c): memunmap_pages when the device
 * goes away, then the pgmap freed (kfree of the driver's chunk). Read in
 * mm/memremap.c of 5.7.14, 5.17-rc5, 5.18.12, 5.19, 6.1.15
 * (docs/source-reading/zone-device.md section 4).
 *
 *   1. memunmap_pages: percpu_ref_kill; then, by release, up to 5.17
 *      put_page of every pfn (a free page 1 -> 0: __put_page drops its
 *      share of the pgmap reference; a page in use 2 -> 1:
 *      free_devmap_managed_page calls ->page_free on it while it is still
 *      mapped); 5.18-6.0 percpu_ref_put_many(all pfns) at once (the pages'
 *      own counts never held the pgmap: it can reach 0 with pages in use);
 *      from 6.1 nothing (each allocated page holds its own reference).
 *   2. wait_for_completion(&pgmap->done) until the reference is 0; then the
 *      driver frees the pgmap.
 * The driver does not migrate its pages back first: 6.1's
 * dmirror_device_evict_chunk is not modelled (the scenario shows what
 * memunmap_pages itself guarantees).
 *
 * Device-dax (MEMORY_DEVICE_GENERIC) is unbound the same way, after
 * kill_dev_dax (drivers/dax/bus.c) has zapped every mapping of the device;
 * its pgmap keeps the bulk reference in every release, and its pages never
 * held a share of it from 5.18, so a long-term pin outlives the memmap
 * (read in 5.7.14, 5.17-rc5, 5.18.12, 6.1.15, 6.14, 6.15.4:
 * docs/source-reading/device-dax.md).
 */
import { DONE, FAILED, SLEEP } from '../kernel.js';
import { mmap_read_lock, mmap_read_unlock, sleep_on } from '../kernel/locking.js';
import { migrate_anon_to_device, PGMAP_FREED, PGMAP_KILLED, pgmapLife, pgmapRef, pgmapState, put_dev_pagemap } from '../kernel/memremap.js';
import { put_page } from '../kernel/page_alloc.js';
import { PG_DEVFREE } from '../layout.js';
import { WAITQ_PGMAP, waitKey } from '../locks.js';
import type { ProgramBuilder } from '../program.js';

export function buildMemunmap(b: ProgramBuilder): void {
  const KILL = b.reserve();
  const WAIT = b.reserve();
  const generic = b.ctx.deviceType === 'generic';
  const perPage = !b.has('zone-device-refcount');
  // 6.1's reference per allocated page is for device-private and coherent memory only: device-dax keeps the bulk one.
  const bulk = b.has('zone-device-refcount') && (generic || !b.has('device-private-zero'));
  const devdax = generic ? 'drivers/dax/bus.c:kill_dev_dax, ' : '';
  b.define(KILL, `${generic ? 'kill_dev_dax; ' : ''}memunmap_pages: percpu_ref_kill`, `${devdax}mm/memremap.c:memunmap_pages (5.7-6.15)`, (k) => {
    if (pgmapLife(k) !== 0) return DONE;
    if (generic) {
      // kill_dax (dax_alive false: later faults SIGBUS), then unmap_mapping_range of the device's inode: every mapping goes.
      for (let m = 0; m < k.world.mmNames.length; m++) for (let a = 0; a < k.addrs; a++) if (k.vmaPresent(m, a) && k.pte(m, a) !== 0 && k.fileOf(a) >= 0) k.fn.zap_pte(k, m, a);
      if (k.narrate) k.note('kill_dev_dax: kill_dax, unmap_mapping_range of the device: no mapping of it is left');
    }
    k.s[pgmapState(k)] = (k.s[pgmapState(k)]! & ~3) | PGMAP_KILLED;
    if (perPage) {
      // "for_each_device_pfn(pfn, pgmap) put_page(pfn_to_page(pfn))" (up to 5.17).
      for (let d = 1; d <= k.devFrames; d++) put_page(k, k.frames + d);
    } else if (bulk) put_dev_pagemap(k, k.devFrames); // percpu_ref_put_many(&pgmap->ref, pfn_len) (5.18-6.0; device-dax from 5.18 on)
    if (k.narrate)
      k.note(`percpu_ref_kill${perPage ? '; put_page of every device page' : bulk ? `; percpu_ref_put_many(${k.devFrames})` : ''}: the pgmap's reference is ${k.s[pgmapRef(k)]}`);
    return WAIT;
  });
  b.define(
    WAIT,
    'memunmap_pages: wait_for_completion(&pgmap->done); the driver frees the pgmap',
    `mm/memremap.c:memunmap_pages (5.7-6.15); ${generic ? 'drivers/dax/device.c' : 'lib/test_hmm.c'}`,
    (k, t) => {
      if (k.s[pgmapRef(k)]! > 0) {
        if (k.narrate) k.note(`the pgmap's reference is ${k.s[pgmapRef(k)]}: wait_for_completion sleeps`);
        sleep_on(k, t, waitKey(WAITQ_PGMAP, 0));
        return SLEEP;
      }
      const inUse: number[] = [];
      for (let d = 1; d <= k.devFrames; d++) {
        const pfn = k.frames + d;
        if (generic ? k.pageRef(pfn) > (perPage ? 0 : 1) : !k.pageTest(pfn, PG_DEVFREE)) inUse.push(pfn);
      }
      k.s[pgmapState(k)] = (k.s[pgmapState(k)]! & ~3) | PGMAP_FREED;
      if (k.narrate)
        k.note(
          `memunmap_pages returns${generic ? ' (pageunmap_range: the struct pages go)' : ''}; the driver frees the pgmap${inUse.length ? `, while pfn ${inUse.join(', ')} ${inUse.length === 1 ? 'is' : 'are'} still in use` : ''}`,
        );
      return DONE;
    },
  );
}

/** The driver's migration of a process's anon page to its device (lib/test_hmm.c:dmirror_migrate_to_device, 5.7-6.2), under mmap_lock for read. */
export function buildMigrateToDevice(b: ProgramBuilder, m: number, a: number): void {
  b.step(
    'dmirror_migrate_to_device: migrate_vma_setup, migrate_vma_pages, migrate_vma_finalize',
    'lib/test_hmm.c:dmirror_migrate_to_device -> mm/migrate_device.c (5.7-6.2)',
    (k, t) => {
      if (!mmap_read_lock(k, t, m)) return SLEEP;
      const why = migrate_anon_to_device(k, m, a);
      mmap_read_unlock(k, t, m);
      if (why) {
        if (k.narrate) k.note(`${why}: the ioctl returns without migrating`);
        return FAILED;
      }
      return DONE;
    },
  );
}
