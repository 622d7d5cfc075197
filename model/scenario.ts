/**
 * Scenarios: small worlds. Which processes exist (the first at the start,
 * the others created by fork), their VMAs and initial pages, and the
 * threads, each with a menu of operations chosen nondeterministically (or a
 * fixed program run in order), each entry at most `max` times.
 */
import { LIMITS } from './limits.js';
import { FOLIO_MAX_PAGES } from './objects.js';
import { didYouMean } from './variants.js';
import { compareMainline, parseRelease } from './releases.js';

export type Prot = 'r' | 'rw';

export type MenuOp =
  | { op: 'write'; addr: number; value: number; hugeFails?: boolean }
  | { op: 'read'; addr: number; hugeFails?: boolean; faultAround?: boolean }
  | { op: 'gup'; ref: string; addr: number; pin: boolean; write?: boolean; longterm?: boolean; fast?: boolean; force?: boolean }
  | { op: 'put'; ref: string }
  | { op: 'device-write'; ref: string; value: number }
  | { op: 'fork'; child: string }
  | { op: 'mprotect'; vma: string; prot: Prot }
  | { op: 'mprotect-subpage'; addr: number }
  | { op: 'madv-dontfork'; addr: number; pages?: number }
  | { op: 'madv-dofork'; addr: number; pages?: number }
  | { op: 'madv-dontneed'; addr: number; pages?: number }
  | { op: 'munmap'; vma: string }
  | { op: 'reclaim'; mm: string; addr: number }
  | { op: 'pageout'; addr: number }
  | { op: 'truncate'; file: string; size: number }
  | { op: 'punch'; file: string; start: number; len: number }
  | { op: 'migrate'; file: string; index: number }
  | { op: 'migrate'; mm: string; addr: number }
  | { op: 'writeback'; file: string; indices: number[] }
  | { op: 'collapse'; mm: string }
  | { op: 'break-layouts'; file: string }
  | { op: 'memunmap' }
  | { op: 'migrate-to-device'; addr: number }
  | { op: 'oom-reaper' }
  | { op: 'exit' };

export type MenuEntry = MenuOp & { max?: number };

export interface ThreadSpec {
  name: string;
  /** The process the thread runs in; null for a kernel thread (kswapd). */
  mm: string | null;
  /** "menu" (default): any enabled entry next; "program": the entries in order. */
  mode?: 'menu' | 'program';
  menu: MenuEntry[];
}

export interface VmaSpec {
  name: string;
  start: number;
  pages: number;
  prot: Prot;
  /** A file mapping of this file (default: private anonymous memory). */
  file?: string;
  /** File page mapped at `start` (default 0). */
  pgoff?: number;
  /** MAP_SHARED (default: MAP_PRIVATE). */
  shared?: boolean;
  /** Transparent huge pages: a fault on a none pmd maps a THP of the whole range (the VMA must be the process's whole range). */
  thp?: boolean;
}

export interface FileSpec {
  name: string;
  /** shmem: a memfd / tmpfs file (MM_SHMEMPAGES); disk: a file on a disk filesystem (MM_FILEPAGES). */
  kind: 'shmem' | 'disk';
  /** i_size, in pages. */
  size: number;
  /** Page-cache slots: the largest size the file may reach (default: size). */
  maxSize?: number;
  /** Pages in the page cache at the start (shmem: the pages that exist). */
  cached?: { index: number; data: number }[];
  /** disk: what each page holds on disk, read in on a page-cache miss (default 0). */
  disk?: number[];
  /**
   * A DAX file (ext4 -o dax, 4.4-4.6): its data lives in persistent memory
   * (`disk`), mapped without page-cache pages; only holes have them
   * (dax_load_hole), given as `cached`.
   */
  dax?: boolean;
  /**
   * shmem mounted huge=always (4.8, 800d8c63b2e9): a page-cache miss in a
   * huge-aligned range with no page cached allocates a THP of the THP VMA's
   * size (shmem_alloc_hugepage), which a fault maps with a huge pmd
   * (do_set_pmd); khugepaged collapses small pages into one (collapse_file).
   */
  huge?: boolean;
  /**
   * A file on a DAX filesystem (ext4/xfs -o dax) over the scenario's FS_DAX
   * device (5.7 on): its page i is the device's page i (the DAX entry in its
   * mapping), mapped by devmap PTEs without a reference up to 6.14.
   */
  fsdax?: boolean;
  /**
   * A device-dax character device (/dev/daxX.Y, drivers/dax/device.c) over
   * the scenario's GENERIC device (5.7 on): its page i is the device's page
   * i, mapped MAP_SHARED by devmap PTEs without a reference up to 6.14, by
   * refcounted PTEs from 6.15 (aed877c2b425).
   */
  devdax?: boolean;
}

/**
 * A pgmap's type: fsdax MEMORY_DEVICE_FS_DAX (persistent memory under a DAX
 * filesystem); private MEMORY_DEVICE_PRIVATE (a driver's memory behind
 * device-private entries); coherent MEMORY_DEVICE_COHERENT (6.0: device
 * memory the CPU maps with ordinary PTEs, as anon pages); generic
 * MEMORY_DEVICE_GENERIC (MEMORY_DEVICE_DEVDAX up to 5.9: device-dax).
 */
export type DeviceType = 'fsdax' | 'private' | 'coherent' | 'generic';

/** ZONE_DEVICE memory: one pgmap and its pages (docs/rules.md#zone-device). */
export interface DeviceSpec {
  type: DeviceType;
  /** Its pages (device frames, after the RAM frames). */
  pages: number;
}

export interface PageSpec {
  addr: number;
  data: number;
  /**
   * present (default): written by the process, as a write fault leaves it (an
   * anon page; in a shared file mapping the file's page, mapped writable; in a
   * private file mapping a COW copy); swapped: an anon page in a swap slot;
   * device: an anon page migrated to the scenario's device-private memory
   * (behind a device-private entry) or coherent memory (a present PTE).
   */
  state?: 'present' | 'swapped' | 'device';
}

/** One condition of a state witness; all of a witness's conditions must hold in one state. */
export type WitnessCondition =
  /** The page mapped at "mm:addr" holds `data` (the zeropage holds 0). */
  | { at: string; data: number }
  /** The entry at "mm:addr" is of this kind (huge: the address is mapped by a huge pmd; thp-pte: a PTE maps a page of a THP; device: a PTE maps a device page). */
  | { at: string; pte: 'none' | 'present' | 'writable' | 'readonly' | 'zeropage' | 'swap' | 'migration' | 'huge' | 'thp-pte' | 'device-private' | 'device' }
  /** A GUP reference is held (or not). */
  | { ref: string; held: boolean }
  /** A process is in this state. */
  | { mm: string; state: 'unused' | 'live' | 'exited' | 'freed' }
  /** The page-cache page of "file:index" holds `data` (and is, or is not, a page of a THP). */
  | { cache: string; data: number; thp?: boolean }
  /** retract_page_tables took this process's PTE table (at some point before). */
  | { retracted: string }
  /** The thread sleeps (registered on a wait key, asleep). */
  | { sleeps: string };

