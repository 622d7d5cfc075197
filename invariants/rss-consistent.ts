/**
 * rss accounting (docs/rules.md#accounting): each rss counter of a live mm equals the number of
 * its entries of that class (at quiescent states: the kernel batches rss in
 * zap_pte_range/copy_pte_range and flushes before dropping the PT lock); and
 * when the mm is freed, check_mm() (kernel/fork.c) finds every counter zero,
 * else it prints "BUG: Bad rss-counter state".
 */
import { MM_ANONPAGES, MM_DROPPED, MM_LIVE, RSS_NAMES } from '../model/layout.js';
import type { MMInvariant } from './invariant.js';
import { pmdIsMigration } from '../model/objects.js';

export const rssConsistent: MMInvariant = {
  name: 'rss-consistent',
  description: "each rss counter matches the mm's entries of its class; check_mm finds all counters zero at exit",
  reference: 'kernel/fork.c:check_mm; include/linux/mm.h:mm_counter; docs/rules.md#accounting',
  when: 'quiescent, and at exit',
  defaultScenario: 'cow-swap-gup',
  check(v) {
    const quiescent = v.quiescent();
    for (let m = 0; m < v.mms; m++) {
      const st = v.mmState(m);
      if (st === MM_DROPPED) {
        for (let c = 0; c < 4; c++) {
          const x = v.rss(m, c);
          if (x !== 0) return `check_mm: BUG: Bad rss-counter state mm:${v.mmName(m)} type:${RSS_NAMES[c]} val:${x}`;
        }
        continue;
      }
      if (st !== MM_LIVE || !quiescent) continue;
      counts.fill(0);
      for (let a = 0; a < v.addrs; a++) {
        const c = v.rssClass(v.pte(m, a));
        if (c >= 0) counts[c]!++;
      }
      // A huge pmd maps its THP's pages: MM_ANONPAGES counts each (add_mm_counter(HPAGE_PMD_NR)); a PMD migration entry keeps them counted.
      // A page-cache THP (huge shmem) counts where its pages mapped by PTEs do (mm_counter_file: MM_SHMEMPAGES).
      if (m < v.hugePmds && (v.hugePmdPfn(m) || pmdIsMigration(v.pmdWord(m)))) counts[v.hugePmdPfn(m) ? v.mmCounter(v.hugePmdPfn(m)) : MM_ANONPAGES]! += v.world.thpPages;
      for (let c = 0; c < 4; c++) {
        if (v.rss(m, c) !== counts[c]) {
          return `mm ${v.mmName(m)}: ${RSS_NAMES[c]} is ${v.rss(m, c)} but ${v.mmName(m)} has ${counts[c]} such entries`;
        }
      }
    }
    return null;
  },
};

/** The per-class counts, in one array reused from check to check (this runs on every new state; each worker thread has its own). */
const counts = new Int32Array(4);
