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
