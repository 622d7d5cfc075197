/**
 * Mutants: deliberately wrong implementations of one kernel function each,
 * used to show that each invariant can fail. A mutant replaces the
 * implementation the variant chose (it may call it for the cases it does
 * not change). Their names and what they break are in model/variants.ts.
 */
import type { SwitchTest } from '../switch-use.js';
import type { Kernel } from '../kernel.js';
import { MM_ANONPAGES, PG_ANON, PG_ANON_EXCLUSIVE, PG_REF, TH_ORIG } from '../layout.js';
import { mapsNormalPage, PTE_MIGRATION, PTE_PRESENT, PTE_SPECIAL, pteKind, pteTarget } from '../pte.js';
import type { MutantName } from '../variants.js';
import type { KernelFunctionName, KernelFunctions } from './functions.js';
import type { DoWpPage, PageTryDupAnonRmap, ZapPte, ZapPteDetails } from './memory.js';
import { zap_present_page } from './memory.js';
import { __free_pages } from './page_alloc.js';
import { page_remove_rmap } from './rmap.js';
import { __split_huge_pmd_locked } from './huge_memory.js';
import { free_swap_cache } from './swapfile.js';

interface Replacement<N extends KernelFunctionName> {
  replaces: N;
  make(orig: KernelFunctions[N], switches: SwitchTest): KernelFunctions[N];
}

function replacement<N extends KernelFunctionName>(replaces: N, make: Replacement<N>['make']): Replacement<N> {
  return { replaces, make };
}

/** fork-keeps-exclusive: page_try_dup_anon_rmap shares an exclusive page without ClearPageAnonExclusive. */
const forkKeepsExclusive: PageTryDupAnonRmap = (k, pfn) => (k.pageTest(pfn, PG_ANON_EXCLUSIVE) ? ', MUTANT: PageAnonExclusive left set' : '');

/** wp-reuse-mapcount: do_wp_page reuses a non-exclusive anon page when it is mapped once, ignoring GUP references. */
const wpReuseMapcount =
  (orig: DoWpPage): DoWpPage =>
  (k, t, f) => {
    const e = k.threadWord(t, TH_ORIG);
    if (k.isSharedMapping(f.a) || !mapsNormalPage(e)) return orig(k, t, f);
    const pfn = pteTarget(e);
    if (!k.pageTest(pfn, PG_ANON) || k.pageTest(pfn, PG_ANON_EXCLUSIVE)) return orig(k, t, f);
    if (k.page_mapcount(pfn) === 1) return f.reuse(k, t, 'MUTANT: mapcount == 1, GUP references ignored');
    return f.copy(k, t, pfn, 'mapcount != 1');
  };

/** zap-no-rss: zap_pte_range clears an anon PTE without the MM_ANONPAGES decrement. */
const zapNoRss =
  (orig: ZapPte): ZapPte =>
  (k, m, a) => {
    const e = k.pte(m, a);
    if (pteKind(e) !== PTE_PRESENT || e & PTE_SPECIAL || k.mmCounter(pteTarget(e)) !== MM_ANONPAGES) return orig(k, m, a);
    k.detachGup(m, a);
    k.setPte(m, a, 0);
    zap_present_page(k, pteTarget(e), e);
  };

/** zap-migration-no-rss: a migration entry is cleared without its rss decrement. */
const zapMigrationNoRss =
  (orig: ZapPte): ZapPte =>
  (k, m, a) => {
    const e = k.pte(m, a);
    if (pteKind(e) !== PTE_MIGRATION) return orig(k, m, a);
    k.detachGup(m, a);
    k.setPte(m, a, 0);
    if (k.narrate) k.note('MUTANT: migration entry cleared without the rss decrement');
  };

/** zap-skips-migration: with zap_details, migration entries are left (the pre-5.18 behaviour, on any kernel). */
const zapSkipsMigration =
  (orig: ZapPteDetails): ZapPteDetails =>
  (k, m, a, d) => {
    const e = k.pte(m, a);
    if (pteKind(e) !== PTE_MIGRATION) return orig(k, m, a, d);
    if (k.narrate) k.note(`${k.addrName(m, a)}: ${d.who}: details != NULL: "we leave swap entries" - migration entry skipped`);
    return false;
  };