/**
 * A reachability witness: a state (or a completed operation) that must occur
 * on some explored path for a HOLDS to mean something (stateright's
 * "sometimes"). A thread's menu entry is named by its index, or by its op
 * when the thread has one entry of that op.
 */
export type WitnessSpec = { name: string; when: WitnessCondition[] } | { name: string; completes: { thread: string; entry?: number; op?: string } };

export interface ScenarioSpec {
  name: string;
  title: string;
  /** What the scenario is for, and the expected verdicts with their reasons. */
  description: string;
  /** Where the kernel rules come from, e.g. "docs/rules.md#no-missed-cow; c145e0b47c77". */
  reference?: string;
  processes: string[];
  files?: FileSpec[];
  /** ZONE_DEVICE memory (a pgmap's pages). */
  device?: DeviceSpec;
  vmas: VmaSpec[];
  pages: PageSpec[];
  frames: number;
  swapSlots: number;
  /** The PMD level is modelled: each process has one pmd entry, none until a fault allocates its PTE table from this pool. */
  pageTables?: { tables: number };
  /**
   * memcg-v1: allocations charged to the processes' memory cgroup (page tables) must reclaim first (legacy memcg: waits on PG_writeback).
   * oom: memory is exhausted beyond the PTE-table pool (4.4-4.5). direct: free memory is short: a page-table allocation enters
   * direct reclaim, whose rmap walk of a mapped page-cache page takes i_mmap_rwsem for read.
   */
  reclaim?: 'memcg-v1' | 'oom' | 'direct';
  threads: ThreadSpec[];
  /** What must be reachable for a HOLDS on this scenario to mean something. */
  witnesses?: WitnessSpec[];
}

export class ScenarioError extends Error {}

/** Why this scenario cannot be checked on this kernel release (a feature modelled for some releases only), or null. */
export function scenarioKernelProblem(s: ScenarioSpec, version: string): string | null {
  const r = parseRelease(version);
  const reaper = s.threads.some((t) => t.menu.some((e) => e.op === 'oom-reaper'));
  if (s.reclaim === 'oom' && r && compareMainline(r, { major: 4, minor: 7 }) >= 0)
    return `scenario ${s.name}: "reclaim": "oom" is modelled on 4.4-4.6 only, not ${version}: the OOM reaper's later rules (4.7 MMF_OOM_REAPED, 4.9 MMF_OOM_SKIP) are not modelled`;
  if (s.reclaim === 'oom' && r && compareMainline(r, { major: 4, minor: 6 }) >= 0 && !reaper)
    return `scenario ${s.name}: on ${version} the OOM killer has the OOM reaper (4.6, aac453635549): give a kernel thread the op "oom-reaper"`;
  if (reaper && r && compareMainline(r, { major: 4, minor: 6 }) < 0)
    return `scenario ${s.name}: ${version} has no OOM reaper (it came in 4.6, aac453635549): drop the "oom-reaper" thread`;
  const thp = s.vmas.find((v) => v.thp);
  // What can split a THP's pmd: a partial range, and (a failed COW copy, a pinned THP at fork) fork.
  const splitsThp = (e: MenuEntry) =>
    e.op === 'mprotect-subpage' || e.op === 'fork' || ((e.op === 'madv-dontneed' || e.op === 'madv-dontfork') && !!thp && (e.addr !== thp.start || (e.pages ?? 1) !== thp.pages));
  if (thp && s.threads.some((t) => t.menu.some((e) => e.op === 'migrate')) && r && compareMainline(r, { major: 4, minor: 14 }) < 0)
    return `scenario ${s.name}: ${version} migrates a THP by splitting it first (unmap_and_move -> split_huge_page): not modelled; THP migration with PMD migration entries came in 4.14 (616b8371539a)`;
  if (thp && thp.pages > 1 && s.threads.some((t) => t.menu.some(splitsThp)) && r && compareMainline(r, { major: 4, minor: 5 }) < 0)
    return `scenario ${s.name}: ${version} splits a THP of several pages whole (split_huge_page_pmd -> split_huge_page): not modelled; PTE-mapped THPs come with the THP refcounting rework (4.5; read in 4.6.2)`;
  if (s.device && r && compareMainline(r, { major: 5, minor: 7 }) < 0)
    return `scenario ${s.name}: ZONE_DEVICE pages are modelled from 5.7 (their refcounting read in 5.7.14 on), not ${version}`;
  if (s.device?.type === 'coherent' && r && compareMainline(r, { major: 6, minor: 0 }) < 0)
    return `scenario ${s.name}: ${version} has no MEMORY_DEVICE_COHERENT: it came in 6.0 (f25cbb7a95a2 "mm: add zone device coherent type memory support")`;
  if ((s.files ?? []).some((f) => f.huge) && r && compareMainline(r, { major: 4, minor: 8 }) < 0)
    return `scenario ${s.name}: ${version} has no huge shmem pages: THP in the page cache came in 4.8 (800d8c63b2e9 "shmem: add huge pages support")`;
  if ((s.files ?? []).some((f) => f.dax) && r && compareMainline(r, { major: 4, minor: 7 }) >= 0)
    return `scenario ${s.name}: DAX files are modelled on 4.4-4.6 only, not ${version}: 4.7's radix-tree entry locks (ac401cc78242 "dax: New fault locking", bc2466e42573 for COW faults) are not modelled`;
  return null;
}

/** The operations modelled on a huge shmem mapping (the fault, the zap and split of a file huge pmd, collapse_file). */
const SHMEM_THP_OPS = new Set(['read', 'write', 'madv-dontneed', 'exit', 'collapse']);

/**
 * A THP VMA over a huge shmem file: MAP_SHARED of the whole file from page
 * 0 (one huge-aligned range), so that a fault maps the file's THP with a
 * huge pmd (do_set_pmd) and retract_page_tables may take its PTE table.
 * MAP_PRIVATE (a COW of a subpage after wp_huge_pmd's split) is not modelled.
 */
