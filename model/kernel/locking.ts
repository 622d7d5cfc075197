/**
 * kernel/locking and the page lock: mmap_lock and i_mmap_rwsem
 * (rw-semaphores), the PTE-table spinlock, and PG_locked.
 */
import type { Kernel } from '../kernel.js';
import { F_IMMAP, MM_LOCK, MM_PTL, PG_LOCKED } from '../layout.js';

// ---- mmap_lock: >= 0 readers, -1 a writer ----------------------------------
export function mmap_read_trylock(k: Kernel, m: number): boolean {
  const v = k.mmWord(m, MM_LOCK);
  if (v < 0) return false;
  k.setMmWord(m, MM_LOCK, v + 1);
  return true;
}
export function mmap_read_unlock(k: Kernel, m: number): void {
  k.setMmWord(m, MM_LOCK, k.mmWord(m, MM_LOCK) - 1);
}
export function mmap_write_trylock(k: Kernel, m: number): boolean {
  if (k.mmWord(m, MM_LOCK) !== 0) return false;
  k.setMmWord(m, MM_LOCK, -1);
  return true;
}
export function mmap_write_unlock(k: Kernel, m: number): void {
  k.setMmWord(m, MM_LOCK, 0);
}

// ---- i_mmap_rwsem: >= 0 readers, -1 a writer --------------------------------
export function i_mmap_trylock(k: Kernel, f: number, write: boolean): boolean {
  const v = k.fileWord(f, F_IMMAP);
  if (write ? v !== 0 : v < 0) return false;
  k.setFileWord(f, F_IMMAP, write ? -1 : v + 1);
  return true;
}
export function i_mmap_unlock(k: Kernel, f: number): void {
  const v = k.fileWord(f, F_IMMAP);
  k.setFileWord(f, F_IMMAP, v < 0 ? 0 : v - 1);
}

// ---- the PTE-table lock (pte_offset_map_lock) --------------------------------
/** Another thread holds mm m's PT lock across steps: a step that needs it waits (spin_lock). */
export function pte_lock_held_by_other(k: Kernel, m: number, t: number): boolean {
  const h = k.mmWord(m, MM_PTL);
  return h !== 0 && h !== t + 1;
}
export function pte_lock(k: Kernel, m: number, t: number): void {
  k.setMmWord(m, MM_PTL, t + 1);
}
export function pte_unlock(k: Kernel, m: number): void {
  k.setMmWord(m, MM_PTL, 0);
}

// ---- the page lock (PG_locked) --------------------------------------------------
export function page_locked(k: Kernel, pfn: number): boolean {
  return k.pageTest(pfn, PG_LOCKED);
}
/** trylock_page(). */
export function trylock_page(k: Kernel, pfn: number): boolean {
  if (k.pageTest(pfn, PG_LOCKED)) return false;
  k.setPageFlag(pfn, PG_LOCKED);
  return true;
}
/** unlock_page(). */
export function unlock_page(k: Kernel, pfn: number): void {
  k.clearPageFlag(pfn, PG_LOCKED);
}
