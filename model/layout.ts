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

import { BUDGET_BITS, ENTRIES_PER_BUDGET_WORD, MM_OBJECTS, mappingWord, RSS_NAMES } from './objects.js';
export { PG_LOCKED } from './locks.js';
import { fieldLength, type ObjectDecl, type ShapeCounts, staticOffset } from './schema.js';

export { BUDGET_BITS, ENTRIES_PER_BUDGET_WORD, RSS_NAMES };

const obj = (kind: string): ObjectDecl => MM_OBJECTS.find((o) => o.kind === kind)!;
const MM = obj('mm');
const FRAME = obj('frame');
const SLOT = obj('slot');
const FILE = obj('file');
const THREAD = obj('thread');

// Offsets of the fields within their object (model/objects.ts declares them; these are derived).
export const MM_STATE = staticOffset(MM, 'state');
export const MM_FLAGS = staticOffset(MM, 'flags');
export const MM_LOCK = staticOffset(MM, 'mmap_lock');
export const MM_WPSEQ = staticOffset(MM, 'write_protect_seq');
export const MM_RSS = staticOffset(MM, 'rss');
/**
 * The split PTE-table lock (pte_lockptr) of the mm's one page table: 0 free,
 * else the holding thread + 1. A step that takes it and drops it again needs
 * no word (the step is atomic); it is held across steps only where lockless
 * readers (GUP-fast) must be able to run inside the critical section: fork's
 * copy_pte_range.
 */
export const MM_PTL = staticOffset(MM, 'ptl');
/** Words of an mm before its VMAs: all zero while the mm is unused. */
export const MM_FIXED_WORDS = staticOffset(MM, 'vma');

/** mm.state values. */
export const MM_UNUSED = 0; // not yet created (a child before fork)
export const MM_LIVE = 1;
export const MM_EXITED = 2; // exit_mmap done, mmdrop pending
export const MM_DROPPED = 3; // __mmdrop ran check_mm

/** mm.flags bits. */
export const MMF_HAS_PINNED = 1;
/** The OOM killer chose this process (its threads have TIF_MEMDIE / a fatal signal: they can only exit). */
export const MMF_OOM_VICTIM = 2;
/** The OOM reaper (4.6, aac453635549) unmapped the victim's private memory: oom_score_adj OOM_SCORE_ADJ_MIN (never chosen again). */
export const MMF_OOM_REAPED = 4;
/** The victim's threads have TIF_MEMDIE: set by the kill and by mark_oom_victim(current), cleared by the reaper (exit_oom_victim). */
export const MMF_OOM_MEMDIE = 8;
/** Ghost (history) bit: a fault used a pmd as a PTE table after it stopped being one (pmd-stable, F2). */
export const MMF_GHOST_BAD_PMD = 1 << 8;
/** Ghost bit: a pmd's PTE table was taken away (the pmd made huge or none) without mmap_lock for write (no-retract-under-read, F4). */
export const MMF_GHOST_RETRACT = 1 << 9;
/** Ghost bit: retract_page_tables took this mm's PTE table (for a scenario witness: "retracted"). */
export const MMF_GHOST_RETRACTED = 1 << 10;

/** RSS counter indices, as the kernel's resident_page_types[] orders them. */
export const MM_FILEPAGES = 0;
export const MM_ANONPAGES = 1;
export const MM_SWAPENTS = 2;
export const MM_SHMEMPAGES = 3;

/** vma word bits. */
export const VMA_PRESENT = 1;
export const VMA_WRITE = 2; // VM_WRITE (VM_MAYWRITE is always set: private writable mappings)
export const VMA_ANON_VMA = 4; // vma->anon_vma set (anon_vma_prepare ran): fork must copy the page table
/** VM_DONTCOPY (MADV_DONTFORK) per page of the VMA, from this bit on (page i of the VMA: bit VMA_DONTCOPY_SHIFT + i): fork skips those pages. */
export const VMA_DONTCOPY_SHIFT = 8;

