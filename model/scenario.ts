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
  | { op: 'gup'; ref: string; addr: number; pin: boolean; write?: boolean; longterm?: boolean }
  | { op: 'put'; ref: string }
  | { op: 'device-write'; ref: string; value: number }
  | { op: 'fork'; child: string }
  | { op: 'mprotect'; vma: string; prot: Prot }
  | { op: 'madv-dontneed'; addr: number }
  | { op: 'munmap'; vma: string }
  | { op: 'reclaim'; mm: string; addr: number }
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
}

export interface PageSpec {
  addr: number;
  data: number;
  /** present (default): mapped writable, as after a write fault; swapped: in the swap slot. */
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
  const addrs = Math.max(0, ...s.vmas.map((v) => v.start + v.pages));
  if (addrs > 16) fail('vmas', 'at most 16 pages of address space');
  if (s.frames < 1 || s.frames > 30) fail('frames', 'need 1 to 30 page frames');
  if (s.swapSlots < 0 || s.swapSlots > 8) fail('swapSlots', 'at most 8 swap slots');
  const vmaNames = new Set(s.vmas.map((v) => v.name));
  const covered = (a: number) => s.vmas.some((v) => a >= v.start && a < v.start + v.pages);
  s.pages.forEach((p, i) => {
    if (!covered(p.addr)) fail(`pages[${i}].addr`, `no VMA covers address ${p.addr}`);
    if (p.state === 'swapped' && s.swapSlots < 1) fail(`pages[${i}]`, 'a swapped page needs a swap slot');
  });
  const refs = new Set<string>();
  s.threads.forEach((t, ti) => {
    if (t.mm !== null && !s.processes.includes(t.mm)) fail(`threads[${ti}].mm`, `unknown process "${t.mm}"`);
    if (t.menu.length === 0) fail(`threads[${ti}].menu`, 'empty');
    t.menu.forEach((e, ei) => {
      const path = `threads[${ti}].menu[${ei}]`;
      if (e.max !== undefined && (e.max < 1 || e.max > 3)) fail(`${path}.max`, 'must be 1, 2 or 3');
      const needsMm = e.op !== 'reclaim';
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
      if (e.op === 'reclaim' && !s.processes.includes(e.mm)) fail(`${path}.mm`, `unknown process "${e.mm}"`);
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
