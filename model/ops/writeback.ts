/**
 * Writeback of a disk file's pages, as ext4 does it (the 63f3655f9501
 * changelog, Liu Bo's trace): for each page in turn, lock_page, clear its
 * dirty bit for I/O, set PG_writeback, add it to the bio and unlock it
 * (mpage_prepare_extent_to_map -> mpage_submit_page -> ext4_bio_write_page);
 * the bio is submitted after the last page, and its completion ends the
 * writeback of every page in it (end_page_writeback wakes the waiters). So
 * a page's writeback is in flight while the next page's lock is taken.
 */
import { DONE, SLEEP } from '../kernel.js';
import { F_WB_OWNER, PG_DIRTY, PG_FLAGS, PG_WRITEBACK } from '../layout.js';
import type { ProgramBuilder } from '../program.js';
import { int, threadLocals } from '../thread-locals.js';
import { end_page_writeback, i_mmap_lock_read, i_mmap_unlock_read, lock_page, unlock_page } from '../kernel/locking.js';
import { PTE_DIRTY, PTE_PRESENT, PTE_WRITE, pteKind, pteTarget } from '../pte.js';
import { mappingsOf } from './truncate.js';

const ptePresentKind = (e: number): boolean => pteKind(e) === PTE_PRESENT;

/** The pages of this writeback with PG_writeback set (a bit per position in `indices`). */
const WB = threadLocals('ext4_writepages', { inBio: int('aux') });

export function buildWriteback(b: ProgramBuilder, f: number, indices: readonly number[]): void {
  // MUTANT writeback-no-mkclean: clear_page_dirty_for_io without page_mkclean (mapped PTEs stay writable and dirty).
  const mkclean = !b.ctx.mutants.has('writeback-no-mkclean');
  const locks = indices.map(() => b.reserve());
  const writes = indices.map(() => b.reserve());
  const SUBMIT = b.reserve();
  indices.forEach((index, j) => {
    const next = j + 1 < indices.length ? locks[j + 1]! : SUBMIT;
    b.define(locks[j]!, `mpage_prepare_extent_to_map: lock_page (page ${index})`, 'fs/ext4/inode.c:mpage_prepare_extent_to_map (4.4-6.2)', (k, t) => {
      const pfn = k.cachePage(f, index);
      if (!pfn) {
        if (k.narrate) k.note(`page ${index} is not in the page cache: nothing to write`);
        return next;
      }
      if (!lock_page(k, t, pfn)) return SLEEP;
      return writes[j]!;
    });
    b.define(
      writes[j]!,
      `clear_page_dirty_for_io, set_page_writeback, unlock_page (page ${index})`,
      'fs/ext4/inode.c:mpage_submit_page -> mm/page-writeback.c:clear_page_dirty_for_io, fs/ext4/page-io.c:ext4_bio_write_page (4.4-6.2)',
      (k, t) => {
        const pfn = k.cachePage(f, index)!;
        // clear_page_dirty_for_io -> page_mkclean: a mapped page's PTEs are write-protected and cleaned, through the
        // file's rmap (rmap_walk_file: i_mmap_rwsem for read, taken with the page locked), so the next store faults.
        let cleaned = 0;
        if (mkclean && k.pageMapcount(pfn) > 0) {
          if (!i_mmap_lock_read(k, t, f)) return SLEEP;
          for (const { mm, vma } of mappingsOf(k, f)) {
            const x = k.world.vmaStart[vma]! + index - k.world.vmaPgoff[vma]!;
            if (k.world.vmaOfAddr[x] !== vma || !k.vmaPresent(mm, x)) continue;
            const e = k.pte(mm, x);
            if (!ptePresentKind(e) || pteTarget(e) !== pfn || !(e & (PTE_WRITE | PTE_DIRTY))) continue;
            k.setPte(mm, x, e & ~(PTE_WRITE | PTE_DIRTY)); // page_mkclean_one: pte_wrprotect, pte_mkclean (under the PT lock)
            cleaned++;
          }
          i_mmap_unlock_read(k, t, f);
        }
        k.setPageWord(pfn, PG_FLAGS, (k.pageFlags(pfn) & ~PG_DIRTY) | PG_WRITEBACK);
        k.setFileWord(f, F_WB_OWNER, t + 1);
        WB.inBio.set(k, t, WB.inBio.get(k, t) | (1 << j));
        unlock_page(k, pfn);
        if (k.narrate)
          k.note(
            `pfn ${pfn}: clear_page_dirty_for_io${cleaned ? ` (page_mkclean write-protected ${cleaned} PTE${cleaned > 1 ? 's' : ''} under i_mmap_rwsem)` : ''}, set_page_writeback, added to the bio, unlock_page (the bio is not submitted yet)`,
          );
        return next;
      },
    );
  });
  b.define(SUBMIT, 'ext4_io_submit: bio completes, end_page_writeback', 'fs/ext4/page-io.c:ext4_io_submit -> ext4_end_bio -> end_page_writeback (4.4-6.2)', (k, t) => {
    const inBio = WB.inBio.get(k, t);
    indices.forEach((index, j) => {
      if (!(inBio & (1 << j))) return;
      const pfn = k.cachePage(f, index);
      if (pfn) end_page_writeback(k, pfn, f);
    });
    k.setFileWord(f, F_WB_OWNER, 0);
    if (k.narrate) k.note(inBio ? 'the bio is submitted and completes: end_page_writeback on each of its pages wakes their waiters' : 'nothing was written');
    return DONE;
  });
}
