/**
 * The MM model's objects and their fields: the one declaration of the
 * packed state (model/schema.ts says what is derived from it). Fields are
 * in layout order; those whose length depends on the scenario come last.
 */
import { formatGupFlags, GUP_DETACHED, GUP_NONE, GUP_WORD, gupAddr, gupKind, gupMm, gupPfn } from './gup.js';
import { formatPte, PTE_WORD } from './pte.js';
import {
  LOCK_ANON_VMA,
  LOCK_I_MMAP,
  LOCK_INVALIDATE,
  LOCK_I_RWSEM,
  LOCK_MMAP,
  LOCK_PAGE,
  LOCK_PTL,
  PAGE_LOCK_OWNER,
  PTL_WORD,
  RWSEM_WORD,
  rwsemHolders,
  rwsemWriter,
  THREAD_STATUS_WORD,
} from './locks.js';
import { PC_WORD } from './program.js';
import { type FieldDecl, INT, type ObjectDecl, type ReadableContext, type WordType } from './schema.js';

/** mm.state values. */
export const MM_STATES = ['unused', 'live', 'exited', 'freed'];
/** RSS counter names, as the kernel's resident_page_types[] orders them. */
export const RSS_NAMES = ['MM_FILEPAGES', 'MM_ANONPAGES', 'MM_SWAPENTS', 'MM_SHMEMPAGES'];

// Flag bits that the readable state names (their constants are in layout.ts, derived from here).
const MMF_NAMES: [number, string][] = [
  [1, 'MMF_HAS_PINNED'],
  [2, 'OOM victim (SIGKILL)'],
  [4, 'OOM reaped (oom_score_adj OOM_SCORE_ADJ_MIN)'],
  [8, 'TIF_MEMDIE'],
  [1 << 8, 'WARN:pte_offset_map-on-unstable-pmd'],
  [1 << 9, 'WARN:pte-table-retracted-under-mmap-read'],
  [1 << 10, 'retract_page_tables took the PTE table'],
];
const PG_THP_BIT = 1 << 14;
const PAGE_FLAG_NAMES: [number, string][] = [
  [1 << 0, 'anon'],
  [1 << 1, 'anon_exclusive'],
  [1 << 4, 'swapbacked'],
  [1 << 2, 'swapcache'],
  [1 << 3, 'locked'],
  [1 << 5, 'dirty'],
  [1 << 6, 'isolated'],
  [1 << 7, 'writeback'],
  [1 << 13, 'reclaim'],
  [PG_THP_BIT, 'thp'],
  [1 << 15, 'driver-free'],
];
const PG_SWAPCACHE_BIT = 1 << 2;
const VMA_PRESENT_BIT = 1;
const VMA_WRITE_BIT = 2;
const VMA_DONTCOPY_BIT = 8;
/** The pages of a VMA (from 0) that MADV_DONTFORK marked VM_DONTCOPY. */
const dontcopyPages = (x: number): string => [...Array(24).keys()].filter((i) => (x >>> (VMA_DONTCOPY_BIT + i)) & 1).join(',');
const F_FALLOC_BIT = 2;
const GHOST_NAMES: [number, string][] = [
  [1, 'WARN:migration-entry-after-pre-unmap'],
  [2, 'WARN:punch-zapped-cow'],
  [4, 'WARN:alloc-under-page-lock'],
  [8, 'WARN:pte-installed-twice'],
];
const SWAP_HAS_CACHE_BIT = 0x40;

const names = (word: number, table: readonly [number, string][]): string[] => table.filter(([bit]) => word & bit).map(([, n]) => n);
/** An rw-semaphore as the readable state shows it: who holds it, how. */
function rwsem(w: number, c: ReadableContext): string {
  const names = c.v.world.threadNames;
  const writer = rwsemWriter(w);
  if (writer >= 0) return `write-locked by ${names[writer]}`;
  const readers = rwsemHolders(w);
  return readers.length ? `read-locked by ${readers.map((t) => names[t]).join(', ')}` : 'unlocked';
}
/** page->flags: PG_* bits, and the page lock's holder. */
export const PAGE_FLAGS: WordType = { name: 'page flags', fields: [PAGE_LOCK_OWNER] };

