/**
 * get_user_pages / pin_user_pages (the slow path) on one page, and the
 * matching put_page / unpin_user_page, and a device access through the
 * reference. GUP holds mmap_lock for read across follow_page_pte and the
 * faults it triggers (faultin_page), retrying the walk after each fault.
 */
import { DISABLED, DONE, FAILED, type Kernel, SLEEP } from '../kernel.js';
import { int, threadLocals } from '../thread-locals.js';
import { formatGupFlags, GUP_ANON, GUP_FORCE, GUP_GET, GUP_LONGTERM, GUP_PENDING, GUP_PIN, GUP_PIN_COUNTING_BIAS, GUP_WRITE, gupKind, gupPfn, gupRecord, gupRefs } from '../gup.js';
import { MM_WPSEQ, PG_ANON, PG_DATA, TH_ORIG, VMA_WRITE } from '../layout.js';
import type { ProgramBuilder } from '../program.js';
import { formatPte, isPresent, mapsNormalPage, PTE_DEVMAP, PTE_DIRTY, PTE_SPECIAL, PTE_WRITE, pteKind, pteTarget, ZERO_PFN } from '../pte.js';
import { buildFault, FAULT_FLAG_UNSHARE, FAULT_FLAG_WRITE, FOLL_COW, type FaultSite, VM_FAULT_ERROR } from './fault.js';
import { pmdDirty, pmdHugePfn, pmdHugeRo, pmdMkdirty } from '../objects.js';
import { mmap_read_lock, mmap_read_unlock } from '../kernel/locking.js';
import { get_page, put_page } from '../kernel/page_alloc.js';
import { migrate_device_coherent_page, PGMAP_ALIVE, pgmapLife } from '../kernel/memremap.js';

/**
 * GUP's locals: the flags it faults with (the fault's own flags word,
 * FAULT_LOCALS.flags, which handle_mm_fault reads) plus FOLL_COW, and the
 * write_protect_seq snapshot of GUP-fast.
 */
const GUP_LOCALS = threadLocals('get_user_pages', { flags: int('aux'), seq: int('aux2') });

export interface GupArgs {
  slot: number;
  pin: boolean;
  write: boolean;
  longterm: boolean;
  /** get_user_pages_fast / pin_user_pages_fast: try the lockless walk first. */
  fast: boolean;
  /** FOLL_FORCE (access_remote_vm: ptrace, /proc/pid/mem): a write through a R/O private mapping. */
  force?: boolean;
}

export function gupTitle(g: GupArgs): string {
  return `${g.pin ? 'pin_user_pages' : 'get_user_pages'}${g.fast ? '_fast' : ''}(${formatGupFlags(gupRecord(g.pin ? GUP_PIN : GUP_GET, (g.write ? GUP_WRITE : 0) | (g.longterm ? GUP_LONGTERM : 0) | (g.force ? GUP_FORCE : 0), 0, 0, 0))})`;
}

