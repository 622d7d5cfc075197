/**
 * The MM model as the engine sees it: a scenario and a kernel variant become
 * packed states, initial states and a successor function.
 *
 * A thread is idle (pc 0) or in the middle of an operation (pc = entry, step).
 * An idle thread may start any menu entry whose budget is left; a busy thread
 * runs its next step. Action ids name (thread, menu entry, step), so each
 * determines its successor.
 */
import { SwitchUse } from './switch-use.js';
import { describeThread, readableState } from './readable.js';
import type { Emit, Model } from '../checker/model.js';
import { BLOCKED, DISABLED, DONE, Kernel, SLEEP, type WorldInfo } from './kernel.js';
import {
  keyClass,
  keyObject,
  LOCK_I_RWSEM,
  lockClass,
  STATUS_ASLEEP,
  WAITQ_FALLOC,
  WAITQ_OOM,
  WAITQ_PGMAP,
  WAITQ_VAR,
  WAITQ_WRITEBACK,
  waitKey,
  STATUS_MASK,
  statusWait,
  WAIT_ASLEEP,
  WAIT_KEY_MASK,
  WAIT_WRITE,
} from './locks.js';
import { dependencyFrom, dependencyTo, Lockdep } from './lockdep.js';
import { kernelFunctions, type KernelFunctions } from './kernel/functions.js';
import {
  BUDGET_BITS,
  ENTRIES_PER_BUDGET_WORD,
  F_SIZE,
  layoutOf,
  type Layout,
  TH_BUDGET,
  MM_ANONPAGES,
  MM_LIVE,
  MM_STATE,
  MM_SWAPENTS,
  PG_DATA,
  PG_DEVFREE,
  PG_FLAGS,
  PG_MAPPING,
  PG_REF,
  pageMappingWord,
  TH_PC,
  F_WB_OWNER,
  PG_DIRTY,
  MM_FLAGS,
  MMF_OOM_VICTIM,
  TH_HELD_LOCALS,
  TH_LOCALS,
  TH_STATUS,
  TS_EXITED,
  TS_RUNNING,
  VMA_PRESENT,
  VMA_WRITE,
} from './layout.js';
import { buildAccess } from './ops/access.js';
import { buildWriteback } from './ops/writeback.js';
import { buildExit } from './ops/exit.js';
import { buildFork } from './ops/fork.js';
import { buildDeviceWrite, buildGup, buildGupRelease, gupTitle } from './ops/gup.js';
import { buildMigrate } from './ops/migrate.js';
import { buildMprotect, buildMprotectSubpage } from './ops/mprotect.js';
import { buildMadviseDontfork } from './ops/dontfork.js';
import { buildPunch, buildTruncate } from './ops/truncate.js';
import { buildReclaim } from './ops/reclaim.js';
import { buildCollapse, buildCollapseFile } from './ops/khugepaged.js';
import { buildOomReaper } from './ops/oom.js';
import { buildMadviseDontneed, buildMunmap } from './ops/unmap.js';
import type { PorInfo } from '../checker/reduce.js';
import { type BuildContext, MAX_STEPS, PC_IDLE, pcEntry, pcOf, pcStep, ProgramBuilder, type Program, type Step } from './program.js';
import { FrameSymmetry } from './symmetry.js';
import { PTE_DEVPRIV, pteDevPrivate, pteDevmap, pteKind, ptePresent, pteSwap } from './pte.js';
import { devpriv_alloc_page, pgmapRef } from './kernel/memremap.js';
import { buildBreakLayouts } from './ops/dax.js';
import { buildMemunmap, buildMigrateToDevice } from './ops/device.js';
import { gupKind, gupPfn } from './gup.js';
import { type MenuEntry, ScenarioError, type ScenarioSpec, scenarioKernelProblem, validateScenario } from './scenario.js';
import type { Variant } from './variants.js';
import { add_to_page_cache } from './kernel/filemap.js';
import { finish_wait } from './kernel/locking.js';
import { alloc_page, get_page, put_page } from './kernel/page_alloc.js';
import { anon_vma_prepare, page_add_file_rmap } from './kernel/rmap.js';
import { get_swap_page } from './kernel/swapfile.js';

/**
 * What a step did: went on to another step of its operation, completed the
 * operation, or ended it with an error. Each outcome of a step is an action
 * of its own, so the engine's coverage says which operations completed.
 */
export type Outcome = 'next' | 'done' | 'failed' | 'sleeps';
export const OUTCOMES: readonly Outcome[] = ['next', 'done', 'failed', 'sleeps'];

/** The action of step `step` of a menu entry whose first action is `base`, with outcome o (an index into OUTCOMES). */
function actionOf(base: number, step: number, o: number): number {
  return base + OUTCOMES.length * step + o;
}

function outcomeIndex(next: number): number {
  return next >= 0 ? 0 : next === DONE ? 1 : next === SLEEP ? 3 : 2;
}

/** Who waits for what in a state (MMModel.waitFor). */
export interface WaitFor {
  /**
   * heldBy: the holders; for a reader queued behind a waiting writer
   * (behindWriter), that writer; for a wait queue (waker), the thread that
   * will end the condition (the punch, the writeback whose bio is pending).
   */
  waits: { thread: string; how: 'sleeps' | 'spins'; on: string; heldBy: string[]; behindWriter?: boolean; waker?: boolean }[];
  /** Threads in a cycle of waits, each waiting for the next (the last for the first); null: none. */
  cycle: string[] | null;
  /** Threads asleep on a key that nothing holds: no step will wake them. */
  lost: string[];
}

export interface ActionInfo {
  thread: number;
  entry: number;
  step: number;
  outcome: Outcome;
  threadName: string;
  /** The operation, e.g. "write P:0 := 2". */
  op: string;
  /** The step's label, e.g. "do_wp_page". */
  label: string;
  /** Kernel source reference. */
  where: string;
}

