/**
 * munmap() of a VMA and madvise(MADV_DONTNEED) of one page: both zap the
 * page table with zap_details == NULL, so every entry goes, with its rss.
 * munmap takes mmap_lock for write and removes the VMA; MADV_DONTNEED takes
 * it for read and keeps the VMA (the next access faults in a fresh page).
 */
import { DONE, FAILED, SLEEP } from '../kernel.js';
import { VMA_PRESENT } from '../layout.js';
import type { ProgramBuilder } from '../program.js';
import { mmap_read_lock, mmap_read_unlock, mmap_write_lock, mmap_write_unlock } from '../kernel/locking.js';

export function buildMadviseDontneed(b: ProgramBuilder, m: number, a: number): void {
  b.step('madvise_dontneed_single_vma', 'mm/madvise.c:madvise_dontneed_single_vma -> mm/memory.c:zap_pte_range (5.7-6.2)', (k, t) => {
    if (!k.vmaPresent(m, a)) {
      if (k.narrate) k.note('no VMA: -ENOMEM');
      return FAILED;
    }
    if (!mmap_read_lock(k, t, m)) return SLEEP;
    k.fn.zap_pte(k, m, a);
    k.detachGup(m, a);
    mmap_read_unlock(k, t, m);
    return DONE;
  });
}

export function buildMunmap(b: ProgramBuilder, m: number, vma: number, addrs: readonly number[]): void {
  b.step('__do_munmap', 'mm/mmap.c:__do_munmap -> unmap_region -> zap_pte_range (5.7-6.2)', (k, t) => {
    const o = k.L.vma(m, vma);
    if (!(k.s[o]! & VMA_PRESENT)) {
      if (k.narrate) k.note('nothing mapped there');
      return DONE;
    }
    if (!mmap_write_lock(k, t, m)) return SLEEP;
    for (const a of addrs) {
      k.fn.zap_pte(k, m, a);
      k.detachGup(m, a);
    }
    k.s[o] = 0;
    mmap_write_unlock(k, m);
    return DONE;
  });
}
