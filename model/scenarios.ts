/**
 * The built-in scenarios: small worlds for the COW/GUP, file and migration
 * cases of docs/rules.md, shipped as scenario files (scenarios/*.json, the
 * format users write too). Each description says what the scenario is for and
 * which verdicts the kernel rules predict, and why.
 */
import { existsSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ScenarioSpec } from './scenario.js';
import { loadScenarioFile } from './scenario-file.js';

/** The package root: the nearest directory up from this module with a package.json (from the sources or from dist/). */
function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const up = dirname(dir);
    if (up === dir) throw new Error('mmcheck: cannot find the package root (package.json)');
    dir = up;
  }
  return dir;
}

export const BUILTIN_SCENARIO_DIR = join(packageRoot(), 'scenarios');

/** The order `mmcheck list scenarios` shows them in: the seed-000 cases first. */
const ORDER = [
  'cow-fork-gup',
  'iouring-ro-remap',
  'fork-pinned',
  'cow-swap-gup',
  'truncate-private-swap',
  'zap-migrate',
  'punch-migrate',
  'punch-private-cow',
  'fork-gup-fast',
  'reclaim-gup-fast',
  'ro-longterm-pin-zeropage',
  'ro-longterm-pin-zeropage-fast',
  'ro-longterm-pin-memfd',
  'ro-longterm-pin-memfd-fast',
  'ro-longterm-pin-tmpfile',
  'ro-longterm-pin-tmpfile-fast',
  'memcg-writeback-abba',
  'memcg-writeback-fault-around',
  'memcg-writeback-shared-write',
  'fault-double-install',
  'thp-pmd-race',
  'oom-page-lock',
  'oom-page-lock-reaper',
  'dax-rwr-sandwich',
  'khugepaged-collapse',
  'thp-cow-fork-gup',
  'thp-fork-pinned',
  'thp-fork-gup-fast',
  'ro-longterm-pin-hugezero',
  'thp-ro-pin-shared',
  'thp-vmsplice-before-fork',
  'thp-ro-pin-mprotect',
  'thp-pte-cow-fork-gup',
  'thp-single-pte-cow-fork-gup',
  'thp-pte-vmsplice-before-fork',
  'thp-cow-fork-gup-subpage',
  'thp-pte-fork-pinned',
  'thp-migrate-race',
  'thp-migrate-fork',
  'thp-migrate-split',
  'thp-partial-shared-cow-fork-gup',
  'thp-fork-pinned-migrate',
  'shmem-thp-fault',
  'shmem-thp-collapse',
  'fsdax-unpin-break-layouts',
  'device-private-fault-race',
  'device-memunmap-in-use',
  'device-private-round-trip',
  'devdax-unbind-pinned',
  'device-coherent-cow',
  'device-coherent-memunmap',
  'dirty-cow',
  'thp-dirty-cow',
];

function loadBuiltins(): ScenarioSpec[] {
  const files = readdirSync(BUILTIN_SCENARIO_DIR).filter((f) => f.endsWith('.json') && f !== 'scenario.schema.json');
  const rank = (f: string) => {
    const i = ORDER.indexOf(f.replace(/\.json$/, ''));
    return i < 0 ? ORDER.length : i;
  };
  files.sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
  return files.map((f) => {
    const spec = loadScenarioFile(join(BUILTIN_SCENARIO_DIR, f));
    if (`${spec.name}.json` !== f) throw new Error(`mmcheck: scenarios/${f} names itself "${spec.name}"`);
    return spec;
  });
}

export const SCENARIOS: readonly ScenarioSpec[] = loadBuiltins();

export function findScenario(name: string): ScenarioSpec | undefined {
  return SCENARIOS.find((s) => s.name === name);
}
