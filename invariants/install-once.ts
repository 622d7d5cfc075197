/**
 * A PTE is installed once (MM-SEMANTICS F3): a fault that read orig_pte
 * without the PT lock installs its page only if, under the PT lock, the PTE
 * still is orig_pte (alloc_set_pte / finish_fault: pte_none, pte_same);
 * otherwise it backs off. Without the recheck, two faults on one address
 * both map the page: mapcount and the rss counter go up twice for one PTE,
 * and check_mm reports "Bad rss-counter state" at exit.
 */
import { F_GHOST, GHOST_DOUBLE_INSTALL } from '../model/layout.js';
import type { MMInvariant } from './invariant.js';

export const installOnce: MMInvariant = {
  name: 'install-once',
  description: 'a fault installs a PTE only if, under the PT lock, it is still the orig_pte the fault began with',
  reference: 'mm/memory.c:finish_fault / alloc_set_pte (pte_none recheck under the PT lock); docs/rules.md#page-tables',
  reads: ['file'],
  when: 'always',
  defaultScenario: 'fault-double-install',
  check(v) {
    for (let f = 0; f < v.files; f++) {
      if (v.fileWord(f, F_GHOST) & GHOST_DOUBLE_INSTALL) {
        return `a fault mapped a page of ${v.world.fileNames[f]} over a PTE that another fault had installed since it read orig_pte`;
      }
    }
    return null;
  },
};