export const PG_REF = staticOffset(FRAME, 'refcount');
export const PG_MAP = staticOffset(FRAME, 'mapcount');
export const PG_FLAGS = staticOffset(FRAME, 'flags');
export const PG_DATA = staticOffset(FRAME, 'data');
export const PG_PRIVATE = staticOffset(FRAME, 'private');
export const PG_MAPPING = staticOffset(FRAME, 'mapping');
export const PG_COMPOUND = staticOffset(FRAME, 'compound');

/** page flags. */
export const PG_ANON = 1 << 0; // PageAnon
export const PG_ANON_EXCLUSIVE = 1 << 1; // PG_anon_exclusive (5.19+)
export const PG_SWAPCACHE = 1 << 2; // PG_swapcache
export const PG_SWAPBACKED = 1 << 4; // PG_swapbacked
export const PG_DIRTY = 1 << 5; // PG_dirty
export const PG_ISOLATED = 1 << 6; // off the LRU, held by reclaim or migration (!PG_lru)
export const PG_WRITEBACK = 1 << 7; // PG_writeback: the page is being written to disk
export const PG_THP = 1 << 14; // the head of a THP (a PMD-sized anon folio; its tails name it in their compound word)
export const PG_DEVFREE = 1 << 15; // a device-private page on its driver's free list (page_free put it there)
export const PG_RECLAIM = 1 << 13; // PG_reclaim: reclaim met it under writeback (shrink_page_list's case 2)

/** page->mapping for a page-cache page: file + 1 in the low byte, index in the next. */
export function pageMappingWord(file: number, index: number): number {
  return mappingWord(file, index);
}

export const SLOT_MAP = staticOffset(SLOT, 'swap_map');
export const SLOT_DATA = staticOffset(SLOT, 'data');
/** swap_map: low byte is the count of swap entries; SWAP_HAS_CACHE as in the kernel. */
export const SWAP_HAS_CACHE = 0x40;

export const TH_PC = staticOffset(THREAD, 'pc');
export const TH_STATUS = staticOffset(THREAD, 'status');
export const TH_ORIG = staticOffset(THREAD, 'orig');
export const TH_PAGE = staticOffset(THREAD, 'page');
export const TH_NEWPAGE = staticOffset(THREAD, 'new_page');
// aux and aux2 are reached through each operation's typed locals (model/thread-locals.ts).
/** A pfn the thread remembers without holding a reference (reclaim's second pass). */
export const TH_PFN = staticOffset(THREAD, 'pfn');
export const TH_BUDGET = staticOffset(THREAD, 'budget');
/** The thread's per-operation words (schema perOperation): zeroed when an operation ends; those that hold a frame reference must be zero already. */
export const TH_LOCALS = THREAD.fields.filter((f) => f.perOperation && !f.type.ref?.holds).map((f) => staticOffset(THREAD, f.name));
export const TH_HELD_LOCALS = THREAD.fields.filter((f) => f.perOperation && f.type.ref?.holds).map((f) => staticOffset(THREAD, f.name));
/** Those of them that hold a page frame (the others hold a PTE table). */
export const TH_HELD_FRAMES = THREAD.fields.filter((f) => f.perOperation && f.type.ref?.holds && f.type.ref.to === 'frame').map((f) => staticOffset(THREAD, f.name));

