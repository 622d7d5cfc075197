/**
 * mmcheck list invariants|kernels|scenarios|mutants|switches
 */
import { INVARIANTS } from '../invariants/registry.js';
import { SCENARIOS } from '../model/scenarios.js';
import { carriedPaths, KERNELS, MUTANTS, NEWEST_KERNEL, PATHS, parseVersion, SWITCHES, switchesOf, didYouMean } from '../model/variants.js';
import { implementationNames, kernelFunctions } from '../model/kernel/functions.js';
import { NEXT_RELEASE, RELEASES } from '../model/releases.js';
import { UsageError } from './usage.js';

import { LISTS } from './list-names.js';

export { LISTS };

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ')).join('\n');
}

export function list(what: string | undefined, json: boolean): string {
  switch (what) {
    case 'invariants': {
      if (json)
        return JSON.stringify(
          INVARIANTS.map(({ name, description, reference, when, defaultScenario }) => ({ name, description, reference, when, defaultScenario })),
          null,
          2,
        );
      return table([['INVARIANT', 'WHEN', 'DEFAULT SCENARIO', 'DESCRIPTION'], ...INVARIANTS.map((i) => [i.name, i.when, i.defaultScenario, i.description])]);
    }
    case 'kernels': {
      const oldest = parseVersion(KERNELS[0]!.version)!;
      const newest = parseVersion(NEWEST_KERNEL)!;
      const rows = RELEASES.map((rel) => {
        const v = parseVersion(rel.version)!;
        const before = v[0] < oldest[0] || (v[0] === oldest[0] && v[1] < oldest[1]);
        const after = v[0] > newest[0] || (v[0] === newest[0] && v[1] > newest[1]);
        const carried = before ? [] : carriedPaths(v);
        const modelled = before ? 'no' : after ? `as ${NEWEST_KERNEL}` : carried.length ? `partly` : 'yes';
        const sw = before ? [] : [...switchesOf(v)];
        const epoch = before
          ? '-'
          : KERNELS.filter((k) => {
              const x = parseVersion(k.version)!;
              return x[0] < v[0] || (x[0] === v[0] && x[1] <= v[1]);
            }).at(-1)!.epoch;
        return {
          version: rel.version,
          date: rel.date,
          modelled,
          epoch,
          switches: sw,
          ...(carried.length ? { carried: carried.map((p) => `${p.name}: as ${p.from}`) } : {}),
          ...(before ? {} : { functions: implementationNames(kernelFunctions(new Set(sw), new Set())) }),
        };
      });
      if (json) return JSON.stringify(rows, null, 2);
      return (
        table([['KERNEL', 'RELEASED', 'MODELLED', 'EPOCH', 'SWITCHES'], ...rows.map((r) => [r.version, r.date, r.modelled, r.epoch, r.switches.join(', ') || '-'])]) +
        `\n(also ${NEXT_RELEASE.version}-rc1 to -rc${NEXT_RELEASE.newestRc}; a stable release (5.10.89) adds the backports its switches name: mmcheck list switches.` +
        `\n Releases after ${NEWEST_KERNEL} behave as ${NEWEST_KERNEL}: later changes are not modelled.` +
        PATHS.map((p) => `\n ${p.name}: modelled from ${p.from}${p.from === KERNELS[0]!.version ? '' : `; "partly": on older releases it behaves as ${p.from}`}.`).join('') +
        ')'
      );
    }
    case 'scenarios': {
      if (json)
        return JSON.stringify(
          SCENARIOS.map((s) => ({ name: s.name, title: s.title, reference: s.reference, description: s.description })),
          null,
          2,
        );
      return table([['SCENARIO', 'TITLE'], ...SCENARIOS.map((s) => [s.name, s.title])]);
    }
    case 'mutants': {
      if (json) return JSON.stringify(MUTANTS, null, 2);
      return table([['MUTANT', 'BREAKS', 'WHAT IT GETS WRONG'], ...MUTANTS.map((m) => [m.name, m.breaks, m.summary])]);
    }
    case 'switches': {
      if (json) return JSON.stringify(SWITCHES, null, 2);
      return table([
        ['SWITCH', 'SINCE', 'BACKPORTS', 'REQUIRES', 'COMMIT', 'BEHAVIOUR'],
        ...SWITCHES.map((s) => [
          s.name,
          'patchOnly' in s && s.patchOnly ? `(patch on ${s.since})` : 'until' in s ? `${s.since}-${s.until}` : s.since,
          ('backports' in s ? s.backports.join(' ') : '') || '-',
          ('requires' in s ? s.requires.join(' ') : '') || '-',
          s.commit,
          s.summary,
        ]),
      ]);
    }
    case undefined:
      throw new UsageError(`list what? one of: ${LISTS.join(', ')}`);
    default:
      throw new UsageError(`cannot list "${what}"${didYouMean(what, LISTS)}; one of: ${LISTS.join(', ')}`);
  }
}
