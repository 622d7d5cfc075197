/**
 * A user-space load or store to one page: the MMU walks the page table
 * (lockless, in hardware); a store to a writable PTE just happens, anything
 * else raises a page fault that takes mmap_lock for read and runs the fault
 * handler, after which the access is retried.
 */
import { DONE, FAILED, SLEEP } from '../kernel.js';
import { PG_DATA, TH_ORIG, VMA_WRITE } from '../layout.js';
import type { ProgramBuilder } from '../program.js';
import { pmdHugePfn, pmdHugeRo, pmdIsHuge } from '../objects.js';
import { formatPte as describePte, isPresent, isWritable, PTE_DEVMAP, PTE_DIRTY, PTE_WRITE, pteKind, pteTarget, ZERO_PFN } from '../pte.js';
import { buildFault, FAULT_FLAG_WRITE, FAULT_LOCALS, type FaultSite, VM_FAULT_ERROR } from './fault.js';
import { mmap_read_lock, mmap_read_unlock } from '../kernel/locking.js';

export function buildAccess(b: ProgramBuilder, m: number, a: number, write: boolean, value: number, fileVma = false, huge: FaultSite = { thp: false, fails: false }): void {
  const ACCESS = b.reserve();
  const fault = buildFault(
    b,
    m,
    a,
    (k, t) => {
      mmap_read_unlock(k, t, m);
      if (FAULT_LOCALS.flags.get(k, t) & VM_FAULT_ERROR) {
        if (k.narrate) k.note('the fault failed (SIGBUS or VM_FAULT_OOM): the access does not complete');
        return FAILED;
      }
      return ACCESS;
    },
    fileVma,
    huge,
  );
  const where = 'arch/x86/mm/fault.c:__do_page_fault / do_user_addr_fault -> handle_mm_fault (4.4-6.2)';
  b.define(ACCESS, write ? `store ${value}` : 'load', where, (k, t) => {
    const vma = k.vmaAt(m, a);
    if (vma === 0) {
      if (k.narrate) k.note('no VMA: SIGSEGV');
      return FAILED;
    }
    if (write && !(vma & VMA_WRITE)) {
      if (k.narrate) k.note('VMA not writable (access_error): SIGSEGV');
      return FAILED;
    }
    if (huge.thp) {
      // The MMU walks a huge pmd straight to the THP (writable when the VMA is and fork has not write-protected it).
      const pmd = k.s[k.L.pmd(m)]!;
      const folio = pmdHugePfn(pmd);
      if (pmdIsHuge(pmd) && write && pmdHugeRo(pmd)) {
        // A store to a R/O huge pmd: a write fault (__handle_mm_fault -> wp_huge_pmd).
        if (!mmap_read_lock(k, t, m)) return SLEEP;
        k.setThreadWord(t, TH_ORIG, k.pte(m, a));
        FAULT_LOCALS.flags.set(k, t, FAULT_FLAG_WRITE);
        if (k.narrate) k.note('#PF (write) on a R/O huge pmd: mmap_read_lock');
        return fault.enter(k, t);
      }
      // The subpage of the address (the pmd's page plus the offset).
      const page = folio ? pteTarget(k.mapped(m, a)) : 0;
      const where = page === folio ? `the THP pfn ${folio}` : `pfn ${page} of the THP pfn ${folio}`;
      if (folio && write) {
        k.setPageWord(page, PG_DATA, value);
        if (k.narrate) k.note(`store ${value} into ${where} through the huge pmd`);
        return DONE;
      }
      if (pmdIsHuge(pmd)) {
        if (k.narrate) k.note(folio ? `load ${k.pageWord(page, PG_DATA)} from ${where} through the huge pmd` : 'load 0 from the huge zero page');
        return DONE;
      }
    }
    const pte = k.pte(m, a);
    if (pteKind(pte) === PTE_DEVMAP) {
      // A DAX mapping (up to 6.14): present to the MMU, the persistent memory itself; a store needs a writable one.
      if (write && pte & PTE_WRITE) {
        k.setPageWord(pteTarget(pte), PG_DATA, value);
        if (k.narrate) k.note(`store ${value} into device pfn ${pteTarget(pte)} through a DAX mapping`);
        return DONE;
      }
      if (!write) {
        if (k.narrate) k.note(`load ${k.pageWord(pteTarget(pte), PG_DATA)} from device pfn ${pteTarget(pte)} through a DAX mapping`);
        return DONE;
      }
    }
    if (write && isWritable(pte)) {
      k.setPageWord(pteTarget(pte), PG_DATA, value);
      k.setPte(m, a, pte | PTE_DIRTY);
      if (k.narrate) k.note(`store ${value} into pfn ${pteTarget(pte)} through a writable PTE`);
      return DONE;
    }
    if (!write && isPresent(pte)) {
      const pfn = pteTarget(pte);
      if (k.narrate) k.note(`load ${pfn === ZERO_PFN ? 0 : k.pageWord(pfn, PG_DATA)} from ${pfn === ZERO_PFN ? 'the zeropage' : `pfn ${pfn}`}`);
      return DONE;
    }
    if (!mmap_read_lock(k, t, m)) return SLEEP;
    k.setThreadWord(t, TH_ORIG, pte);
    FAULT_LOCALS.flags.set(k, t, write ? FAULT_FLAG_WRITE : 0);
    if (k.narrate) k.note(`#PF (${write ? 'write' : 'read'}): mmap_read_lock, orig_pte = ${describePte(pte)}`);
    return fault.enter(k, t);
  });
}