export const MUTANT_IMPLEMENTATIONS: Record<Exclude<MutantName, ProgramMutant>, Replacement<KernelFunctionName>> = {
  'fork-keeps-exclusive': replacement('page_try_dup_anon_rmap', () => forkKeepsExclusive),
  // The last put of a device-private page taken for an ordinary page's: __free_pages, not free_zone_device_page.
  'devpriv-put-to-buddy': replacement('put_devpriv_page', (orig) =>
    Object.assign(
      (k: Kernel, pfn: number, refs: number, unpin: boolean) => {
        if (k.pageWord(pfn, PG_REF) - refs !== 0) return orig(k, pfn, refs, unpin);
        k.setPageWord(pfn, PG_REF, 0);
        if (k.narrate) k.note(`MUTANT: pfn ${pfn} reaches 0 and goes to __free_pages`);
        __free_pages(k, pfn);
      },
      { freeCount: orig.freeCount, base: orig.base },
    ),
  ),
  // A driver that releases its DMA pin with put_page: one reference dropped, not GUP_PIN_COUNTING_BIAS.
  'devmap-unpin-put-page': replacement('put_devmap_page', (orig) =>
    Object.assign(
      (k: Kernel, pfn: number, refs: number, unpin: boolean) => {
        if (unpin && k.narrate) k.note(`MUTANT: the pin is released with put_page: _refcount -= 1, not ${refs}`);
        orig(k, pfn, unpin ? 1 : refs, false);
      },
      { wakeAt: orig.wakeAt, idle: orig.idle },
    ),
  ),
  'fork-shares-pinned': replacement('copy_present_pte_needs_copy', () => () => false),
  'wp-reuse-mapcount': replacement('do_wp_page', (orig) => wpReuseMapcount(orig)),
  'zap-no-rss': replacement('zap_pte', (orig) => zapNoRss(orig)),
  'zap-migration-no-rss': replacement('zap_pte', (orig) => zapMigrationNoRss(orig)),
  'punch-zaps-cows': replacement('should_zap_cows', () => () => true),
  'truncate-skips-cows': replacement('should_zap_cows', () => () => false),
  'zap-skips-migration': replacement('zap_pte_details', (orig) => zapSkipsMigration(orig)),
  'wp-copy-leaks-ref': replacement('wp_page_copy_release', (_orig, switches) => (k: Kernel, old: number) => {
    page_remove_rmap(k, old);
    // MUTANT: no put_page of the old page
    if (switches.has('cow-free-swap-cache')) free_swap_cache(k, old);
  }),
  // A split whose PTEs take no head references (no page_ref_add(nr - 1)): the folio is freed while PTEs still map it.
  'split-no-ref-add': replacement('split_huge_pmd', () => (k: Kernel, t: number, m: number) => __split_huge_pmd_locked(k, t, m, false)),
  // do_huge_pmd_wp_page tests reuse without the THP's page lock (as before 4.14): a migration in flight is not waited for.
  'huge-wp-no-page-lock': replacement('huge_wp_page_lock', () => () => false),
  // A lost wake-up: the sleepers on the page lock stay asleep.
  'unlock-page-no-wake': replacement('wake_up_page', () => () => {}),
} as Record<Exclude<MutantName, ProgramMutant>, Replacement<KernelFunctionName>>;

/** Mutants that change an operation's steps rather than a kernel function: its builder picks them (BuildContext.mutants). */
export const PROGRAM_MUTANTS = [
  'pageout-zone-device',
  'undo-range-i-mmap-first',
  'fault-no-pte-recheck',
  'pmd-check-reread',
  'thp-fault-retracts-table',
  'collapse-under-read',
  'retract-write-lock',
  'retract-without-trylock',
  'writeback-no-mkclean',
  'pte-alloc-leaks',
  'pmd-unstable-misses-migration',
] as const;
export type ProgramMutant = (typeof PROGRAM_MUTANTS)[number];
