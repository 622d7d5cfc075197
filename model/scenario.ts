/**
 * Scenarios: small worlds. Which processes exist (the first at the start,
 * the others created by fork), their VMAs and initial pages, and the
 * threads, each with a menu of operations chosen nondeterministically (or a
 * fixed program run in order), each entry at most `max` times.
 */

export type Prot = 'r' | 'rw';

export type MenuOp =
  | { op: 'write'; addr: number; value: number }
  | { op: 'read'; addr: number }
  | { op: 'gup'; ref: string; addr: number; pin: boolean; write?: boolean; longterm?: boolean; fast?: boolean }
  | { op: 'put'; ref: string }
  | { op: 'device-write'; ref: string; value: number }
  | { op: 'fork'; child: string }
  | { op: 'mprotect'; vma: string; prot: Prot }
  | { op: 'madv-dontneed'; addr: number }
  | { op: 'munmap'; vma: string }
  | { op: 'reclaim'; mm: string; addr: number }
  | { op: 'pageout'; addr: number }
  | { op: 'truncate'; file: string; size: number }
  | { op: 'punch'; file: string; start: number; len: number }
  | { op: 'migrate'; file: string; index: number }
  | { op: 'migrate'; mm: string; addr: number }
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
}

export interface PageSpec {
  addr: number;
  data: number;
  /**
   * present (default): written by the process, as a write fault leaves it (an
   * anon page; in a shared file mapping the file's page, mapped writable; in a
   * private file mapping a COW copy); swapped: an anon page in a swap slot.
   */
  state?: 'present' | 'swapped';
}

export interface ScenarioSpec {
  name: string;
  title: string;
  /** What the scenario is for, and the expected verdicts with their reasons. */
  description: string;
  /** Where the kernel rules come from, e.g. "MM-SEMANTICS 1.4 (a)". */
  reference?: string;
  processes: string[];
  files?: FileSpec[];
  vmas: VmaSpec[];
  pages: PageSpec[];
  frames: number;
  swapSlots: number;
  threads: ThreadSpec[];
}

export class ScenarioError extends Error {}

