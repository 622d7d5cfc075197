/**
 * Where each kernel object lives in the packed state (one Int32Array, one
 * word per field). The shape depends on the scenario: how many mms,
 * addresses, page frames, swap slots, GUP references and threads it has.
 *
 *   mm m:       state, flags, mmap_lock, write_protect_seq, rss[4], PT lock, vma[V], pte[A]
 *   frame f:    _refcount, _mapcount (as a count), flags, data, private (swap slot+1), mapping (file+1, index)
 *   swap slot:  swap_map (count | SWAP_HAS_CACHE), data written by swap_writepage
 *   file:       i_size (pages), flags (i_rwsem, shmem_falloc), i_mmap_rwsem, ghost, page cache[P]
 *   GUP ref g:  one packed record (see gup.ts)
 *   thread t:   pc, status, orig_pte, page, new_page, aux, aux2, pfn, budget[]
 *
 * pfn 0 is the shared zeropage and has no frame; frames are pfn 1..F.
 */

export const MM_STATE = 0;
export const MM_FLAGS = 1;
export const MM_LOCK = 2;
export const MM_WPSEQ = 3;
export const MM_RSS = 4;
/**
 * The split PTE-table lock (pte_lockptr) of the mm's one page table: 0 free,
 * else the holding thread + 1. A step that takes it and drops it again needs
 * no word (the step is atomic); it is held across steps only where lockless
 * readers (GUP-fast) must be able to run inside the critical section: fork's
 * copy_pte_range.
 */
export const MM_PTL = 8;
/** Words of an mm before its VMAs: all zero while the mm is unused. */
export const MM_FIXED_WORDS = 9;
const MM_FIXED = MM_FIXED_WORDS;

/** mm.state values. */
export const MM_UNUSED = 0; // not yet created (a child before fork)
export const MM_LIVE = 1;
export const MM_EXITED = 2; // exit_mmap done, mmdrop pending
export const MM_DROPPED = 3; // __mmdrop ran check_mm

/** mm.flags bits. */
export const MMF_HAS_PINNED = 1;

/** RSS counter indices, as the kernel's resident_page_types[] orders them. */
export const MM_FILEPAGES = 0;
export const MM_ANONPAGES = 1;
export const MM_SWAPENTS = 2;
export const MM_SHMEMPAGES = 3;
export const RSS_NAMES = ['MM_FILEPAGES', 'MM_ANONPAGES', 'MM_SWAPENTS', 'MM_SHMEMPAGES'];

/** vma word bits. */
export const VMA_PRESENT = 1;
export const VMA_WRITE = 2; // VM_WRITE (VM_MAYWRITE is always set: private writable mappings)
export const VMA_ANON_VMA = 4; // vma->anon_vma set (anon_vma_prepare ran): fork must copy the page table

export const PG_REF = 0;
export const PG_MAP = 1;
export const PG_FLAGS = 2;
export const PG_DATA = 3;
export const PG_PRIVATE = 4;
export const PG_MAPPING = 5;
export const PG_WORDS = 6;

/** page flags. */
export const PG_ANON = 1 << 0; // PageAnon
export const PG_ANON_EXCLUSIVE = 1 << 1; // PG_anon_exclusive (5.19+)
export const PG_SWAPCACHE = 1 << 2; // PG_swapcache
export const PG_LOCKED = 1 << 3; // PG_locked
export const PG_SWAPBACKED = 1 << 4; // PG_swapbacked
export const PG_DIRTY = 1 << 5; // PG_dirty
export const PG_ISOLATED = 1 << 6; // off the LRU, held by reclaim or migration (!PG_lru)

/** page->mapping for a page-cache page: file + 1 in the low byte, index in the next. */
export function pageMappingWord(file: number, index: number): number {
  return file + 1 + (index << 8);
}

export const SLOT_MAP = 0;
export const SLOT_DATA = 1;
const SLOT_WORDS = 2;
/** swap_map: low byte is the count of swap entries; SWAP_HAS_CACHE as in the kernel. */
export const SWAP_HAS_CACHE = 0x40;

export const TH_PC = 0;
export const TH_STATUS = 1;
export const TH_ORIG = 2;
export const TH_PAGE = 3;
export const TH_NEWPAGE = 4;
export const TH_AUX = 5;
export const TH_AUX2 = 6;
/** A pfn the thread remembers without holding a reference (reclaim's second pass). */
export const TH_PFN = 7;
export const TH_BUDGET = 8;
const TH_FIXED = 8;

export const F_SIZE = 0;
export const F_FLAGS = 1;
export const F_IMMAP = 2;
export const F_GHOST = 3;
export const F_CACHE = 4;
/** file flags: inode_lock (i_rwsem) held for write; shmem_falloc set (a punch in progress over [start, next)). */
export const F_I_RWSEM = 1;
export const F_FALLOC = 2;
/** ghost (history) bits, for invariants about what an operation did. */
export const GHOST_STALE_MIGRATION = 1; // a migration entry was left in range when the pre-unmap returned
export const GHOST_PUNCH_LOST_COW = 2; // a hole punch zapped a private COW page or swap entry

/** thread status values. */
export const TS_UNBORN = 0; // its process does not exist yet (child before fork)
export const TS_RUNNING = 1;
export const TS_EXITED = 2;