export class MMModel implements Model {
  readonly stateWords: number;
  readonly actionCount: number;
  readonly layout: Layout;
  readonly world: WorldInfo;
  readonly programs: Program[][];
  readonly actions: ActionInfo[];
  private readonly actionBase: number[][];
  private readonly k: Kernel;
  /** The kernel functions of this variant (model/kernel/functions.ts), chosen once. */
  readonly fn: KernelFunctions;
  private readonly scratch: Int32Array;
  private readonly init: Int32Array;
  /** Per thread: the entries run as a fixed program, in order. */
  private readonly inOrder: boolean[];
  /** The scenario runs out of memory (the OOM killer kills); which menu entries are exit. */
  private readonly oomKills: boolean;
  private readonly exitEntry: boolean[][];
  private readonly buildContext: BuildContext;
  private readonly gupRefs: string[] = [];
  private readonly symmetry: FrameSymmetry;
  /** The switches this model consulted (observations "switch NAME"). */
  readonly switchUse: SwitchUse;
  /** The objects each action may touch, for partial-order reduction (see por.ts). */
  porInfo?: PorInfo;

  constructor(
    readonly scenario: ScenarioSpec,
    readonly variant: Variant,
    options: { lockdep?: 'collect' | number } = {},
  ) {
    validateScenario(scenario);
    this.switchUse = new SwitchUse(variant.switches);
    const addrs = Math.max(...scenario.vmas.map((v) => v.start + v.pages));
    for (const t of scenario.threads) for (const e of t.menu) if (e.op === 'gup') this.gupRefs.push(e.ref);
    const files = scenario.files ?? [];
    this.layout = layoutOf({
      mms: scenario.processes.length,
      vmas: scenario.vmas.length,
      addrs,
      frames: scenario.frames,
      devFrames: scenario.device?.pages ?? 0,
      swapSlots: scenario.swapSlots,
      gupSlots: this.gupRefs.length,
      files: files.length,
      filePages: Math.max(0, ...files.map((f) => f.maxSize ?? f.size)),
      entries: scenario.threads.map((t) => t.menu.length),
      // lockdep witnessing one dependency keeps a ghost word: set when it is taken.
      extra: {
        // A THP VMA: frames carry their place in a folio (objects.ts frame.compound).
        ...(scenario.vmas.some((v) => v.thp) ? { folios: 1 } : {}),
        ...(typeof options.lockdep === 'number' ? { lockdep: 1 } : {}),
        // With "reclaim": "oom", one more table: the memory reserve only an OOM victim may use.
        ...(scenario.pageTables ? { pgtables: scenario.pageTables.tables + (scenario.reclaim === 'oom' ? 1 : 0) } : {}),
      },
    });
    const vmaOfAddr = new Array<number>(addrs).fill(-1);
    scenario.vmas.forEach((v, i) => {
      for (let a = v.start; a < v.start + v.pages; a++) vmaOfAddr[a] = i;
    });
    // Every switch the model reads goes through switchUse (model/switch-use.ts: what lets releases share a run).
    const switches = this.switchUse.switches;
    const fn = kernelFunctions(variant.switches, variant.mutants, this.switchUse);
    const devType = scenario.device?.type ?? null;
    const devFreeList = devType === 'private' || devType === 'coherent';
    this.world = {
      layout: this.layout,
      mmNames: scenario.processes,
      vmaOfAddr,
      vmaNames: scenario.vmas.map((v) => v.name),
      threadMm: scenario.threads.map((t) => (t.mm === null ? -1 : scenario.processes.indexOf(t.mm))),
      threadNames: scenario.threads.map((t) => t.name),
      gupNames: this.gupRefs,
      vmaFile: scenario.vmas.map((v) => (v.file === undefined ? -1 : files.findIndex((f) => f.name === v.file))),
      vmaPgoff: scenario.vmas.map((v) => v.pgoff ?? 0),
      vmaShared: scenario.vmas.map((v) => !!v.shared),
      vmaStart: scenario.vmas.map((v) => v.start),
      vmaPages: scenario.vmas.map((v) => v.pages),
      fileNames: files.map((f) => f.name),
      fileShmem: files.map((f) => f.kind === 'shmem'),
      fileDisk: files.map((f) => f.disk ?? []),
      fileDax: files.map((f) => !!f.dax),
      fileHuge: files.map((f) => !!f.huge),
      fileDevice: files.map((f) => !!f.fsdax || !!f.devdax),
      fsdaxIdle: scenario.device?.type === 'fsdax' ? fn.put_devmap_page.idle : -1,
      // The count the release's put path wakes at, as its implementation declares it (model/kernel/memremap.ts).
      fsdaxWakeAt: scenario.device?.type === 'fsdax' ? fn.put_devmap_page.wakeAt : -1,
      daxMapsRefcounted: (devType === 'fsdax' && switches.has('fsdax-refcount-zero')) || (devType === 'generic' && switches.has('devdax-map-refcount')),
      devType,
      devFreeList,
      putDevicePage: devType === null ? null : devFreeList ? fn.put_devpriv_page : devType === 'generic' ? fn.put_generic_page : fn.put_devmap_page,
      // The counts the release's put path keeps (model/kernel/memremap.ts), as for fsdaxWakeAt.
      devFreeCount: devFreeList ? fn.put_devpriv_page.freeCount : 0,
      devBase: devFreeList ? fn.put_devpriv_page.base : 0,
      memcgV1: scenario.reclaim === 'memcg-v1',
      oom: scenario.reclaim === 'oom',
      directReclaim: scenario.reclaim === 'direct',
      thpPages: scenario.vmas.find((v) => v.thp)?.pages ?? 0,
      describeThread: (v, t) => describeThread(this, v, t),
    };
    this.fn = fn;
    this.k = new Kernel(this.world, this.fn);
    if (options.lockdep !== undefined) {
      const target = options.lockdep === 'collect' ? -1 : options.lockdep;
      this.k.lockdep = new Lockdep(target, target < 0 ? -1 : this.layout.at('lockdep', 0, 'taken'));
    }
    this.stateWords = this.layout.words;
    this.scratch = new Int32Array(this.stateWords);
    this.inOrder = scenario.threads.map((t) => t.mode === 'program');
    this.oomKills = scenario.reclaim === 'oom';
    this.exitEntry = scenario.threads.map((t) => t.menu.map((e) => e.op === 'exit'));
    const problem = scenarioKernelProblem(scenario, variant.version);
    if (problem) throw new ScenarioError(problem);
    this.buildContext = {
      switches,
      mutants: variant.mutants,
      swap: scenario.swapSlots > 0,
      migration: scenario.threads.some((t) => t.menu.some((e) => e.op === 'migrate')),
      pageTables: scenario.pageTables !== undefined,
      thp: scenario.vmas.some((v) => v.thp),
      devicePrivate: scenario.device?.type === 'private',
      deviceType: scenario.device?.type ?? null,
      sharedDiskAt: (a) => {
        const v = this.world.vmaOfAddr[a]!;
        const f = this.world.vmaFile[v]!;
        return f >= 0 && this.world.vmaShared[v]! && !this.world.fileShmem[f]!;
      },
    };

    this.programs = scenario.threads.map((t, ti) => t.menu.map((e) => this.buildProgram(ti, e)));
    this.actionBase = [];
    this.actions = [];
    this.programs.forEach((progs, ti) => {
      const bases: number[] = [];
      progs.forEach((p, ei) => {
        bases.push(this.actions.length);
        p.steps.forEach((st, si) => {
          for (const outcome of OUTCOMES) {
            this.actions.push({
              thread: ti,
              entry: ei,
              step: si,
              outcome,
              threadName: scenario.threads[ti]!.name,
              op: p.title,
              label: st.label,
              where: st.where,
            });
          }
        });
      });
      this.actionBase.push(bases);
    });
    this.actionCount = this.actions.length;
    this.init = this.buildInitial();
    this.symmetry = new FrameSymmetry(this.layout);
    this.canonicalize = this.symmetry.canonicalize;
  }