/** Checks a scenario's internal references; throws ScenarioError naming the path and the reason. */
export function validateScenario(s: ScenarioSpec): void {
  const fail = (path: string, why: string): never => {
    throw new ScenarioError(`scenario ${s.name}: ${path}: ${why}`);
  };
  if (s.processes.length < 1 || s.processes.length > 4) fail('processes', 'need 1 to 4 processes');
  const unique = (path: string, names: string[]) =>
    names.forEach((n, i) => {
      if (names.indexOf(n) !== i) fail(`${path}[${i}].name`.replace('processes[' + i + '].name', `processes[${i}]`), `"${n}" is used twice`);
    });
  unique('processes', s.processes);
  unique('threads', s.threads.map((t) => t.name));
  unique('vmas', s.vmas.map((v) => v.name));
  unique('files', (s.files ?? []).map((f) => f.name));
  s.pages.forEach((p, i) => {
    if (s.pages.findIndex((q) => q.addr === p.addr) !== i) fail(`pages[${i}].addr`, `address ${p.addr} is given twice`);
  });
  s.vmas.forEach((v, i) =>
    s.vmas.forEach((w, j) => {
      if (j > i && v.start < w.start + w.pages && w.start < v.start + v.pages) fail(`vmas[${j}]`, `overlaps VMA "${v.name}"`);
    }),
  );
  const addrs = Math.max(0, ...s.vmas.map((v) => v.start + v.pages));
  if (addrs > 16) fail('vmas', 'at most 16 pages of address space');
  if (s.frames < 1 || s.frames > 30) fail('frames', 'need 1 to 30 page frames');
  if (s.swapSlots < 0 || s.swapSlots > 8) fail('swapSlots', 'at most 8 swap slots');
  const vmaNames = new Set(s.vmas.map((v) => v.name));
  const files = s.files ?? [];
  const fileNames = new Set(files.map((f) => f.name));
  if (files.length > 3) fail('files', 'at most 3 files');
  files.forEach((f, i) => {
    const max = f.maxSize ?? f.size;
    if (f.size < 0 || max < f.size || max > 16) fail(`files[${i}]`, 'size must be 0..maxSize and maxSize at most 16 pages');
    (f.cached ?? []).forEach((c, j) => {
      if (c.index < 0 || c.index >= f.size) fail(`files[${i}].cached[${j}].index`, `beyond the file's ${f.size} pages`);
    });
  });
  s.vmas.forEach((v, i) => {
    if (v.file !== undefined && !fileNames.has(v.file)) fail(`vmas[${i}].file`, `unknown file "${v.file}"`);
    if (v.file === undefined && v.shared) fail(`vmas[${i}].shared`, 'shared anonymous memory is not modelled');
  });
  const covered = (a: number) => s.vmas.some((v) => a >= v.start && a < v.start + v.pages);
  s.pages.forEach((p, i) => {
    if (!covered(p.addr)) fail(`pages[${i}].addr`, `no VMA covers address ${p.addr}`);
    const vma = s.vmas.find((v) => p.addr >= v.start && p.addr < v.start + v.pages);
    if (vma?.file !== undefined && vma.shared && p.state === 'swapped') fail(`pages[${i}]`, 'shmem swap is not modelled');
    if (p.state === 'swapped' && s.swapSlots < 1) fail(`pages[${i}]`, 'a swapped page needs a swap slot');
  });
  const refs = new Set<string>();
  s.threads.forEach((t, ti) => {
    if (t.mm !== null && !s.processes.includes(t.mm)) fail(`threads[${ti}].mm`, `unknown process "${t.mm}"`);
    if (t.menu.length === 0) fail(`threads[${ti}].menu`, 'empty');
    t.menu.forEach((e, ei) => {
      const path = `threads[${ti}].menu[${ei}]`;
      if (e.max !== undefined && (e.max < 1 || e.max > 3)) fail(`${path}.max`, 'must be 1, 2 or 3');
      const needsMm = e.op !== 'reclaim' && e.op !== 'truncate' && e.op !== 'punch' && e.op !== 'migrate';
      if (needsMm && t.mm === null) fail(path, `a kernel thread cannot do "${e.op}"`);
      if ('addr' in e && !covered(e.addr)) fail(`${path}.addr`, `no VMA covers address ${e.addr}`);
      if ('vma' in e && !vmaNames.has(e.vma)) fail(`${path}.vma`, `unknown VMA "${e.vma}"`);
      if (e.op === 'gup') {
        if (refs.has(e.ref)) fail(`${path}.ref`, `GUP reference "${e.ref}" is taken by two entries`);
        refs.add(e.ref);
      }
      if (e.op === 'fork') {
        const i = s.processes.indexOf(e.child);
        if (i <= 0) fail(`${path}.child`, `"${e.child}" is not a process created by fork`);
      }
      if ((e.op === 'reclaim' || (e.op === 'migrate' && 'mm' in e)) && !s.processes.includes(e.mm)) {
        fail(`${path}.mm`, `unknown process "${e.mm}"`);
      }
      if ((e.op === 'truncate' || e.op === 'punch' || (e.op === 'migrate' && 'file' in e)) && !fileNames.has(e.file)) {
        fail(`${path}.file`, `unknown file "${e.file}"`);
      }
      if (e.op === 'truncate') {
        const f = files.find((x) => x.name === e.file)!;
        if (e.size < 0 || e.size > (f.maxSize ?? f.size)) fail(`${path}.size`, `must be 0..${f.maxSize ?? f.size}`);
      }
      if (e.op === 'punch') {
        const f = files.find((x) => x.name === e.file)!;
        if (f.kind !== 'shmem') fail(path, 'hole punching is modelled for shmem files only');
        if (e.start < 0 || e.len < 1 || e.start + e.len > (f.maxSize ?? f.size)) fail(path, 'range beyond the file');
      }
    });
  });
  s.threads.forEach((t, ti) =>
    t.menu.forEach((e, ei) => {
      if ((e.op === 'put' || e.op === 'device-write') && !refs.has(e.ref)) {
        fail(`threads[${ti}].menu[${ei}].ref`, `no "gup" entry takes reference "${e.ref}"`);
      }
    }),
  );
}
