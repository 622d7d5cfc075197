/**
 * How large a scenario's world may be. A limit set by an encoding comes
 * from the state schema (the width of the narrowest field that names the
 * object); the others are tractability caps, each with its reason. The
 * scenario's validation and the scenario file's JSON schema both read them.
 */
import { BUDGET_BITS, MM_OBJECTS } from './objects.js';
import { refLimit, type RefKind } from './schema.js';

export interface Limit {
  readonly max: number;
  /** Why: the field whose width sets it, or the cap's reason. */
  readonly why: string;
}

/** Caps for tractability: a world larger than this has more states than a check explores in minutes. */
const CAPS = {
  processes: 4,
  addrs: 16,
  frames: 30,
  swapSlots: 8,
  files: 3,
  filePages: 16,
  pgtables: 4,
  devPages: 4,
};

/** The smaller of the encoding's limit for `to` (count = largest index - first + 1) and the cap. */
function limit(to: RefKind, first: number, cap: number): Limit {
  const enc = refLimit(MM_OBJECTS, to);
  const count = enc.max - first + 1;
  return count <= cap ? { max: count, why: `${enc.where} has ${enc.bits} bits` } : { max: cap, why: 'a cap on the state space' };
}

export const LIMITS = {
  processes: limit('mm', 0, CAPS.processes),
  frames: limit('frame', 1, CAPS.frames),
  swapSlots: limit('slot', 0, CAPS.swapSlots),
  files: limit('file', 0, CAPS.files),
  addrs: { max: CAPS.addrs, why: 'a cap on the state space' } as Limit,
  filePages: { max: CAPS.filePages, why: 'a cap on the state space' } as Limit,
  pgtables: limit('pgtable', 0, CAPS.pgtables),
  devPages: { max: CAPS.devPages, why: 'a cap on the state space' } as Limit,
  /** Runs of one menu entry: its count has BUDGET_BITS bits in the thread's budget word. */
  runs: { max: 2 ** BUDGET_BITS - 1, why: `thread.budget.count has ${BUDGET_BITS} bits` } as Limit,
};
