/**
 * The kernel primitives the operation steps are written with, named after
 * the kernel functions they model, over one packed state. A step function
 * gets a Kernel bound to the state it may change (the engine's scratch copy).
 *
 * The Kernel is also the read-only view invariants use (StateView).
 */
import type { ReadableState } from './readable.js';
import {
  GUP_DETACHED,
  GUP_NONE,
  gupAddr,
  gupKind,
  gupMm,
  gupPfn,
  gupRefs,
} from './gup.js';
import {
  F_GHOST,
  F_IMMAP,
  F_SIZE,
  GHOST_PUNCH_LOST_COW,
  Layout,
  MM_ANONPAGES,
  MM_FILEPAGES,
  MM_LOCK,
  MM_PTL,
  MM_RSS,
  MM_SHMEMPAGES,
  MM_STATE,
  MM_SWAPENTS,
  PG_ANON,
  PG_ANON_EXCLUSIVE,
  PG_DIRTY,
  PG_FLAGS,
  PG_LOCKED,
  PG_MAP,
  PG_MAPPING,
  PG_PRIVATE,
  PG_REF,
  PG_SWAPBACKED,
  PG_SWAPCACHE,
  pageMappingWord,
  SLOT_DATA,
  SLOT_MAP,
  SWAP_HAS_CACHE,
  TH_NEWPAGE,
  TH_ORIG,
  TH_PAGE,
  TH_PC,
  TH_PFN,
  TH_STATUS,
  TS_RUNNING,
  VMA_ANON_VMA,
  VMA_PRESENT,
} from './layout.js';
import {
  PTE_MIGRATION,
  PTE_DIRTY,
  PTE_NONE,
  PTE_PRESENT,
  PTE_SPECIAL,
  PTE_SWAP,
  pteKind,
  pteTarget,
} from './pte.js';
import type { MutantName, SwitchName } from './variants.js';

/** The static world a model state belongs to. */
export interface WorldInfo {
  readonly layout: Layout;
  /** Process names, e.g. ["P", "C"]. */
  readonly mmNames: readonly string[];
  /** VMA of each address (-1 when no VMA ever covers it). */
  readonly vmaOfAddr: readonly number[];
  readonly vmaNames: readonly string[];
  /** The mm each thread runs in (-1 for kernel threads such as kswapd). */
  readonly threadMm: readonly number[];
  readonly threadNames: readonly string[];
  /** Names of the GUP references (one slot each). */
  readonly gupNames: readonly string[];
  /** Per VMA: the file it maps (-1: anonymous), its first file page, MAP_SHARED, first address. */
  readonly vmaFile: readonly number[];
  readonly vmaPgoff: readonly number[];
  readonly vmaShared: readonly boolean[];
  readonly vmaStart: readonly number[];
  /** Per file: name, shmem (else a disk file), on-disk contents per page. */
  readonly fileNames: readonly string[];
  readonly fileShmem: readonly boolean[];
  readonly fileDisk: readonly (readonly number[])[];
}

/** What zap_pte_range is told (struct zap_details); null details is munmap/exit/MADV_DONTNEED. */
export interface ZapDetails {
  /** even_cows: truncation also removes private COW copies; hole punch and invalidation do not. */
  evenCows: boolean;
  /** The file being unmapped (zap_mapping before 5.18). */
  file: number;
  /** The operation, for narration. */
  who: string;
}

export class StateView {
  s: Int32Array = new Int32Array(0);
  readonly L: Layout;

  // The shape's counts as fields of the view (not getters through L.shape): the invariants and the kernel's steps read them in every loop.
  readonly mms: number;
  readonly addrs: number;
  readonly frames: number;
  readonly gupSlots: number;
  readonly swapSlots: number;
  readonly threads: number;

  constructor(readonly world: WorldInfo) {
    this.L = world.layout;
    const sh = this.L.shape;
    this.mms = sh.mms;
    this.addrs = sh.addrs;
    this.frames = sh.frames;
    this.gupSlots = sh.gupSlots;
    this.swapSlots = sh.swapSlots;
    this.threads = world.threadMm.length;
  }

