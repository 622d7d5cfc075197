/**
 * Page migration of one page (move_pages, or compaction by kcompactd), as
 * mm/migrate.c does it: isolate the page; __unmap_and_move locks it and gets
 * a new page; try_to_migrate replaces each mapping with a migration entry (one
 * PT lock each; the rmap walk of a file page holds i_mmap_rwsem for read);
 * move_to_new_page moves the page-cache (or swap-cache) slot to the new page
 * if nothing else holds a reference; remove_migration_ptes maps the new page
 * (or the old one on failure) where the entries are; unlock, put back.
 *
 * Anon pages follow R6 (5.19+): an exclusive page is made shared first
 * (page_try_share_anon_rmap), which fails if it may be pinned; the entry
 * records exclusivity (readable_exclusive) and remove_migration_pte restores it.
 *
 * Sources: mm/migrate.c (5.17-rc5, 5.18.12), mm/rmap.c:try_to_migrate_one (5.19, 6.1).
 * Not modelled: migration_entry_wait's page reference, which can make a
 * concurrent migration fail (-EAGAIN).
 */
import { BLOCKED, DISABLED, DONE, FAILED, type Kernel, SLEEP } from '../kernel.js';
import { int, threadLocals } from '../thread-locals.js';
import {
  PG_ANON,
  PG_ANON_EXCLUSIVE,
  PG_DATA,
  PG_DIRTY,
  PG_FLAGS,
  PG_ISOLATED,
  PG_MAPPING,
  PG_PRIVATE,
  PG_SWAPBACKED,
  PG_SWAPCACHE,
  PG_THP,
  TH_NEWPAGE,
  TH_PAGE,
  VMA_WRITE,
} from '../layout.js';
import type { ProgramBuilder } from '../program.js';
import {
  MIGRATION_READ,
  MIGRATION_READ_EXCLUSIVE,
  MIGRATION_WRITE,
  PTE_DIRTY,
  PTE_MIGRATION,
  PTE_PRESENT,
  PTE_SPECIAL,
  PTE_WRITE,
  pteKind,
  pteMigration,
  pteMigrationKind,
  ptePresent,
  pteTarget,
} from '../pte.js';
import { page_try_share_anon_rmap } from '../kernel/rmap.js';
import { add_to_page_cache, delete_from_page_cache } from '../kernel/filemap.js';
import {
  anon_vma_lock_read,
  anon_vma_unlock_read,
  i_mmap_lock_read,
  i_mmap_read_held_by,
  i_mmap_unlock_read,
  lock_page,
  pte_lock,
  trylock_page,
  unlock_page,
} from '../kernel/locking.js';
import { alloc_folio, alloc_page, get_page, put_page } from '../kernel/page_alloc.js';
import { pmdHuge, pmdHugePfn, pmdHugeRo, pmdMigration, pmdMigrationKind, pmdMigrationPfn } from '../objects.js';
import { page_add_file_rmap, page_remove_rmap } from '../kernel/rmap.js';

/** Migration's local: its result bits. */
const MIGRATE_LOCALS = threadLocals('migrate_pages', { result: int('aux') });
const SUCCESS = 2; // move_to_new_page succeeded
const MIGRATE = 'mm/migrate.c';

export type MigrateTarget = { file: number; index: number } | { mm: number; addr: number };

/**
 * rmap_walk_file: i_mmap_rwsem for read, held across the walk's steps;
 * false (asleep) when it must wait. An anon page's walk takes its anon_vma
 * lock per mapping instead (rmapAnon).
 */
function rmapLock(k: Kernel, t: number, pfn: number): boolean {
  const f = k.pageFile(pfn);
  if (f < 0 || i_mmap_read_held_by(k, t, f)) return true;
  return i_mmap_lock_read(k, t, f);
}

function rmapUnlock(k: Kernel, t: number, file: number): void {
  if (file >= 0 && i_mmap_read_held_by(k, t, file)) i_mmap_unlock_read(k, t, file);
}

/** rmap_walk_anon: the root anon_vma's rwsem for read around one mapping's work (the kernel holds it across the walk). */
function rmapAnon(k: Kernel, t: number, pfn: number, a: number, work: () => number): number {
  if (!k.pageTest(pfn, PG_ANON)) return work();
  const v = k.world.vmaOfAddr[a]!;
  if (!anon_vma_lock_read(k, t, v)) return SLEEP;
  const next = work();
  // A step that ends in BLOCKED or SLEEP leaves no trace; otherwise the lock is dropped at its end.
  if (next !== BLOCKED && next !== SLEEP) anon_vma_unlock_read(k, t, v);
  return next;
}

