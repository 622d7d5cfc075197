/**
 * Breaking the layouts of a file on a DAX filesystem (fs/dax.c and the
 * filesystems' break_layouts): before truncate, hole punching or a reflink
 * moves a file's blocks, ext4_break_layouts (xfs_break_dax_layouts,
 * __fuse_dax_break_layouts alike; dax_break_layout_inode from 6.15) unmaps
 * the file's DAX mappings and waits until no page of it is busy: a page
 * that a GUP reference (a DMA) still holds must not go back to the
 * filesystem. Read in 5.7.14, 5.17-rc5, 5.18.12, 6.1.15, 6.14 and 6.15.4
 * (docs/source-reading/zone-device.md section 2).
 *
 * Steps:
 *   1. dax_layout_busy_page(_range): unmap_mapping_range of the whole
 *      file, then the first page whose _refcount says busy
 *      (dax_busy_page: _refcount > 1 up to 6.14; _refcount - mapcount != 0
 *      in 6.15); none: the caller goes on (the operation is done). The scan
 *      takes no reference on the page it returns.
 *   2. ___wait_var_event(&page->_refcount, _refcount == 1) (wait_page_idle:
 *      on the page, _refcount == 0, in 6.15): registered on the key, the
 *      condition tested, then the cmd: filemap_invalidate_unlock,
 *      schedule(); woken, it takes the invalidate lock again and tests
 *      again; idle: back to step 1.
 * The invalidate lock (ext4's i_mmap_sem up to 5.14) is held for write from
 * step 1 to the sleep, so no DAX fault maps the file in between; the
 * filesystem's i_rwsem, which no other operation here takes, is left out.
 */
import { DONE, type Kernel, SLEEP } from '../kernel.js';
import { filemap_invalidate_held, filemap_invalidate_lock, filemap_invalidate_unlock, sleep_on } from '../kernel/locking.js';
import { MM_LIVE, PG_REF } from '../layout.js';
import { WAITQ_VAR, waitKey } from '../locks.js';
import type { ProgramBuilder } from '../program.js';
import { frame, threadLocals } from '../thread-locals.js';

const DAX_LOCALS = threadLocals('break_layouts', { page: frame('pfn') });