  /** Builds the readable state of a packed one; MMModel.view installs it (cold path, for invariant files). */
  readableOf: ((s: Int32Array) => ReadableState) | null = null;
  private readableCache: ReadableState | null = null;

  bind(s: Int32Array): this {
    this.s = s;
    return this;
  }

  /**
   * Forgets the readable state built for the previous state. Called before
   * each invariant check (registry.ts), not in bind(): bind() runs for every
   * successor the model generates.
   */
  forgetReadable(): void {
    this.readableCache = null;
  }

  /** The bound state as the readable model (what trace files show), built once per invariant check. */
  get readable(): ReadableState {
    if (!this.readableCache) {
      if (!this.readableOf) throw new Error('this state view cannot build the readable state');
      this.readableCache = this.readableOf(this.s);
    }
    return this.readableCache;
  }


  mmState(m: number): number {
    return this.s[this.L.mm(m) + MM_STATE]!;
  }
  mmWord(m: number, field: number): number {
    return this.s[this.L.mm(m) + field]!;
  }
  rss(m: number, c: number): number {
    return this.s[this.L.mm(m) + MM_RSS + c]!;
  }
  pte(m: number, a: number): number {
    return this.s[this.L.pte(m, a)]!;
  }
  /** The vma word covering (m, a), or 0 when unmapped. */
  vmaAt(m: number, a: number): number {
    const v = this.world.vmaOfAddr[a]!;
    return v < 0 ? 0 : this.s[this.L.vma(m, v)]!;
  }
  vmaPresent(m: number, a: number): boolean {
    return (this.vmaAt(m, a) & VMA_PRESENT) !== 0;
  }

  pageRef(pfn: number): number {
    return this.s[this.L.page(pfn) + PG_REF]!;
  }
  pageMapcount(pfn: number): number {
    return this.s[this.L.page(pfn) + PG_MAP]!;
  }
  pageFlags(pfn: number): number {
    return this.s[this.L.page(pfn) + PG_FLAGS]!;
  }
  pageTest(pfn: number, flag: number): boolean {
    return pfn !== 0 && (this.s[this.L.page(pfn) + PG_FLAGS]! & flag) !== 0;
  }
  pageWord(pfn: number, field: number): number {
    return this.s[this.L.page(pfn) + field]!;
  }
  /** The swap slot a swapcache page belongs to (page_private), or -1. */
  pageSwapSlot(pfn: number): number {
    return this.s[this.L.page(pfn) + PG_PRIVATE]! - 1;
  }
  isFree(pfn: number): boolean {
    return this.s[this.L.page(pfn) + PG_REF]! === 0;
  }

  swapMap(slot: number): number {
    return this.s[this.L.slot(slot) + SLOT_MAP]!;
  }
  /** Number of swap entries referencing the slot (swap_count, without SWAP_HAS_CACHE). */
  swapCount(slot: number): number {
    return this.s[this.L.slot(slot) + SLOT_MAP]! & (SWAP_HAS_CACHE - 1);
  }
  swapData(slot: number): number {
    return this.s[this.L.slot(slot) + SLOT_DATA]!;
  }
  /** The page in the swap cache for `slot`, or 0. */
  swapCachePage(slot: number): number {
    if ((this.swapMap(slot) & SWAP_HAS_CACHE) === 0) return 0;
    for (let p = 1; p <= this.frames; p++) {
      if (this.pageTest(p, PG_SWAPCACHE) && this.pageSwapSlot(p) === slot) return p;
    }
    return 0;
  }

  gup(g: number): number {
    return this.s[this.L.gup(g)]!;
  }