  /** Symmetry reduction: renumber the page frames canonically (symmetry.ts; the engine calls it for every successor). */
  readonly canonicalize: (s: Int32Array) => void;

  private buildProgram(ti: number, e: MenuEntry): Program {
    const sc = this.scenario;
    const m = this.world.threadMm[ti]!;
    const b = new ProgramBuilder(this.buildContext);
    const mmName = m >= 0 ? sc.processes[m]! : '';
    const vmaIndex = (name: string) => sc.vmas.findIndex((v) => v.name === name);
    const fileIndex = (name: string) => (sc.files ?? []).findIndex((f) => f.name === name);
    const fileVma = (a: number) => this.world.vmaFile[this.world.vmaOfAddr[a]!]! >= 0;
    const hasGupFast = sc.threads.some((t) => t.menu.some((x) => x.op === 'gup' && x.fast));
    const hugeOf = (a: number, fails = false) => ({ thp: !!sc.vmas[this.world.vmaOfAddr[a]!]?.thp, fails });
    const vmaAddrs = (i: number) => Array.from({ length: sc.vmas[i]!.pages }, (_, j) => sc.vmas[i]!.start + j);
    let title: string;
    switch (e.op) {
      case 'write':
        buildAccess(b, m, e.addr, true, e.value, fileVma(e.addr), hugeOf(e.addr, e.hugeFails));
        title = `write ${mmName}:${e.addr} := ${e.value}`;
        break;
      case 'read':
        buildAccess(b, m, e.addr, false, 0, fileVma(e.addr), { ...hugeOf(e.addr, e.hugeFails), faultAround: !!e.faultAround });
        title = `read ${mmName}:${e.addr}`;
        break;
      case 'gup': {
        const g = { slot: this.gupRefs.indexOf(e.ref), pin: e.pin, write: !!e.write, longterm: !!e.longterm, fast: !!e.fast, force: !!e.force };
        buildGup(b, m, e.addr, g, fileVma(e.addr), hugeOf(e.addr));
        title = `${gupTitle(g)} ${mmName}:${e.addr} as ref "${e.ref}"`;
        break;
      }
      case 'put': {
        const slot = this.gupRefs.indexOf(e.ref);
        buildGupRelease(b, slot);
        title = `release ref "${e.ref}"`;
        break;
      }
      case 'device-write':
        buildDeviceWrite(b, this.gupRefs.indexOf(e.ref), e.value);
        title = `device writes ${e.value} through ref "${e.ref}"`;
        break;
      case 'fork':
        // Fork in steps when something that takes no mmap_lock can run between them: GUP-fast, or a THP migration
        // (copy_huge_pmd drops pmd_lock before splitting a maybe-pinned THP).
        buildFork(b, m, sc.processes.indexOf(e.child), hasGupFast || (this.buildContext.thp && this.buildContext.migration));
        title = `fork -> ${e.child}`;
        break;
      case 'mprotect': {
        const v = vmaIndex(e.vma);
        buildMprotect(b, m, v, vmaAddrs(v), e.prot === 'rw');
        title = `mprotect ${mmName}:${e.vma} ${e.prot === 'rw' ? 'PROT_READ|PROT_WRITE' : 'PROT_READ'}`;
        break;
      }
      case 'mprotect-subpage':
        buildMprotectSubpage(b, m, e.addr);
        title = `mprotect ${mmName}:${e.addr} PROT_READ, then PROT_READ|PROT_WRITE`;
        break;
      case 'madv-dontfork':
      case 'madv-dofork':
        buildMadviseDontfork(b, m, e.addr, e.pages ?? 1, e.op === 'madv-dontfork');
        title = `madvise(${e.op === 'madv-dontfork' ? 'MADV_DONTFORK' : 'MADV_DOFORK'}) ${mmName}:${e.addr}${(e.pages ?? 1) > 1 ? `-${e.addr + e.pages! - 1}` : ''}`;
        break;
      case 'madv-dontneed':
        buildMadviseDontneed(b, m, e.addr, e.pages ?? 1);
        title = `madvise(MADV_DONTNEED) ${mmName}:${e.addr}${(e.pages ?? 1) > 1 ? `-${e.addr + e.pages! - 1}` : ''}`;
        break;
      case 'munmap': {
        const v = vmaIndex(e.vma);
        buildMunmap(b, m, v, vmaAddrs(v), this.world.vmaFile[v]!);
        title = `munmap ${mmName}:${e.vma}`;
        break;
      }
      case 'reclaim': {
        const rm = sc.processes.indexOf(e.mm);
        buildReclaim(b, rm, e.addr);
        title = `reclaim the page at ${e.mm}:${e.addr} to swap`;
        break;
      }
      case 'collapse': {
        const cm = sc.processes.indexOf(e.mm);
        const v = sc.vmas.findIndex((x) => x.thp);
        const cf = this.world.vmaFile[v]!;
        if (cf >= 0) buildCollapseFile(b, cm, cf, vmaAddrs(v));
        else buildCollapse(b, cm, v, vmaAddrs(v));
        title = `khugepaged: collapse ${e.mm}:${sc.vmas[v]!.name}`;
        break;
      }
      case 'memunmap':
        buildMemunmap(b);
        title = 'memunmap_pages';
        break;
      case 'migrate-to-device':
        buildMigrateToDevice(b, m, e.addr);
        title = `migrate_vma ${mmName}:${e.addr} to the device`;
        break;
      case 'break-layouts':
        buildBreakLayouts(b, fileIndex(e.file), sc.files!.find((f) => f.name === e.file)!.size);
        title = `break_layouts(${e.file})`;
        break;
      case 'oom-reaper':
        buildOomReaper(b);
        title = 'oom_reaper';
        break;
      case 'pageout':
        buildReclaim(b, m, e.addr, true);
        title = `madvise(MADV_PAGEOUT) ${mmName}:${e.addr}`;
        break;
      case 'truncate':
        buildTruncate(b, this.world, fileIndex(e.file), e.size);
        title = `ftruncate(${e.file}, ${e.size} pages)`;
        break;
      case 'punch':
        buildPunch(b, this.world, fileIndex(e.file), e.start, e.len);
        title = `fallocate(${e.file}, PUNCH_HOLE, pages ${e.start}..${e.start + e.len - 1})`;
        break;
      case 'migrate':
        if ('file' in e) {
          buildMigrate(b, { file: fileIndex(e.file), index: e.index });
          title = `migrate page ${e.index} of ${e.file}`;
        } else {
          buildMigrate(b, { mm: sc.processes.indexOf(e.mm), addr: e.addr });
          title = `migrate the page at ${e.mm}:${e.addr}`;
        }
        break;
      case 'writeback':
        buildWriteback(b, fileIndex(e.file), e.indices);
        title = `writeback of ${e.file} pages ${e.indices.join(', ')}`;
        break;
      case 'exit':
        buildExit(b, m, this.world.vmaFile);
        title = `exit ${mmName}`;
        break;
      default:
        throw new Error(`unknown operation ${(e as { op: string }).op}`);
    }
    if (b.steps.length > MAX_STEPS) throw new Error(`operation ${title} has too many steps`);
    return { title, steps: b.steps, max: e.max ?? 1 };
  }

