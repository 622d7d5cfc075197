/**
 * A model with thread-local work, for partial-order reduction: N threads each
 * count a private counter up to K; thread 0 finally sets a shared flag when
 * its counter reaches K. The counting steps touch only their own thread's
 * object, which no invariant reads, so they commute: all interleavings of the
 * private counting lead to the same states, and ample sets explore one.
 * Without reduction there are (K+1)^N counter states (times the flag);
 * with it far fewer. Words: counters[N], flag.
 */
import type { Emit, Invariant, Model } from '../model.js';
import type { PorInfo } from '../reduce.js';

export class CountersModel implements Model {
  readonly stateWords: number;
  readonly actionCount: number;
  readonly porInfo: PorInfo;
  private readonly n: Int32Array;

  constructor(
    readonly threads = 3,
    readonly k = 4,
  ) {
    this.stateWords = threads + 1;
    this.actionCount = threads + 1; // action t: thread t counts; action N: thread 0 sets the flag
    this.n = new Int32Array(this.stateWords);
    const actionThread = Int32Array.from({ length: threads + 1 }, (_, a) => (a === threads ? 0 : a));
    // Objects: bit t = thread t's counter, bit 30 = the shared flag.
    const actionObjects = Uint32Array.from({ length: threads + 1 }, (_, a) => (a === threads ? (1 | (1 << 30)) >>> 0 : 1 << a));
    this.porInfo = { actionThread, actionObjects, visibleObjects: 1 << 30 };
  }

  initialStates(emit: Emit): void {
    emit(new Int32Array(this.stateWords), 0);
  }

  successors(s: Int32Array, emit: Emit): void {
    const n = this.n;
    for (let t = 0; t < this.threads; t++) {
      if (s[t]! >= this.k) continue;
      n.set(s);
      n[t]!++;
      emit(n, t);
    }
    if (s[0] === this.k && s[this.threads] === 0) {
      n.set(s);
      n[this.threads] = 1;
      emit(n, this.threads);
    }
  }

  actionName(a: number): string {
    return a === this.threads ? 'thread 0 sets the flag' : `thread ${a} counts`;
  }
}

/** The flag is never set (violated once thread 0 finished counting). */
export const flagNeverSet: Invariant = { name: 'flag-never-set', check: (s) => (s[s.length - 1] === 1 ? 'the flag is set' : null) };

export function createModel(args: { threads?: number; k?: number; invariant?: boolean }) {
  return { model: new CountersModel(args.threads, args.k), invariants: args.invariant ? [flagNeverSet] : [] };
}