  get files(): number {
    return this.L.shape.files;
  }
  fileWord(f: number, field: number): number {
    return this.s[this.L.file(f) + field]!;
  }
  fileSize(f: number): number {
    return this.s[this.L.file(f) + F_SIZE]!;
  }
  /** The page at `index` in f's page cache, or 0. */
  cachePage(f: number, index: number): number {
    return index < this.L.shape.filePages ? this.s[this.L.cache(f, index)]! : 0;
  }
  /** The file a VMA-covered address maps (-1: anonymous or no VMA). */
  fileOf(a: number): number {
    const v = this.world.vmaOfAddr[a]!;
    return v < 0 ? -1 : this.world.vmaFile[v]!;
  }
  /** The file page index address a maps (linear_page_index). */
  fileIndex(a: number): number {
    const v = this.world.vmaOfAddr[a]!;
    return this.world.vmaPgoff[v]! + a - this.world.vmaStart[v]!;
  }
  isSharedMapping(a: number): boolean {
    const v = this.world.vmaOfAddr[a]!;
    return v >= 0 && this.world.vmaShared[v]!;
  }
  /** page->mapping's file, or -1. */
  pageFile(pfn: number): number {
    return (this.s[this.L.page(pfn) + PG_MAPPING]! & 0xff) - 1;
  }
  pageIndex(pfn: number): number {
    return (this.s[this.L.page(pfn) + PG_MAPPING]! >>> 8) & 0xff;
  }
  /** The page is in its file's page cache (which holds a reference on it). */
  inPageCache(pfn: number): boolean {
    const f = this.pageFile(pfn);
    return f >= 0 && this.cachePage(f, this.pageIndex(pfn)) === pfn;
  }

  threadWord(t: number, field: number): number {
    return this.s[this.L.thread(t) + field]!;
  }
  /** True when thread t is in the middle of an operation. */
  threadBusy(t: number): boolean {
    return this.s[this.L.thread(t) + TH_PC]! !== 0;
  }
  /** No thread is in the middle of an operation. */
  quiescent(): boolean {
    for (let t = 0; t < this.threads; t++) if (this.threadBusy(t)) return false;
    return true;
  }

  /** mm_counter() of a page: MM_ANONPAGES, MM_SHMEMPAGES or MM_FILEPAGES. */
  mmCounter(pfn: number): number {
    const f = this.pageFlags(pfn);
    if (f & PG_ANON) return MM_ANONPAGES;
    return f & PG_SWAPBACKED ? MM_SHMEMPAGES : MM_FILEPAGES;
  }

  /** The rss class of an entry (docs/rules.md#accounting), or -1 for none (zeropage, pte_none). */
  rssClass(pte: number): number {
    switch (pteKind(pte)) {
      case PTE_PRESENT:
        return pte & PTE_SPECIAL ? -1 : this.mmCounter(pteTarget(pte));
      case PTE_SWAP:
        return MM_SWAPENTS;
      case PTE_MIGRATION:
        return this.mmCounter(pteTarget(pte));
      default:
        return -1;
    }
  }

  /**
   * Entry e refers to pfn: maps it (pfn 0: the zeropage), is a migration entry
   * for it, or a swap entry whose slot caches it.
   */
  entryRefersTo(e: number, pfn: number): boolean {
    switch (pteKind(e)) {
      case PTE_PRESENT:
        return pteTarget(e) === pfn;
      case PTE_MIGRATION:
        return pteTarget(e) === pfn;
      case PTE_SWAP:
        return this.swapCachePage(pteTarget(e)) === pfn;
      default:
        return false;
    }
  }

  /** Present PTEs (in live or exiting mms) that map pfn. */
  mappingsOf(pfn: number): number {
    let n = 0;
    for (let m = 0; m < this.mms; m++) {
      for (let a = 0; a < this.addrs; a++) {
        const e = this.pte(m, a);
        if (pteKind(e) === PTE_PRESENT && (e & PTE_SPECIAL) === 0 && pteTarget(e) === pfn) n++;
      }
    }
    return n;
  }

  /** Migration entries that point at pfn. */
  migrationEntriesOf(pfn: number): number {
    let n = 0;
    for (let m = 0; m < this.mms; m++) {
      for (let a = 0; a < this.addrs; a++) {
        const e = this.pte(m, a);
        if (pteKind(e) === PTE_MIGRATION && pteTarget(e) === pfn) n++;
      }
    }
    return n;
  }