  private buildInitial(): Int32Array {
    const sc = this.scenario;
    const s = new Int32Array(this.stateWords);
    const k = this.k.bind(s);
    k.setMmWord(0, MM_STATE, MM_LIVE);
    sc.vmas.forEach((v, i) => {
      s[this.layout.vma(0, i)] = VMA_PRESENT | (v.prot === 'rw' ? VMA_WRITE : 0);
    });
    // With the PMD level modelled, the first process has its PTE table when it has pages mapped; otherwise its pmd is none.
    if (sc.pageTables && sc.pages.length > 0) {
      s[this.layout.pgtable(0)] = 1;
      s[this.layout.pmd(0)] = 1;
    }
    (sc.files ?? []).forEach((f, fi) => {
      k.setFileWord(fi, F_SIZE, f.size);
      // An fsdax file's (a device-dax's) pages are the device's: a DAX entry per page (no reference), each page idle (1 up to 6.14, 0 from 6.15).
      if (f.fsdax || f.devdax) for (let i = 0; i < f.size; i++) k.setCacheSlot(fi, i, k.frames + 1 + i);
      for (const c of f.cached ?? []) {
        const pfn = alloc_page(k);
        if (pfn === 0) throw new Error(`scenario ${sc.name}: more initial pages than frames`);
        k.setPageWord(pfn, PG_DATA, c.data);
        add_to_page_cache(k, fi, c.index, pfn);
        put_page(k, pfn); // only the page cache holds it
      }
    });
    if (this.world.devFreeList) {
      // memremap_pages: the driver's free list holds every page; the pgmap's reference is per page up to 6.0 (in bulk from
      // 5.18), per allocated page from 6.1 (0dc45ca1ce18).
      for (let d = 1; d <= k.devFrames; d++) {
        k.setPageWord(k.frames + d, PG_REF, this.world.devFreeCount);
        k.setPageWord(k.frames + d, PG_FLAGS, PG_DEVFREE);
      }
      if (this.world.devFreeCount !== 0) s[pgmapRef(k)] = k.devFrames; // per allocated page instead when free pages sit at 0 (6.1: devpriv_alloc_page)
    } else if (this.world.devType === 'generic') {
      // memremap_pages: every device-dax page at 1 (__init_single_page; never reset to 0), the pgmap's reference one per page.
      for (let d = 1; d <= k.devFrames; d++) k.setPageWord(k.frames + d, PG_REF, 1);
      s[pgmapRef(k)] = k.devFrames;
    } else for (let d = 1; d <= k.devFrames; d++) k.setPageWord(k.frames + d, PG_REF, this.world.fsdaxIdle);
    for (const p of sc.pages) {
      const v = this.world.vmaOfAddr[p.addr]!;
      const vma = sc.vmas[v]!;
      const f = this.world.vmaFile[v]!;
      if (f >= 0 && this.world.fileDevice[f]) {
        // As dax_iomap_pte_fault left it: a devmap PTE of the device page (insert_pfn), or from 6.15 a refcounted one (insert_page).
        const pfn = k.cachePage(f, k.fileIndex(p.addr));
        k.setPageWord(pfn, PG_DATA, p.data);
        if (this.world.daxMapsRefcounted) {
          get_page(k, pfn);
          page_add_file_rmap(k, pfn);
          k.setPageWord(pfn, PG_MAPPING, pageMappingWord(f, k.fileIndex(p.addr)));
          k.setPte(0, p.addr, ptePresent(pfn, vma.prot === 'rw', true));
          k.addRss(0, k.mmCounter(pfn), 1);
        } else k.setPte(0, p.addr, pteDevmap(pfn, vma.prot === 'rw'));
      } else if (p.state === 'device') {
        // As migrate_vma_pages / migrate_vma_finalize left it: the driver's page (allocated, copied, unlocked and put)
        // behind a device-private entry (coherent memory: a present PTE, 6.0), which holds a reference and a mapcount;
        // the rss still counts the anon page.
        const pfn = devpriv_alloc_page(k);
        k.setPageWord(pfn, PG_DATA, p.data);
        get_page(k, pfn);
        k.fn.page_add_new_anon_rmap(k, pfn);
        anon_vma_prepare(k, 0, p.addr);
        k.setPte(0, p.addr, this.world.devType === 'coherent' ? ptePresent(pfn, vma.prot === 'rw', true) : pteDevPrivate(pfn, vma.prot === 'rw'));
        k.addRss(0, MM_ANONPAGES, 1);
        put_page(k, pfn); // migrate_vma_finalize: unlock_page, put_page of the driver's reference
      } else if (p.state === 'swapped') {
        // As try_to_unmap_one and __remove_mapping left it.
        const slot = get_swap_page(k);
        k.setSwapMap(slot, 1);
        k.setSwapData(slot, p.data);
        k.setPte(0, p.addr, pteSwap(slot, false));
        k.addRss(0, MM_SWAPENTS, 1);
        if (f >= 0) anon_vma_prepare(k, 0, p.addr);
      } else if (f >= 0 && vma.shared) {
        // As do_shared_fault left it: the file's page, mapped writable and dirty.
        const index = k.fileIndex(p.addr);
        let pfn = k.cachePage(f, index);
        if (!pfn) {
          pfn = alloc_page(k);
          if (pfn === 0) throw new Error(`scenario ${sc.name}: more initial pages than frames`);
          add_to_page_cache(k, f, index, pfn);
          put_page(k, pfn);
        }
        k.setPageWord(pfn, PG_DATA, p.data);
        get_page(k, pfn);
        page_add_file_rmap(k, pfn);
        k.setPte(0, p.addr, ptePresent(pfn, vma.prot === 'rw', true));
        k.addRss(0, k.mmCounter(pfn), 1);
      } else {
        // As do_anonymous_page (or do_cow_fault) on a write fault left it.
        const pfn = alloc_page(k);
        if (pfn === 0) throw new Error(`scenario ${sc.name}: more initial pages than frames`);
        k.setPageWord(pfn, PG_DATA, p.data);
        k.fn.page_add_new_anon_rmap(k, pfn);
        anon_vma_prepare(k, 0, p.addr);
        k.setPte(0, p.addr, ptePresent(pfn, vma.prot === 'rw', true));
        k.addRss(0, MM_ANONPAGES, 1);
      }
    }
    // The pages a writeback writes start dirty (as write(2) left them).
    for (const t of sc.threads)
      for (const e of t.menu)
        if (e.op === 'writeback') {
          const f = (sc.files ?? []).findIndex((x) => x.name === e.file);
          for (const i of e.indices) {
            const pfn = k.cachePage(f, i);
            if (pfn) k.setPageFlag(pfn, PG_DIRTY);
          }
        }
    sc.threads.forEach((t, ti) => {
      const alive = t.mm === null || t.mm === sc.processes[0];
      k.setThreadWord(ti, TH_STATUS, alive ? TS_RUNNING : 0);
    });
    return s;
  }

