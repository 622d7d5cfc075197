/**
 * mprotect(PROT_READ) / mprotect(PROT_READ|PROT_WRITE) of a whole private VMA:
 * mprotect_fixup() under mmap_lock held for write, change_pte_range() under
 * the PT lock. pte_modify() takes the protection from the VMA's
 * vm_page_prot, which for a private mapping never allows writes (COW), so
 * every present PTE ends up R/O; from 6.0 (64fe24a3e05e) a dirty exclusive
 * anon PTE is made writable again at once, from 6.2 a clean one too.
 */
import { BLOCKED, DONE, FAILED, type Kernel } from '../kernel.js';
import { PG_ANON, PG_ANON_EXCLUSIVE, VMA_PRESENT, VMA_WRITE } from '../layout.js';
import type { ProgramBuilder } from '../program.js';
import { mapsNormalPage, PTE_DIRTY, PTE_PRESENT, PTE_WRITE, pteKind, pteTarget } from '../pte.js';

/** can_change_pte_writable() for a private mapping (6.1: needs pte_dirty; 6.2: not for anon). */
function canChangePteWritable(k: Kernel, pte: number): boolean {
  if (!k.has('mprotect-exclusive-write')) return false;
  if (!mapsNormalPage(pte)) return false;
  if (!(pte & PTE_DIRTY) && !k.has('mprotect-clean-anon-write')) return false;
  const pfn = pteTarget(pte);
  return k.pageTest(pfn, PG_ANON) && k.pageTest(pfn, PG_ANON_EXCLUSIVE);
}

export function buildMprotect(b: ProgramBuilder, m: number, vma: number, addrs: readonly number[], write: boolean): void {
  b.step('mprotect_fixup', 'mm/mprotect.c:mprotect_fixup -> change_pte_range (5.7-6.2)', (k) => {
    const o = k.L.vma(m, vma);
    if (!(k.s[o]! & VMA_PRESENT)) {
      if (k.narrate) k.note('no VMA: -ENOMEM');
      return FAILED;
    }
    if (!k.mmapWriteTrylock(m)) return BLOCKED;
    if (((k.s[o]! & VMA_WRITE) !== 0) === write) {
      k.mmapWriteUnlock(m);
      if (k.narrate) k.note('newflags == oldflags: nothing to do');
      return DONE;
    }
    k.s[o] = write ? k.s[o]! | VMA_WRITE : k.s[o]! & ~VMA_WRITE;
    for (const a of addrs) {
      const e = k.pte(m, a);
      if (pteKind(e) !== PTE_PRESENT) continue;
      let n = e & ~PTE_WRITE;
      if (write && canChangePteWritable(k, n)) {
        n |= PTE_WRITE;
        if (k.narrate) k.note(`${k.addrName(m, a)}: exclusive anon page: can_change_pte_writable, PTE made writable`);
      }
      k.setPte(m, a, n);
    }
    k.mmapWriteUnlock(m);
    return DONE;
  });
}