  /** Thread-held references (a thread's page/new_page locals each hold one). */
  threadRefsOf(pfn: number): number {
    let n = 0;
    for (let t = 0; t < this.threads; t++) {
      if (this.threadWord(t, TH_PAGE) === pfn) n++;
      if (this.threadWord(t, TH_NEWPAGE) === pfn) n++;
    }
    return n;
  }

  /** References GUP records hold on pfn. */
  gupRefsOf(pfn: number): number {
    let n = 0;
    for (let g = 0; g < this.gupSlots; g++) {
      const r = this.gup(g);
      if (gupKind(r) !== GUP_NONE && gupPfn(r) === pfn) n += gupRefs(r);
    }
    return n;
  }

  mmName(m: number): string {
    return this.world.mmNames[m] ?? `mm${m}`;
  }
  addrName(m: number, a: number): string {
    return `${this.mmName(m)}:${a}`;
  }
}

/** Step outcomes besides a next pc (>= 0). */
export const DONE = -1; // the operation finished: it did what it was asked
export const BLOCKED = -2; // the step waits (a lock is held): not enabled now
export const DISABLED = -3; // the operation cannot start in this state
export const FAILED = -4; // the operation finished without doing it: an error return (-ENOMEM, SIGBUS, -EFAULT...)

export class Kernel extends StateView {
  /** Narration of the branch taken, collected only when tracing (cold path). */
  narrate = false;
  notes: string[] = [];

  constructor(
    world: WorldInfo,
    readonly switches: ReadonlySet<SwitchName>,
    readonly mutants: ReadonlySet<MutantName>,
  ) {
    super(world);
  }

  has(s: SwitchName): boolean {
    return this.switches.has(s);
  }
  mutant(m: MutantName): boolean {
    return this.mutants.has(m);
  }

  /**
   * Adds a line to the narration. Callers write `if (k.narrate) k.note(...)`:
   * the text is then built only for a trace, not for every successor
   * (building it cost cow-fork-gup 20% of its successor generation).
   */
  note(text: string): void {
    if (this.narrate) this.notes.push(text);
  }

  // ---- raw setters -------------------------------------------------------
  setPte(m: number, a: number, pte: number): void {
    this.s[this.L.pte(m, a)] = pte;
  }
  setMmWord(m: number, field: number, v: number): void {
    this.s[this.L.mm(m) + field] = v;
  }
  addRss(m: number, c: number, d: number): void {
    this.s[this.L.mm(m) + MM_RSS + c]! += d;
  }
  setPageWord(pfn: number, field: number, v: number): void {
    this.s[this.L.page(pfn) + field] = v;
  }
  setPageFlag(pfn: number, flag: number): void {
    this.s[this.L.page(pfn) + PG_FLAGS]! |= flag;
  }
  clearPageFlag(pfn: number, flag: number): void {
    this.s[this.L.page(pfn) + PG_FLAGS]! &= ~flag;
  }
  /** anon_vma_prepare(): the VMA now has anonymous pages (fork must copy its page table). */
  setVmaAnon(m: number, a: number): void {
    const v = this.world.vmaOfAddr[a]!;
    this.s[this.L.vma(m, v)]! |= VMA_ANON_VMA;
  }
  setThreadWord(t: number, field: number, v: number): void {
    this.s[this.L.thread(t) + field] = v;
  }
  setGup(g: number, r: number): void {
    this.s[this.L.gup(g)] = r;
  }

  // ---- page allocator and refcounts (mm/page_alloc.c, mm/swap.c) ----------
  /**
   * alloc_page(): a free frame with _refcount 1, or 0 (OOM). The allocator
   * may return any free page; the model returns one that no thread still
   * remembers (a stale orig_pte or pfn) when there is one, so that free frames
   * are interchangeable and the model is symmetric in frame numbers (the
   * symmetry reduction relies on it); otherwise the one remembered first.
   */
  allocPage(): number {
    let best = 0;
    let bestPos = -1;
    for (let p = 1; p <= this.frames; p++) {
      if (this.pageRef(p) !== 0) continue;
      const pos = this.staleReference(p);
      if (pos === Infinity) {
        best = p;
        break;
      }
      if (best === 0 || pos < bestPos) {
        best = p;
        bestPos = pos;
      }
    }
    if (best) this.s[this.L.page(best) + PG_REF] = 1;
    return best;
  }