function validateShmemThp(s: ScenarioSpec, v: VmaSpec, i: number, fail: (path: string, msg: string) => never): void {
  const f = (s.files ?? []).find((x) => x.name === v.file);
  if (!f?.huge) fail(`vmas[${i}].thp`, `a THP file mapping maps a huge shmem file ("huge": true); ${v.file} is not one`);
  if (!v.shared) fail(`vmas[${i}].shared`, 'a huge shmem mapping is modelled MAP_SHARED only (a private one would COW subpages after wp_huge_pmd splits)');
  if (s.processes.length > 1) fail('processes', 'a huge shmem mapping is modelled in one process (a second one comes only by fork, which is not modelled with huge shmem)');
  if ((v.pgoff ?? 0) !== 0 || v.pages !== f!.size || (f!.maxSize ?? f!.size) !== f!.size)
    fail(`vmas[${i}]`, `the mapping covers the whole huge file from page 0 (${f!.size} pages, no maxSize): one huge-aligned range`);
  s.threads.forEach((t, ti) =>
    t.menu.forEach((e, ei) => {
      if (e.op === 'read' && e.faultAround) fail(`threads[${ti}].menu[${ei}].faultAround`, 'fault-around over a huge shmem page (filemap_map_pmd) is not modelled');
      if ((e.op === 'read' || e.op === 'write') && e.hugeFails)
        fail(`threads[${ti}].menu[${ei}].hugeFails`, 'a shmem fault that cannot have a THP falls back to a small page by itself (shmem_getpage_gfp: alloc_nohuge)');
    }),
  );
}

/** The file and page index of a witness's "file:index", or null. */
export function parseCacheAt(s: ScenarioSpec, at: string): { file: number; index: number } | null {
  const m = /^(.+):(\d+)$/.exec(at);
  if (!m) return null;
  const file = (s.files ?? []).findIndex((f) => f.name === m[1]);
  const index = Number(m[2]);
  if (file < 0 || index >= (s.files![file]!.maxSize ?? s.files![file]!.size)) return null;
  return { file, index };
}

/** Names of processes, threads, VMAs, files and GUP references: short words, usable as object keys and file names. */
export const NAME_PATTERN = /^[A-Za-z0-9_][A-Za-z0-9_.+-]{0,31}$/;
/** Names that plain JavaScript objects already have (the readable state is keyed by names). */
const RESERVED_NAMES = new Set(['constructor', 'prototype', '__proto__', 'hasOwnProperty', 'toString', 'valueOf']);

/**
 * Checks a scenario's content beyond its shape: names, internal references,
 * and that the world at the start exists (enough frames and swap slots,
 * page-cache pages inside their file); throws ScenarioError naming the path
 * and the reason.
 */
