/**
 * The PTE-table pool balances: each table is free, or in use by exactly one
 * owner (a pmd that points at it, or a thread that holds it between
 * pte_alloc_one and pmd_populate / pte_free: vmf->prealloc_pte, __pte_alloc's
 * new table), or deposited under its mm's huge pmd (or PMD migration entry)
 * (pgtable_trans_huge_deposit), one per anonymous huge pmd. A leak (a table nobody
 * owns) or a double use is a bug of the fault, fork, THP or exit paths.
 */
import { PG_ANON, TH_PTE_TABLE } from '../model/layout.js';
import { pmdHugePfn, pmdIsHuge, pmdIsMigration, pmdTable } from '../model/objects.js';

import type { StateView } from '../model/kernel.js';
import type { MMInvariant } from './invariant.js';

/**
 * An anonymous huge pmd (or the huge zero page's), or a PMD migration entry
 * (which keeps the huge pmd's deposited table), has one table deposited; a
 * page-cache THP's huge pmd none (do_set_pmd deposits only where
 * arch_needs_pgtable_deposit: not x86).
 */
function depositsTable(v: StateView, w: number): boolean {
  if (pmdIsMigration(w)) return true;
  if (!pmdIsHuge(w)) return false;
  const folio = pmdHugePfn(w);
  return folio === 0 || v.pageTest(folio, PG_ANON);
}

export const pgtableAccounting: MMInvariant = {
  name: 'pgtable-accounting',
  description: "each PTE table of the pool is free, owned by exactly one pmd or thread, or deposited under its mm's huge pmd (one each)",
  reference: 'mm/memory.c:__pte_alloc, pte_free; mm/huge_memory.c:pgtable_trans_huge_deposit/withdraw; docs/rules.md#page-tables',
  reads: ['mm', 'pmd', 'pgtable', 'thread'],
  when: 'always',
  defaultScenario: 'thp-pmd-race',
  check(v) {
    const n = v.L.pgtables;
    if (n === 0) return null;
    // Owners per table, without allocating: a table is at most 8 (the pool's limit), so count in a bit field per owner kind.
    for (let i = 0; i < n; i++) {
      const state = v.s[v.L.pgtable(i)]!;
      let owners = 0;
      for (let m = 0; m < v.mms; m++) if (pmdTable(v.s[v.L.pmd(m)]!) === i + 1) owners++;
      for (let t = 0; t < v.threads; t++) if (v.threadWord(t, TH_PTE_TABLE) === i + 1) owners++;
      if (state === 0 && owners > 0) return `PTE table ${i} is free but ${owners} pmd(s) or thread(s) still use it`;
      if (state === 1 && owners !== 1) return owners === 0 ? `PTE table ${i} is in use but nothing owns it: leaked` : `PTE table ${i} is used by ${owners} owners`;
      if (state >= 2) {
        const m = state - 2;
        if (owners > 0) return `PTE table ${i} is deposited under ${v.mmName(m)}'s huge pmd but also in use`;
        if (!depositsTable(v, v.s[v.L.pmd(m)]!)) return `PTE table ${i} is deposited for ${v.mmName(m)}, whose pmd is neither an anonymous huge pmd nor a PMD migration entry`;
      }
    }
    for (let m = 0; m < v.mms; m++) {
      if (!depositsTable(v, v.s[v.L.pmd(m)]!)) continue;
      let deposited = 0;
      for (let i = 0; i < n; i++) if (v.s[v.L.pgtable(i)] === 2 + m) deposited++;
      if (deposited !== 1) return `${v.mmName(m)}'s huge pmd has ${deposited} deposited tables, not 1`;
    }
    return null;
  },
};