  initialStates(emit: Emit): void {
    emit(this.init, 0);
  }

  successors(s: Int32Array, emit: Emit): void {
    const L = this.layout;
    const n = this.scratch;
    const k = this.k;
    // lockdep alone reads k.stepAction: without it, no action id is computed before a step runs.
    const ld = k.lockdep !== null;
    for (let t = 0; t < this.programs.length; t++) {
      const tb = L.threadBase[t]!;
      const status = s[tb + TH_STATUS]!;
      if ((status & STATUS_MASK) !== TS_RUNNING) continue;
      // Asleep on a wait key: only a wake-up (another thread's step) makes it runnable.
      if (status & STATUS_ASLEEP) continue;
      const pc = s[tb + TH_PC]!;
      const progs = this.programs[t]!;
      const bases = this.actionBase[t]!;
      if (pc === 0) {
        // An OOM victim's thread takes its fatal signal on the way back to user space: it can only exit.
        const killed = this.oomKills && this.killed(s, t);
        for (let e = 0; e < progs.length; e++) {
          const used = budgetUsed(s, tb, e);
          if (used >= progs[e]!.max) {
            continue;
          }
          if (killed) {
            if (!this.exitEntry[t]![e]) continue;
          } else if (this.inOrder[t] && e > 0 && budgetUsed(s, tb, e - 1) < progs[e - 1]!.max) break;
          n.set(s);
          k.bind(n);
          const base = bases[e]!;
          if (ld) k.stepAction = base;
          k.acquiredInStep = 0;
          const next = progs[e]!.steps[0]!.run(k, t);
          if (next === BLOCKED || next === DISABLED) continue;
          if (next === SLEEP) this.sleep(s, n, tb, t);
          else if (n[tb + TH_STATUS]! > STATUS_MASK) finish_wait(k, t);
          setBudget(n, tb, e, used + 1);
          n[tb + TH_PC] = next === SLEEP ? pcOf(e, 0) : next < 0 ? this.endOperation(n, tb) : pcOf(e, next);
          emit(n, actionOf(base, 0, outcomeIndex(next)));
        }
      } else {
        const e = pcEntry(pc);
        const i = pcStep(pc);
        n.set(s);
        k.bind(n);
        const base = bases[e]!;
        if (ld) k.stepAction = actionOf(base, i, 0);
        k.acquiredInStep = 0;
        const next = progs[e]!.steps[i]!.run(k, t);
        if (next === BLOCKED) continue;
        if (next === DISABLED) throw new Error(`${progs[e]!.title}: step ${i} is disabled mid-operation`);
        if (next === SLEEP) this.sleep(s, n, tb, t);
        else {
          if (n[tb + TH_STATUS]! > STATUS_MASK) finish_wait(k, t);
          n[tb + TH_PC] = next < 0 ? this.endOperation(n, tb) : pcOf(e, next);
        }
        emit(n, actionOf(base, i, outcomeIndex(next)));
      }
    }
  }

