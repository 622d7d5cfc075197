/**
 * Operations as step programs. A step is one atomic transition: what the
 * kernel does under one lock, or one lockless access. Each names the kernel
 * function it models. A step's run() changes the state through the Kernel
 * and returns the next step's index, DONE, BLOCKED (it waits) or DISABLED
 * (the operation cannot start).
 */
import type { SwitchTest } from './switch-use.js';
import type { DeviceType } from './scenario.js';
import type { Kernel } from './kernel.js';
import type { WordType } from './schema.js';
import type { MutantName, SwitchName } from './variants.js';

export type Run = (k: Kernel, t: number) => number;

export interface Step {
  /** Short label shown in traces, e.g. "do_wp_page". */
  readonly label: string;
  /** Kernel source reference, e.g. "mm/memory.c:do_wp_page (5.7-6.2)". */
  readonly where: string;
  run: Run;
}

/**
 * What the model is built for, as far as it decides which steps exist: the
 * kernel's switches, and whether the scenario can have swap entries or
 * migration entries at all. A step that cannot run here is not built, so
 * coverage lists only steps the scenario can reach.
 */
export interface BuildContext {
  readonly switches: SwitchTest;
  /** Mutants that change an operation's steps (model/kernel/mutants.ts PROGRAM_MUTANTS). */
  readonly mutants: ReadonlySet<MutantName>;
  /** The scenario has swap slots (swap entries can exist). */
  readonly swap: boolean;
  /** Some thread migrates pages (migration entries can exist). */
  readonly migration: boolean;
  /** The PMD level is modelled (scenario pageTables): a fault may find the pmd none and allocate the PTE table. */
  readonly pageTables: boolean;
  /** The scenario has a THP VMA: a pmd may be huge, and a fault must not take it for a table. */
  readonly thp: boolean;
  /** The scenario has MEMORY_DEVICE_PRIVATE memory: a fault may meet a device-private entry. */
  readonly devicePrivate: boolean;
  /** The scenario's pgmap type (model/scenario.ts DeviceType), or null. */
  readonly deviceType: DeviceType | null;
  /** Address a is in a shared mapping of a disk file (whose ->page_mkwrite locks and dirties the page). */
  readonly sharedDiskAt: (a: number) => boolean;
}

/** Builds one operation's steps; reserve() allows forward references. */
export class ProgramBuilder {
  readonly steps: Step[] = [];

  constructor(readonly ctx: BuildContext) {}

  has(s: SwitchName): boolean {
    return this.ctx.switches.has(s);
  }

  /** Reserves a step index to define later. */
  reserve(): number {
    this.steps.push({ label: '?', where: '?', run: () => -1 });
    return this.steps.length - 1;
  }

  define(index: number, label: string, where: string, run: Run): number {
    this.steps[index] = { label, where, run };
    return index;
  }

  step(label: string, where: string, run: Run): number {
    this.steps.push({ label, where, run });
    return this.steps.length - 1;
  }
}

/**
 * A thread's pc: 0 when idle, else its menu entry + 1 above the index of
 * its next step (up to 255 steps an operation). The one encoder of the word.
 */
export const PC_STEP_BITS = 8;
export const MAX_STEPS = 1 << PC_STEP_BITS;
export const PC_IDLE = 0;
export const pcOf = (entry: number, step: number): number => ((entry + 1) << PC_STEP_BITS) | step;
export const pcEntry = (pc: number): number => (pc >>> PC_STEP_BITS) - 1;
export const pcStep = (pc: number): number => pc & (MAX_STEPS - 1);
export const PC_WORD: WordType = {
  name: 'pc',
  fields: [
    { name: 'step', shift: 0, bits: PC_STEP_BITS },
    { name: 'entry_plus_one', shift: PC_STEP_BITS, bits: 31 - PC_STEP_BITS },
  ],
};

/** One entry of a thread's menu: an operation with fixed arguments. */
export interface Program {
  /** e.g. "write P:0 := 2" */
  readonly title: string;
  readonly steps: readonly Step[];
  /** How many times this entry may run (1..3). */
  readonly max: number;
}