export function validateScenario(s: ScenarioSpec): void {
  const fail = (path: string, why: string): never => {
    throw new ScenarioError(`scenario ${s.name}: ${path}: ${why}`);
  };
  const files = s.files ?? [];
  const name = (path: string, n: string) => {
    if (!NAME_PATTERN.test(n)) fail(path, `"${n}" is not a name: use up to 32 letters, digits and _ . + - (starting with a letter, digit or _)`);
    if (RESERVED_NAMES.has(n)) fail(path, `"${n}" is reserved (every JavaScript object has it)`);
  };
  s.processes.forEach((p, i) => name(`processes[${i}]`, p));
  s.threads.forEach((t, i) => name(`threads[${i}].name`, t.name));
  s.vmas.forEach((v, i) => name(`vmas[${i}].name`, v.name));
  files.forEach((f, i) => name(`files[${i}].name`, f.name));
  if (s.processes.length < 1 || s.processes.length > LIMITS.processes.max) fail('processes', `need 1 to ${LIMITS.processes.max} processes (${LIMITS.processes.why})`);
  const unique = (path: string, names: string[], field = '.name') =>
    names.forEach((n, i) => {
      if (names.indexOf(n) !== i) fail(`${path}[${i}]${field}`, `"${n}" is used twice`);
    });
  unique('processes', s.processes, '');
  unique(
    'threads',
    s.threads.map((t) => t.name),
  );
  unique(
    'vmas',
    s.vmas.map((v) => v.name),
  );
  unique(
    'files',
    files.map((f) => f.name),
  );
  if (s.vmas.length === 0) fail('vmas', 'need at least one VMA');
  s.vmas.forEach((v, i) =>
    s.vmas.forEach((w, j) => {
      if (j > i && v.start < w.start + w.pages && w.start < v.start + v.pages) fail(`vmas[${j}]`, `overlaps VMA "${v.name}"`);
    }),
  );
  const addrs = Math.max(0, ...s.vmas.map((v) => v.start + v.pages));
  if (addrs > LIMITS.addrs.max) fail('vmas', `at most ${LIMITS.addrs.max} pages of address space (${LIMITS.addrs.why})`);
  if (s.frames < 1 || s.frames > LIMITS.frames.max) fail('frames', `need 1 to ${LIMITS.frames.max} page frames (${LIMITS.frames.why})`);
  if (s.pageTables && (s.pageTables.tables < 1 || s.pageTables.tables > LIMITS.pgtables.max))
    fail('pageTables.tables', `must be 1 to ${LIMITS.pgtables.max} (${LIMITS.pgtables.why})`);
  if (s.reclaim && !s.pageTables)
    fail(
      'reclaim',
      `${s.reclaim === 'oom' ? 'the OOM killer' : s.reclaim === 'direct' ? 'direct reclaim' : 'memcg reclaim'} is entered by page-table allocations: it needs "pageTables"`,
    );
  if (s.swapSlots < 0 || s.swapSlots > LIMITS.swapSlots.max) fail('swapSlots', `at most ${LIMITS.swapSlots.max} swap slots (${LIMITS.swapSlots.why})`);
  const vmaNames = new Set(s.vmas.map((v) => v.name));
  const fileNames = new Set(files.map((f) => f.name));
  const fileOf = (n: string) => files.find((f) => f.name === n)!;
  const maxSize = (f: FileSpec) => f.maxSize ?? f.size;
  if (files.length > LIMITS.files.max) fail('files', `at most ${LIMITS.files.max} files (${LIMITS.files.why})`);
  files.forEach((f, i) => {
    if (f.size < 0 || maxSize(f) < f.size || maxSize(f) > LIMITS.filePages.max)
      fail(`files[${i}]`, `size must be 0..maxSize and maxSize at most ${LIMITS.filePages.max} pages (${LIMITS.filePages.why})`);
    const seen = new Set<number>();
    (f.cached ?? []).forEach((c, j) => {
      if (c.index < 0 || c.index >= f.size) fail(`files[${i}].cached[${j}].index`, `page ${c.index} is beyond the file's ${f.size} page${f.size === 1 ? '' : 's'}`);
      if (seen.has(c.index)) fail(`files[${i}].cached[${j}].index`, `page ${c.index} is cached twice`);
      seen.add(c.index);
    });
    if (f.kind === 'shmem' && f.disk !== undefined) fail(`files[${i}].disk`, 'a shmem file has no disk contents');
    if ((f.disk?.length ?? 0) > maxSize(f)) fail(`files[${i}].disk`, `more pages than the file's largest size (${maxSize(f)})`);
    if (f.dax && f.kind !== 'disk') fail(`files[${i}].dax`, 'DAX is a mode of a disk filesystem (ext4 -o dax): the file must be "disk"');
    if (f.huge && f.kind !== 'shmem') fail(`files[${i}].huge`, 'huge pages in the page cache are modelled for shmem (huge=always) only');
    if (f.huge && !s.vmas.some((v) => v.thp && v.file === f.name)) fail(`files[${i}].huge`, 'a huge shmem file is mapped by a THP VMA ("thp": true) of its size');
    if (f.dax)
      (f.cached ?? []).forEach((c, j) => {
        // dax_load_hole zero-fills the page of a hole, and a hole has no data in pmem.
        if (c.data !== 0 || (f.disk?.[c.index] ?? 0) !== 0) fail(`files[${i}].cached[${j}]`, `a DAX page-cache page is a hole: its data and its pmem ("disk") data must be 0`);
      });
  });
  s.vmas.forEach((v, i) => {
    if (v.file === undefined) {
      if (v.shared) fail(`vmas[${i}].shared`, 'shared anonymous memory is not modelled');
      if (v.pgoff !== undefined) fail(`vmas[${i}].pgoff`, 'only a file mapping has a file offset');
      return;
    }
    if (!fileNames.has(v.file)) fail(`vmas[${i}].file`, `unknown file "${v.file}"${didYouMean(v.file, [...fileNames])}`);
    const f = fileOf(v.file);
    const end = (v.pgoff ?? 0) + v.pages;
    if (end > maxSize(f)) {
      fail(
        `vmas[${i}]`,
        `maps pages ${v.pgoff ?? 0}..${end - 1} of ${f.name}, which never has more than ${maxSize(f)} page${maxSize(f) === 1 ? '' : 's'} (give the file a maxSize of ${end} or map less)`,
      );
    }
  });
  const vmaAt = (a: number) => s.vmas.find((v) => a >= v.start && a < v.start + v.pages);
  // The frames the world at the start needs: each anon page (or private COW copy) and each page-cache page.
  const cachePages = files.map((f) => new Set((f.cached ?? []).map((c) => c.index)));
  let anon = 0;
  let swapped = 0;
  s.pages.forEach((p, i) => {
    if (s.pages.findIndex((q) => q.addr === p.addr) !== i) fail(`pages[${i}].addr`, `address ${p.addr} is given twice`);
    const vma = vmaAt(p.addr);
    if (!vma) return fail(`pages[${i}].addr`, `no VMA covers address ${p.addr}`);
    if (p.state === 'device') return; // a device frame, not a RAM one (validateDevicePrivate)
    if (p.state === 'swapped') {
      if (vma.file !== undefined && vma.shared) fail(`pages[${i}]`, 'shmem swap is not modelled');
      swapped++;
      return;
    }
    if (vma.file !== undefined && vma.shared) {
      const fi = files.findIndex((f) => f.name === vma.file);
      const index = (vma.pgoff ?? 0) + p.addr - vma.start;
      if (index >= files[fi]!.size)
        fail(
          `pages[${i}].addr`,
          `address ${p.addr} maps page ${index} of ${vma.file}, beyond its ${files[fi]!.size} page${files[fi]!.size === 1 ? '' : 's'} (a fault there gets SIGBUS)`,
        );
      if (!files[fi]!.fsdax) cachePages[fi]!.add(index); // an fsdax file's pages are the device's, not RAM's
    } else {
      if (vma.file !== undefined) {
        const f = fileOf(vma.file);
        const index = (vma.pgoff ?? 0) + p.addr - vma.start;
        if (index >= f.size)
          fail(`pages[${i}].addr`, `address ${p.addr} maps page ${index} of ${vma.file}, beyond its ${f.size} page${f.size === 1 ? '' : 's'} (a fault there gets SIGBUS)`);
      }
      anon++;
    }
  });
  if (swapped > s.swapSlots)
    fail('pages', `${swapped} swapped page${swapped === 1 ? ' needs' : 's need'} ${swapped} swap slot${swapped === 1 ? '' : 's'}, the scenario has ${s.swapSlots}`);
  const cached = cachePages.reduce((n, c) => n + c.size, 0);
  if (anon + cached > s.frames) {
    fail('frames', `the world at the start needs ${anon + cached} page frames (${anon} anonymous or private, ${cached} in the page cache), the scenario has ${s.frames}`);
  }
  const refs = new Set<string>();
  const forked = new Map<string, string>();
  s.threads.forEach((t, ti) => {
    if (t.mm !== null && !s.processes.includes(t.mm)) fail(`threads[${ti}].mm`, `unknown process "${t.mm}"${didYouMean(t.mm, s.processes)}`);
    if (t.menu.length === 0) fail(`threads[${ti}].menu`, 'empty');
    t.menu.forEach((e, ei) => {
      const path = `threads[${ti}].menu[${ei}]`;
      if (e.max !== undefined && (e.max < 1 || e.max > LIMITS.runs.max)) fail(`${path}.max`, `must be 1 to ${LIMITS.runs.max} (${LIMITS.runs.why})`);
      const needsMm =
        e.op !== 'reclaim' &&
        e.op !== 'truncate' &&
        e.op !== 'punch' &&
        e.op !== 'migrate' &&
        e.op !== 'writeback' &&
        e.op !== 'collapse' &&
        e.op !== 'oom-reaper' &&
        e.op !== 'break-layouts' &&
        e.op !== 'memunmap';
      if (e.op === 'migrate-to-device' && t.mm === null) fail(path, "migrate-to-device is a process's request to its device driver: a thread of the process");
      if (needsMm && t.mm === null) fail(path, `a kernel thread cannot do "${e.op}"`);
      if ('addr' in e && !vmaAt(e.addr)) fail(`${path}.addr`, `no VMA covers address ${e.addr}`);
      if ('vma' in e && !vmaNames.has(e.vma)) fail(`${path}.vma`, `unknown VMA "${e.vma}"${didYouMean(e.vma, [...vmaNames])}`);
      if (e.op === 'gup') {
        name(`${path}.ref`, e.ref);
        if (refs.has(e.ref)) fail(`${path}.ref`, `GUP reference "${e.ref}" is taken by two entries`);
        refs.add(e.ref);
        if (e.force && !e.write) fail(`${path}.force`, 'FOLL_FORCE is modelled for writes (a forced read, e.g. of a mapping without VM_READ, is not): add "write" or drop "force"');
        if (e.force && e.fast) fail(`${path}.force`, 'GUP-fast takes no FOLL_FORCE (access_remote_vm uses the slow path)');
      }
      if (e.op === 'fork') {
        const i = s.processes.indexOf(e.child);
        if (i <= 0) fail(`${path}.child`, `"${e.child}" is not a process created by fork`);
        if (t.mm === e.child) fail(`${path}.child`, 'a process cannot fork itself');
        // The child is one process of the world: created once (a second fork would need a process of its own).
        if (forked.has(e.child)) fail(`${path}.child`, `"${e.child}" is already created by ${forked.get(e.child)}: give each fork a child of its own`);
        if ((e.max ?? 1) > 1) fail(`${path}.max`, `a fork creates "${e.child}" once: it cannot run more than once`);
        forked.set(e.child, `${t.name}'s menu entry ${ei}`);
      }
      if ((e.op === 'reclaim' || e.op === 'collapse' || (e.op === 'migrate' && 'mm' in e)) && !s.processes.includes(e.mm)) {
        fail(`${path}.mm`, `unknown process "${e.mm}"${didYouMean(e.mm, s.processes)}`);
      }
      if ((e.op === 'truncate' || e.op === 'punch' || e.op === 'writeback' || e.op === 'break-layouts' || (e.op === 'migrate' && 'file' in e)) && !fileNames.has(e.file)) {
        fail(`${path}.file`, `unknown file "${e.file}"${didYouMean(e.file, [...fileNames])}`);
      }
      if (e.op === 'truncate') {
        const f = fileOf(e.file);
        if (e.size < 0 || e.size > maxSize(f)) fail(`${path}.size`, `must be 0..${maxSize(f)}`);
      }
      if (e.op === 'punch') {
        const f = fileOf(e.file);
        if (f.kind !== 'shmem') fail(path, 'hole punching is modelled for shmem files only');
        if (e.start < 0 || e.len < 1 || e.start + e.len > maxSize(f)) fail(path, 'range beyond the file');
      }
      if (e.op === 'writeback') {
        const f = fileOf(e.file);
        if (f.kind !== 'disk') fail(`${path}.file`, 'writeback is modelled for disk files (shmem pages are written to swap by reclaim)');
        e.indices.forEach((x, i) => {
          if (x >= maxSize(f)) fail(`${path}.indices[${i}]`, `beyond the file's largest size (${maxSize(f)})`);
          if (e.indices.indexOf(x) !== i) fail(`${path}.indices[${i}]`, `page ${x} is written back twice`);
        });
      }
      if (e.op === 'migrate' && 'file' in e && e.index >= maxSize(fileOf(e.file))) fail(`${path}.index`, `beyond the file's largest size (${maxSize(fileOf(e.file))})`);
    });
  });
  s.threads.forEach((t, ti) =>
    t.menu.forEach((e, ei) => {
      if ((e.op === 'put' || e.op === 'device-write') && !refs.has(e.ref)) {
        fail(`threads[${ti}].menu[${ei}].ref`, `no "gup" entry takes reference "${e.ref}"${didYouMean(e.ref, [...refs])}`);
      }
    }),
  );
  const thp = s.vmas.findIndex((v) => v.thp);
  if (thp >= 0) {
    const v = s.vmas[thp]!;
    const path = `vmas[${thp}].thp`;
    if (!s.pageTables) fail(path, 'THP needs the PMD level: add "pageTables"');
    if (s.vmas.length !== 1) fail(path, "a THP VMA must be the process's only VMA: the huge pmd maps its whole range");
    if (s.pages.length) fail(path, 'a THP VMA starts with nothing mapped (pages: [])');
    if (v.pages > FOLIO_MAX_PAGES) fail(`vmas[${thp}].pages`, `a THP of at most ${FOLIO_MAX_PAGES} pages (the frame's compound word)`);
    if (v.file !== undefined) validateShmemThp(s, v, thp, fail);
    const allowed = new Set([
      'read',
      'write',
      'madv-dontneed',
      'mprotect-subpage',
      'madv-dontfork',
      'madv-dofork',
      'munmap',
      'mprotect',
      'exit',
      'collapse',
      'fork',
      'gup',
      'put',
      'device-write',
      'migrate',
    ]);
    const migrates = s.threads.some((u) => u.menu.some((x) => x.op === 'migrate'));
    s.threads.forEach((t, ti) =>
      t.menu.forEach((e, ei) => {
        if (!allowed.has(e.op)) fail(`threads[${ti}].menu[${ei}]`, `${e.op} is not modelled with THP (only ${[...allowed].join(', ')})`);
        if (v.file !== undefined && !SHMEM_THP_OPS.has(e.op))
          fail(`threads[${ti}].menu[${ei}]`, `${e.op} is not modelled with huge shmem pages (only ${[...SHMEM_THP_OPS].join(', ')})`);
        // A PMD migration entry meets faults, GUP, fork, MADV_DONTNEED (split when partial), zap and exit in the model; not mprotect's change_huge_pmd or khugepaged.
        if (migrates && (e.op === 'mprotect' || e.op === 'mprotect-subpage' || e.op === 'collapse'))
          fail(
            `threads[${ti}].menu[${ei}]`,
            `${e.op} with THP migration in the scenario would meet a PMD migration entry (change_huge_pmd, change_pte_range, khugepaged): not modelled`,
          );
        // khugepaged meeting a PTE-mapped THP (SCAN_PAGE_COMPOUND up to 5.7, collapsed from 5.8) is not modelled.
        const splits = (x: MenuEntry) =>
          x.op === 'fork' ||
          x.op === 'gup' ||
          x.op === 'mprotect-subpage' ||
          ((x.op === 'madv-dontneed' || x.op === 'madv-dontfork' || x.op === 'madv-dofork') && (x.addr !== v.start || (x.pages ?? 1) !== v.pages));
        if (e.op === 'collapse' && s.threads.some((u) => u.menu.some(splits)))
          fail(
            `threads[${ti}].menu[${ei}]`,
            'collapse with fork, GUP, mprotect-subpage or a partial MADV_DONTNEED in the scenario could meet a PTE-mapped THP (SCAN_PAGE_COMPOUND up to 5.7, collapsed from 5.8): not modelled',
          );
      }),
    );
  }
  s.threads.forEach((t, ti) =>
    t.menu.forEach((e, ei) => {
      if (e.op === 'mprotect-subpage' && !s.vmas.some((v) => v.thp && e.addr >= v.start && e.addr < v.start + v.pages))
        fail(`threads[${ti}].menu[${ei}].addr`, 'mprotect-subpage is for a page of a THP VMA ("thp": true)');
    }),
  );
  s.threads.forEach((t, ti) =>
    t.menu.forEach((e, ei) => {
      if (e.op === 'collapse' && thp < 0) fail(`threads[${ti}].menu[${ei}]`, 'khugepaged collapses a THP VMA ("thp": true): the scenario has none');
      if ((e.op === 'read' || e.op === 'write') && e.hugeFails && !s.vmas.some((v) => v.thp && e.addr >= v.start && e.addr < v.start + v.pages))
        fail(`threads[${ti}].menu[${ei}].hugeFails`, 'only a fault in a THP VMA allocates a huge page');
      if (e.op === 'read' && e.faultAround && vmaAt(e.addr)?.file === undefined)
        fail(`threads[${ti}].menu[${ei}].faultAround`, "fault-around maps a file's page cache: the address is not in a file mapping");
      if ((e.op === 'madv-dontfork' || e.op === 'madv-dofork') && e.pages !== undefined && vmaAt(e.addr + e.pages - 1) !== vmaAt(e.addr))
        fail(`threads[${ti}].menu[${ei}].pages`, 'the range must lie in one VMA');
      if (e.op === 'madv-dontneed' && e.pages !== undefined && !vmaAt(e.addr + e.pages - 1))
        fail(`threads[${ti}].menu[${ei}].pages`, `no VMA covers address ${e.addr + e.pages - 1}`);
    }),
  );
  s.threads.forEach((t, ti) =>
    t.menu.forEach((e, ei) => {
      if (e.op === 'oom-reaper' && s.reclaim !== 'oom') fail(`threads[${ti}].menu[${ei}]`, 'the OOM reaper reaps OOM victims: the scenario needs "reclaim": "oom"');
      if (e.op === 'oom-reaper' && t.mm !== null) fail(`threads[${ti}].mm`, 'the OOM reaper is a kernel thread: "mm": null');
    }),
  );
  if (s.reclaim === 'oom')
    s.threads.forEach((t, ti) => {
      // A killed process's threads can only exit: each needs an exit entry to do it with.
      if (t.mm !== null && !t.menu.some((e) => e.op === 'exit'))
        fail(`threads[${ti}].menu`, 'with "reclaim": "oom" every thread of a process needs an exit entry (an OOM victim\'s threads exit)');
    });
  if (s.pageTables && s.reclaim === 'memcg-v1') {
    // fork's table allocation is charged too; its reclaim (retry, sleep) is not modelled inside dup_mmap's one step.
    s.threads.forEach((t, ti) =>
      t.menu.forEach((e, ei) => {
        if (e.op === 'fork') fail(`threads[${ti}].menu[${ei}]`, 'fork is not modelled with "reclaim" (copy_pte_range\'s table allocation would reclaim inside dup_mmap)');
      }),
    );
  }
  validateDax(s, fail);
  validateDevice(s, fail);
  if (s.reclaim && thp >= 0) fail('reclaim', 'a THP fault\'s allocations do not reclaim in the model: "reclaim" with a THP VMA is not modelled');
  if (s.reclaim === 'direct') {
    // dup_mmap is one step: copy_pte_range's table allocation cannot reclaim there. A fork before the parent has a table allocates none.
    s.threads.forEach((t, ti) =>
      t.menu.forEach((e, ei) => {
        const alone = s.threads.filter((u) => u.mm === t.mm).length === 1;
        if (e.op === 'fork' && (s.pages.length > 0 || t.mode !== 'program' || ei !== 0 || t.mm !== s.processes[0] || !alone))
          fail(
            `threads[${ti}].menu[${ei}]`,
            'with "reclaim": "direct" a fork must be the first step of a program thread of the first process, which starts with no pages and has no other thread (dup_mmap is one step: copy_pte_range\'s table allocation would reclaim inside it)',
          );
      }),
    );
  }
  const written = new Set<string>();
  s.threads.forEach((t, ti) =>
    t.menu.forEach((e, ei) => {
      if (e.op !== 'writeback') return;
      // One writeback of a file, once: its owner is one slot (who ends PG_writeback), and a second pass would wait on the first's pages.
      if (written.has(e.file)) fail(`threads[${ti}].menu[${ei}]`, `a second writeback of ${e.file} is not modelled (one writeback per file)`);
      if ((e.max ?? 1) > 1) fail(`threads[${ti}].menu[${ei}].max`, 'a writeback runs once (a second pass would wait on the pages of the first)');
      written.add(e.file);
    }),
  );
  s.threads.forEach((t, ti) =>
    t.menu.forEach((e, ei) => {
      if ((e.op === 'truncate' || e.op === 'punch' || (e.op === 'migrate' && 'file' in e)) && written.has(e.file))
        fail(`threads[${ti}].menu[${ei}]`, `${e.op} of a file that is written back is not modelled (truncation and migration wait on PG_writeback)`);
      if (e.op === 'migrate' && 'mm' in e && written.size)
        fail(`threads[${ti}].menu[${ei}]`, 'migration in a scenario with writeback is not modelled (migration waits on PG_writeback)');
    }),
  );
  const witnessNames = new Set<string>();
  (s.witnesses ?? []).forEach((w, i) => {
    const path = `witnesses[${i}]`;
    if (witnessNames.has(w.name)) fail(`${path}.name`, `"${w.name}" is used twice`);
    witnessNames.add(w.name);
    if ('completes' in w) {
      completedEntry(s, w.completes, `${path}.completes`);
      return;
    }
    if (w.when.length === 0) fail(`${path}.when`, 'needs at least one condition');
    w.when.forEach((c, j) => {
      const cp = `${path}.when[${j}]`;
      if ('at' in c && !parseAt(s, c.at)) fail(`${cp}.at`, `"${c.at}" is not a process and a covered address, such as "${s.processes[0]}:${s.vmas[0]!.start}"`);
      if ('ref' in c && !refs.has(c.ref)) fail(`${cp}.ref`, `no "gup" entry takes reference "${c.ref}"${didYouMean(c.ref, [...refs])}`);
      if ('mm' in c && !s.processes.includes(c.mm)) fail(`${cp}.mm`, `unknown process "${c.mm}"${didYouMean(c.mm, s.processes)}`);
      if ('sleeps' in c && !s.threads.some((t) => t.name === c.sleeps))
        fail(
          `${cp}.sleeps`,
          `unknown thread "${c.sleeps}"${didYouMean(
            c.sleeps,
            s.threads.map((t) => t.name),
          )}`,
        );
      if ('retracted' in c && !s.processes.includes(c.retracted)) fail(`${cp}.retracted`, `unknown process "${c.retracted}"${didYouMean(c.retracted, s.processes)}`);
      if ('cache' in c && !parseCacheAt(s, c.cache))
        fail(`${cp}.cache`, `"${c.cache}" is not a file and a page index within its size, such as "${s.files?.[0]?.name ?? 'file'}:0"`);
    });
  });
}