export const F_SIZE = staticOffset(FILE, 'size');
export const F_FLAGS = staticOffset(FILE, 'flags');
export const F_IMMAP = staticOffset(FILE, 'i_mmap_rwsem');
/** inode->i_rwsem (inode_lock). */
export const F_I_RWSEM = staticOffset(FILE, 'i_rwsem');
export const F_GHOST = staticOffset(FILE, 'ghost');
export const F_CACHE = staticOffset(FILE, 'cache');
/** The thread whose writeback of the file's pages is in flight, + 1 (model bookkeeping: who will end PG_writeback). */
export const F_WB_OWNER = staticOffset(FILE, 'wb_owner');
/** A thread's PTE table (index + 1) not yet installed in a pmd: vmf->prealloc_pte, or __pte_alloc's new table. */
export const TH_PTE_TABLE = staticOffset(THREAD, 'pte_table');
/** file flags: shmem_falloc set (a punch in progress over [start, next)). */
export const F_FALLOC = 2;
/** ghost (history) bits, for invariants about what an operation did. */
export const GHOST_STALE_MIGRATION = 1; // a migration entry was left in range when the pre-unmap returned
export const GHOST_PUNCH_LOST_COW = 2; // a hole punch zapped a private COW page or swap entry
export const GHOST_DOUBLE_INSTALL = 8; // a fault installed a PTE over one that was no longer orig_pte (finish_fault without the recheck)
export const GHOST_ALLOC_UNDER_LOCK = 4; // a may-reclaim allocation ran while holding a page lock of this file's page or its i_mmap_rwsem

/** thread status values. */
export const TS_UNBORN = 0; // its process does not exist yet (child before fork)
export const TS_RUNNING = 1;
export const TS_EXITED = 2;

export interface Shape extends ShapeCounts {
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

/**
 * Where every object and field of a world's packed state lives, derived
 * from the schema (model/objects.ts) and the scenario's shape: objects of a
 * kind are consecutive, in the schema's order, each its fields in order.
 */
export class Layout {
  readonly words: number;
  /** Per object kind: the word offset of each object (index from 0), and of each field within it. */
  readonly bases: Readonly<Record<string, Int32Array>>;
  readonly fieldOffsets: Readonly<Record<string, Readonly<Record<string, number>>>>;
  readonly objects: readonly ObjectDecl[];
  readonly mmWords: number;
  readonly mmBase0: number;
  readonly frameBase0: number;
  readonly slotBase0: number;
  readonly gupBase0: number;
  readonly fileBase0: number;
  readonly threadBase: readonly number[];
  readonly threadWords: readonly number[];
  /** Words of a frame and of a swap slot. */
  readonly frameWords: number;
  /** Frames have their compound word (a world with THPs: objects.ts frame.compound). */
  readonly folios: boolean;
  readonly slotWords: number;
  /** Offsets within mm 0 of its first vma and first pte, and a file's words (precomputed: the kernel's steps compute them all the time). */
  private readonly vma0: number;
  private readonly pte0: number;
  private readonly fileWords: number;
  private readonly cache0: number;
  private readonly anonVma0: number;
  private readonly anonVmaWords: number;

  constructor(
    readonly shape: Shape,
    objects: readonly ObjectDecl[] = MM_OBJECTS,
  ) {
    this.objects = objects;
    const bases: Record<string, Int32Array> = {};
    const fields: Record<string, Record<string, number>> = {};
    let off = 0;
    for (const o of objects) {
      const n = o.count(shape);
      const b = new Int32Array(n);
      for (let i = 0; i < n; i++) {
        b[i] = off;
        const fo: Record<string, number> = {};
        let w = 0;
        for (const f of o.fields) {
          fo[f.name] = w;
          w += fieldLength(f, shape, i);
        }
        if (i === 0) fields[o.kind] = fo;
        off += w;
      }
      bases[o.kind] = b;
      if (n === 0) {
        const fo: Record<string, number> = {};
        let w = 0;
        for (const f of o.fields) {
          fo[f.name] = w;
          w += typeof f.length === 'function' || f.only ? 0 : (f.length ?? 1);
        }
        fields[o.kind] = fo;
      }
    }
    this.words = off;
    this.bases = bases;
    this.fieldOffsets = fields;
    const base0 = (kind: string) => (bases[kind]!.length ? bases[kind]![0]! : 0);
    const stride = (kind: string) => (bases[kind]!.length > 1 ? bases[kind]![1]! - bases[kind]![0]! : 0);
    this.mmBase0 = base0('mm');
    this.mmWords = stride('mm') || MM_FIXED_WORDS + shape.vmas + shape.addrs;
    this.vma0 = this.mmBase0 + fields.mm!.vma!;
    this.pte0 = this.mmBase0 + fields.mm!.pte!;
    this.frameBase0 = base0('frame');
    this.frameWords = objects.find((o) => o.kind === 'frame')!.fields.reduce((n, f) => n + fieldLength(f, shape, 0), 0);
    this.folios = this.frameWords > PG_COMPOUND;
    this.slotWords = objects.find((o) => o.kind === 'slot')!.fields.length;
    this.slotBase0 = base0('slot');
    this.gupBase0 = base0('gup');
    this.fileBase0 = base0('file');
    this.fileWords = stride('file') || F_CACHE + shape.filePages;
    this.cache0 = fields.file!.cache!;
    this.anonVma0 = base0('anon_vma') + fields.anon_vma!.rwsem!;
    this.anonVmaWords = stride('anon_vma') || 1;
    this.threadBase = Array.from(bases.thread!);
    this.threadWords = this.threadBase.map((b, t) => (t + 1 < this.threadBase.length ? this.threadBase[t + 1]! : this.threadEnd()) - b);
  }