  /** Thread t's process was chosen by the OOM killer (scenarios with "reclaim": "oom"). */
  private killed(s: Int32Array, t: number): boolean {
    const m = this.world.threadMm[t]!;
    return m >= 0 && (s[this.layout.mm(m) + MM_FLAGS]! & MMF_OOM_VICTIM) !== 0;
  }

  /**
   * The operation has ended: its locals die with it (schema perOperation),
   * so what it left in them does not tell states apart. Returns PC_IDLE.
   */
  private endOperation(n: Int32Array, tb: number): number {
    const locals = this.locals;
    for (let i = 0; i < locals.length; i++) n[tb + locals[i]!] = 0;
    if (this.k.checked) for (const o of TH_HELD_LOCALS) if (n[tb + o] !== 0) throw new Error(`an operation ended holding a page reference in a thread local (word ${o})`);
    return PC_IDLE;
  }
  /** TH_LOCALS as an Int32Array (endOperation runs for every transition that ends an operation). */
  private readonly locals = Int32Array.from(TH_LOCALS);

  /**
   * A step returned SLEEP: nothing it did stands but its registration on
   * the wait key (prepare_to_wait; schedule). It runs the step again once
   * woken.
   */
  private sleep(s: Int32Array, n: Int32Array, tb: number, t: number): void {
    const status = n[tb + TH_STATUS]!;
    n.set(s);
    // Queued elsewhere before (a woken writer that now waits for something else): it leaves that queue first.
    const before = s[tb + TH_STATUS]!;
    if (before > STATUS_MASK && statusWait(before) !== (statusWait(status) & ~WAIT_ASLEEP)) finish_wait(this.k.bind(n), t);
    n[tb + TH_STATUS] = status;
  }

  /**
   * Who waits for what in s, held by whom: each thread that is mid-operation
   * and cannot run, what it waits for (its wait key when it sleeps, what its
   * step spins on otherwise), and the threads that hold it (for a reader
   * behind a waiting writer: the writer). Cold path: deadlock reports.
   */
  /**
   * A wait queue has no holder: per class, the threads that can end its
   * condition (its waker), for deadlock reports. shmem_falloc_waitq: the
   * punch, which holds inode_lock; PG_writeback: the thread whose bio is
   * pending (file.wb_owner); an OOM victim's exit: its running threads.
   */
  private readonly wakers: Record<number, (s: Int32Array, object: number) => number[]> = {
    [WAITQ_FALLOC]: (s, f) => this.k.lockPlaces.holdersOf(s, waitKey(LOCK_I_RWSEM, f)).map((h) => h.thread),
    [WAITQ_WRITEBACK]: (s, f) => {
      const owner = s[this.layout.file(f) + F_WB_OWNER]!;
      return owner ? [owner - 1] : [];
    },
    // wait_var_event on a DAX page: the put of its last busy reference wakes it: the live threads that still have the put
    // of a GUP reference that holds the page on their menu (a reference whose owner has exited is put by nobody).
    [WAITQ_VAR]: (s, pfn) => this.gupPutters(s, pfn),
    // memunmap_pages waits for the pgmap's reference, which the pages in use hold: the running threads of a process that
    // maps one can release it (a fault migrates it back, exit zaps it); the driver's eviction (6.1) is not modelled.
    [WAITQ_PGMAP]: (s) => this.deviceMappers(s),
    [WAITQ_OOM]: (s, m) => this.world.threadMm.flatMap((x, u) => (x === m && (s[this.layout.threadBase[u]! + TH_STATUS]! & STATUS_MASK) === TS_RUNNING ? [u] : [])),
  };

