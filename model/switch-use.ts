/**
 * Which of a variant's switches a model consulted: the switches the build
 * read (world, operation builders), and those that chose the implementation
 * of a kernel function the exploration called (model/kernel/functions.ts
 * marks a function's switches on its first use). Two kernels that agree on
 * every consulted switch explore the same states, in the same order, to the
 * same verdict: that is what lets `mmcheck matrix` and `mmcheck bisect` share
 * one run among releases (cli/history.ts). The record is the model's
 * observation "switch NAME" (Model.observations), gathered from every worker.
 */
import type { SwitchName } from './variants.js';

const PREFIX = 'switch ';

/** What the model asks of a kernel's switches: whether it has one. */
export interface SwitchTest {
  has(s: SwitchName): boolean;
}

/** The switches a model consulted, and a view of a switch set that records each switch read through it. */
export class SwitchUse {
  readonly used = new Set<SwitchName>();
  readonly switches: SwitchTest;

  constructor(switches: SwitchTest) {
    this.switches = {
      has: (s: SwitchName) => {
        this.used.add(s);
        return switches.has(s);
      },
    };
  }

  mark(names: readonly SwitchName[]): void {
    for (const s of names) this.used.add(s);
  }

  observations(): string[] {
    return [...this.used].map((s) => PREFIX + s);
  }
}

/** The switches named by an exploration's observations. */
export function switchesUsed(observations: readonly string[]): string[] {
  return observations.filter((o) => o.startsWith(PREFIX)).map((o) => o.slice(PREFIX.length));
}