  /** The first thread local that still names pfn (orig_pte or a remembered pfn), as a position; Infinity if none. */
  private staleReference(pfn: number): number {
    for (let t = 0; t < this.threads; t++) {
      const o = this.threadWord(t, TH_ORIG);
      const k = o & 7;
      if ((k === PTE_PRESENT && !(o & PTE_SPECIAL) || k === PTE_MIGRATION) && pteTarget(o) === pfn) return 2 * t;
      if (this.threadWord(t, TH_PFN) === pfn) return 2 * t + 1;
    }
    return Infinity;
  }

  /** get_page(). The zeropage is not refcounted in the model. */
  getPage(pfn: number, refs = 1): void {
    if (pfn !== 0) this.s[this.L.page(pfn) + PG_REF]! += refs;
  }

  /** put_page() / folio_put_refs(): frees the frame at zero. */
  putPage(pfn: number, refs = 1): void {
    if (pfn === 0) return;
    const o = this.L.page(pfn) + PG_REF;
    this.s[o]! -= refs;
    if (this.s[o]! <= 0) this.freeFrame(pfn);
  }

  private freeFrame(pfn: number): void {
    const o = this.L.page(pfn);
    // A freed frame is all zeroes: a canonical free state. A frame freed
    // while still mapped keeps _mapcount so refcount-sane can report it.
    const map = this.s[o + PG_MAP]!;
    for (let i = 0; i < 6; i++) this.s[o + i] = 0;
    this.s[o + PG_MAP] = map;
  }

  /** trylock_page(). */
  trylockPage(pfn: number): boolean {
    if (this.pageTest(pfn, PG_LOCKED)) return false;
    this.setPageFlag(pfn, PG_LOCKED);
    return true;
  }
  unlockPage(pfn: number): void {
    this.clearPageFlag(pfn, PG_LOCKED);
  }

  // ---- rmap (mm/rmap.c) ---------------------------------------------------
  /** page_add_new_anon_rmap(): a fresh anon page, exclusive from 5.19 (R1). */
  pageAddNewAnonRmap(pfn: number): void {
    this.setPageWord(pfn, PG_MAP, 1);
    this.setPageFlag(pfn, PG_ANON | PG_SWAPBACKED);
    if (this.has('anon-exclusive')) this.setPageFlag(pfn, PG_ANON_EXCLUSIVE);
  }
  /** page_add_anon_rmap(page, RMAP_EXCLUSIVE?). */
  pageAddAnonRmap(pfn: number, exclusive: boolean): void {
    this.s[this.L.page(pfn) + PG_MAP]!++;
    this.setPageFlag(pfn, PG_ANON);
    if (exclusive && this.has('anon-exclusive')) this.setPageFlag(pfn, PG_ANON_EXCLUSIVE);
  }
  /** page_dup_rmap(). */
  pageDupRmap(pfn: number): void {
    this.s[this.L.page(pfn) + PG_MAP]!++;
  }
  /** page_remove_rmap(). */
  pageRemoveRmap(pfn: number): void {
    this.s[this.L.page(pfn) + PG_MAP]!--;
  }