/** Menu entries whose run counts share one budget word (2 bits each). */
export const ENTRIES_PER_BUDGET_WORD = 15;

export interface Shape {
  mms: number;
  vmas: number;
  addrs: number;
  frames: number;
  swapSlots: number;
  gupSlots: number;
  files: number;
  /** Page-cache slots per file (the largest size it can have). */
  filePages: number;
  /** Menu entries per thread. */
  entries: readonly number[];
}

export class Layout {
  readonly mmWords: number;
  readonly mmBase0: number;
  readonly frameBase0: number;
  readonly slotBase0: number;
  readonly gupBase0: number;
  readonly fileBase0: number;
  readonly threadBase: readonly number[];
  readonly threadWords: readonly number[];
  readonly words: number;
  /** Offsets within mm 0 of its first vma and first pte, and a file's words (precomputed: the kernel's steps compute them all the time). */
  private readonly vma0: number;
  private readonly pte0: number;
  private readonly fileWords: number;

  constructor(readonly shape: Shape) {
    this.mmWords = MM_FIXED + shape.vmas + shape.addrs;
    this.mmBase0 = 0;
    this.vma0 = this.mmBase0 + MM_FIXED;
    this.pte0 = this.vma0 + shape.vmas;
    this.fileWords = F_CACHE + shape.filePages;
    this.frameBase0 = this.mmBase0 + this.mmWords * shape.mms;
    this.slotBase0 = this.frameBase0 + PG_WORDS * shape.frames;
    this.gupBase0 = this.slotBase0 + SLOT_WORDS * shape.swapSlots;
    this.fileBase0 = this.gupBase0 + shape.gupSlots;
    let off = this.fileBase0 + (F_CACHE + shape.filePages) * shape.files;
    const tb: number[] = [];
    const tw: number[] = [];
    for (const n of shape.entries) {
      const w = TH_FIXED + Math.max(1, Math.ceil(n / ENTRIES_PER_BUDGET_WORD));
      tb.push(off);
      tw.push(w);
      off += w;
    }
    this.threadBase = tb;
    this.threadWords = tw;
    this.words = off;
  }

  mm(m: number): number {
    return this.mmBase0 + m * this.mmWords;
  }
  vma(m: number, v: number): number {
    return this.vma0 + m * this.mmWords + v;
  }
  pte(m: number, a: number): number {
    return this.pte0 + m * this.mmWords + a;
  }
  /** Word offset of frame `pfn` (1-based; pfn 0 is the zeropage). */
  page(pfn: number): number {
    return this.frameBase0 + (pfn - 1) * PG_WORDS;
  }
  slot(i: number): number {
    return this.slotBase0 + i * SLOT_WORDS;
  }
  gup(g: number): number {
    return this.gupBase0 + g;
  }
  file(f: number): number {
    return this.fileBase0 + f * this.fileWords;
  }
  cache(f: number, index: number): number {
    return this.fileBase0 + f * this.fileWords + F_CACHE + index;
  }
  thread(t: number): number {
    return this.threadBase[t]!;
  }
}

/**
 * The layout with every index checked: a step that names a frame, slot, mm,
 * address, cache index or thread word that does not exist throws instead of
 * writing into a neighbouring object's words. On when MMCHECK_ASSERT is set
 * (the tests set it); the unchecked layout is the hot path's.
 */
export class CheckedLayout extends Layout {
  private within(what: string, i: number, n: number, first = 0): void {
    if (!Number.isInteger(i) || i < first || i >= n + first) {
      throw new LayoutError(`${what} ${i} does not exist (valid: ${first}..${n + first - 1})`);
    }
  }
  override mm(m: number): number {
    this.within('mm', m, this.shape.mms);
    return super.mm(m);
  }
  override vma(m: number, v: number): number {
    this.within('mm', m, this.shape.mms);
    this.within('vma', v, this.shape.vmas);
    return super.vma(m, v);
  }
  override pte(m: number, a: number): number {
    this.within('mm', m, this.shape.mms);
    this.within('address', a, this.shape.addrs);
    return super.pte(m, a);
  }
  override page(pfn: number): number {
    this.within('page frame', pfn, this.shape.frames, 1);
    return super.page(pfn);
  }
  override slot(i: number): number {
    this.within('swap slot', i, this.shape.swapSlots);
    return super.slot(i);
  }
  override gup(g: number): number {
    this.within('GUP reference', g, this.shape.gupSlots);
    return super.gup(g);
  }
  override file(f: number): number {
    this.within('file', f, this.shape.files);
    return super.file(f);
  }
  override cache(f: number, index: number): number {
    this.within('file', f, this.shape.files);
    this.within('page-cache index', index, this.shape.filePages);
    return super.cache(f, index);
  }
  override thread(t: number): number {
    this.within('thread', t, this.shape.entries.length);
    return super.thread(t);
  }
}

export class LayoutError extends Error {}

/** The layout of a shape: checked when MMCHECK_ASSERT is set. */
export function layoutOf(shape: Shape): Layout {
  return process.env.MMCHECK_ASSERT ? new CheckedLayout(shape) : new Layout(shape);
}
