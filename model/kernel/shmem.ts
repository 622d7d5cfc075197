/**
 * mm/shmem.c: the huge page of a shmem file mounted huge=always (4.8 on,
 * 800d8c63b2e9 "shmem: add huge pages support").
 */
import type { Kernel } from '../kernel.js';
import { PG_DATA } from '../layout.js';
import { add_to_page_cache } from './filemap.js';
import { trylock_page } from './locking.js';
import { alloc_folio } from './page_alloc.js';

/**
 * shmem_getpage_gfp's alloc_huge (4.8-6.2): shmem_alloc_hugepage gives up
 * when any page of the huge-aligned range around `index` is in the page
 * cache (radix_tree_gang_lookup_slot; shmem_add_to_page_cache's
 * xas_find_conflict later), or there is no THP; the caller then takes a
 * small page (alloc_nohuge). Otherwise the zeroed THP (clear_huge_page)
 * goes into the page cache at the range's start, each subpage at its index
 * with a reference (page_ref_add(nr)), its head locked
 * (__SetPageLocked); the fault's reference is the allocation's. Returns
 * the subpage at index, or 0.
 */
export function shmem_alloc_hugepage(k: Kernel, t: number, f: number, index: number): number {
  const nr = k.world.thpPages;
  const hindex = index - (index % nr);
  for (let i = hindex; i < hindex + nr; i++) if (k.cachePage(f, i)) return 0;
  const folio = alloc_folio(k, nr);
  if (!folio) return 0;
  const pages = k.folioPages(folio);
  pages.forEach((p, i) => {
    k.setPageWord(p, PG_DATA, 0);
    add_to_page_cache(k, f, hindex + i, p);
  });
  trylock_page(k, t, folio);
  if (k.narrate) k.note(`page cache miss: shmem_alloc_hugepage: a zeroed THP pfn ${folio} of ${nr} page(s) added to the page cache at ${hindex}, locked`);
  return pages[index - hindex]!;
}