  // ---- swap (mm/swapfile.c, mm/swap_state.c) ------------------------------
  setSwapMap(slot: number, v: number): void {
    this.s[this.L.slot(slot) + SLOT_MAP] = v;
    if (v === 0) this.s[this.L.slot(slot) + SLOT_DATA] = 0;
  }
  setSwapData(slot: number, v: number): void {
    this.s[this.L.slot(slot) + SLOT_DATA] = v;
  }
  /** get_swap_page(): a free slot, reserved with SWAP_HAS_CACHE; -1 when swap is full. */
  getSwapPage(): number {
    for (let i = 0; i < this.swapSlots; i++) {
      if (this.swapMap(i) === 0) {
        this.setSwapMap(i, SWAP_HAS_CACHE);
        return i;
      }
    }
    return -1;
  }
  /** add_to_swap_cache(): the cache holds one reference. */
  addToSwapCache(pfn: number, slot: number): void {
    this.setPageFlag(pfn, PG_SWAPCACHE);
    this.setPageWord(pfn, PG_PRIVATE, slot + 1);
    this.setSwapMap(slot, this.swapMap(slot) | SWAP_HAS_CACHE);
    this.getPage(pfn);
  }
  /** delete_from_swap_cache(): drops the cache's reference (put_swap_page frees an unused slot). */
  deleteFromSwapCache(pfn: number): void {
    const slot = this.pageSwapSlot(pfn);
    this.clearPageFlag(pfn, PG_SWAPCACHE);
    this.setPageWord(pfn, PG_PRIVATE, 0);
    this.setSwapMap(slot, this.swapMap(slot) & ~SWAP_HAS_CACHE);
    this.putPage(pfn);
  }
  /** swap_duplicate(). */
  swapDuplicate(slot: number): void {
    this.setSwapMap(slot, this.swapMap(slot) + 1);
  }
  /** swap_free(): one entry fewer; the slot is free once unused and uncached. */
  swapFree(slot: number): void {
    this.setSwapMap(slot, this.swapMap(slot) - 1);
  }
  /**
   * try_to_free_swap(): drop a swapcache page's slot when no swap entry uses
   * it any more (not under writeback: writeback is synchronous here).
   */
  tryToFreeSwap(pfn: number): boolean {
    if (!this.pageTest(pfn, PG_SWAPCACHE)) return false;
    if (this.swapCount(this.pageSwapSlot(pfn)) > 0) return false;
    this.setPageFlag(pfn, PG_DIRTY); // SetPageDirty (before: dropping the cache's reference may free it)
    this.deleteFromSwapCache(pfn);
    return true;
  }
  /**
   * free_swap_and_cache() (mm/swapfile.c): drop one entry; when only the
   * cache is left and the cached page is unmapped and unlocked,
   * __try_to_reclaim_swap(TTRS_UNMAPPED) frees it from the cache.
   */
  freeSwapAndCache(slot: number): void {
    this.swapFree(slot);
    if (this.swapMap(slot) !== SWAP_HAS_CACHE) return;
    const pfn = this.swapCachePage(slot);
    if (pfn === 0 || this.pageTest(pfn, PG_LOCKED) || this.pageMapcount(pfn) > 0) return;
    this.tryToFreeSwap(pfn);
  }
  /**
   * reuse_swap_page() (mm/swapfile.c, <= 5.17): reuse iff mapcount + swapcount
   * <= 1; GUP references are not counted. At count 1 it also drops the page
   * from the swap cache. Caller holds the page lock.
   */
  reuseSwapPage(pfn: number): boolean {
    const swapcache = this.pageTest(pfn, PG_SWAPCACHE);
    const count = this.pageMapcount(pfn) + (swapcache ? this.swapCount(this.pageSwapSlot(pfn)) : 0);
    if (count === 1 && swapcache) {
      this.setPageFlag(pfn, PG_DIRTY);
      this.deleteFromSwapCache(pfn);
    }
    return count <= 1;
  }

  // ---- mmap_lock (kernel/locking/rwsem.c): >= 0 readers, -1 a writer ------
  mmapReadTrylock(m: number): boolean {
    const o = this.L.mm(m) + MM_LOCK;
    if (this.s[o]! < 0) return false;
    this.s[o]!++;
    return true;
  }
  mmapReadUnlock(m: number): void {
    this.s[this.L.mm(m) + MM_LOCK]!--;
  }
  mmapWriteTrylock(m: number): boolean {
    const o = this.L.mm(m) + MM_LOCK;
    if (this.s[o]! !== 0) return false;
    this.s[o] = -1;
    return true;
  }
  mmapWriteUnlock(m: number): void {
    this.s[this.L.mm(m) + MM_LOCK] = 0;
  }

