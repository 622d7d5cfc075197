/**
 * madvise(MADV_DONTFORK) and madvise(MADV_DOFORK) of a range (cow.c's
 * THP_RUN_PARTIAL_SHARED): under mmap_lock for write, madvise_update_vma
 * sets or clears VM_DONTCOPY, splitting the VMA at the range's ends
 * (split_vma -> vma_adjust_trans_huge, which splits a huge pmd the new
 * boundary falls inside: __split_huge_pmd) or merging it back (vma_merge:
 * the pmd stays split). dup_mmap then skips the VM_DONTCOPY part.
 *
 * The model's VMA is one object: VM_DONTCOPY is kept per page in its word
 * (layout.ts VMA_DONTCOPY_SHIFT), and the child of a fork gets the whole VMA
 * with the skipped pages unmapped, where the kernel's child has no VMA there
 * (an access would fault in a new page instead of SIGSEGV; cow.c's child
 * only exits). Read in mm/madvise.c and kernel/fork.c:dup_mmap of 4.20, 5.9.1
 * and 6.2.
 */
import { DONE, FAILED, SLEEP } from '../kernel.js';
import { mmap_write_lock, mmap_write_unlock } from '../kernel/locking.js';
import { VMA_DONTCOPY_SHIFT, VMA_PRESENT } from '../layout.js';
import type { ProgramBuilder } from '../program.js';
import { pmdIsMigration } from '../objects.js';

export function buildMadviseDontfork(b: ProgramBuilder, m: number, a: number, pages: number, dontfork: boolean): void {
  const advice = dontfork ? 'MADV_DONTFORK' : 'MADV_DOFORK';
  b.step(`madvise(${advice})`, 'mm/madvise.c:madvise_behavior -> madvise_update_vma -> split_vma / vma_merge, mm/huge_memory.c:vma_adjust_trans_huge (4.6-6.2)', (k, t) => {
    if (!mmap_write_lock(k, t, m)) return SLEEP;
    const v = k.world.vmaOfAddr[a]!;
    const o = k.L.vma(m, v);
    if (!(k.s[o]! & VMA_PRESENT)) {
      mmap_write_unlock(k, m);
      if (k.narrate) k.note('no VMA: -ENOMEM');
      return FAILED;
    }
    const start = k.world.vmaStart[v]!;
    const whole = a === start && pages === k.world.vmaPages[v]!;
    let mask = 0;
    for (let x = a; x < a + pages; x++) mask |= 1 << (VMA_DONTCOPY_SHIFT + x - start);
    const next = dontfork ? k.s[o]! | mask : k.s[o]! & ~mask;
    if (next === k.s[o]) {
      // madvise_update_vma: new_flags == vma->vm_flags: nothing to split or set.
      mmap_write_unlock(k, m);
      if (k.narrate) k.note(`VM_DONTCOPY already ${dontfork ? 'set' : 'clear'} there: nothing to do`);
      return DONE;
    }
    // split_vma at a boundary inside a huge pmd (or PMD migration entry) splits it (vma_adjust_trans_huge); a merge leaves it split.
    if (!whole && k.hugePmds > 0 && (k.hugePmd(m) || pmdIsMigration(k.pmdWord(m)))) k.fn.split_huge_pmd(k, t, m);
    k.s[o] = next;
    mmap_write_unlock(k, m);
    if (k.narrate) k.note(`${k.addrName(m, a)}${pages > 1 ? `-${a + pages - 1}` : ''}: VM_DONTCOPY ${dontfork ? 'set' : 'cleared'}`);
    return DONE;
  });
}