/** A frame's pfn, or 0: a thread's page it holds a reference on (fault, migration, reclaim). */
export const HELD_FRAME: WordType = { name: 'held frame', ref: { to: 'frame', bias: 0, holds: true } };
/** A pfn a thread remembers without a reference (reclaim's second pass). */
export const REMEMBERED_FRAME: WordType = { name: 'frame', ref: { to: 'frame', bias: 0 } };
/** A slot + 1, or 0 (page_private of a swap-cache page). */
const SLOT_PLUS_ONE: WordType = { name: 'slot + 1', ref: { to: 'slot', bias: 1 } };
/** The PTE value a thread saw (orig_pte): a PTE, whose frame is renamed like one in a page table. */
const ORIG_PTE: WordType = { name: 'orig_pte', fields: PTE_WORD.fields };
/**
 * A pmd entry: none (0), the PTE table it points at (index + 1), a huge
 * mapping of a THP (PMD_HUGE | pfn), or a PMD migration entry of a THP
 * (PMD_MIGRATION | kind | pfn: 4.14 on, not present, holding no reference).
 * The one encoder of the word.
 */
const PMD_HUGE_BIT = 1 << 8;
const PMD_RO_BIT = 1 << 9;
const PMD_MIGRATION_BIT = 1 << 10;
const PMD_MIGRATION_KIND_SHIFT = 11;
const PMD_DIRTY_BIT = 1 << 13;
const PMD_KIND_MASK = PMD_HUGE_BIT | PMD_MIGRATION_BIT;
const PMD_WORD: WordType = {
  name: 'pmd',
  fields: [
    { name: 'table', shift: 0, bits: 8, ref: { to: 'pgtable', bias: 1 }, when: { mask: PMD_KIND_MASK, among: [0] } },
    { name: 'huge_pfn', shift: 0, bits: 8, ref: { to: 'frame', bias: 0, holds: true }, when: { mask: PMD_KIND_MASK, among: [PMD_HUGE_BIT] } },
    { name: 'migration_pfn', shift: 0, bits: 8, ref: { to: 'frame', bias: 0 }, when: { mask: PMD_KIND_MASK, among: [PMD_MIGRATION_BIT] } },
    { name: 'huge', shift: 8, bits: 1 },
    // A huge pmd write-protected (fork's copy_huge_pmd: pmdp_set_wrprotect); clear: writable when the VMA is.
    { name: 'ro', shift: 9, bits: 1 },
    { name: 'migration', shift: 10, bits: 1 },
    // A migration entry's kind (pte.ts MIGRATION_READ, _READ_EXCLUSIVE, _WRITE).
    { name: 'migration_kind', shift: PMD_MIGRATION_KIND_SHIFT, bits: 2 },
    // The huge zero page's pmd made dirty (touch_pmd up to 4.14: CVE-2017-1000405). A THP's pmd is always dirty in the
    // model (it is mapped by a write fault, and fork keeps the bit): only the zero page's says anything.
    { name: 'zero_dirty', shift: 13, bits: 1 },
  ],
};
export const PMD_HUGE = PMD_HUGE_BIT;
export const pmdHuge = (pfn: number, ro = false): number => PMD_HUGE_BIT | pfn | (ro ? PMD_RO_BIT : 0);
/** A huge pmd of the huge zero page (a THP read fault with use_zero_page, the default): always R/O. */
export const PMD_HUGE_ZERO = PMD_HUGE_BIT | PMD_RO_BIT;
/** pmd_dirty: a THP's pmd always; the huge zero page's only once touch_pmd dirtied it. */
export const pmdDirty = (w: number): boolean => (w & PMD_HUGE_BIT) !== 0 && ((w & 0xff) !== 0 || (w & PMD_DIRTY_BIT) !== 0);
/** touch_pmd's pmd_mkdirty (recorded for the huge zero page, the one huge pmd that is ever clean). */
export const pmdMkdirty = (w: number): number => (w & PMD_HUGE_BIT && !(w & 0xff) ? w | PMD_DIRTY_BIT : w);
/** A huge pmd that is write-protected. */
export const pmdHugeRo = (w: number): boolean => (w & (PMD_HUGE_BIT | PMD_RO_BIT)) === (PMD_HUGE_BIT | PMD_RO_BIT);
/** The huge pmd write-protected (pmdp_set_wrprotect, pmd_wrprotect) or made writable (maybe_pmd_mkwrite). */
export const pmdWithRo = (w: number, ro: boolean): number => (ro ? w | PMD_RO_BIT : w & ~PMD_RO_BIT);
export const pmdIsHuge = (w: number): boolean => (w & PMD_HUGE_BIT) !== 0;
/** The THP a huge pmd maps, or 0. */
export const pmdHugePfn = (w: number): number => (w & PMD_HUGE_BIT ? w & 0xff : 0);
/** The PTE table (index + 1) a pmd points at, or 0. */
export const pmdTable = (w: number): number => (w & PMD_KIND_MASK ? 0 : w & 0xff);
/** set_pmd_migration_entry's entry for a THP (kind: pte.ts MIGRATION_*). */
export const pmdMigration = (pfn: number, kind: number): number => PMD_MIGRATION_BIT | pfn | (kind << PMD_MIGRATION_KIND_SHIFT);
export const pmdIsMigration = (w: number): boolean => (w & PMD_MIGRATION_BIT) !== 0;
/** The THP a PMD migration entry points at, or 0. */
export const pmdMigrationPfn = (w: number): number => (w & PMD_MIGRATION_BIT ? w & 0xff : 0);
export const pmdMigrationKind = (w: number): number => (w >>> PMD_MIGRATION_KIND_SHIFT) & 3;
/** pmd_trans_unstable (4.5 on; !pmd_present counts from 4.14, 84c3fc4e9c56): none, huge, or a migration entry: not a table to walk. */
export const pmdUnstable = (w: number): boolean => w === 0 || (w & PMD_KIND_MASK) !== 0;
export function formatPmd(w: number): string {
  if (w === 0) return 'none';
  if (w & PMD_MIGRATION_BIT) return `migration entry (${['read', 'read-exclusive', 'write'][pmdMigrationKind(w)]}) of pfn ${w & 0xff}`;
  if (w & PMD_HUGE_BIT) return `huge: ${w & 0xff ? `pfn ${w & 0xff}` : 'the huge zero page'}${w & PMD_RO_BIT ? ', R/O' : ''}${w & PMD_DIRTY_BIT ? ', dirty' : ''}`;
  return `table ${(w & 0xff) - 1}`;
}
/**
 * A frame's place in a large folio (a THP): a tail names its head and its
 * subpage index; the head keeps the entire mapcount (the huge pmds mapping
 * the folio: compound_mapcount). 0 for an order-0 page. The one encoder of
 * the word.
 */