export function buildMigrate(b: ProgramBuilder, target: MigrateTarget): void {
  const ISOLATE = b.reserve();
  const LOCK = b.reserve();
  const UNMAP = b.reserve();
  const MOVE = b.reserve();
  const REMAP = b.reserve();

  b.define(ISOLATE, 'isolate_lru_page', `${MIGRATE}:add_page_for_migration, mm/compaction.c:isolate_migratepages (5.7-6.2)`, (k, t) => {
    let pfn: number;
    if ('file' in target) pfn = k.cachePage(target.file, target.index);
    else {
      // add_page_for_migration: the page at the address; of a THP, its head (isolate_lru_page(compound_head)): the THP migrates whole (4.14 on).
      const e = k.mapped(target.mm, target.addr);
      pfn = pteKind(e) === PTE_PRESENT && !(e & PTE_SPECIAL) ? k.folioHead(pteTarget(e)) : 0;
    }
    if (!pfn || k.pageTest(pfn, PG_ISOLATED)) return DISABLED;
    get_page(k, pfn);
    k.setPageFlag(pfn, PG_ISOLATED);
    k.setThreadWord(t, TH_PAGE, pfn);
    MIGRATE_LOCALS.result.set(k, t, 0);
    if (k.narrate) k.note(`isolate pfn ${pfn} from the LRU (+1 reference)`);
    return LOCK;
  });

  b.define(LOCK, '__unmap_and_move: lock_page', `${MIGRATE}:__unmap_and_move (5.7-6.2)`, (k, t) => {
    const pfn = k.threadWord(t, TH_PAGE);
    if (!lock_page(k, t, pfn)) return SLEEP; // MIGRATE_SYNC: folio_lock
    // A THP: a THP to migrate to (alloc_migration_target; the model does not split and retry when there is none).
    const np = k.pageTest(pfn, PG_THP) ? alloc_folio(k, k.folioPages(pfn).length) : alloc_page(k);
    if (np === 0) {
      unlock_page(k, pfn);
      if (k.narrate) k.note('no page to migrate to: -ENOMEM, put back');
      k.clearPageFlag(pfn, PG_ISOLATED);
      k.setThreadWord(t, TH_PAGE, 0);
      put_page(k, pfn);
      return FAILED;
    }
    trylock_page(k, t, np); // folio_trylock(dst): a new page, it cannot fail
    k.setThreadWord(t, TH_NEWPAGE, np);
    if (k.narrate) k.note(`lock pfn ${pfn}; new pfn ${np} (locked)`);
    return k.total_mapcount(pfn) > 0 ? UNMAP : MOVE;
  });

  b.define(UNMAP, 'try_to_migrate_one', 'mm/rmap.c:try_to_migrate_one, mm/huge_memory.c:set_pmd_migration_entry (5.7-6.2; THPs 4.14-6.2)', (k, t) => {
    const pfn = k.threadWord(t, TH_PAGE);
    if (!rmapLock(k, t, pfn)) return SLEEP;
    const done = (): number => {
      if (findMapping(k, pfn, PTE_PRESENT)) return UNMAP;
      rmapUnlock(k, t, k.pageFile(pfn));
      return MOVE;
    };
    const at = findMapping(k, pfn, PTE_PRESENT);
    if (!at) return done();
    return rmapAnon(k, t, pfn, at.a, () => {
      const { m, a, page } = at;
      if (at.pmd) {
        // set_pmd_migration_entry under pmd_lock (the PT lock word stands for it): pmdp_invalidate, then (5.19) page_try_share_anon_rmap.
        if (!pte_lock(k, t, m)) return BLOCKED;
        const w = k.s[k.L.pmd(m)]!;
        const anonExclusive = k.pageTest(pfn, PG_ANON) && k.pageTest(pfn, PG_ANON_EXCLUSIVE);
        if (anonExclusive && !page_try_share_anon_rmap(k, pfn, true)) {
          if (k.narrate) k.note(`${k.mmName(m)} pmd: page_try_share_anon_rmap: THP pfn ${pfn} may be pinned: the pmd restored (-EBUSY), the walk stops`);
          rmapUnlock(k, t, k.pageFile(pfn));
          return MOVE;
        }
        const write = !pmdHugeRo(w) && (k.vmaAt(m, a) & VMA_WRITE) !== 0;
        const kind = write ? MIGRATION_WRITE : anonExclusive ? MIGRATION_READ_EXCLUSIVE : MIGRATION_READ;
        k.s[k.L.pmd(m)] = pmdMigration(pfn, kind);
        page_remove_rmap(k, pfn, true);
        put_page(k, pfn);
        if (k.narrate) k.note(`${k.mmName(m)} pmd -> PMD migration entry (${['read', 'read-exclusive', 'write'][kind]}), page_remove_rmap(compound); rss unchanged`);
        return done();
      }
      if (!pte_lock(k, t, m)) return BLOCKED; // page_vma_mapped_walk: spin on the PT lock
      const e = k.pte(m, a);
      // 5.19 (R6): an exclusive page is made shared first, which fails if it may be pinned (the flag exists from 5.19 only).
      const anonExclusive = k.pageTest(page, PG_ANON) && k.pageTest(page, PG_ANON_EXCLUSIVE);
      if (anonExclusive && !page_try_share_anon_rmap(k, page)) {
        if (k.narrate) k.note(`${k.addrName(m, a)}: page_try_share_anon_rmap: pfn ${page} may be pinned: restore the PTE, the walk stops`);
        rmapUnlock(k, t, k.pageFile(pfn));
        return MOVE;
      }
      const kind = e & PTE_WRITE ? MIGRATION_WRITE : anonExclusive ? MIGRATION_READ_EXCLUSIVE : MIGRATION_READ;
      if (e & PTE_DIRTY) k.setPageFlag(pfn, PG_DIRTY);
      k.setPte(m, a, pteMigration(page, kind));
      page_remove_rmap(k, page);
      put_page(k, page);
      if (k.narrate) k.note(`${k.addrName(m, a)}: PTE -> migration entry (${['read', 'read-exclusive', 'write'][kind]}), page_remove_rmap; rss unchanged`);
      return done();
    });
  });

  b.define(MOVE, 'move_to_new_page', `${MIGRATE}:move_to_new_page -> folio_migrate_mapping (5.7-6.2)`, (k, t) => {
    const pfn = k.threadWord(t, TH_PAGE);
    const np = k.threadWord(t, TH_NEWPAGE);
    if (k.total_mapcount(pfn) > 0) {
      if (k.narrate) k.note(`pfn ${pfn} is still mapped: -EAGAIN`);
      return remap(k, t);
    }
    const cached = k.inPageCache(pfn) || k.pageTest(pfn, PG_SWAPCACHE);
    const expected = 1 + (cached ? 1 : 0);
    if (k.pageRef(pfn) !== expected) {
      if (k.narrate) k.note(`folio_ref_freeze: _refcount ${k.pageRef(pfn)} != expected ${expected} (an extra reference, e.g. a pin): -EAGAIN`);
      return remap(k, t);
    }
    // No turning back: the new page takes over the data, flags and the cache slot.
    // Each page of a THP into the same page of the new one (folio_copy).
    const to = k.folioPages(np);
    k.folioPages(pfn).forEach((p, i) => {
      k.setPageWord(to[i]!, PG_DATA, k.pageWord(p, PG_DATA));
      k.setPageFlag(to[i]!, k.pageFlags(p) & (PG_ANON | PG_SWAPBACKED | PG_DIRTY));
    });
    if (k.inPageCache(pfn)) {
      const f = k.pageFile(pfn);
      const index = k.pageIndex(pfn);
      delete_from_page_cache(k, pfn); // also clears old->mapping, as move_to_new_page does
      add_to_page_cache(k, f, index, np);
    } else if (k.pageTest(pfn, PG_SWAPCACHE)) {
      k.setPageFlag(np, PG_SWAPCACHE);
      k.setPageWord(np, PG_PRIVATE, k.pageWord(pfn, PG_PRIVATE));
      get_page(k, np);
      k.setPageWord(pfn, PG_FLAGS, k.pageFlags(pfn) & ~PG_SWAPCACHE);
      k.setPageWord(pfn, PG_PRIVATE, 0);
      put_page(k, pfn);
    }
    k.setPageWord(pfn, PG_MAPPING, 0);
    MIGRATE_LOCALS.result.set(k, t, MIGRATE_LOCALS.result.get(k, t) | SUCCESS);
    if (k.narrate) k.note(`data and mapping moved to pfn ${np}`);
    return remap(k, t);
  });

  /** remove_migration_ptes: a step per migration entry; finish at once when there is none. */
  const remap = (k: Kernel, t: number): number => (findMapping(k, k.threadWord(t, TH_PAGE), PTE_MIGRATION) ? REMAP : finish(k, t));
  const finish = (k: Kernel, t: number): number => {
    const pfn = k.threadWord(t, TH_PAGE);
    const np = k.threadWord(t, TH_NEWPAGE);
    const ok = (MIGRATE_LOCALS.result.get(k, t) & SUCCESS) !== 0;
    rmapUnlock(k, t, ok ? k.pageFile(np) : k.pageFile(pfn));
    unlock_page(k, np);
    unlock_page(k, pfn);
    k.clearPageFlag(pfn, PG_ISOLATED);
    k.setThreadWord(t, TH_PAGE, 0);
    k.setThreadWord(t, TH_NEWPAGE, 0);
    MIGRATE_LOCALS.result.set(k, t, 0);
    put_page(k, np); // success: the new page's owners hold it now; failure: frees it
    put_page(k, pfn); // putback / free the old page
    if (k.narrate) k.note(ok ? `migrated pfn ${pfn} -> pfn ${np}; unlock, put back` : `migration failed: pfn ${pfn} put back`);
    return ok ? DONE : FAILED;
  };

  b.define(REMAP, 'remove_migration_pte', `${MIGRATE}:remove_migration_ptes -> remove_migration_pte, mm/huge_memory.c:remove_migration_pmd (5.7-6.2; THPs 4.14-6.2)`, (k, t) => {
    const pfn = k.threadWord(t, TH_PAGE);
    const np = k.threadWord(t, TH_NEWPAGE);
    const ok = (MIGRATE_LOCALS.result.get(k, t) & SUCCESS) !== 0;
    const dst = ok ? np : pfn;
    const file = ok ? k.pageFile(np) : k.pageFile(pfn);
    if (file >= 0 && !rmapLock(k, t, dst)) return SLEEP;
    const at = findMapping(k, pfn, PTE_MIGRATION);
    if (!at) return remap(k, t);
    return rmapAnon(k, t, dst, at.a, () => {
      const { m, a } = at;
      const vmWrite = (k.vmaAt(m, a) & VMA_WRITE) !== 0;
      if (at.pmd) {
        // remove_migration_pmd under pmd_lock: the new THP (or the old one on failure) mapped by a huge pmd, RMAP_COMPOUND.
        if (!pte_lock(k, t, m)) return BLOCKED;
        const kind = pmdMigrationKind(k.s[k.L.pmd(m)]!);
        get_page(k, dst);
        k.fn.page_add_anon_rmap(k, dst, kind !== MIGRATION_READ, true);
        k.s[k.L.pmd(m)] = pmdHuge(dst, !(vmWrite && kind === MIGRATION_WRITE));
        if (k.narrate) k.note(`${k.mmName(m)} pmd: PMD migration entry -> huge pmd of pfn ${dst}`);
        return remap(k, t);
      }
      if (!pte_lock(k, t, m)) return BLOCKED;
      const kind = pteMigrationKind(k.pte(m, a));
      // The same page of the new folio as the entry's of the old one.
      const page = ok ? k.folioPage(np, k.folioPages(pfn).indexOf(at.page)) : at.page;
      const sharedShmem = k.isSharedMapping(a) && k.world.fileShmem[k.fileOf(a)]!;
      get_page(k, page);
      if (k.pageTest(page, PG_ANON)) k.fn.page_add_anon_rmap(k, page, kind !== MIGRATION_READ);
      else page_add_file_rmap(k, page);
      k.setPte(m, a, ptePresent(page, vmWrite && (kind === MIGRATION_WRITE || sharedShmem), false));
      if (k.narrate) k.note(`${k.addrName(m, a)}: migration entry -> pfn ${page}`);
      return remap(k, t);
    });
  });
}

/**
 * The first mapping of a page of head's folio whose entry is of `kind`
 * (present, or a migration entry), in rmap walk order: per mm, its pmd (a
 * huge pmd or a PMD migration entry of the THP), then its PTEs.
 */
function findMapping(k: Kernel, head: number, kind: number): { m: number; a: number; pmd: boolean; page: number } | null {
  for (let m = 0; m < k.mms; m++) {
    if (k.hugePmds > 0) {
      const w = k.s[k.L.pmd(m)]!;
      const p = kind === PTE_PRESENT ? pmdHugePfn(w) : pmdMigrationPfn(w);
      // The THP VMA is its process's only VMA: the pmd maps from its start.
      if (p && p === head) return { m, a: k.world.vmaStart[0]!, pmd: true, page: head };
    }
    for (let a = 0; a < k.addrs; a++) {
      const e = k.pte(m, a);
      if (pteKind(e) === kind && !(e & PTE_SPECIAL) && k.folioHead(pteTarget(e)) === head) return { m, a, pmd: false, page: pteTarget(e) };
    }
  }
  return null;
}
