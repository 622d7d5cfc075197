/**
 * The built-in invariants, and their conversion into the engine's form.
 */
import type { Invariant } from '../checker/model.js';
import type { StateView } from '../model/kernel.js';
import { anonExclusive } from './anon-exclusive.js';
import { cowIsolation } from './cow-isolation.js';
import type { MMInvariant } from './invariant.js';
import { pinCoherent } from './pin-coherent.js';
import { refcountSane } from './refcount-sane.js';
import { noStaleMigration } from './no-stale-migration.js';
import { punchKeepsCow } from './punch-keeps-cow.js';
import { rssConsistent } from './rss-consistent.js';
import { truncateComplete } from './truncate-complete.js';
import { noAllocUnderPageLock } from './no-alloc-under-page-lock.js';
import { installOnce } from './install-once.js';
import { pmdStable } from './pmd-stable.js';
import { noRetractUnderRead } from './no-retract-under-read.js';
import { dirtyTracked } from './dirty-tracked.js';
import { pgtableAccounting } from './pgtable-accounting.js';
import { fsdaxIdleWakes } from './fsdax-idle-wakes.js';
import { idleConvention } from './idle-convention.js';
import { pgmapPinned } from './pgmap-pinned.js';
import { zoneDeviceFreeCount } from './zone-device-free-count.js';
import { zoneDeviceNeverLru } from './zone-device-never-lru.js';
import { privateMappingIsolated } from './private-mapping-isolated.js';

export const BUILTIN_INVARIANTS: readonly MMInvariant[] = [
  anonExclusive,
  pinCoherent,
  cowIsolation,
  rssConsistent,
  refcountSane,
  truncateComplete,
  punchKeepsCow,
  noStaleMigration,
  noAllocUnderPageLock,
  installOnce,
  pmdStable,
  noRetractUnderRead,
  dirtyTracked,
  pgtableAccounting,
  fsdaxIdleWakes,
  idleConvention,
  pgmapPinned,
  zoneDeviceFreeCount,
  zoneDeviceNeverLru,
  privateMappingIsolated,
];

/** The built-ins, then those registered from invariant files (invariants/invariant-file.ts). */
export const INVARIANTS: MMInvariant[] = [...BUILTIN_INVARIANTS];
const sources = new Map<string, string>();

export function registerInvariant(inv: MMInvariant, file: string): void {
  INVARIANTS.push(inv);
  sources.set(inv.name, file);
}

/** The invariant file that defined `name`; undefined for a built-in. */
export function invariantSource(name: string): string | undefined {
  return sources.get(name);
}

export function findInvariant(name: string): MMInvariant | undefined {
  return INVARIANTS.find((i) => i.name === name);
}

/** The engine's predicate: binds the view to each state, honours `when`. */
export function toEngineInvariant(inv: MMInvariant, view: StateView): Invariant {
  const quiescentOnly = inv.when === 'quiescent';
  return {
    name: inv.name,
    check(s: Int32Array): string | null {
      view.bind(s);
      view.forgetReadable();
      if (quiescentOnly && !view.quiescent()) return null;
      return inv.check(view);
    },
  };
}

export type { MMInvariant };
