/**
 * No stale migration entry (docs/rules.md#stale-migration), from the zap-migrate.c reproducer:
 * when the unlocked pre-unmap of a hole punch (or truncation) returns, no
 * migration entry of the file's pages is left in the range. Before 5.18,
 * zap_pte_range skipped every migration entry whenever zap_details was
 * given, which Peter Xu's WARN_ON_ONCE(is_migration_entry()) caught with
 * zap-migrate.c; shmem_truncate_range fixes it up right after, under the page
 * lock, so the end state is the same: this is the only check that tells the
 * two kernels apart.
 */
import { F_GHOST, GHOST_STALE_MIGRATION } from '../model/layout.js';
import type { MMInvariant } from './invariant.js';

export const noStaleMigration: MMInvariant = {
  name: 'no-stale-migration',
  description: "no migration entry of the file's pages is left in the range when the unlocked pre-unmap of a punch or truncate returns",
  reference: 'mm/memory.c:zap_pte_range; 5abfd71d936a (5.18), the zap-migrate.c WARN_ON_ONCE; docs/rules.md#stale-migration',
  reads: ['file'],
  when: 'always',
  defaultScenario: 'zap-migrate',
  check(v) {
    for (let f = 0; f < v.files; f++) {
      if (v.fileWord(f, F_GHOST) & GHOST_STALE_MIGRATION) {
        return `unmap_mapping_range of ${v.world.fileNames[f]} returned with a migration entry of the file still mapped in the range`;
      }
    }
    return null;
  },
};