/** The operations modelled with FS_DAX memory: loads and stores through a DAX mapping, GUP of it and its put, a DMA through it, break_layouts, exit. */
const DEVICE_OPS = new Set(['read', 'write', 'gup', 'put', 'device-write', 'break-layouts', 'exit']);

/**
 * ZONE_DEVICE memory (docs/rules.md#zone-device): an FS_DAX device under
 * one fsdax file (a disk file of at most the device's pages), mapped shared;
 * GUP (slow, not FOLL_LONGTERM: -EOPNOTSUPP on fsdax) of its DAX mappings,
 * put, break_layouts and exit.
 */
function validateDevice(s: ScenarioSpec, fail: (path: string, why: string) => never): void {
  const files = s.files ?? [];
  // The file over the device: an fsdax file on an FS_DAX device, a device-dax character device on a GENERIC one.
  const over = s.device?.type === 'generic' ? 'devdax' : 'fsdax';
  const fsdax = files.filter((f) => f[over]);
  files.forEach((f, i) => {
    for (const flag of ['fsdax', 'devdax'] as const) {
      if (!f[flag]) continue;
      const type = flag === 'fsdax' ? 'fsdax' : 'generic';
      if (s.device?.type !== type)
        fail(`files[${i}].${flag}`, `an ${flag} file needs the scenario's ${flag === 'fsdax' ? 'FS_DAX' : 'GENERIC'} device ("device": {"type": "${type}", ...})`);
      if (f.kind !== 'disk' || f.dax || f.huge) fail(`files[${i}]`, `an ${flag} file is a "disk" file, without "dax" (4.4-4.6 DAX) or "huge"`);
      if (f.cached?.length || f.disk?.length || (f.maxSize ?? f.size) !== f.size) fail(`files[${i}]`, `an ${flag} file's pages are the device's: no cached, disk or maxSize`);
      if (f.size > s.device!.pages) fail(`files[${i}].size`, `the file has ${f.size} pages, the device ${s.device!.pages}`);
    }
  });
  if (s.device?.type !== 'private' && s.device?.type !== 'coherent') {
    s.pages.forEach((p, i) => {
      if (p.state === 'device') fail(`pages[${i}].state`, 'a page on the device needs device-private or coherent memory ("device": {"type": "private", ...})');
    });
  }
  if (s.device?.type !== 'private' && s.device?.type !== 'coherent' && s.device?.type !== 'generic') {
    s.threads.forEach((t, ti) =>
      t.menu.forEach((e, ei) => {
        if (e.op === 'memunmap') fail(`threads[${ti}].menu[${ei}]`, 'memunmap_pages is modelled for device-private, coherent and device-dax memory');
      }),
    );
  }
  if (s.device?.type === 'fsdax' && s.processes.length > 1)
    fail('processes', 'FS_DAX memory is modelled in one process (a second one comes only by fork, which is not modelled with it)');
  if (!s.device) {
    s.threads.forEach((t, ti) =>
      t.menu.forEach((e, ei) => {
        if (e.op === 'break-layouts') fail(`threads[${ti}].menu[${ei}]`, 'break_layouts is for a file on a DAX filesystem: the scenario has no "device"');
      }),
    );
    return;
  }
  if (s.device.type === 'private' || s.device.type === 'coherent') {
    validateDevicePrivate(s, fail);
    return;
  }
  const generic = s.device.type === 'generic';
  if (fsdax.length !== 1)
    fail('device', generic ? 'a GENERIC device is one device-dax ("devdax": true) in the model' : 'an FS_DAX device holds one fsdax file ("fsdax": true) in the model');
  s.vmas.forEach((v, i) => {
    if (v.file === undefined || !fsdax.some((f) => f.name === v.file))
      fail(`vmas[${i}]`, `with a device, every VMA maps the ${over} file (other memory is not modelled alongside)`);
    // dax_mmap -> check_vma: a device-dax must be mapped shared (VM_MAYSHARE).
    if (!v.shared || v.thp) fail(`vmas[${i}].shared`, `an ${over} mapping is modelled MAP_SHARED, without "thp"`);
  });
  s.pages.forEach((p, i) => {
    if (p.state === 'swapped' || p.state === 'device') fail(`pages[${i}].state`, `a DAX page is not ${p.state}`);
  });
  s.threads.forEach((t, ti) =>
    t.menu.forEach((e, ei) => {
      const at = `threads[${ti}].menu[${ei}]`;
      const ops = generic ? DEVDAX_OPS : DEVICE_OPS;
      if (!ops.has(e.op)) fail(at, `${e.op} is not modelled with ${generic ? 'device-dax' : 'FS_DAX'} memory (only ${[...ops].join(', ')})`);
      if (e.op === 'gup' && e.fast)
        fail(at, `GUP-fast of a ${over} page is not modelled (gup_pte_range takes a devmap PTE's pgmap, or falls back for FOLL_LONGTERM: the slow path)`);
      if (e.op === 'gup' && e.longterm && !generic) fail(at, 'GUP of an fsdax page is modelled without FOLL_LONGTERM (which fsdax refuses: -EOPNOTSUPP)');
      if (e.op === 'memunmap' && t.mm !== null) fail(`threads[${ti}].mm`, 'unbinding the device is the driver\'s: a kernel thread ("mm": null)');
      if (e.op === 'memunmap' && (e.max ?? 1) > 1) fail(`${at}.max`, 'memunmap_pages runs once');
      if (e.op === 'gup' && e.write && s.vmas.find((v) => e.addr >= v.start && e.addr < v.start + v.pages)?.prot !== 'rw')
        fail(`${at}.write`, 'FOLL_WRITE needs a writable mapping');
      if (e.op === 'break-layouts' && !fsdax.some((f) => f.name === e.file)) fail(`${at}.file`, `${e.file} is not the fsdax file`);
    }),
  );
}

