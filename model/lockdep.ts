/**
 * lockdep over every explored transition: each blocking acquisition of a
 * lock of class B by a thread that holds a lock of class A records the
 * dependency A -> B, with the step that did it. A cycle among the
 * dependencies is a possible deadlock (built-in property `lock-order`),
 * whether or not the explored interleavings close it: lockdep in a running
 * kernel sees the orders that kernel happened to take, mmcheck every order
 * its model can reach.
 *
 * Same-class nesting (fork's two PT locks, spin_lock_nested; the two pages
 * of a migration, folio_trylock) adds no dependency, as the kernel's
 * annotations tell lockdep. Trylocks add none.
 *
 * Two uses: collecting (every dependency seen, per worker; the engine takes
 * the union), and witnessing one dependency (sets a ghost word of the state
 * when it happens, so that a search for that word finds a shortest trace to
 * the acquisition).
 */
import type { Kernel } from './kernel.js';
import { keyClass, lockClass } from './locks.js';

/** A dependency as a number: from * 16 + to (class ids are below 16). */
export const dependency = (from: number, to: number): number => from * 16 + to;
export const dependencyFrom = (d: number): number => d >>> 4;
export const dependencyTo = (d: number): number => d & 15;

export function dependencyName(d: number): string {
  return `${lockClass(dependencyFrom(d)).name} -> ${lockClass(dependencyTo(d)).name}`;
}

export class Lockdep {
  /** Per dependency: the steps (first action ids) that took it. */
  readonly seen = new Map<number, Set<number>>();
  /** Off while the engine only probes past the depth bound (Model.setObserving). */
  observing = true;

  /**
   * @param target a dependency to witness (-1: none)
   * @param ghostAt the state word set to 1 when the target is taken
   */
  constructor(
    readonly target = -1,
    readonly ghostAt = -1,
  ) {}

  acquire(k: Kernel, t: number, key: number): void {
    if (!this.observing) return;
    const to = keyClass(key);
    const held = k.lockPlaces.classesHeldBy(k.s, t) & ~(1 << to);
    if (held === 0) return;
    for (let from = 1; from < 16; from++) {
      if ((held & (1 << from)) === 0) continue;
      const d = dependency(from, to);
      let steps = this.seen.get(d);
      if (!steps) {
        steps = new Set();
        this.seen.set(d, steps);
      }
      steps.add(k.stepAction);
      if (d === this.target) k.s[this.ghostAt] = 1;
    }
  }

  /** What was seen, as "dependency@step" lines (the engine merges the workers' sets). */
  observations(): string[] {
    const out: string[] = [];
    for (const [d, steps] of this.seen) for (const a of steps) out.push(`${d}@${a}`);
    return out;
  }
}
