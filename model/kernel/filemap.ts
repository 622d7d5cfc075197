/**
 * mm/filemap.c (and shmem's page cache): adding a page to a file's page
 * cache and deleting it; the page cache holds one reference.
 */
import type { Kernel } from '../kernel.js';
import { PG_MAPPING, PG_SWAPBACKED, pageMappingWord } from '../layout.js';
import { get_page, put_page } from './page_alloc.js';

/** add_to_page_cache / shmem_add_to_page_cache. */
export function add_to_page_cache(k: Kernel, f: number, index: number, pfn: number): void {
  k.setCacheSlot(f, index, pfn);
  k.setPageWord(pfn, PG_MAPPING, pageMappingWord(f, index));
  if (k.world.fileShmem[f]) k.setPageFlag(pfn, PG_SWAPBACKED);
  get_page(k, pfn);
}

/** delete_from_page_cache / filemap_remove_folio: page->mapping = NULL, drop the cache's reference. */
export function delete_from_page_cache(k: Kernel, pfn: number): void {
  k.setCacheSlot(k.pageFile(pfn), k.pageIndex(pfn), 0);
  k.setPageWord(pfn, PG_MAPPING, 0);
  put_page(k, pfn);
}