/** The operations modelled with a device-dax: loads and stores, GUP (long-term too) and its put, a DMA, unbinding the device, exit. */
const DEVDAX_OPS = new Set(['read', 'write', 'gup', 'put', 'device-write', 'memunmap', 'exit']);

/** The operations modelled with device-private memory: the CPU faults on its entries, memunmap_pages, exit. */
const DEVICE_PRIVATE_OPS = new Set(['read', 'write', 'memunmap', 'migrate-to-device', 'fork', 'gup', 'put', 'device-write', 'exit']);
/** Coherent memory is mapped like anon memory: also reclaim and MADV_PAGEOUT, which must leave its pages alone. */
const DEVICE_COHERENT_OPS = new Set([...DEVICE_PRIVATE_OPS, 'reclaim', 'pageout']);

/**
 * MEMORY_DEVICE_PRIVATE (docs/rules.md#zone-device): anonymous private
 * memory some of whose pages start migrated to the device ("state":
 * "device"); CPU faults on their entries (->migrate_to_ram), the driver's
 * memunmap_pages (a kernel thread), exit.
 */
function validateDevicePrivate(s: ScenarioSpec, fail: (path: string, why: string) => never): void {
  if (s.files?.length) fail('files', 'device-private memory is modelled with anonymous memory only (no files)');
  s.vmas.forEach((v, i) => {
    if (v.thp) fail(`vmas[${i}].thp`, 'THP is not modelled with device-private memory');
  });
  const onDevice = s.pages.filter((p) => p.state === 'device').length;
  if (s.threads.flatMap((t) => t.menu).filter((e) => e.op === 'memunmap').length > 1) fail('threads', 'memunmap_pages runs once: one memunmap entry in the scenario');
  if (onDevice > s.device!.pages) fail('pages', `${onDevice} pages on the device, which has ${s.device!.pages}`);
  s.threads.forEach((t, ti) =>
    t.menu.forEach((e, ei) => {
      const at = `threads[${ti}].menu[${ei}]`;
      const ops = s.device!.type === 'coherent' ? DEVICE_COHERENT_OPS : DEVICE_PRIVATE_OPS;
      if (!ops.has(e.op)) fail(at, `${e.op} is not modelled with device-${s.device!.type} memory (only ${[...ops].join(', ')})`);
      if (e.op === 'memunmap' && t.mm !== null) fail(`threads[${ti}].mm`, 'memunmap_pages is the driver\'s: a kernel thread ("mm": null)');
      if (e.op === 'memunmap' && (e.max ?? 1) > 1) fail(`${at}.max`, 'memunmap_pages runs once');
      if (e.op === 'gup' && e.fast) fail(at, 'GUP-fast with device-private memory is not modelled (gup_pte_range refuses a non-present entry: the slow path)');
      if (
        e.op === 'migrate-to-device' &&
        (t.mode !== 'program' || t.menu.slice(0, ei).some((x) => x.op !== 'write' && x.op !== 'read') || s.threads.some((u) => u !== t && u.mm === t.mm))
      )
        fail(at, 'migrate-to-device is modelled in a program thread, alone in its process, after only reads and writes (a page mapped once: before any fork)');
    }),
  );
}