  // ---- the PTE-table lock (mm/memory.c pte_offset_map_lock) ------------------
  /** Another thread holds mm m's PT lock across steps: a step that needs it waits (spin_lock). */
  ptlHeldByOther(m: number, t: number): boolean {
    const h = this.s[this.L.mm(m) + MM_PTL]!;
    return h !== 0 && h !== t + 1;
  }
  ptlLock(m: number, t: number): void {
    this.s[this.L.mm(m) + MM_PTL] = t + 1;
  }
  ptlUnlock(m: number): void {
    this.s[this.L.mm(m) + MM_PTL] = 0;
  }

  // ---- files: page cache and locks (mm/filemap.c, mm/shmem.c) --------------------
  setFileWord(f: number, field: number, v: number): void {
    this.s[this.L.file(f) + field] = v;
  }
  /** add_to_page_cache / shmem_add_to_page_cache: the page cache holds one reference. */
  addToPageCache(f: number, index: number, pfn: number): void {
    this.s[this.L.cache(f, index)] = pfn;
    this.setPageWord(pfn, PG_MAPPING, pageMappingWord(f, index));
    if (this.world.fileShmem[f]) this.setPageFlag(pfn, PG_SWAPBACKED);
    this.getPage(pfn);
  }
  /** delete_from_page_cache / filemap_remove_folio: page->mapping = NULL, drop the cache's reference. */
  deleteFromPageCache(pfn: number): void {
    this.s[this.L.cache(this.pageFile(pfn), this.pageIndex(pfn))] = 0;
    this.setPageWord(pfn, PG_MAPPING, 0);
    this.putPage(pfn);
  }
  /** page_add_file_rmap(). */
  pageAddFileRmap(pfn: number): void {
    this.s[this.L.page(pfn) + PG_MAP]!++;
  }
  /** i_mmap_rwsem: >= 0 readers, -1 a writer. */
  iMmapTrylock(f: number, write: boolean): boolean {
    const o = this.L.file(f) + F_IMMAP;
    if (write ? this.s[o]! !== 0 : this.s[o]! < 0) return false;
    this.s[o] = write ? -1 : this.s[o]! + 1;
    return true;
  }
  iMmapUnlock(f: number): void {
    const o = this.L.file(f) + F_IMMAP;
    this.s[o] = this.s[o]! < 0 ? 0 : this.s[o]! - 1;
  }

  /**
   * zap_pte_range() on one PTE with zap_details, as unmap_mapping_range and
   * unmap_mapping_folio call it (mm/memory.c, 5.17 and 5.18).
   *   <= 5.17: zap_skip_check_mapping() keeps a private COW page when a
   *            mapping is given (!even_cows); "if (details) continue" keeps
   *            every swap and migration entry.
   *   5.18 (5abfd71d936a and the should_zap_page rework): a swap entry goes
   *            iff even_cows; a migration entry iff even_cows or its page is
   *            not anon; a present anon page iff even_cows.
   * Returns true when the entry was zapped.
   */
  zapPteDetails(m: number, a: number, d: ZapDetails): boolean {
    const e = this.pte(m, a);
    const kind = pteKind(e);
    if (kind === PTE_NONE) return false;
    const evenCows = (d.evenCows && !this.mutant('truncate-skips-cows')) || this.mutant('punch-zaps-cows');
    const fixed = this.has('zap-details-fix');
    const anonPage = (pfn: number) => this.pageTest(pfn, PG_ANON);
    let zap: boolean;
    if (kind === PTE_PRESENT) {
      zap = evenCows || (e & PTE_SPECIAL) !== 0 || !anonPage(pteTarget(e));
    } else if (!fixed || (kind === PTE_MIGRATION && this.mutant('zap-skips-migration'))) {
      zap = false;
      if (this.narrate) this.note(`${this.addrName(m, a)}: ${d.who}: details != NULL: "we leave swap entries" - ${kind === PTE_SWAP ? 'swap' : 'migration'} entry skipped`);
    } else if (kind === PTE_SWAP) {
      zap = evenCows;
    } else {
      zap = evenCows || !anonPage(pteTarget(e));
    }
    if (!zap) return false;
    if (!d.evenCows && ((kind === PTE_PRESENT && (e & PTE_SPECIAL) === 0 && anonPage(pteTarget(e))) || kind === PTE_SWAP)) {
      this.setFileWord(d.file, F_GHOST, this.fileWord(d.file, F_GHOST) | GHOST_PUNCH_LOST_COW);
    }
    this.zapPte(m, a);
    return true;
  }