export function buildBreakLayouts(b: ProgramBuilder, f: number, size: number): void {
  const LOCK = b.reserve();
  const BUSY = b.reserve();
  const WAIT = b.reserve();
  const SCHEDULE = b.reserve();
  const zero = b.has('fsdax-refcount-zero');
  const where = zero
    ? 'fs/dax.c:dax_break_layout -> dax_layout_busy_page_range, dax_busy_page (6.15)'
    : 'fs/ext4/inode.c:ext4_break_layouts -> fs/dax.c:dax_layout_busy_page(_range) (5.7-6.14)';
  // The filesystem's truncate path holds the invalidate lock for write (ext4: i_mmap_sem up to 5.14, invalidate_lock from 5.15): no DAX fault maps the file meanwhile.
  b.define(LOCK, 'filemap_invalidate_lock', 'fs/ext4/inode.c:ext4_setattr / ext4_punch_hole -> filemap_invalidate_lock (5.7-6.15)', (k, t) =>
    filemap_invalidate_lock(k, t, f) ? BUSY : SLEEP,
  );
  const done = (k: Kernel, why: string): number => {
    filemap_invalidate_unlock(k, f);
    if (k.narrate) k.note(why);
    return DONE;
  };
  b.define(BUSY, 'dax_layout_busy_page', where, (k, t) => {
    // Up to 6.14: "if (!dax_mapping(mapping) || !mapping_mapped(mapping)) return NULL" (6.15 tests dax_mapping only).
    if (!zero && !mapped(k, f)) return done(k, '!mapping_mapped: no VMA maps the file: no busy page (a pin taken through a mapping since gone is not waited for)');
    // unmap_mapping_range(mapping, 0, 0, 0): every DAX mapping of the file goes (a devmap PTE holds nothing; 6.15's hold a reference).
    for (let m = 0; m < k.world.mmNames.length; m++)
      for (let a = 0; a < k.addrs; a++) {
        if (k.fileOf(a) !== f || !k.vmaPresent(m, a) || k.pte(m, a) === 0) continue;
        k.fn.zap_pte(k, m, a);
      }
    for (let i = 0; i < size; i++) {
      const pfn = k.cachePage(f, i);
      if (!pfn || !busy(k, pfn)) continue;
      DAX_LOCALS.page.set(k, t, pfn);
      if (k.narrate) k.note(`unmap_mapping_range; dax_busy_page: pfn ${pfn} has _refcount ${k.pageRef(pfn)}: busy (a GUP reference holds it)`);
      return WAIT;
    }
    return done(k, 'unmap_mapping_range; no page is busy: the layout may change');
  });
  b.define(
    WAIT,
    zero ? 'wait_page_idle: ___wait_var_event(page)' : '___wait_var_event(&page->_refcount)',
    zero ? 'fs/dax.c:dax_break_layout -> wait_page_idle (6.15)' : 'fs/ext4/inode.c:ext4_break_layouts -> ___wait_var_event (5.7-6.14)',
    (k, t) => {
      // Woken: schedule() returned inside the wait's cmd, which takes the invalidate lock again before the test.
      if (!filemap_invalidate_held(k, t, f)) return filemap_invalidate_lock(k, t, f) ? WAIT : SLEEP;
      const pfn = DAX_LOCALS.page.get(k, t);
      // prepare_to_wait_event, then the condition: the page idle by this release's count.
      if (idle(k, pfn)) {
        if (k.narrate) k.note(`pfn ${pfn}: _refcount ${k.world.fsdaxIdle}: idle; dax_layout_busy_page again`);
        return BUSY;
      }
      // The cmd (ext4_wait_dax_page): filemap_invalidate_unlock, then schedule() (the next step).
      filemap_invalidate_unlock(k, f);
      if (k.narrate) k.note(`pfn ${pfn}: _refcount ${k.pageRef(pfn)}, not ${k.world.fsdaxIdle}: filemap_invalidate_unlock`);
      return SCHEDULE;
    },
  );
  // The waiter was registered before the test (prepare_to_wait): a wake-up sent since finds it. A step cannot drop a lock
  // and sleep at once, so the test is repeated here before sleeping: a put that made the page idle in between is seen.
  b.define(SCHEDULE, 'schedule()', 'kernel/sched/wait_bit.c:___wait_var_event (5.7-6.15)', (k, t) => {
    const pfn = DAX_LOCALS.page.get(k, t);
    if (idle(k, pfn)) return WAIT;
    if (k.narrate) k.note(`sleeps until wake_up_var on pfn ${pfn}`);
    sleep_on(k, t, waitKey(WAITQ_VAR, pfn));
    return SLEEP;
  });
}

/** The break_layouts condition: the page at this release's idle count. */
function idle(k: Kernel, pfn: number): boolean {
  return k.pageWord(pfn, PG_REF) === k.world.fsdaxIdle;
}

/** mapping_mapped: some live process has a VMA of file f. */
function mapped(k: Kernel, f: number): boolean {
  for (let m = 0; m < k.world.mmNames.length; m++) {
    if (k.mmState(m) !== MM_LIVE) continue;
    for (let a = 0; a < k.addrs; a++) if (k.fileOf(a) === f && k.vmaPresent(m, a)) return true;
  }
  return false;
}

/** dax_busy_page: references beyond the idle count and the mappings (5.7-6.14: _refcount > 1; 6.15: _refcount - mapcount != 0). */
function busy(k: Kernel, pfn: number): boolean {
  return k.pageWord(pfn, PG_REF) - k.pageMapcount(pfn) > k.world.fsdaxIdle;
}