export function buildGup(b: ProgramBuilder, m: number, a: number, g: GupArgs, fileVma = false, huge: FaultSite = { thp: false, fails: false }): void {
  const FAST = g.fast ? b.reserve() : -1;
  const GRAB = g.fast ? b.reserve() : -1;
  const RECHECK = g.fast ? b.reserve() : -1;
  const START = b.reserve();
  const FOLLOW = b.reserve();
  const fault = buildFault(
    b,
    m,
    a,
    (k, t) => {
      const aux = GUP_LOCALS.flags.get(k, t);
      if (aux & VM_FAULT_ERROR) {
        mmap_read_unlock(k, t, m);
        if (k.narrate) k.note('faultin_page failed: GUP returns -ENOMEM');
        return FAILED;
      }
      GUP_LOCALS.flags.set(k, t, aux & FOLL_COW);
      return FOLLOW;
    },
    fileVma,
    huge,
  );

  const faultin = (k: Kernel, t: number, flag: number, why: string): number => {
    const pte = k.pte(m, a);
    k.setThreadWord(t, TH_ORIG, pte);
    GUP_LOCALS.flags.set(k, t, (GUP_LOCALS.flags.get(k, t) & FOLL_COW) | flag);
    const kind = flag & FAULT_FLAG_UNSHARE ? 'FAULT_FLAG_UNSHARE' : flag & FAULT_FLAG_WRITE ? 'FAULT_FLAG_WRITE' : 'read';
    if (k.narrate) k.note(`follow_page_pte: ${why}: faultin_page(${kind})`);
    return fault.enter(k, t);
  };

  /** try_grab_page() of pfn: FOLL_GET +1, FOLL_PIN +GUP_PIN_COUNTING_BIAS; the reference recorded with (mm, addr). */
  const grab = (k: Kernel, t: number, pfn: number, what: string): number => {
    const anon = pfn !== ZERO_PFN && k.pageTest(pfn, PG_ANON);
    const rec = gupRecord(g.pin ? GUP_PIN : GUP_GET, (g.write ? GUP_WRITE : 0) | (g.longterm ? GUP_LONGTERM : 0) | (g.force ? GUP_FORCE : 0) | (anon ? GUP_ANON : 0), m, a, pfn);
    get_page(k, pfn, gupRefs(rec));
    k.setGup(g.slot, rec);
    mmap_read_unlock(k, t, m);
    if (k.narrate) k.note(`${what}: ${g.pin ? 'FOLL_PIN' : 'FOLL_GET'} on ${pfn === ZERO_PFN ? 'the zeropage' : `pfn ${pfn}`}, ref #${g.slot}`);
    return DONE;
  };

  /**
   * follow_trans_huge_pmd(): a huge pmd maps the THP (write on a R/O pmd
   * faults, unless can_follow_write_pmd lets a forced write through: FOLL_COW
   * and pmd_dirty up to 5.19, an exclusive anon THP from 6.0; 5.19 a R/O pin
   * of a shared THP unshares), then touch_pmd (FOLL_TOUCH), which up to 4.14
   * dirties even the huge zero page's pmd (CVE-2017-1000405).
   */
  const followHuge = (k: Kernel, t: number, pmd: number, write: boolean, forced: boolean, follCow: boolean): number => {
    const folio = pmdHugePfn(pmd);
    if (write && pmdHugeRo(pmd) && !((follCow || g.force) && k.fn.can_follow_write_pmd(k, g, pmdDirty(pmd) ? PTE_DIRTY : 0, folio, follCow, (k.vmaAt(m, a) & VMA_WRITE) !== 0)))
      return faultin(k, t, FAULT_FLAG_WRITE, forced ? 'R/O huge pmd, COW break forced (should_force_cow_break)' : 'FOLL_WRITE on a R/O huge pmd');
    if (pmdHugeRo(pmd) && k.fn.gup_must_unshare(k, g, folio, a, false)) return faultin(k, t, FAULT_FLAG_UNSHARE, 'gup_must_unshare on the THP: -EMLINK');
    // A THP's pmd is dirty already (model/objects.ts): only the huge zero page's can change.
    if (!folio && pmdMkdirty(pmd) !== pmd && k.fn.touch_pmd_dirties(write)) {
      k.s[k.L.pmd(m)] = pmdMkdirty(pmd);
      if (k.narrate) k.note('touch_pmd: pmd_mkdirty on the huge zero page (FOLL_TOUCH, up to 4.14)');
    }
    // page += (addr & ~HPAGE_PMD_MASK) >> PAGE_SHIFT: the reference is recorded on the subpage (its count goes to the head).
    return grab(k, t, pteTarget(k.mapped(m, a)), 'follow_trans_huge_pmd: try_grab_page');
  };

  /** follow_page_pte() under the PT lock, then try_grab_page() or faultin_page(). */
  const follow = (k: Kernel, t: number): number => {
    const pte = k.pte(m, a);
    // 5.8: should_force_cow_break(): GUP on a COW mapping is done as a write.
    const forced = k.fn.should_force_cow_break(k, a, g);
    const follCow = (GUP_LOCALS.flags.get(k, t) & FOLL_COW) !== 0;
    // Up to 4.8 the lookup after a forced write's COW fault is a read: FOLL_WRITE dropped (19be0eaffa3a ended it).
    const dropped = (g.write || forced) && follCow && k.fn.can_follow_write_pte.dropsWrite;
    const write = (g.write || forced) && !dropped;
    if (dropped && k.narrate) k.note('__get_user_pages: VM_FAULT_WRITE on a !VM_WRITE mapping: *flags &= ~FOLL_WRITE, the retry looks the page up as a read');
    if (huge.thp && k.hugePmd(m)) return followHuge(k, t, k.s[k.L.pmd(m)]!, write, forced, follCow);
    if (pteKind(pte) === PTE_DEVMAP) {
      // pte_devmap: get_dev_pagemap (percpu_ref_tryget_live: it fails once memunmap_pages killed the pgmap), then the device page itself (5.7-6.14).
      if (pgmapLife(k) !== PGMAP_ALIVE) {
        mmap_read_unlock(k, t, m);
        if (k.narrate) k.note('follow_page_pte: pte_devmap: get_dev_pagemap fails (the pgmap is dying): no page, -EFAULT');
        return FAILED;
      }
      if (write && !(pte & PTE_WRITE)) throw new Error('GUP: FOLL_WRITE on a R/O devmap PTE (scenario validation keeps fsdax GUP to writable mappings)');
      return grab(k, t, pteTarget(pte), 'follow_page_pte: pte_devmap: get_dev_pagemap, try_grab_page');
    }
    if (!isPresent(pte)) return faultin(k, t, write ? FAULT_FLAG_WRITE : 0, 'no present PTE');
    const pfn = mapsNormalPage(pte) ? pteTarget(pte) : ZERO_PFN;
    // A writable PTE is followed on every release, and without FOLL_COW or FOLL_FORCE a R/O one never is: only then do the rules differ.
    if (write && !(pte & PTE_WRITE) && !((follCow || g.force) && k.fn.can_follow_write_pte(k, g, pte, pfn, follCow, (k.vmaAt(m, a) & VMA_WRITE) !== 0))) {
      return faultin(k, t, FAULT_FLAG_WRITE, forced ? 'R/O PTE, COW break forced (should_force_cow_break)' : 'FOLL_WRITE on a R/O PTE');
    }
    if (!(pte & PTE_WRITE) && k.fn.gup_must_unshare(k, g, pfn, a, false)) {
      return faultin(k, t, FAULT_FLAG_UNSHARE, 'gup_must_unshare: -EMLINK');
    }
    if (g.longterm && pfn > k.frames && k.world.devType === 'coherent') {
      // A MEMORY_DEVICE_COHERENT page is not long-term pinnable (6.0, b05a79d4377f): check_and_migrate_movable_pages moves it to RAM, and GUP retries.
      const why = migrate_device_coherent_page(k, pfn);
      if (why) {
        mmap_read_unlock(k, t, m);
        if (k.narrate) k.note(`check_and_migrate_movable_pages: ${why}: -EBUSY`);
        return FAILED;
      }
      return follow(k, t);
    }
    return grab(k, t, pfn, 'try_grab_page');
  };

  b.define(START, '__get_user_pages', 'mm/gup.c:__get_user_pages (5.7-6.2)', (k, t) => {
    if (!g.fast && k.gup(g.slot) !== 0) return DISABLED; // this reference is already held
    const vma = k.vmaAt(m, a);
    // check_vma_flags: FOLL_FORCE may write through a R/O private mapping (a COW mapping), never a shared one.
    if (vma === 0 || (g.write && !(vma & VMA_WRITE) && !(g.force && !k.isSharedMapping(a)))) {
      if (k.narrate) k.note('check_vma_flags: -EFAULT');
      return FAILED;
    }
    if (!mmap_read_lock(k, t, m)) return SLEEP;
    // mm->has_pinned (5.9, 008cfe4418b3), later MMF_HAS_PINNED: set on every FOLL_PIN call.
    k.fn.mm_set_has_pinned(k, m, g);
    GUP_LOCALS.flags.set(k, t, 0);
    return follow(k, t);
  });
  b.define(FOLLOW, 'follow_page_pte', 'mm/gup.c:follow_page_pte (5.7-6.2)', (k, t) => follow(k, t));

  if (!g.fast) return;
  // GUP-fast (mm/gup.c:lockless_pages_from_mm -> gup_pte_range; 6.1 include/linux/rmap.h names the steps):
  // (F0) write_protect_seq, (B1) read the PTE, (B3) pin, (B4) re-read the PTE,
  // (B5) unshare check, (F5) seqcount retry. Any failure falls back to the slow path.
  const fallback = (k: Kernel, _t: number, why: string): number => {
    if (k.narrate) k.note(`GUP-fast: ${why}: fall back to the slow path`);
    return START;
  };
  const refs = g.pin ? GUP_PIN_COUNTING_BIAS : 1;
  const undo = (k: Kernel, t: number, why: string): number => {
    const r = k.gup(g.slot);
    k.setGup(g.slot, 0);
    put_page(k, gupPfn(r), refs);
    return fallback(k, t, `${why}: unpin`);
  };
  b.define(FAST, 'gup_pte_range: read PTE', 'mm/gup.c:lockless_pages_from_mm -> gup_pte_range (5.7-6.2)', (k, t) => {
    if (k.gup(g.slot) !== 0) return DISABLED;
    k.fn.mm_set_has_pinned(k, m, g);
    const seq = k.mmWord(m, MM_WPSEQ);
    GUP_LOCALS.seq.set(k, t, seq);
    const odd = k.fn.gup_fast_seq_begin(k, m, g, seq);
    if (odd) return fallback(k, t, odd);
    // 5.8 (17839856fd58): the fast walk is done as FOLL_WRITE, so R/O PTEs go the slow way.
    const write = k.fn.gup_fast_write(g);
    if (huge.thp && k.hugePmd(m)) {
      // gup_pmd_range -> gup_huge_pmd: pmd_access_permitted, then the THP grabbed and the pmd read again.
      const e = k.mapped(m, a);
      if (write && !(e & PTE_WRITE)) return fallback(k, t, 'FOLL_WRITE on a R/O huge pmd');
      // The model takes the huge zero page's reference on the slow path only (as for the small zero page).
      if (!k.hugePmdPfn(m)) return fallback(k, t, 'the huge zero page');
      k.setThreadWord(t, TH_ORIG, e); // the huge pmd as the entry it amounts to (PTE-typed: the symmetry renames its frame)
      if (k.narrate) k.note(`lockless read of ${k.addrName(m, a)}: a huge pmd of THP pfn ${pteTarget(e)}`);
      return GRAB;
    }
    const pte = k.pte(m, a);
    if (!isPresent(pte)) return fallback(k, t, 'no present PTE');
    if (pte & PTE_SPECIAL) return fallback(k, t, 'pte_special (the zeropage)');
    if (write && !(pte & PTE_WRITE)) return fallback(k, t, 'FOLL_WRITE on a R/O PTE');
    k.setThreadWord(t, TH_ORIG, pte);
    if (k.narrate) k.note(`lockless read of ${k.addrName(m, a)}: ${formatPte(pte)}`);
    return GRAB;
  });
  b.define(GRAB, 'try_grab_folio', 'mm/gup.c:try_grab_folio (5.7-6.2)', (k, t) => {
    const pfn = pteTarget(k.threadWord(t, TH_ORIG));
    if (k.pageRef(pfn) === 0) return fallback(k, t, 'the page was freed (folio_try_get_rcu fails)');
    const anon = k.pageTest(pfn, PG_ANON);
    get_page(k, pfn, refs);
    const flags = (g.write ? GUP_WRITE : 0) | (g.longterm ? GUP_LONGTERM : 0) | (anon ? GUP_ANON : 0) | GUP_PENDING;
    k.setGup(g.slot, gupRecord(g.pin ? GUP_PIN : GUP_GET, flags, m, a, pfn));
    if (k.narrate) k.note(`${g.pin ? 'pin' : 'get'} pfn ${pfn} (not yet validated)`);
    return RECHECK;
  });
  const recheck = huge.thp ? 'gup_pte_range / gup_huge_pmd: recheck' : 'gup_pte_range: recheck';
  b.define(RECHECK, recheck, 'mm/gup.c:gup_pte_range, gup_huge_pmd, lockless_pages_from_mm (5.7-6.2)', (k, t) => {
    const orig = k.threadWord(t, TH_ORIG);
    const pfn = pteTarget(orig);
    if (k.mapped(m, a) !== orig) return undo(k, t, huge.thp ? 'the PTE or huge pmd changed' : 'the PTE changed');
    if (!(orig & PTE_WRITE) && k.fn.gup_must_unshare(k, g, pfn, a, true)) return undo(k, t, 'gup_must_unshare');
    const changed = k.fn.gup_fast_seq_retry(k, m, g, GUP_LOCALS.seq.get(k, t));
    if (changed) return undo(k, t, changed);
    k.setGup(g.slot, k.gup(g.slot) & ~GUP_PENDING);
    if (k.narrate) k.note(`GUP-fast done: ref "${k.world.gupNames[g.slot]}" on pfn ${pfn}`);
    return DONE;
  });
}

