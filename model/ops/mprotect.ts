/**
 * mprotect(PROT_READ) / mprotect(PROT_READ|PROT_WRITE) of a whole private VMA:
 * mprotect_fixup() under mmap_lock held for write, change_pte_range() under
 * the PT lock. pte_modify() takes the protection from the VMA's
 * vm_page_prot, which for a private mapping never allows writes (COW), so
 * every present PTE ends up R/O; from 6.0 (64fe24a3e05e) a dirty exclusive
 * anon PTE is made writable again at once, from 6.2 a clean one too.
 */
import { DONE, FAILED, SLEEP } from '../kernel.js';
import { VMA_PRESENT, VMA_WRITE } from '../layout.js';
import type { ProgramBuilder } from '../program.js';
import { PTE_PRESENT, PTE_WRITE, pteKind } from '../pte.js';
import { mmap_write_lock, mmap_write_unlock } from '../kernel/locking.js';
import { pmdHugePfn, pmdWithRo } from '../objects.js';

export function buildMprotect(b: ProgramBuilder, m: number, vma: number, addrs: readonly number[], write: boolean): void {
  b.step('mprotect_fixup', 'mm/mprotect.c:mprotect_fixup -> change_pte_range, mm/huge_memory.c:change_huge_pmd (5.7-6.2)', (k, t) => {
    // do_mprotect_pkey: mmap_write_lock_killable first, then find_vma.
    if (!mmap_write_lock(k, t, m)) return SLEEP;
    const o = k.L.vma(m, vma);
    if (!(k.s[o]! & VMA_PRESENT)) {
      mmap_write_unlock(k, m);
      if (k.narrate) k.note('no VMA: -ENOMEM');
      return FAILED;
    }
    if (((k.s[o]! & VMA_WRITE) !== 0) === write) {
      mmap_write_unlock(k, m);
      if (k.narrate) k.note('newflags == oldflags: nothing to do');
      return DONE;
    }
    k.s[o] = write ? k.s[o]! | VMA_WRITE : k.s[o]! & ~VMA_WRITE;
    if (k.hugePmds > 0 && k.hugePmd(m)) {
      // change_huge_pmd (the THP VMA is the process's only VMA): pmd_modify write-protects; 6.2 may make an exclusive THP writable.
      const w = k.s[k.L.pmd(m)]!;
      const writable = write && k.fn.can_change_pmd_writable(k, pmdHugePfn(w));
      k.s[k.L.pmd(m)] = pmdWithRo(w, !writable);
      if (k.narrate) k.note(`change_huge_pmd: the huge pmd ${writable ? 'made writable (can_change_pmd_writable: an exclusive anon THP)' : 'R/O'}`);
    }
    for (const a of addrs) {
      const e = k.pte(m, a);
      if (pteKind(e) !== PTE_PRESENT) continue;
      let n = e & ~PTE_WRITE;
      if (write && k.fn.can_change_pte_writable(k, n)) {
        n |= PTE_WRITE;
        if (k.narrate) k.note(`${k.addrName(m, a)}: exclusive anon page: can_change_pte_writable, PTE made writable`);
      }
      k.setPte(m, a, n);
    }
    mmap_write_unlock(k, m);
    return DONE;
  });
}

/**
 * cow.c's THP_RUN_PTE: mprotect(PROT_READ) of one page of a THP VMA, then
 * mprotect(PROT_READ|PROT_WRITE) of it, under mmap_lock for write. The
 * first splits the VMA, and vma_adjust_trans_huge -> split_huge_pmd_address
 * splits the huge pmd (__split_huge_pmd: the THP is now mapped by PTEs);
 * change_pte_range makes the page's PTE R/O; the second merges the VMAs
 * back and gives the PTE the VMA's protection (writable again only where
 * can_change_pte_writable allows, 6.0 on). The model's VMA is one object, so
 * the two calls are one step: in cow.c they are setup that nothing runs
 * beside. Read in mm/mprotect.c and mm/huge_memory.c:vma_adjust_trans_huge
 * of 4.6.2, 5.9.1 and 6.2.
 */
export function buildMprotectSubpage(b: ProgramBuilder, m: number, a: number): void {
  b.step(
    'mprotect_fixup (one page, R/O and back)',
    'mm/mprotect.c:mprotect_fixup -> mm/huge_memory.c:vma_adjust_trans_huge -> __split_huge_pmd; change_pte_range (4.6-6.2)',
    (k, t) => {
      if (!mmap_write_lock(k, t, m)) return SLEEP;
      if (!(k.vmaAt(m, a) & VMA_PRESENT)) {
        mmap_write_unlock(k, m);
        if (k.narrate) k.note('no VMA: -ENOMEM');
        return FAILED;
      }
      if (k.hugePmds > 0 && k.hugePmd(m)) k.fn.split_huge_pmd(k, t, m);
      const e = k.pte(m, a);
      if (pteKind(e) === PTE_PRESENT) {
        let n = e & ~PTE_WRITE;
        const writable = (k.vmaAt(m, a) & VMA_WRITE) !== 0 && k.fn.can_change_pte_writable(k, n);
        if (writable) n |= PTE_WRITE;
        k.setPte(m, a, n);
        if (k.narrate)
          k.note(
            `${k.addrName(m, a)}: PTE R/O, then ${writable ? 'writable again (can_change_pte_writable: an exclusive anon page)' : 'left R/O (a private mapping: the next write faults)'}`,
          );
      }
      mmap_write_unlock(k, m);
      return DONE;
    },
  );
}