/**
 * What a DAX file (4.4-4.6) supports in the model: private mappings; read
 * faults of holes that have a page-cache page (dax_load_hole; a read of
 * written pmem maps its pfn with vm_insert_mixed: not modelled); COW write
 * faults; truncation, munmap, MADV_DONTNEED, fork, exit.
 */
function validateDax(s: ScenarioSpec, fail: (path: string, why: string) => never): void {
  const files = s.files ?? [];
  const dax = new Set(files.filter((f) => f.dax).map((f) => f.name));
  if (!dax.size) return;
  s.vmas.forEach((v, i) => {
    if (v.file !== undefined && dax.has(v.file) && v.shared)
      fail(`vmas[${i}].shared`, 'a shared mapping of a DAX file (dax_insert_mapping, dax_mkwrite) is not modelled: map it private');
  });
  const daxAt = (a: number): { file: string; index: number } | null => {
    const v = s.vmas.find((x) => a >= x.start && a < x.start + x.pages);
    return v?.file !== undefined && dax.has(v.file) ? { file: v.file, index: (v.pgoff ?? 0) + a - v.start } : null;
  };
  s.pages.forEach((p, i) => {
    if (daxAt(p.addr)) fail(`pages[${i}]`, 'a DAX mapping starts with nothing mapped');
  });
  const allowed = new Set(['read', 'write', 'madv-dontneed', 'munmap', 'fork', 'exit', 'truncate']);
  s.threads.forEach((t, ti) =>
    t.menu.forEach((e, ei) => {
      const path = `threads[${ti}].menu[${ei}]`;
      const at = 'addr' in e ? daxAt(e.addr) : null;
      const file = 'file' in e ? e.file : at?.file;
      if (file !== undefined && dax.has(file) && !allowed.has(e.op)) fail(path, `${e.op} of a DAX file is not modelled (only ${[...allowed].join(', ')})`);
      if (e.op === 'read' && at) {
        const f = files.find((x) => x.name === at.file)!;
        if (e.faultAround) fail(`${path}.faultAround`, 'a DAX file has no ->map_pages (ext4_dax_vm_ops)');
        if (!(f.cached ?? []).some((c) => c.index === at.index))
          fail(
            `${path}.addr`,
            `a read of DAX page ${at.index}, which is not a hole with a page-cache page, maps its pmem pfn (vm_insert_mixed): not modelled (list the hole in "cached")`,
          );
      }
    }),
  );
}