/** put_page() for FOLL_GET, unpin_user_page() for FOLL_PIN. */
export function buildGupRelease(b: ProgramBuilder, slot: number): void {
  b.step('unpin_user_page / put_page', 'mm/gup.c:unpin_user_page (5.7-6.2)', (k) => {
    const r = k.gup(slot);
    if (gupKind(r) === 0) return DISABLED;
    const pfn = gupPfn(r);
    k.setGup(slot, 0);
    // A device page's unpin goes its release's way (unpin_user_page -> gup_put_folio, 5.18's lost FS_DAX wake-up).
    if (pfn > k.frames) k.world.putDevicePage!(k, pfn, gupRefs(r), gupKind(r) === GUP_PIN);
    else put_page(k, pfn, gupRefs(r));
    if (k.narrate)
      k.note(`${gupKind(r) === GUP_PIN ? `unpin_user_page: _refcount -= ${GUP_PIN_COUNTING_BIAS}` : 'put_page'} on ${pfn === ZERO_PFN ? 'the zeropage' : `pfn ${pfn}`}`);
    return DONE;
  });
}

/** The device (io_uring, RDMA, O_DIRECT) writes through a writable reference. */
export function buildDeviceWrite(b: ProgramBuilder, slot: number, value: number): void {
  b.step(`device store ${value}`, 'DMA through a GUP reference', (k) => {
    const r = k.gup(slot);
    if (gupKind(r) === 0 || !(r & GUP_WRITE) || gupPfn(r) === ZERO_PFN) return DISABLED;
    k.setPageWord(gupPfn(r), PG_DATA, value);
    if (k.narrate) k.note(`the device stores ${value} into pfn ${gupPfn(r)} through ref #${slot}`);
    return DONE;
  });
}