  /** The running threads of the processes that map a device page through a device-private entry (cold path). */
  private deviceMappers(s: Int32Array): number[] {
    const v = this.view(s);
    const mms = new Set<number>();
    for (let m = 0; m < v.mms; m++) for (let a = 0; a < v.addrs; a++) if (pteKind(v.pte(m, a)) === PTE_DEVPRIV) mms.add(m);
    return this.world.threadMm.flatMap((m, t) => (mms.has(m) && (s[this.layout.threadBase[t]! + TH_STATUS]! & STATUS_MASK) === TS_RUNNING ? [t] : []));
  }

  /** The running threads with a not-yet-run put of a GUP reference that holds pfn (cold path: deadlock reports). */
  private gupPutters(s: Int32Array, pfn: number): number[] {
    const v = this.view(s);
    const out: number[] = [];
    this.scenario.threads.forEach((t, ti) => {
      if ((s[this.layout.threadBase[ti]! + TH_STATUS]! & STATUS_MASK) !== TS_RUNNING) return;
      const holds = t.menu.some((e) => {
        if (e.op !== 'put') return false;
        const r = v.gup(this.gupRefs.indexOf(e.ref));
        return gupKind(r) !== 0 && gupPfn(r) === pfn;
      });
      if (holds) out.push(ti);
    });
    return out;
  }

  waitFor(s: Int32Array): WaitFor {
    const L = this.layout;
    const v = this.view(s);
    const names = this.world.threadNames;
    const waits: WaitFor['waits'] = [];
    for (let t = 0; t < this.programs.length; t++) {
      const tb = L.threadBase[t]!;
      if ((s[tb + TH_STATUS]! & STATUS_MASK) !== TS_RUNNING || s[tb + TH_PC] === 0) continue;
      const w = statusWait(s[tb + TH_STATUS]!);
      let key = w & WAIT_KEY_MASK;
      let how: 'sleeps' | 'spins' = 'sleeps';
      if (!(w & WAIT_ASLEEP)) {
        // Not asleep: its step is not enabled; run it to see what it spins on.
        const pc = s[tb + TH_PC]!;
        const k = this.view(s.slice());
        k.waitKey = 0;
        const next = this.programs[t]![pcEntry(pc)]!.steps[pcStep(pc)]!.run(k, t);
        if (next !== BLOCKED) continue;
        key = k.waitKey;
        how = 'spins';
      }
      if (key === 0) {
        waits.push({ thread: names[t]!, how, on: 'an unnamed condition', heldBy: [] });
        continue;
      }
      const waker = this.wakers[keyClass(key)];
      const held = waker ? waker(s, keyObject(key)).map((thread) => ({ thread, mode: 'locked' as const })) : v.lockPlaces.holdersOf(s, key);
      let holders = held.map((h) => h.thread);
      let behind = false;
      if (lockClass(keyClass(key)).kind === 'rwsem' && !(w & WAIT_WRITE) && held.every((h) => h.mode === 'read')) {
        // A reader that waits while only readers hold the lock waits for the writer queued before it (writer-fair).
        const queued: number[] = [];
        for (let u = 0; u < this.programs.length; u++) {
          const x = statusWait(s[L.threadBase[u]! + TH_STATUS]!);
          if (u !== t && x & WAIT_WRITE && (x & WAIT_KEY_MASK) === key) queued.push(u);
        }
        if (queued.length) {
          holders = queued;
          behind = true;
        }
      }
      const queue = lockClass(keyClass(key)).kind === 'wait queue';
      waits.push({
        thread: names[t]!,
        how,
        on: v.keyName(key),
        heldBy: holders.map((h) => names[h]!),
        ...(behind ? { behindWriter: true } : {}),
        ...(queue ? { waker: true } : {}),
      });
    }
    // A cycle among the waits: follow "waits for a lock held by" from each waiting thread.
    const next = new Map(waits.map((x) => [x.thread, x.heldBy]));
    let cycle: string[] | null = null;
    for (const start of waits) {
      const path: string[] = [];
      let cur: string | undefined = start.thread;
      while (cur !== undefined && !path.includes(cur)) {
        path.push(cur);
        cur = next.get(cur)?.find((h) => next.has(h));
      }
      if (cur !== undefined) {
        cycle = path.slice(path.indexOf(cur));
        break;
      }
    }
    const lost = waits.filter((x) => x.how === 'sleeps' && x.heldBy.length === 0).map((x) => x.thread);
    return { waits, cycle, lost };
  }

  /** Why a state without successors is a deadlock, in one line (model/kernel/locking.ts). */
  deadlockMessage(s: Int32Array): string {
    const { waits, cycle, lost } = this.waitFor(s);
    const say = (x: WaitFor['waits'][number]) =>
      `${x.thread} ${x.how} on ${x.on}${
        !x.heldBy.length
          ? ''
          : x.behindWriter
            ? `, queued behind ${x.heldBy.join(' and ')} (a waiting writer: rw-semaphores are writer-fair)`
            : x.waker
              ? `, which only ${x.heldBy.join(' and ')} can end`
              : `, held by ${x.heldBy.join(' and ')}`
      }`;
    if (cycle) return `wait-for cycle: ${cycle.map((t) => say(waits.find((x) => x.thread === t)!)).join('; ')}`;
    if (lost.length) return lost.map((t) => `lost wake-up: ${t} sleeps on ${waits.find((x) => x.thread === t)!.on}; nothing can wake it`).join('; ');
    return waits.length ? `no thread can move: ${waits.map(say).join('; ')}` : 'no thread can move';
  }

  /** lockdep's record of the dependencies taken (Model.observations). */
  observations(): string[] {
    return [...(this.k.lockdep?.observations() ?? []), ...this.switchUse.observations()];
  }

  setObserving(on: boolean): void {
    if (this.k.lockdep) this.k.lockdep.observing = on;
  }