/** "P:0" -> the process index and address, or null when it names no process or no address of the scenario. */
export function parseAt(s: ScenarioSpec, at: string): { mm: number; addr: number } | null {
  const m = /^(.+):(\d+)$/.exec(at);
  if (!m) return null;
  const mm = s.processes.indexOf(m[1]!);
  const addr = Number(m[2]);
  const covered = s.vmas.some((v) => addr >= v.start && addr < v.start + v.pages);
  return mm < 0 || !covered ? null : { mm, addr };
}

/** The menu entry a "completes" witness names; throws ScenarioError when there is not exactly one. */
export function completedEntry(s: ScenarioSpec, c: { thread: string; entry?: number; op?: string }, path: string): { thread: number; entry: number } {
  const t = s.threads.findIndex((x) => x.name === c.thread);
  if (t < 0) throw new ScenarioError(`scenario ${s.name}: ${path}.thread: unknown thread "${c.thread}"`);
  const menu = s.threads[t]!.menu;
  if (c.entry !== undefined) {
    if (c.entry < 0 || c.entry >= menu.length) throw new ScenarioError(`scenario ${s.name}: ${path}.entry: thread ${c.thread} has entries 0..${menu.length - 1}`);
    if (c.op !== undefined && menu[c.entry]!.op !== c.op)
      throw new ScenarioError(`scenario ${s.name}: ${path}: entry ${c.entry} of ${c.thread} is "${menu[c.entry]!.op}", not "${c.op}"`);
    return { thread: t, entry: c.entry };
  }
  const hits = menu.map((e, i) => (e.op === c.op ? i : -1)).filter((i) => i >= 0);
  if (hits.length !== 1) {
    throw new ScenarioError(`scenario ${s.name}: ${path}: thread ${c.thread} has ${hits.length} "${c.op}" entries; name one by "entry"`);
  }
  return { thread: t, entry: hits[0]! };
}
