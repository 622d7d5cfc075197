/**
 * An invariant of the MM model: a named predicate over the readable state
 * view. check() returns null when it holds, else a message naming the object
 * that broke it.
 */
import type { StateView } from '../model/kernel.js';
import type { Variant } from '../model/variants.js';

export type When = 'always' | 'quiescent' | 'quiescent, and at exit';

export interface MMInvariant {
  readonly name: string;
  /** One line: what must hold. */
  readonly description: string;
  /** Where the rule comes from (kernel source, commit, a section of docs/rules.md). */
  readonly reference: string;
  /**
   * always: in every state; quiescent: only when no thread is in the middle
   * of an operation (batched counters flushed, locks released); "quiescent, and
   * at exit": a per-mm part at quiescent states and an exit part (once the mm
   * is freed) in every state - the invariant checks quiescence itself.
   */
  readonly when: When;
  /** The built-in scenario checked when none is given. */
  readonly defaultScenario: string;
  /**
   * The kinds of object of the state schema it reads (model/objects.ts:
   * 'mm', 'frame', 'slot', 'gup', 'file', 'thread'), for partial-order
   * reduction; undefined: everything.
   */
  readonly reads?: readonly string[];
  /** null when the invariant applies to the variant, else why not. */
  notApplicable?(variant: Variant): string | null;
  check(v: StateView): string | null;
  /**
   * States that must be reachable for a HOLDS of this invariant to mean
   * something (what the invariant is about happened), e.g. "a FOLL_PIN is
   * held". Reported as found or not found; a run with --strict fails on one
   * not found.
   */
  readonly witnesses?: readonly InvariantWitness[];
}

export interface InvariantWitness {
  readonly name: string;
  check(v: StateView): boolean;
}