  /** The invariant of a search for one dependency: violated where it is taken. */
  lockdepWitness(): { name: string; check(s: Int32Array): string | null } {
    const at = this.layout.at('lockdep', 0, 'taken');
    const d = this.k.lockdep!.target;
    const what = `${lockClass(dependencyTo(d)).name} taken while holding ${lockClass(dependencyFrom(d)).name}`;
    return { name: 'lock-order', check: (s) => (s[at] !== 0 ? what : null) };
  }

  /** A state without successors is a deadlock when some thread is mid-operation (waiting). */
  isDeadlock(s: Int32Array): boolean {
    return !this.k.bind(s).quiescent();
  }

  actionName(a: number): string {
    const x = this.actions[a];
    return x ? `${x.threadName}: ${x.op} · ${x.label}` : `action ${a}`;
  }

  /** A Kernel bound to `s` (read-only use; cold path). */
  view(s: Int32Array): Kernel {
    const k = new Kernel(this.world, this.fn);
    k.readableOf = (x) => readableState(this, x);
    return k.bind(s);
  }

  /**
   * Runs the step of action `a` on `s` with narration: the successor, what
   * the step did, and its outcome (which may differ from the action's: tests
   * run steps by label).
   */
  narrate(s: Int32Array, a: number): { next: Int32Array; notes: string[]; outcome: Outcome } | null {
    const k = this.view(s.slice());
    k.narrate = true;
    const x = this.actions[a]!;
    const step: Step = this.programs[x.thread]![x.entry]!.steps[x.step]!;
    const tb = this.layout.threadBase[x.thread]!;
    k.stepAction = actionOf(this.actionBase[x.thread]![x.entry]!, x.step, 0);
    k.acquiredInStep = 0;
    const next = step.run(k, x.thread);
    if (next === BLOCKED || next === DISABLED) return null;
    if (next === SLEEP) {
      const n = k.s;
      this.sleep(s, n, tb, x.thread);
      k.bind(n);
    } else if (k.s[tb + TH_STATUS]! > STATUS_MASK) finish_wait(k, x.thread);
    if (x.step === 0 && s[tb + TH_PC] === 0) setBudget(k.s, tb, x.entry, budgetUsed(s, tb, x.entry) + 1);
    k.s[tb + TH_PC] = next === SLEEP ? pcOf(x.entry, x.step) : next < 0 ? this.endOperation(k.s, tb) : pcOf(x.entry, next);
    return { next: k.s, notes: k.notes, outcome: OUTCOMES[outcomeIndex(next)]! };
  }

  /** Whether some explored transition completed thread t's menu entry e (from the engine's coverage). */
  completed(coverage: Float64Array, t: number, e: number): boolean {
    const base = this.actionBase[t]![e]!;
    const steps = this.programs[t]![e]!.steps.length;
    for (let i = 0; i < steps; i++) if (coverage[actionOf(base, i, 1)]! > 0) return true;
    return false;
  }

  /** The menu entries that no explored transition completed, as "thread: operation". */
  neverCompleted(coverage: Float64Array): string[] {
    const out: string[] = [];
    this.programs.forEach((progs, t) =>
      progs.forEach((p, e) => {
        if (!this.completed(coverage, t, e)) out.push(`${this.scenario.threads[t]!.name}: ${p.title}`);
      }),
    );
    return out;
  }

  /** How often each step fired, whatever its outcome: [name, count] in action order. */
  stepCoverage(coverage: Float64Array): [string, number][] {
    const out: [string, number][] = [];
    this.programs.forEach((progs, t) =>
      progs.forEach((p, e) => {
        const base = this.actionBase[t]![e]!;
        p.steps.forEach((_, i) => {
          let n = 0;
          for (let o = 0; o < OUTCOMES.length; o++) n += coverage[actionOf(base, i, o)]!;
          out.push([this.actionName(actionOf(base, i, 0)), n]);
        });
      }),
    );
    return out;
  }

  /**
   * Thread t has finished: it exited, or it is idle with nothing left to run
   * (every menu entry used as often as it may; a program: its last entry ran).
   */
  threadFinished(s: Int32Array, t: number): boolean {
    const tb = this.layout.threadBase[t]!;
    const status = s[tb + TH_STATUS]! & STATUS_MASK;
    if (status === TS_EXITED) return true;
    if (status !== TS_RUNNING || s[tb + TH_PC] !== 0) return false;
    const progs = this.programs[t]!;
    if (this.inOrder[t]) return budgetUsed(s, tb, progs.length - 1) >= progs[progs.length - 1]!.max;
    for (let e = 0; e < progs.length; e++) if (budgetUsed(s, tb, e) < progs[e]!.max) return false;
    return true;
  }

  /** Whether any GUP reference in the scenario is a pin (for reporting). */
  get pins(): boolean {
    return this.scenario.threads.some((t) => t.menu.some((e) => e.op === 'gup' && e.pin));
  }
}

const BUDGET_MASK = (1 << BUDGET_BITS) - 1;

// The first budget word without a division: successors() reads a budget for every menu entry of every idle thread.
function budgetUsed(s: Int32Array, tb: number, e: number): number {
  if (e < ENTRIES_PER_BUDGET_WORD) return (s[tb + TH_BUDGET]! >>> (e * BUDGET_BITS)) & BUDGET_MASK;
  const w = s[tb + TH_BUDGET + Math.floor(e / ENTRIES_PER_BUDGET_WORD)]!;
  return (w >>> ((e % ENTRIES_PER_BUDGET_WORD) * BUDGET_BITS)) & BUDGET_MASK;
}

function setBudget(s: Int32Array, tb: number, e: number, v: number): void {
  const word = e < ENTRIES_PER_BUDGET_WORD ? 0 : Math.floor(e / ENTRIES_PER_BUDGET_WORD);
  const o = tb + TH_BUDGET + word;
  const sh = (e - word * ENTRIES_PER_BUDGET_WORD) * BUDGET_BITS;
  s[o] = (s[o]! & ~(BUDGET_MASK << sh)) | (v << sh);
}
