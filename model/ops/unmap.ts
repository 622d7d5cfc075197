/**
 * munmap() of a VMA and madvise(MADV_DONTNEED) of a range: both zap the
 * page table with zap_details == NULL, so every entry goes, with its rss.
 * munmap takes mmap_lock for write and removes the VMA; MADV_DONTNEED takes
 * it for read and keeps the VMA (the next access faults in a fresh page).
 */
import { DONE, FAILED, type Kernel, SLEEP } from '../kernel.js';
import { zap_huge_pmd } from '../kernel/huge_memory.js';
import { pmdIsMigration } from '../objects.js';
import { VMA_ANON_VMA, VMA_PRESENT } from '../layout.js';
import type { ProgramBuilder } from '../program.js';
import { free_pgtables } from '../kernel/pgalloc.js';
import {
  anon_vma_lock_write,
  anon_vma_unlock_write,
  i_mmap_lock_write,
  i_mmap_unlock_write,
  mmap_read_lock,
  mmap_read_unlock,
  mmap_write_lock,
  mmap_write_unlock,
} from '../kernel/locking.js';

export function buildMadviseDontneed(b: ProgramBuilder, m: number, a: number, pages = 1): void {
  b.step('madvise_dontneed_single_vma', 'mm/madvise.c:madvise_dontneed_single_vma -> mm/memory.c:zap_pmd_range, zap_pte_range (4.4-6.2)', (k, t) => {
    // do_madvise: mmap_read_lock first, then find_vma.
    if (!mmap_read_lock(k, t, m)) return SLEEP;
    if (!k.vmaPresent(m, a)) {
      mmap_read_unlock(k, t, m);
      if (k.narrate) k.note('no VMA: -ENOMEM');
      return FAILED;
    }
    // zap_pmd_range: a huge pmd the range covers whole goes whole (zap_huge_pmd, under mmap_lock for read); one it covers
    // in part is split first (next - addr != HPAGE_PMD_SIZE: __split_huge_pmd), then its PTEs are zapped.
    if (k.world.thpPages > 0 && (k.hugePmd(m) || pmdIsMigration(k.pmdWord(m))) && (a !== thpStart(k) || pages !== k.world.thpPages)) {
      if (k.narrate) k.note(`zap_pmd_range: ${pages} of the ${k.world.thpPages} pages under the pmd: __split_huge_pmd, then zap_pte_range`);
      k.fn.split_huge_pmd(k, t, m);
    }
    if (!zap_huge_pmd_of(k, m)) {
      for (let x = a; x < a + pages; x++) {
        k.fn.zap_pte(k, m, x);
        k.detachGup(m, x);
      }
    }
    mmap_read_unlock(k, t, m);
    return DONE;
  });
}

/** The first address of the THP VMA (the only VMA of a THP scenario: scenario validation). */
const thpStart = (k: Kernel): number => k.world.vmaStart[0]!;

/** zap_huge_pmd when the process's pmd is huge (scenarios with THP); false otherwise. */
function zap_huge_pmd_of(k: Kernel, m: number): boolean {
  return k.world.thpPages > 0 && zap_huge_pmd(k, m);
}

/**
 * munmap: mmap_write_lock, then (__do_munmap) the VMA is found, its page
 * table zapped (unmap_region) and it is unlinked: from its anon_vma
 * (unlink_anon_vmas, the root's rwsem for write) and, for a file VMA, from
 * the file's i_mmap tree (free_pgtables -> unlink_file_vma, i_mmap_rwsem
 * for write: a step of its own, since it may sleep with mmap_lock held).
 */
export function buildMunmap(b: ProgramBuilder, m: number, vma: number, addrs: readonly number[], file: number): void {
  const UNLINK = file >= 0 ? b.reserve() : -1;
  b.step('__do_munmap', 'mm/mmap.c:__do_munmap -> unmap_region -> zap_pte_range (5.7-6.2)', (k, t) => {
    if (!mmap_write_lock(k, t, m)) return SLEEP;
    const o = k.L.vma(m, vma);
    if (!(k.s[o]! & VMA_PRESENT)) {
      mmap_write_unlock(k, m);
      if (k.narrate) k.note('nothing mapped there');
      return DONE;
    }
    if (!zap_huge_pmd_of(k, m))
      for (const a of addrs) {
        k.fn.zap_pte(k, m, a);
        k.detachGup(m, a);
      }
    if (k.s[o]! & VMA_ANON_VMA) {
      anon_vma_lock_write(k, t, vma); // unlink_anon_vmas: nobody holds it across steps, so this never waits
      anon_vma_unlock_write(k, vma);
    }
    k.s[o] = 0;
    // free_pgtables: the range's PTE table goes when no VMA is left in it (one range per process in the model).
    let left = false;
    for (let v = 0; v < k.L.shape.vmas; v++) if (k.s[k.L.vma(m, v)]! & VMA_PRESENT) left = true;
    if (!left) free_pgtables(k, m, t);
    if (UNLINK >= 0) return UNLINK;
    mmap_write_unlock(k, m);
    return DONE;
  });
  if (UNLINK >= 0) {
    b.define(UNLINK, 'unlink_file_vma', 'mm/mmap.c:free_pgtables -> unlink_file_vma (5.7-6.2)', (k, t) => {
      if (!i_mmap_lock_write(k, t, file)) return SLEEP;
      i_mmap_unlock_write(k, file);
      mmap_write_unlock(k, m);
      if (k.narrate) k.note(`the VMA leaves ${k.world.fileNames[file]}'s i_mmap tree (i_mmap_rwsem for write); mmap_write_unlock`);
      return DONE;
    });
  }
}