const COMPOUND_HEAD_BITS = 8;
const COMPOUND_INDEX_SHIFT = 8;
const COMPOUND_INDEX_BITS = 4;
const COMPOUND_ENTIRE_SHIFT = 12;
const COMPOUND_ENTIRE_BITS = 4;
const COMPOUND: WordType = {
  name: 'compound',
  fields: [
    { name: 'head', shift: 0, bits: COMPOUND_HEAD_BITS, ref: { to: 'frame', bias: 0, folioHead: true } },
    { name: 'index', shift: COMPOUND_INDEX_SHIFT, bits: COMPOUND_INDEX_BITS },
    { name: 'entire', shift: COMPOUND_ENTIRE_SHIFT, bits: COMPOUND_ENTIRE_BITS },
  ],
};
/** The largest folio the word can describe (its index field). */
export const FOLIO_MAX_PAGES = 1 << COMPOUND_INDEX_BITS;
/** A tail's compound word. */
export const compoundTail = (head: number, index: number): number => head | (index << COMPOUND_INDEX_SHIFT);
/** A tail's head pfn, or 0 (a head, or an order-0 page). */
export const compoundHeadOf = (w: number): number => w & ((1 << COMPOUND_HEAD_BITS) - 1);
export const compoundIndex = (w: number): number => (w >>> COMPOUND_INDEX_SHIFT) & ((1 << COMPOUND_INDEX_BITS) - 1);
/** A head's entire mapcount, signed (two's complement in its bits): a kernel bug can take compound_mapcount below 0 (4.14-5.8's split of a PMD migration entry). */
export const compoundEntire = (w: number): number => ((w >>> COMPOUND_ENTIRE_SHIFT) << (32 - COMPOUND_ENTIRE_BITS)) >> (32 - COMPOUND_ENTIRE_BITS);
export const withEntire = (w: number, n: number): number =>
  (w & ~(((1 << COMPOUND_ENTIRE_BITS) - 1) << COMPOUND_ENTIRE_SHIFT)) | ((n & ((1 << COMPOUND_ENTIRE_BITS) - 1)) << COMPOUND_ENTIRE_SHIFT);
