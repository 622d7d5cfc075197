import { spawnSync } from 'node:child_process';
import { expect, test } from 'vitest';
import { explore } from '../checker/explore.js';
import type { ExploreOptions, ExploreResult } from '../checker/model.js';
import { outcome } from '../cli/main.js';
import { invariantFilesTried } from '../invariants/invariant-file.js';
import { findInvariant, toEngineInvariant } from '../invariants/registry.js';
import { findScenario } from '../model/scenarios.js';
import type { ScenarioSpec } from '../model/scenario.js';
import { resolveVariant, type VariantRequest } from '../model/variants.js';
import { MMModel } from '../model/world.js';
import { stateWitnesses, witnessOutcomes, witnessPlan } from '../model/witnesses.js';

export function model(scenario: string | ScenarioSpec, variant: VariantRequest = {}): MMModel {
  const sc = typeof scenario === 'string' ? findScenario(scenario) : scenario;
  if (!sc) throw new Error(`no scenario ${String(scenario)}`);
  return new MMModel(sc, resolveVariant(variant));
}

export function check(
  scenario: string | ScenarioSpec,
  kernel: string,
  invariants: string[],
  opts: ExploreOptions & { mutants?: string[]; patch?: string[]; revert?: string[] } = {},
): { result: ExploreResult; model: MMModel } {
  const m = model(scenario, { kernel, mutants: opts.mutants, patch: opts.patch, revert: opts.revert });
  const view = m.view(new Int32Array(m.stateWords));
  const found = invariants.map((n) => {
    const inv = findInvariant(n);
    if (!inv) throw new Error(`no invariant ${n}`);
    return inv;
  });
  const invs = found.map((inv) => toEngineInvariant(inv, view));
  // The scenario's and the invariants' witnesses, as `mmcheck check` reports them (completed operations from the coverage).
  const result = explore(m, invs, opts, stateWitnesses(m, found, m.view(new Int32Array(m.stateWords))));
  const witnesses = witnessOutcomes(witnessPlan(m.scenario, found), result.witnesses, m, result.coverage);
  return { result: { ...result, witnesses }, model: m };
}

/** The action id of a thread's step, found by operation title and step label. */
export function actionId(m: MMModel, thread: string, op: string, label: string): number {
  const i = m.actions.findIndex((a) => a.threadName === thread && a.op.includes(op) && a.label === label);
  if (i < 0) throw new Error(`no action ${thread} / ${op} / ${label}`);
  return i;
}

/** A scenario file too large to finish within a test (about 7 million states): for limits, progress lines and signals. */
export const LONG_RUN = new URL('./fixtures/long-run.json', import.meta.url).pathname;

/** A verdict row: scenario, the invariant it is about, kernel, expected verdict, exact state count. */
export type VerdictRow = [scenario: string, invariant: string, kernel: string, verdict: 'holds' | 'violated', states: number];

/**
 * One test per row: the check of the row's invariant plus `also` has the
 * verdict and the exact state count; a HOLDS found every witness, a
 * violation is of the row's invariant.
 */
export function testVerdictRows(rows: readonly VerdictRow[], also: readonly string[]): void {
  for (const [scenario, invariant, kernel, verdict, states] of rows)
    test(`${scenario} @ ${kernel}: ${invariant} ${verdict}`, () => {
      const { result } = check(scenario, kernel, [invariant, ...also]);
      expect(result.verdict).toBe(verdict);
      expect(result.states).toBe(states);
      if (verdict === 'holds') expect(result.witnesses?.filter((w) => !w.found).map((w) => w.name)).toEqual([]);
      else expect(result.violations[0]!.invariant).toBe(invariant);
    });
}

const BIN = new URL('../bin/mmcheck.js', import.meta.url).pathname;

/** The mmcheck command as a user runs it (no colour): exit code, stdout, stderr. */
export function mmcheck(...args: string[]): { code: number | null; out: string; err: string } {
  return mmcheckWith({}, ...args);
}

/** The command with more environment, e.g. MMCHECK_SPREAD_AT=0 so that every worker asked for takes part however small the search. */
export function mmcheckWith(env: Record<string, string>, ...args: string[]): { code: number | null; out: string; err: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1', ...env } });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

/** Every worker from the start (checker/parallel.ts SPREAD_AT): for the tests that compare worker counts on small searches. */
export const ALL_WORKERS = { MMCHECK_SPREAD_AT: '0' };

/** ALL_WORKERS when the arguments ask for a number of workers (-j, --workers), else nothing: the default starts one. */
export function workersAsked(args: readonly string[]): Record<string, string> {
  return args.includes('-j') || args.includes('--workers') ? ALL_WORKERS : {};
}

/** The environment of an in-process run: as mmcheck()'s (no colour), and no $GITHUB_STEP_SUMMARY of a CI running the tests. */
const HERE_ENV = { ...process.env, NO_COLOR: '1', GITHUB_STEP_SUMMARY: '' };

/** One in-process run at a time: each may change the working directory for its length. */
let queue: Promise<unknown> = Promise.resolve();

/**
 * The mmcheck command run in this process (cli/main.ts outcome()): the same
 * exit code, stdout and stderr as mmcheck() gives, without Node's start-up
 * and the import of the model for each run (about 0.3 s each). For a command
 * whose result is all a test looks at; what is about a real process
 * (signals, EPIPE, exit codes of crashes, stdin, the environment, memory
 * limits, worker threads that end the process) spawns it with mmcheck().
 * Refuses what cannot run here faithfully: invariant files (they stay
 * registered in this process), explore (it serves until Ctrl-C).
 * test/cli/cli.test.ts runs commands both ways and compares them.
 */
export function mmcheckHere(args: readonly string[], opts: { cwd?: string } = {}): Promise<{ code: number | null; out: string; err: string }> {
  if (args.some((a) => a === '--invariants-file' || a.startsWith('--invariants-file=')))
    throw new Error('mmcheckHere: an invariant file stays registered in this process: spawn it with mmcheck()');
  if (args[0] === 'explore') throw new Error('mmcheckHere: explore serves until Ctrl-C: spawn it');
  const run = async () => {
    const before = invariantFilesTried();
    const home = process.cwd();
    let r: { code: number | null; out: string; err: string };
    if (opts.cwd) process.chdir(opts.cwd);
    try {
      const o = await outcome([...args], { env: HERE_ENV });
      r = { code: o.code, out: o.stdout, err: o.stderr };
    } catch (e) {
      // As bin/mmcheck.js reports an internal error.
      r = { code: 70, out: '', err: `mmcheck: internal error: ${(e as Error)?.message ?? e} (set MMCHECK_DEBUG=1 for the stack; please report it)\n` };
    } finally {
      if (opts.cwd) process.chdir(home);
    }
    // A gate config's invariantsFiles: its invariants, or its failure to load (Node keeps that too), would stay for the runs after this one.
    if (invariantFilesTried() !== before) throw new Error(`mmcheckHere: mmcheck ${args.join(' ')} loaded invariant files: spawn it with mmcheck()`);
    return r;
  };
  const r = queue.then(run, run);
  queue = r.catch(() => undefined);
  return r;
}

/** mmcheckHere in a working directory (relative paths in the arguments and the command's files resolve there). */
export function mmcheckHereIn(cwd: string, args: readonly string[]): Promise<{ code: number | null; out: string; err: string }> {
  return mmcheckHere(args, { cwd });
}