  /** Where the threads end: the next kind's first object, or the end of the state. */
  private threadEnd(): number {
    const kinds = this.objects.map((o) => o.kind);
    for (const k of kinds.slice(kinds.indexOf('thread') + 1)) if (this.bases[k]!.length) return this.bases[k]![0]!;
    return this.words;
  }

  /** The word offset of a field of object `index` of `kind` (cold path and set-up; the kernel uses the constants above). */
  at(kind: string, index: number, field: string, element = 0): number {
    const f = this.objects.find((o) => o.kind === kind)?.fields.find((x) => x.name === field);
    if (f && element >= fieldLength(f, this.shape, index))
      throw new Error(`${kind}[${index}].${field}[${element}]: the field has ${fieldLength(f, this.shape, index)} word(s) in this world`);
    return this.bases[kind]![index]! + this.fieldOffsets[kind]![field]! + element;
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
  /** Word offset of VMA v's anon_vma rwsem (the rmap walks take it on the hot path). */
  anonVmaRwsem(v: number): number {
    return this.anonVma0 + v * this.anonVmaWords;
  }
  /** Word offset of mm m's pmd entry (scenarios with pageTables). */
  pmd(m: number): number {
    return this.bases.pmd![m]!;
  }
  /** Word offset of PTE table i's word (0 free, 1 in use). */
  pgtable(i: number): number {
    return this.bases.pgtable![i]!;
  }
  /** PTE tables in the pool; 0 when the scenario does not model the PMD level. */
  get pgtables(): number {
    return this.bases.pgtable!.length;
  }
  /** Word offset of frame `pfn` (1-based; pfn 0 is the zeropage). */
  page(pfn: number): number {
    return this.frameBase0 + (pfn - 1) * this.frameWords;
  }
  slot(i: number): number {
    return this.slotBase0 + i * this.slotWords;
  }
  gup(g: number): number {
    return this.gupBase0 + g;
  }
  file(f: number): number {
    return this.fileBase0 + f * this.fileWords;
  }
  cache(f: number, index: number): number {
    return this.fileBase0 + f * this.fileWords + this.cache0 + index;
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
  override anonVmaRwsem(v: number): number {
    this.within('anon_vma (one per VMA)', v, this.shape.vmas);
    return super.anonVmaRwsem(v);
  }
  override pmd(m: number): number {
    this.within('pmd (a process with the PMD level modelled)', m, this.bases.pmd!.length);
    return super.pmd(m);
  }
  override pgtable(i: number): number {
    this.within('PTE table', i, this.bases.pgtable!.length);
    return super.pgtable(i);
  }
  override page(pfn: number): number {
    this.within('page frame', pfn, this.shape.frames + (this.shape.devFrames ?? 0), 1);
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