function formatCompound(w: number, flags: number): string | undefined {
  const head = compoundHeadOf(w);
  if (head) return `tail ${compoundIndex(w)} of pfn ${head}`;
  return flags & PG_THP_BIT ? `head, entire mapcount ${compoundEntire(w)}` : undefined;
}
/** A PTE table a thread holds (index + 1), or 0: it must be installed or freed before the operation ends. */
const TABLE_REF: WordType = { name: 'pte table', ref: { to: 'pgtable', bias: 1, holds: true } };
/** Bits of a menu entry's run count in a budget word. */
export const BUDGET_BITS = 2;
/** Menu entries whose run counts share one budget word. */
export const ENTRIES_PER_BUDGET_WORD = Math.floor(31 / BUDGET_BITS);
/** A thread's run counts of its menu entries. */
const BUDGET: WordType = { name: 'budget', fields: [{ name: 'count', shift: 0, bits: BUDGET_BITS }] };
/** page->mapping of a page-cache page: file + 1 in the low byte, index in the next. The one encoder of the word. */
const MAPPING_BITS = 8;
const MAPPING_MASK = (1 << MAPPING_BITS) - 1;
const MAPPING: WordType = {
  name: 'mapping',
  fields: [
    { name: 'file', shift: 0, bits: MAPPING_BITS, ref: { to: 'file', bias: 1 } },
    { name: 'index', shift: MAPPING_BITS, bits: MAPPING_BITS },
  ],
};
export const mappingWord = (file: number, index: number): number => file + 1 + (index << MAPPING_BITS);
/** The file of a page->mapping word, or -1. */
export const mappingFile = (w: number): number => (w & MAPPING_MASK) - 1;
export const mappingIndex = (w: number): number => (w >>> MAPPING_BITS) & MAPPING_MASK;

/** A file's flags: shmem_falloc set over [start, end) (a punch in progress; faults there wait). The one encoder of the word. */
const FALLOC_SHIFT = 8;
const FALLOC_BITS = 8;
const FALLOC_MASK = (1 << FALLOC_BITS) - 1;
const FILE_FLAGS: WordType = {
  name: 'file flags',
  fields: [
    { name: 'falloc', shift: 1, bits: 1 },
    { name: 'falloc_start', shift: FALLOC_SHIFT, bits: FALLOC_BITS },
    { name: 'falloc_end', shift: FALLOC_SHIFT + FALLOC_BITS, bits: FALLOC_BITS },
  ],
};
export const fallocWord = (start: number, end: number): number => F_FALLOC_BIT | (start << FALLOC_SHIFT) | (end << (FALLOC_SHIFT + FALLOC_BITS));
export const fallocStart = (w: number): number => (w >>> FALLOC_SHIFT) & FALLOC_MASK;
export const fallocEnd = (w: number): number => (w >>> (FALLOC_SHIFT + FALLOC_BITS)) & FALLOC_MASK;

const hidden = false as const;

/** A page frame's words (struct page), RAM's and device memory's alike. */
const FRAME_FIELDS: readonly FieldDecl[] = [
  { name: 'refcount', type: INT, readable: { key: 'refcount', json: 'int', show: (x) => x, flat: (o) => `pfn ${o} refcount` } },
  { name: 'mapcount', type: INT, readable: { key: 'mapcount', json: 'int', show: (x) => x, flat: (o) => `pfn ${o} mapcount` } },
  { name: 'flags', type: PAGE_FLAGS, lock: LOCK_PAGE, readable: { key: 'flags', json: 'strings', show: (x) => names(x, PAGE_FLAG_NAMES), flat: (o) => `pfn ${o} flags` } },
  { name: 'data', type: INT, readable: { key: 'data', json: 'int', show: (x) => x, flat: (o) => `pfn ${o} data` } },
  {
    name: 'private',
    type: SLOT_PLUS_ONE,
    readable: { key: 'swap_slot', json: 'int', optional: true, show: (x, c) => (c.word('flags') & PG_SWAPCACHE_BIT ? x - 1 : undefined), flat: (o) => `pfn ${o} swap slot` },
  },
  {
    name: 'mapping',
    type: MAPPING,
    readable: {
      key: 'mapping',
      json: 'string',
      optional: true,
      show: (x, { v }) => (mappingFile(x) >= 0 ? `${v.world.fileNames[mappingFile(x)]}:${mappingIndex(x)}` : undefined),
      flat: (o) => `pfn ${o} mapping`,
    },
  },
  {
    // Only in a world with a THP VMA: the others would pay a word per frame in every state for nothing.
    name: 'compound',
    type: COMPOUND,
    only: (s) => !!s.extra?.folios,
    readable: { key: 'folio', json: 'string', optional: true, show: (x, c) => formatCompound(x, c.word('flags')), flat: (o) => `pfn ${o} folio` },
  },
];