  // ---- GUP references ----------------------------------------------------
  /** Marks the GUP references taken through (m, a) as detached: the user unmapped it. */
  detachGup(m: number, a: number): void {
    for (let g = 0; g < this.gupSlots; g++) {
      const r = this.gup(g);
      if (gupKind(r) !== GUP_NONE && gupMm(r) === m && gupAddr(r) === a) this.setGup(g, r | GUP_DETACHED);
    }
  }

  // ---- zap (mm/memory.c:zap_pte_range) -------------------------------------
  /**
   * Zaps one PTE with details == NULL (munmap, MADV_DONTNEED, exit_mmap):
   * every entry kind is removed and its rss counter decremented.
   */
  zapPte(m: number, a: number): void {
    const e = this.pte(m, a);
    if (e !== 0) this.detachGup(m, a);
    switch (pteKind(e)) {
      case PTE_NONE:
        return;
      case PTE_PRESENT: {
        this.setPte(m, a, 0);
        if (e & PTE_SPECIAL) return; // vm_normal_page() == NULL: zeropage, no rss
        const pfn = pteTarget(e);
        const c = this.mmCounter(pfn);
        if (!(c === MM_ANONPAGES && this.mutant('zap-no-rss'))) this.addRss(m, c, -1);
        if (e & PTE_DIRTY) this.setPageFlag(pfn, PG_DIRTY);
        this.pageRemoveRmap(pfn);
        // tlb_finish_mmu -> free_pages_and_swap_cache: free_swap_cache() then put.
        this.freeSwapCacheIfUnused(pfn);
        this.putPage(pfn);
        return;
      }
      case PTE_SWAP:
        this.setPte(m, a, 0);
        this.addRss(m, MM_SWAPENTS, -1);
        this.freeSwapAndCache(pteTarget(e));
        return;
      case PTE_MIGRATION:
        this.setPte(m, a, 0);
        if (this.mutant('zap-migration-no-rss')) this.note('MUTANT: migration entry cleared without the rss decrement');
        else this.addRss(m, this.mmCounter(pteTarget(e)), -1);
        return;
    }
  }

  /** free_swap_cache() (mm/swap_state.c): an unmapped swapcache page whose slot is unused leaves the cache. */
  freeSwapCacheIfUnused(pfn: number): void {
    if (this.pageTest(pfn, PG_SWAPCACHE) && this.pageMapcount(pfn) === 0 && !this.pageTest(pfn, PG_LOCKED)) {
      this.tryToFreeSwap(pfn);
    }
  }

  /** Threads of mm m other than t: all idle? */
  othersIdle(m: number, t: number): boolean {
    for (let u = 0; u < this.threads; u++) {
      if (u !== t && this.world.threadMm[u] === m && this.threadBusy(u)) return false;
    }
    return true;
  }

  /** Marks every thread of mm m as exited. */
  exitThreads(m: number): void {
    for (let u = 0; u < this.threads; u++) {
      if (this.world.threadMm[u] === m) this.setThreadWord(u, TH_STATUS, 2);
    }
  }

  /** Starts the threads of a newly forked mm (wake_up_new_task). */
  startThreads(m: number): void {
    for (let u = 0; u < this.threads; u++) {
      if (this.world.threadMm[u] === m) this.setThreadWord(u, TH_STATUS, TS_RUNNING);
    }
  }
}
