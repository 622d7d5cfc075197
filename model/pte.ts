/**
 * Page-table entries packed in one 32-bit word, after the kernel's pte_t:
 *   bits 0-2   kind: none | present | swap | migration | devmap
 *   bits 3-10  pfn (present, migration) or swap slot (swap)
 *   bit 11     write            (pte_write)
 *   bit 12     dirty            (pte_dirty)
 *   bit 13     special          (pte_special: the shared zeropage, vm_normal_page() == NULL)
 *   bit 14     swp exclusive    (pte_swp_exclusive, 5.19 1493a1913e34)
 *   bits 15-16 migration kind   (readable | readable_exclusive | writable)
 */

import type { WordType } from './schema.js';

export const PTE_NONE = 0;
export const PTE_PRESENT = 1;
export const PTE_SWAP = 2;
export const PTE_MIGRATION = 3;
/**
 * A DAX mapping of an FS_DAX device page up to 6.14 (insert_pfn with
 * pfn_t_devmap: pte_mkdevmap, special): present to the MMU, but
 * vm_normal_page() is NULL, so it holds no reference, mapcount or rss. Its
 * pfn names a device frame. (Kind 5: kind & 1 marks the kinds that name a
 * frame, present, migration and devmap.)
 */
export const PTE_DEVMAP = 5;
/**
 * A device-private entry (a swap entry, make_{readable,writable}_device_private_entry):
 * not present to the MMU; it holds a reference and a mapcount on the device page,
 * and the page counts in the rss as the anon page it replaced. Kind 7 (& 1: names a frame).
 */
export const PTE_DEVPRIV = 7;

export const PTE_WRITE = 1 << 11;
export const PTE_DIRTY = 1 << 12;
export const PTE_SPECIAL = 1 << 13;
export const PTE_SWP_EXCLUSIVE = 1 << 14;

export const MIGRATION_READ = 0;
export const MIGRATION_READ_EXCLUSIVE = 1;
export const MIGRATION_WRITE = 2;

/** The shared zeropage's pfn: never allocated, never refcounted. */
export const ZERO_PFN = 0;

export function pteKind(pte: number): number {
  return pte & 7;
}

/** pfn of a present or migration entry; slot of a swap entry. */
export function pteTarget(pte: number): number {
  return (pte >>> 3) & 0xff;
}

export function ptePresent(pfn: number, write: boolean, dirty: boolean): number {
  return PTE_PRESENT | (pfn << 3) | (write ? PTE_WRITE : 0) | (dirty ? PTE_DIRTY : 0);
}

/** The zeropage mapping installed by do_anonymous_page on a read fault. */
export function pteZero(): number {
  return PTE_PRESENT | (ZERO_PFN << 3) | PTE_SPECIAL;
}

export function pteSwap(slot: number, exclusive: boolean): number {
  return PTE_SWAP | (slot << 3) | (exclusive ? PTE_SWP_EXCLUSIVE : 0);
}

export function pteMigration(pfn: number, kind: number): number {
  return PTE_MIGRATION | (pfn << 3) | (kind << 15);
}

export function pteDevmap(pfn: number, write: boolean): number {
  return PTE_DEVMAP | (pfn << 3) | (write ? PTE_WRITE : 0);
}

export function pteDevPrivate(pfn: number, write: boolean): number {
  return PTE_DEVPRIV | (pfn << 3) | (write ? PTE_WRITE : 0);
}

export function pteMigrationKind(pte: number): number {
  return (pte >>> 15) & 3;
}

export function isPresent(pte: number): boolean {
  return (pte & 7) === PTE_PRESENT;
}

export function isWritable(pte: number): boolean {
  return (pte & 7) === PTE_PRESENT && (pte & PTE_WRITE) !== 0;
}

/** vm_normal_page() != NULL: a present entry that maps a refcounted page. */
export function mapsNormalPage(pte: number): boolean {
  return (pte & 7) === PTE_PRESENT && (pte & PTE_SPECIAL) === 0;
}

const MIGRATION_NAMES = ['read', 'read-exclusive', 'write'];

/** Readable form, e.g. "present(pfn 2, rw, dirty)" or "swap(slot 0, exclusive)". */
export function formatPte(pte: number): string {
  switch (pte & 7) {
    case PTE_NONE:
      return 'none';
    case PTE_PRESENT: {
      if (pte & PTE_SPECIAL) return 'present(zeropage, ro)';
      const flags = [(pte & PTE_WRITE) !== 0 ? 'rw' : 'ro'];
      if (pte & PTE_DIRTY) flags.push('dirty');
      return `present(pfn ${pteTarget(pte)}, ${flags.join(', ')})`;
    }
    case PTE_SWAP:
      return `swap(slot ${pteTarget(pte)}${pte & PTE_SWP_EXCLUSIVE ? ', exclusive' : ''})`;
    case PTE_MIGRATION:
      return `migration(pfn ${pteTarget(pte)}, ${MIGRATION_NAMES[pteMigrationKind(pte)]})`;
    case PTE_DEVMAP:
      return `devmap(pfn ${pteTarget(pte)}, ${pte & PTE_WRITE ? 'rw' : 'ro'})`;
    case PTE_DEVPRIV:
      return `device-private(pfn ${pteTarget(pte)}, ${pte & PTE_WRITE ? 'writable' : 'readable'})`;
    default:
      return `invalid(${pte})`;
  }
}

/** A PTE as a word type of the state schema: its target is a frame when present (not special), a migration or a devmap entry, a swap slot when a swap entry. */
export const PTE_WORD: WordType = {
  name: 'pte',
  fields: [
    { name: 'kind', shift: 0, bits: 3 },
    {
      name: 'pfn',
      shift: 3,
      bits: 8,
      ref: { to: 'frame', bias: 0 },
      // Present and not special (vm_normal_page() != NULL), a migration entry, or a devmap entry: kind & 1, without the special bit.
      when: { mask: 1 | PTE_SPECIAL, among: [1] },
    },
    { name: 'slot', shift: 3, bits: 8, ref: { to: 'slot', bias: 0 }, when: { mask: 7, among: [PTE_SWAP] } },
    { name: 'flags', shift: 11, bits: 6 },
  ],
};
