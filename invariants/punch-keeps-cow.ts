/**
 * Punching keeps private COWs (docs/rules.md#truncate-and-punch): hole punching removes the file's pages
 * from every mapping but has no right to delete private user data: a private
 * COW copy (or its swap entry) survives a punch (unmap_mapping_range with
 * even_cows=0). And shared mappings stay coherent with the page cache: a
 * shared-mapping PTE only maps the file's own page at that index.
 */
import { GHOST_PUNCH_LOST_COW, F_GHOST, MM_LIVE, PG_ANON } from '../model/layout.js';
import { mapsNormalPage, pteTarget } from '../model/pte.js';
import type { MMInvariant } from './invariant.js';

export const punchKeepsCow: MMInvariant = {
  name: 'punch-keeps-cow',
  description: 'hole punching never zaps a private COW page or its swap entry; shared mappings only map the page cache',
  reference: 'mm/shmem.c:shmem_fallocate, mm/memory.c:zap_pte_range (even_cows); docs/rules.md#truncate-and-punch',
  reads: ['mm', 'file', 'frame'],
  when: 'always',
  defaultScenario: 'punch-private-cow',
  check(v) {
    for (let f = 0; f < v.files; f++) {
      if (v.fileWord(f, F_GHOST) & GHOST_PUNCH_LOST_COW) {
        return `a hole punch of ${v.world.fileNames[f]} zapped a private COW page or its swap entry (even_cows=0 must keep them)`;
      }
    }
    for (let m = 0; m < v.mms; m++) {
      if (v.mmState(m) !== MM_LIVE) continue;
      for (let a = 0; a < v.addrs; a++) {
        const f = v.fileOf(a);
        if (f < 0 || !v.isSharedMapping(a)) continue;
        const e = v.pte(m, a);
        if (!mapsNormalPage(e)) continue;
        const pfn = pteTarget(e);
        if (v.pageTest(pfn, PG_ANON) || v.cachePage(f, v.fileIndex(a)) !== pfn) {
          return `${v.addrName(m, a)} (shared mapping of ${v.world.fileNames[f]}) maps pfn ${pfn}, which is not page ${v.fileIndex(a)} of the file`;
        }
      }
    }
    return null;
  },
};
