/**
 * The kernel primitives the operation steps are written with, named after
 * the kernel functions they model, over one packed state. A step function
 * gets a Kernel bound to the state it may change (the engine's scratch copy).
 *
 * The Kernel is also the read-only view invariants use (StateView).
 */
import type { PutDevmapPage } from './kernel/memremap.js';
import type { DeviceType } from './scenario.js';
import { FramePlaces } from './frame-places.js';
import { keyName, LockPlaces } from './held-locks.js';
import { statusWait, withWait } from './locks.js';
import {
  compoundEntire,
  compoundHeadOf,
  compoundIndex,
  compoundTail,
  mappingFile,
  mappingIndex,
  pmdHugePfn,
  pmdHugeRo,
  pmdIsHuge,
  pmdIsMigration,
  pmdMigrationKind,
  pmdMigrationPfn,
} from './objects.js';
import type { Lockdep } from './lockdep.js';
import type { ReadableState } from './readable.js';
import { GUP_DETACHED, GUP_NONE, gupAddr, gupKind, gupMm, gupPfn, gupRefs } from './gup.js';
import {
  F_SIZE,
  type Layout,
  MM_ANONPAGES,
  MM_FILEPAGES,
  MM_RSS,
  MM_SHMEMPAGES,
  MM_STATE,
  MM_SWAPENTS,
  PG_ANON,
  PG_COMPOUND,
  PG_FLAGS,
  PG_MAP,
  PG_MAPPING,
  PG_PRIVATE,
  PG_REF,
  PG_SWAPBACKED,
  PG_SWAPCACHE,
  PG_THP,
  SLOT_DATA,
  SLOT_MAP,
  SWAP_HAS_CACHE,
  TH_PC,
  TH_STATUS,
  TS_RUNNING,
  VMA_PRESENT,
  VMA_WRITE,
} from './layout.js';
import { PTE_DEVMAP, PTE_DEVPRIV, PTE_MIGRATION, PTE_PRESENT, PTE_SPECIAL, PTE_SWAP, ptePresent, pteKind, pteMigration, pteTarget, pteZero } from './pte.js';
import type { KernelFunctions } from './kernel/functions.js';

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
  readonly vmaPages: readonly number[];
  /** Per file: name, shmem (else a disk file), on-disk contents per page. */
  readonly fileNames: readonly string[];
  readonly fileShmem: readonly boolean[];
  readonly fileDisk: readonly (readonly number[])[];
  /** Per file: a DAX file (4.4-4.6: its data lives in persistent memory; only holes have page-cache pages). */
  readonly fileDax: readonly boolean[];
  /** shmem mounted huge=always: a page-cache miss allocates a THP (model/scenario.ts FileSpec.huge). */
  readonly fileHuge: readonly boolean[];
  /**
   * Per file: its page i is device page i: a file on a DAX filesystem over
   * the scenario's FS_DAX device, or a device-dax character device over its
   * GENERIC one (5.7 on; model/scenario.ts FileSpec.fsdax, devdax).
   */
  readonly fileDevice: readonly boolean[];
  /**
   * The _refcount of an idle FS_DAX page by release: 1 up to 6.14, 0 from
   * 6.15 (38607c62b34b); what break_layouts' wait (and dax_busy_page) treat
   * as idle. -1 without a device.
   */
  readonly fsdaxIdle: number;
  /** The count at which the release's put path wakes a break_layouts waiter (1, or 0 with the RFC and from 6.15). */
  readonly fsdaxWakeAt: number;
  /** DAX mappings (fsdax, device-dax) hold a reference, mapcount and rss (6.15); before, devmap PTEs hold none. */
  readonly daxMapsRefcounted: boolean;
  /** The pgmap's type, or null without a device. */
  readonly devType: DeviceType | null;
  /** Device-private or coherent memory: the driver hands out pages from its free list (migrate_vma) and ->page_free takes them back. */
  readonly devFreeList: boolean;
  /** The release's put path for a page of this device (model/kernel/memremap.ts), chosen when the model is built. */
  readonly putDevicePage: PutDevmapPage | null;
  /**
   * A device-private page's counts by release: on the driver's free list
   * (1 up to 6.0, 0 from 6.1, ef233450898f), and an allocated page's base
   * beyond its entries and holders (1 up to 5.17: the driver's get_page; 0
   * from 5.18, 27674ef6c73f).
   */
  readonly devFreeCount: number;
  readonly devBase: number;
  /** The processes' legacy memcg is at its limit: page-table allocations reclaim first (scenario "reclaim": "memcg-v1"). */
  readonly memcgV1: boolean;
  /** Memory is exhausted beyond the PTE-table pool: an allocation that finds none invokes the OOM killer (scenario "reclaim": "oom"). */
  readonly oom: boolean;
  /** Free memory is short: a page-table allocation enters direct reclaim, which walks a mapped page's rmap (scenario "reclaim": "direct"). */
  readonly directReclaim: boolean;
  /** The pages a huge pmd maps (the THP VMA's length); 0 when the scenario has no THP VMA. */
  readonly thpPages: number;
  /** A thread's state in one line, for the readable state (the model sets it once its programs are built). */
  describeThread: (v: StateView, t: number) => string;
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
  /** ZONE_DEVICE frames, pfns frames + 1 .. frames + devFrames. */
  readonly devFrames: number;
  readonly gupSlots: number;
  readonly swapSlots: number;
  readonly threads: number;
  /** Frames have their compound word (a world with THPs). */
  readonly folios: boolean;
  /** Each thread's status word (status and wait) offset: the wake-up and waiter scans read it for every lock release. */
  readonly statusAt: Int32Array;

  /** Frames the threads hold a reference on (a fault's page, a copy), and frames they only remember (orig_pte, reclaim's pfn): from the schema. */
  readonly threadHeld: FramePlaces;
  readonly threadRemembered: FramePlaces;
  /** Every lock word and its class (from the schema's lock fields). */
  readonly lockPlaces: LockPlaces;

  constructor(readonly world: WorldInfo) {
    this.L = world.layout;
    this.threadHeld = new FramePlaces(this.L, (kind, holds) => kind === 'thread' && holds);
    this.threadRemembered = new FramePlaces(this.L, (kind, holds) => kind === 'thread' && !holds);
    this.lockPlaces = new LockPlaces(this.L);
    const sh = this.L.shape;
    this.mms = sh.mms;
    this.addrs = sh.addrs;
    this.frames = sh.frames;
    this.devFrames = sh.devFrames ?? 0;
    this.gupSlots = sh.gupSlots;
    this.swapSlots = sh.swapSlots;
    this.threads = world.threadMm.length;
    this.folios = this.L.folios;
    this.statusAt = Int32Array.from({ length: this.threads }, (_, t) => this.L.thread(t) + TH_STATUS);
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

  /** page_count(): the _refcount of the page's folio (compound_head: a tail's references are its head's). */
  pageRef(pfn: number): number {
    const o = this.L.page(pfn);
    if (!this.folios) return this.s[o + PG_REF]!;
    const head = compoundHeadOf(this.s[o + PG_COMPOUND]!);
    return this.s[head ? this.L.page(head) + PG_REF : o + PG_REF]!;
  }
  /** The page's own _mapcount: the PTEs mapping this page (a huge pmd counts in its folio's entire mapcount). */
  pageMapcount(pfn: number): number {
    return this.s[this.L.page(pfn) + PG_MAP]!;
  }
  /** compound_head(): the head of pfn's folio (pfn itself for a head or an order-0 page). */
  folioHead(pfn: number): number {
    if (!this.folios) return pfn;
    return compoundHeadOf(this.s[this.L.page(pfn) + PG_COMPOUND]!) || pfn;
  }
  /** A folio's entire mapcount (compound_mapcount: the huge pmds mapping it). */
  folioEntire(head: number): number {
    if (!this.folios) return 0;
    return compoundEntire(this.s[this.L.page(head) + PG_COMPOUND]!);
  }
  /** The pages of head's folio, the head first (1 for an order-0 page). It allocates: THP paths only, not the order-0 hot path. */
  folioPages(head: number): number[] {
    const out = [head];
    if (!this.folios) return out;
    for (let p = 1; p <= this.frames; p++)
      if (p !== head && compoundHeadOf(this.s[this.L.page(p) + PG_COMPOUND]!) === head) out[compoundIndex(this.s[this.L.page(p) + PG_COMPOUND]!)] = p;
    return out;
  }
  /** Subpage i of head's folio (the head for 0): the pmd's page plus the offset in the range, as follow_trans_huge_pmd computes it. */
  folioPage(head: number, i: number): number {
    if (i === 0 || !this.folios) return i === 0 ? head : 0;
    const want = compoundTail(head, i);
    for (let p = 1; p <= this.frames; p++) if (this.s[this.L.page(p) + PG_COMPOUND] === want) return p;
    return 0;
  }
  /** total_mapcount() / folio_mapcount(): the mappings of every page of head's folio, its huge pmds included. */
  total_mapcount(head: number): number {
    if (!this.pageTest(head, PG_THP)) return this.pageMapcount(head);
    let n = this.folioEntire(head);
    for (const p of this.folioPages(head)) n += this.pageMapcount(p);
    return n;
  }
  /** page_mapcount(): how many page tables map the page: its PTEs plus its folio's huge pmds. */
  page_mapcount(pfn: number): number {
    const head = this.folioHead(pfn);
    return this.pageMapcount(pfn) + (head === pfn && !this.pageTest(pfn, PG_THP) ? 0 : this.folioEntire(head));
  }
  /**
   * page_trans_huge_mapcount() / the mapcount of page_trans_huge_map_swapcount()
   * (mm/swapfile.c 4.6-5.17): for a page of a THP, the largest mapcount of any
   * of its subpages' PTEs plus the entire mapcount (PageDoubleMap's correction
   * leaves exactly that); page_mapcount() for an order-0 page.
   */
  page_trans_huge_mapcount(pfn: number): number {
    const head = this.folioHead(pfn);
    if (head === pfn && !this.pageTest(pfn, PG_THP)) return this.pageMapcount(pfn);
    let max = 0;
    for (const p of this.folioPages(head)) max = Math.max(max, this.pageMapcount(p));
    return max + this.folioEntire(head);
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
  /** A free frame: no references, and not a tail of a folio (whose references are its head's). */
  isFree(pfn: number): boolean {
    const o = this.L.page(pfn);
    return this.s[o + PG_REF]! === 0 && (!this.folios || this.s[o + PG_COMPOUND]! === 0);
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
    return mappingFile(this.s[this.L.page(pfn) + PG_MAPPING]!);
  }
  pageIndex(pfn: number): number {
    return mappingIndex(this.s[this.L.page(pfn) + PG_MAPPING]!);
  }
  /** The page is in its file's page cache (which holds a reference on it). */
  inPageCache(pfn: number): boolean {
    const f = this.pageFile(pfn);
    return f >= 0 && this.cachePage(f, this.pageIndex(pfn)) === pfn;
  }

  threadWord(t: number, field: number): number {
    return this.s[this.L.thread(t) + field]!;
  }
  /** The wait key t is registered on, with its mode and asleep bits (model/locks.ts); 0: none. */
  threadWait(t: number): number {
    return statusWait(this.s[this.L.thread(t) + TH_STATUS]!);
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
      case PTE_DEVPRIV:
        return this.mmCounter(pteTarget(pte));
      default:
        return -1;
    }
  }

  /**
   * Entry e refers to pfn: maps it (pfn 0: the zeropage; a devmap PTE its
   * device page), is a migration or device-private entry for it, or a swap
   * entry whose slot caches it.
   */
  entryRefersTo(e: number, pfn: number): boolean {
    switch (pteKind(e)) {
      case PTE_PRESENT:
        return pteTarget(e) === pfn;
      case PTE_MIGRATION:
      case PTE_DEVPRIV:
      case PTE_DEVMAP:
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
  /** A lock or wait queue by its wait key, e.g. "P mmap_lock", "pfn 2 PG_locked". */
  /** The scenario models the PMD level (pageTables). */
  get pmdLevel(): boolean {
    return this.L.pgtables > 0;
  }
  /** mm m's pmd entry (with the PMD level modelled). */
  pmdWord(m: number): number {
    return this.s[this.L.pmd(m)]!;
  }
  /** Processes with a pmd word (the scenario models the PMD level and has a THP VMA); 0 otherwise. */
  get hugePmds(): number {
    return this.world.thpPages > 0 ? this.L.bases.pmd!.length : 0;
  }
  /** mm m's pmd is huge (a THP, or the huge zero page). */
  hugePmd(m: number): boolean {
    return pmdIsHuge(this.s[this.L.pmd(m)]!);
  }
  /** The THP mm m's huge pmd maps, or 0 (none, a table, or the huge zero page). */
  hugePmdPfn(m: number): number {
    return pmdHugePfn(this.s[this.L.pmd(m)]!);
  }
  /**
   * What maps address a of mm m, as the MMU sees it: its PTE or, under a huge
   * pmd (the THP VMA is the process's only VMA), the THP as a present entry,
   * writable when the pmd and the VMA are; under a PMD migration entry, a
   * migration entry of the subpage.
   */
  mapped(m: number, a: number): number {
    if (this.world.thpPages > 0) {
      const w = this.s[this.L.pmd(m)]!;
      if (pmdIsHuge(w) && this.vmaPresent(m, a)) {
        const folio = pmdHugePfn(w);
        const page = folio ? this.folioPage(folio, a - this.world.vmaStart[this.world.vmaOfAddr[a]!]!) : 0;
        return page ? ptePresent(page, !pmdHugeRo(w) && (this.vmaAt(m, a) & VMA_WRITE) !== 0, true) : pteZero();
      }
      // A PMD migration entry: each address reads as a migration entry of its subpage.
      if (pmdIsMigration(w) && this.vmaPresent(m, a))
        return pteMigration(this.folioPage(pmdMigrationPfn(w), a - this.world.vmaStart[this.world.vmaOfAddr[a]!]!), pmdMigrationKind(w));
    }
    return this.pte(m, a);
  }
  keyName(key: number): string {
    return keyName(key, { mm: (i) => this.mmName(i), file: (i) => this.world.fileNames[i] ?? `file${i}`, vma: (i) => this.world.vmaNames[i] ?? `vma${i}` });
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
export const SLEEP = -5; // the thread registered on a wait key and sleeps (model/kernel/locking.ts sleep_on); it runs this step again once woken

export class Kernel extends StateView {
  /** Narration of the branch taken, collected only when tracing (cold path). */
  narrate = false;
  notes: string[] = [];

  /**
   * The kernel functions of this variant's release (model/kernel/functions.ts),
   * chosen when the model was built: steps call them as k.fn.do_wp_page(...).
   */
  constructor(
    world: WorldInfo,
    readonly fn: KernelFunctions,
  ) {
    super(world);
  }

  /** The wait key of the last sleep_on or spin_on (what a SLEEP or BLOCKED step waits for). */
  waitKey = 0;
  /** lockdep, when the lock order is checked (model/lockdep.ts); null otherwise. */
  lockdep: Lockdep | null = null;
  /** The step being run (its first action id), for lockdep's record of who acquired what. */
  stepAction = 0;
  /** Sleeping locks the step being run has taken so far (a step may sleep only before its first: model/kernel/locking.ts). */
  acquiredInStep = 0;
  /** Checks that cost on the hot path, on when MMCHECK_ASSERT is set (the tests set it). */
  readonly checked = process.env.MMCHECK_ASSERT !== undefined && process.env.MMCHECK_ASSERT !== '';

  setThreadWait(t: number, wait: number): void {
    const o = this.L.thread(t) + TH_STATUS;
    this.s[o] = withWait(this.s[o]!, wait);
  }

  /** A blocking acquisition of the lock `key` by t: lockdep records the classes t holds meanwhile. */
  lockdepAcquire(t: number, key: number): void {
    if (this.lockdep !== null) this.lockdep.acquire(this, t, key);
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
  setThreadWord(t: number, field: number, v: number): void {
    this.s[this.L.thread(t) + field] = v;
  }
  setGup(g: number, r: number): void {
    this.s[this.L.gup(g)] = r;
  }

  // ---- swap (mm/swapfile.c, mm/swap_state.c) ------------------------------
  setSwapMap(slot: number, v: number): void {
    this.s[this.L.slot(slot) + SLOT_MAP] = v;
    if (v === 0) this.s[this.L.slot(slot) + SLOT_DATA] = 0;
  }
  setSwapData(slot: number, v: number): void {
    this.s[this.L.slot(slot) + SLOT_DATA] = v;
  }
  // ---- files: page cache and locks (mm/filemap.c, mm/shmem.c) --------------------
  setFileWord(f: number, field: number, v: number): void {
    this.s[this.L.file(f) + field] = v;
  }
  setCacheSlot(f: number, index: number, pfn: number): void {
    this.s[this.L.cache(f, index)] = pfn;
  }
  // ---- GUP references ----------------------------------------------------
  /** Marks the GUP references taken through (m, a) as detached: the user unmapped it. */
  detachGup(m: number, a: number): void {
    for (let g = 0; g < this.gupSlots; g++) {
      const r = this.gup(g);
      if (gupKind(r) !== GUP_NONE && gupMm(r) === m && gupAddr(r) === a) this.setGup(g, r | GUP_DETACHED);
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
