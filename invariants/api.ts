/**
 * What an invariant file may import (`import { parseGup } from 'mmcheck'`):
 * the form of an invariant and the readable model it is written against.
 * See the README, "Writing your own invariants".
 */
import type { MMInvariant } from './invariant.js';

export type { MMInvariant, When } from './invariant.js';
export type { StateView } from '../model/kernel.js';
export type { ReadableFile, ReadableGup, ReadableMm, ReadablePage, ReadablePte, ReadableState } from '../model/readable.js';
export { parseGup, parsePte } from '../model/readable.js';

/** An invariant as a file writes it: `reference`, `when` (default "always") and `defaultScenario` may be left out. */
export type UserInvariant = Omit<MMInvariant, 'reference' | 'when' | 'defaultScenario'> & Partial<Pick<MMInvariant, 'reference' | 'when' | 'defaultScenario'>>;

/** Type-checks a file's invariants (an identity function): `export const invariants = defineInvariants([...])`. */
export function defineInvariants(list: readonly UserInvariant[]): readonly UserInvariant[] {
  return list;
}
