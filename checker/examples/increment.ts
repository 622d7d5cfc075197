/**
 * The classic lost-update model: N threads each loop `t := x; x := (t+1) mod 8`
 * and bump a private counter mod 4 on the write. With 4 threads it has
 * exactly 8,519,680 reachable states and 34,078,720 transitions (every state
 * has one successor per thread). Used to test and benchmark the engine.
 *
 * Layout: word 0 = x; thread i has pc at 1+3i, t at 2+3i, c at 3+3i.
 */
import type { Emit, Invariant, Model, Witness } from '../model.js';

export class IncrementModel implements Model {
  readonly stateWords: number;
  readonly actionCount: number;
  private readonly scratch: Int32Array;

  constructor(readonly threads = 4) {
    this.stateWords = 1 + 3 * threads;
    this.actionCount = threads;
    this.scratch = new Int32Array(this.stateWords);
  }

  initialStates(emit: Emit): void {
    emit(new Int32Array(this.stateWords), 0);
  }

  successors(s: Int32Array, emit: Emit): void {
    const n = this.scratch;
    for (let i = 0; i < this.threads; i++) {
      n.set(s);
      const o = 1 + 3 * i;
      if (n[o] === 0) {
        n[o + 1] = n[0]!; // t := x
        n[o] = 1;
      } else {
        n[0] = (n[o + 1]! + 1) & 7; // x := (t+1) mod 8
        n[o + 1] = 0;
        n[o + 2] = (n[o + 2]! + 1) & 3;
        n[o] = 0;
      }
      emit(n, i);
    }
  }

  actionName(a: number): string {
    return `thread ${a}`;
  }
}

/**
 * Factory entry for worker threads: createModel({ threads }). For the
 * engine's tests:
 * - `throwAt`: an invariant whose code throws where x reaches that value (a
 *   search that fails in its workers);
 * - `violateAt`: an invariant violated wherever x has that value, whose
 *   message names the thread counters (so each violating state has its own:
 *   a search must report the first in BFS order, whichever worker made it);
 * - `witnessAt`: a witness found where x has that value.
 */
export function createModel(args: { threads?: number; throwAt?: number; violateAt?: number; witnessAt?: number }) {
  const invariants: Invariant[] = [];
  const { throwAt, violateAt, witnessAt } = args;
  const model = new IncrementModel(args.threads ?? 4);
  if (throwAt !== undefined)
    invariants.push({
      name: 'throws',
      check: (s) => {
        if (s[0] === throwAt) throw new Error(`x = ${throwAt}`);
        return null;
      },
    });
  if (violateAt !== undefined)
    invariants.push({
      name: `x-never-${violateAt}`,
      check: (s) => (s[0] === violateAt ? `x = ${violateAt}, counters ${Array.from({ length: model.threads }, (_, i) => s[3 + 3 * i]).join(' ')}` : null),
    });
  const witnesses: Witness[] = witnessAt === undefined ? [] : [{ name: `x reaches ${witnessAt}`, check: (s) => s[0] === witnessAt }];
  return { model, invariants, witnesses };
}
