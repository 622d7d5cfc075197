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
 *      condition tested, then schedule (the filesystem drops its
 *      invalidate lock meanwhile: not modelled, no fault runs here); when
 *      woken it tests again; idle: back to step 1.
 * The filesystem holds i_rwsem across: no other operation of the model
 * takes it with an fsdax file.
 */
import { DONE, type Kernel, SLEEP } from '../kernel.js';
import { sleep_on } from '../kernel/locking.js';
import { PG_REF } from '../layout.js';
import { WAITQ_VAR, waitKey } from '../locks.js';
import type { ProgramBuilder } from '../program.js';
import { frame, threadLocals } from '../thread-locals.js';

const DAX_LOCALS = threadLocals('break_layouts', { page: frame('pfn') });

export function buildBreakLayouts(b: ProgramBuilder, f: number, size: number): void {
  const BUSY = b.reserve();
  const WAIT = b.reserve();
  const zero = b.has('fsdax-refcount-zero');
  const where = zero
    ? 'fs/dax.c:dax_break_layout -> dax_layout_busy_page_range, dax_busy_page (6.15)'
    : 'fs/ext4/inode.c:ext4_break_layouts -> fs/dax.c:dax_layout_busy_page(_range) (5.7-6.14)';
  b.define(BUSY, 'dax_layout_busy_page', where, (k, t) => {
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
    if (k.narrate) k.note('unmap_mapping_range; no page is busy: the layout may change');
    return DONE;
  });
  b.define(
    WAIT,
    zero ? 'wait_page_idle: ___wait_var_event(page)' : '___wait_var_event(&page->_refcount)',
    zero ? 'fs/dax.c:dax_break_layout -> wait_page_idle (6.15)' : 'fs/ext4/inode.c:ext4_break_layouts -> ___wait_var_event (5.7-6.14)',
    (k, t) => {
      const pfn = DAX_LOCALS.page.get(k, t);
      // prepare_to_wait_event, then the condition: the page idle by this release's count.
      if (k.pageWord(pfn, PG_REF) === k.world.fsdaxIdle) {
        if (k.narrate) k.note(`pfn ${pfn}: _refcount ${k.world.fsdaxIdle}: idle; dax_layout_busy_page again`);
        return BUSY;
      }
      if (k.narrate) k.note(`pfn ${pfn}: _refcount ${k.pageRef(pfn)}, not ${k.world.fsdaxIdle}: schedule() until wake_up_var`);
      sleep_on(k, t, waitKey(WAITQ_VAR, pfn));
      return SLEEP;
    },
  );
}

/** dax_busy_page: references beyond the idle count and the mappings (5.7-6.14: _refcount > 1; 6.15: _refcount - mapcount != 0). */
function busy(k: Kernel, pfn: number): boolean {
  return k.pageWord(pfn, PG_REF) - k.pageMapcount(pfn) > k.world.fsdaxIdle;
}
