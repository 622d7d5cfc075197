/**
 * mmcheck list invariants|kernels|scenarios|mutants|switches
 */
import { INVARIANTS } from '../invariants/registry.js';
import { SCENARIOS } from '../model/scenarios.js';
import { KERNELS, MUTANTS, parseVersion, SWITCHES, switchesOf, didYouMean } from '../model/variants.js';
import { UsageError } from './usage.js';

export const LISTS = ['invariants', 'kernels', 'scenarios', 'mutants', 'switches'] as const;

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ')).join('\n');
}

export function list(what: string | undefined, json: boolean): string {
  switch (what) {
    case 'invariants': {
      if (json) return JSON.stringify(INVARIANTS.map(({ name, description, reference, when, defaultScenario }) => ({ name, description, reference, when, defaultScenario })), null, 2);
      return table([['INVARIANT', 'WHEN', 'DEFAULT SCENARIO', 'DESCRIPTION'], ...INVARIANTS.map((i) => [i.name, i.when, i.defaultScenario, i.description])]);
    }
    case 'kernels': {
      const rows = KERNELS.map((k) => ({ version: k.version, epoch: k.epoch, switches: [...switchesOf(parseVersion(k.version)!)] }));
      if (json) return JSON.stringify(rows, null, 2);
      return (
        table([['KERNEL', 'EPOCH', 'SWITCHES'], ...rows.map((r) => [r.version, r.epoch, r.switches.join(', ') || '-'])]) +
        '\n(any release from 5.7 on is accepted; releases after 6.2 behave as 6.2: later changes are not modelled)'
      );
    }
    case 'scenarios': {
      if (json) return JSON.stringify(SCENARIOS.map((s) => ({ name: s.name, title: s.title, reference: s.reference, description: s.description })), null, 2);
      return table([['SCENARIO', 'TITLE'], ...SCENARIOS.map((s) => [s.name, s.title])]);
    }
    case 'mutants': {
      if (json) return JSON.stringify(MUTANTS, null, 2);
      return table([['MUTANT', 'BREAKS', 'WHAT IT GETS WRONG'], ...MUTANTS.map((m) => [m.name, m.breaks, m.summary])]);
    }
    case 'switches': {
      if (json) return JSON.stringify(SWITCHES, null, 2);
      return table([
        ['SWITCH', 'SINCE', 'COMMIT', 'BEHAVIOUR'],
        ...SWITCHES.map((s) => [s.name, 'until' in s ? `${s.since}-${s.until}` : s.since, s.commit, s.summary]),
      ]);
    }
    case undefined:
      throw new UsageError(`list what? one of: ${LISTS.join(', ')}`);
    default:
      throw new UsageError(`cannot list "${what}"${didYouMean(what, LISTS)}; one of: ${LISTS.join(', ')}`);
  }
}