export const MM_OBJECTS: readonly ObjectDecl[] = [
  {
    kind: 'mm',
    count: (s) => s.mms,
    footprint: 'each',
    readable: { section: 'mms', name: ({ v, index }) => v.mmName(index) },
    fields: [
      { name: 'state', type: INT, readable: { key: 'state', json: 'string', show: (x) => MM_STATES[x] ?? '?', flat: (o) => `${o} mm` } },
      { name: 'flags', type: INT, readable: { key: 'flags', json: 'strings', show: (x) => names(x, MMF_NAMES) } },
      { name: 'mmap_lock', type: RWSEM_WORD, lock: LOCK_MMAP, readable: { key: 'mmap_lock', json: 'string', show: rwsem } },
      { name: 'write_protect_seq', type: INT, readable: hidden },
      {
        name: 'rss',
        type: INT,
        length: 4,
        readable: { key: 'rss', json: { record: 'int' }, elementKey: (_c, i) => RSS_NAMES[i]!, show: (x) => x, flat: (o, e) => `${o} ${e}` },
      },
      // The split PTE-table lock of the mm's one page table (shown among the locks each thread holds).
      { name: 'ptl', type: PTL_WORD, lock: LOCK_PTL, readable: hidden },
      {
        name: 'vma',
        type: INT,
        length: (s) => s.vmas,
        readable: {
          key: 'vmas',
          json: { record: 'string' },
          elementKey: ({ v }, i) => v.world.vmaNames[i]!,
          show: (x) => (x & VMA_PRESENT_BIT ? `${x & VMA_WRITE_BIT ? 'rw' : 'r'}${x >>> VMA_DONTCOPY_BIT ? `, VM_DONTCOPY pages ${dontcopyPages(x)}` : ''}` : 'unmapped'),
          flat: (o, e) => `${o} vma ${e}`,
        },
      },
      {
        name: 'pte',
        type: PTE_WORD,
        length: (s) => s.addrs,
        readable: { key: 'ptes', json: { record: 'string' }, elementKey: (_c, i) => String(i), show: (x) => formatPte(x), flat: (o, e) => `${o}:${e}` },
      },
    ],
  },
  {
    kind: 'frame',
    count: (s) => s.frames,
    first: 1,
    pool: 'ram',
    footprint: 'all',
    readable: { section: 'pages', name: ({ index }) => String(index), omit: ({ v, index }) => v.isFree(index) && v.pageMapcount(index) === 0 },
    fields: FRAME_FIELDS,
  },
  {
    // ZONE_DEVICE memory (docs/rules.md#zone-device): frames of a device's pgmap, after the RAM frames; the same words as a
    // RAM frame, a pool of their own (never interchangeable with RAM: the symmetry renames within a pool), never allocated
    // by the page allocator (pickFree scans the RAM frames).
    kind: 'devframe',
    count: (s) => s.devFrames ?? 0,
    first: 1,
    pool: 'device',
    footprint: 'all',
    readable: { section: 'pages', name: ({ index, v }) => String(v.frames + index) },
    fields: FRAME_FIELDS,
  },
  {
    kind: 'slot',
    count: (s) => s.swapSlots,
    footprint: 'all',
    readable: {
      section: 'swap',
      name: ({ index }) => String(index),
      omit: ({ v, index }) => v.swapMap(index) === 0,
      value: ({ v, index }) => ({ count: v.swapCount(index), cache: (v.swapMap(index) & SWAP_HAS_CACHE_BIT) !== 0, data: v.swapData(index) }),
      json: { object: { count: 'int', cache: 'bool', data: 'int' } },
      flat: (o, x) => {
        const s = x as { count: number; cache: boolean; data: number };
        return [[`swap slot ${o}`, `count ${s.count}${s.cache ? ' + cache' : ''}, data ${s.data}`]];
      },
    },
    fields: [
      { name: 'swap_map', type: INT, readable: hidden },
      { name: 'data', type: INT, readable: hidden },
    ],
  },
  {
    kind: 'gup',
    count: (s) => s.gupSlots,
    footprint: 'all',
    readable: {
      section: 'gup',
      name: ({ v, index }) => v.world.gupNames[index]!,
      value: ({ v, index }) => formatGup(v, v.gup(index)),
      json: 'string',
      flat: (o, x) => [[`ref "${o}"`, x as string]],
    },
    fields: [{ name: 'record', type: GUP_WORD, readable: hidden }],
  },
  {
    kind: 'file',
    count: (s) => s.files,
    footprint: 'each',
    readable: { section: 'files', name: ({ v, index }) => v.world.fileNames[index]! },
    fields: [
      { name: 'size', type: INT, readable: { key: 'size', json: 'int', show: (x) => x, flat: (o) => `${o} i_size` } },
      {
        name: 'flags',
        type: FILE_FLAGS,
        readable: {
          key: 'flags',
          json: 'strings',
          show: (x, c) => [...(x & F_FALLOC_BIT ? [`shmem_falloc[${fallocStart(x)},${fallocEnd(x)})`] : []), ...names(c.word('ghost'), GHOST_NAMES)],
        },
      },
      { name: 'i_rwsem', type: RWSEM_WORD, lock: LOCK_I_RWSEM, readable: { key: 'i_rwsem', json: 'string', optional: true, show: rwsem } },
      { name: 'i_mmap_rwsem', type: RWSEM_WORD, lock: LOCK_I_MMAP, readable: { key: 'i_mmap_rwsem', json: 'string', show: rwsem } },
      // What an operation did, for invariants about it (WARN-like history); shown among the flags.
      { name: 'ghost', type: INT, readable: hidden },
      // The thread whose writeback of this file's pages is in flight (its bio not yet completed): who ends PG_writeback.
      {
        name: 'wb_owner',
        type: { name: 'thread + 1', ref: { to: 'thread', bias: 1 } },
        readable: { key: 'writeback_by', json: 'string', optional: true, show: (x, { v }) => (x ? v.world.threadNames[x - 1] : undefined) },
      },
      {
        name: 'cache',
        type: HELD_FRAME,
        length: (s) => s.filePages,
        readable: {
          key: 'pagecache',
          json: { record: 'int' },
          elementKey: (_c, i) => String(i),
          show: (x) => (x ? x : undefined),
          flat: (o, e) => `${o} page cache[${e}]`,
          flatValue: (x) => `pfn ${x}`,
        },
      },
      // Only with ZONE_DEVICE memory: the DAX fault takes it for read, break_layouts for write (ext4's i_mmap_sem up to 5.14).
      {
        name: 'invalidate_lock',
        type: RWSEM_WORD,
        lock: LOCK_INVALIDATE,
        only: (s) => !!s.devFrames,
        readable: { key: 'invalidate_lock', json: 'string', optional: true, show: rwsem },
      },
    ],
  },
  {
    // The anon_vma (root) of each VMA, shared by the processes forked from the first: its rwsem.
    kind: 'anon_vma',
    count: (s) => s.vmas,
    footprint: 'each',
    readable: {
      section: 'anon_vmas',
      mayBeAbsent: true,
      name: ({ v, index }) => v.world.vmaNames[index]!,
      omit: ({ word }) => word('rwsem') === 0,
    },
    fields: [{ name: 'rwsem', type: RWSEM_WORD, lock: LOCK_ANON_VMA, readable: { key: 'rwsem', json: 'string', show: rwsem, flat: (o) => `anon_vma ${o} rwsem` } }],
  },
  {
    // The pmd entry of each process's one 2 MiB range, when the scenario models the PMD level (pageTables).
    kind: 'pmd',
    count: (s) => (s.extra?.pgtables ? s.mms : 0),
    footprint: 'all',
    readable: { section: 'pmds', mayBeAbsent: true, name: ({ v, index }) => v.mmName(index) },
    fields: [{ name: 'entry', type: PMD_WORD, readable: { key: 'pmd', json: 'string', show: (x) => formatPmd(x), flat: (o) => `${o} pmd` } }],
  },
  {
    // The PTE tables of the pool (pte_alloc_one / pte_free): a table in use is some pmd's or a fault's prealloc_pte.
    kind: 'pgtable',
    count: (s) => s.extra?.pgtables ?? 0,
    footprint: 'all',
    readable: { section: 'pgtables', mayBeAbsent: true, name: ({ index }) => String(index), omit: ({ word }) => word('used') === 0 },
    // 0 free; 1 a pmd's or a fault's; 2 + m deposited with mm m's huge pmd (pgtable_trans_huge_deposit).
    fields: [
      {
        name: 'used',
        type: INT,
        readable: { key: 'use', json: 'string', show: (x, { v }) => (x === 0 ? 'free' : x === 1 ? 'in use' : `deposited (${v.mmName(x - 2)})`), flat: (o) => `page table ${o}` },
      },
    ],
  },
  {
    // The dev_pagemap of the scenario's device (mm/memremap.c): its percpu reference count and its life
    // (0 alive, 1 killed by memunmap_pages, 2 memunmap_pages returned, 3 freed by its driver), and a ghost bit
    // set when something used it after the driver freed it.
    kind: 'pgmap',
    count: (s) => (s.devFrames ? 1 : 0),
    footprint: 'all',
    readable: { section: 'pgmap', mayBeAbsent: true, name: () => 'pgmap' },
    fields: [
      { name: 'ref', type: INT, readable: { key: 'ref', json: 'int', show: (x) => x, flat: () => 'pgmap ref' } },
      {
        name: 'state',
        type: INT,
        readable: {
          key: 'state',
          json: 'string',
          show: (x) => `${['alive', 'killed', 'unmapped', 'freed'][x & 3]}${x & 4 ? ', WARN:used-after-free' : ''}`,
          flat: () => 'pgmap state',
        },
      },
    ],
  },
  {
    // lockdep witnessing one dependency (model/lockdep.ts): set when it is taken. None otherwise.
    kind: 'lockdep',
    count: (s) => s.extra?.lockdep ?? 0,
    footprint: 'all',
    readable: { section: 'lockdep', name: () => 'witness', omit: () => true, hidden: true },
    fields: [{ name: 'taken', type: INT, readable: hidden }],
  },
  {
    kind: 'thread',
    count: (s) => s.entries.length,
    footprint: 'each',
    readable: {
      section: 'threads',
      name: ({ v, index }) => v.world.threadNames[index]!,
      value: (c) => c.v.world.describeThread(c.v, c.index),
      json: 'string',
      flat: (o, x) => [[`thread ${o}`, x as string]],
    },
    fields: [
      { name: 'pc', type: PC_WORD, readable: hidden },
      // Not started, running or exited; and the wait key it is registered on, and whether it sleeps (model/locks.ts).
      { name: 'status', type: THREAD_STATUS_WORD, readable: hidden },
      { name: 'orig', type: ORIG_PTE, readable: hidden, perOperation: true },
      { name: 'page', type: HELD_FRAME, readable: hidden, perOperation: true },
      { name: 'new_page', type: HELD_FRAME, readable: hidden, perOperation: true },
      { name: 'aux', type: INT, readable: hidden, perOperation: true },
      { name: 'aux2', type: INT, readable: hidden, perOperation: true },
      { name: 'pfn', type: REMEMBERED_FRAME, readable: hidden, perOperation: true },
      // A PTE table the operation allocated and has not installed (vmf->prealloc_pte, or __pte_alloc's new table).
      { name: 'pte_table', type: TABLE_REF, readable: hidden, perOperation: true },
      { name: 'budget', type: BUDGET, length: (s, t) => Math.max(1, Math.ceil(s.entries[t]! / ENTRIES_PER_BUDGET_WORD)), readable: hidden },
    ],
  },
];

function formatGup(v: ReadableContext['v'], r: number): string {
  if (gupKind(r) === GUP_NONE) return 'none';
  const pfn = gupPfn(r);
  const target = pfn === 0 ? 'zeropage' : `pfn ${pfn}`;
  return `${formatGupFlags(r)} on ${target} via ${v.addrName(gupMm(r), gupAddr(r))}${r & GUP_DETACHED ? ' (unmapped since)' : ''}`;
}
