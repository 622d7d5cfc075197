/**
 * mmcheck bisect: where a scenario's verdict flips along the releases, and
 * which of the switches that differ across each flip make it flip: the
 * smallest subset of them that, applied to the release before the flip,
 * gives the verdict after it (every subset of one switch, then of two, ...;
 * delta debugging, ddmin, when there are too many to try). Or, with
 * --kernel and --patch/--revert/--mutant: which of those changes flip the
 * release's verdict. Every test is a run shared or cached as in
 * cli/history.ts, so a switch the scenario never consults costs nothing.
 */
import { findSwitch } from '../model/variants.js';
import { type Cell, checkChangeNames, History, shardReleases, type HistoryOptions, type KernelSpec, pool, releaseRange, cmpVersion, type RunRecord } from './history.js';
import { interruptedCode } from './check.js';
import { verdictWord } from './matrix.js';
import { EXIT_HOLDS, EXIT_INCOMPLETE, EXIT_OUTPUT_LOST, EXIT_VIOLATED, UsageError } from './usage.js';

export interface BisectRequest extends HistoryOptions {
  kernels?: string;
  good?: string;
  bad?: string;
  /** Change mode: the release whose changes are bisected. */
  kernel?: string;
  patch: string[];
  revert: string[];
  mutants: string[];
  jobs: number;
  json: boolean;
  /** Only the verdicts of this share of the releases, into the cache (as matrix --shard). */
  shard?: { i: number; n: number };
}

/** One change a subset can make: a switch turned on or off, or a mutant added. */
interface Change {
  kind: 'patch' | 'revert' | 'mutant';
  name: string;
}

export interface Flip {
  before: Cell;
  after: Cell;
  /** The switches that differ between the two kernels (after's view: + on after only, - off after). */
  differ: Change[];
  /** The smallest subset found that flips the verdict when applied to `before`, or null. */
  culprit: Change[] | null;
  /** Exhaustive: no smaller subset flips it; ddmin: no subset of it flips it (1-minimal). */
  method: 'exhaustive' | 'ddmin';
  tests: number;
}

/** Verdicts that decide a flip: a HOLDS and a violation of any kind. */
const decisive = (c: Cell): 'holds' | 'violated' | null => (c.verdict === 'holds' ? 'holds' : c.verdict === 'violated' || c.verdict === 'deadlock' ? 'violated' : null);

/** At most this many tests for the exhaustive search of the smallest subset; beyond it, ddmin. */
const EXHAUSTIVE_TESTS = 64;

export class Bisector {
  tests = 0;
  constructor(
    readonly h: History,
    readonly jobs: number,
  ) {}

  private apply(base: KernelSpec, changes: readonly Change[]): KernelSpec {
    return {
      kernel: base.kernel,
      patch: [...base.patch, ...changes.filter((c) => c.kind === 'patch').map((c) => c.name)],
      revert: [...base.revert, ...changes.filter((c) => c.kind === 'revert').map((c) => c.name)],
      mutants: [...base.mutants, ...changes.filter((c) => c.kind === 'mutant').map((c) => c.name)],
    };
  }

  /** Does applying `changes` to `base` give the verdict `want`? */
  private async flips(base: KernelSpec, changes: readonly Change[], want: 'holds' | 'violated'): Promise<boolean> {
    this.tests++;
    return decisive(await this.h.cell(this.apply(base, changes))) === want;
  }

  /** The smallest subset of `all` that flips base's verdict to `want`. */
  async culprit(base: KernelSpec, all: readonly Change[], want: 'holds' | 'violated'): Promise<{ culprit: Change[] | null; method: Flip['method'] }> {
    if (!(await this.flips(base, all, want))) return { culprit: null, method: 'exhaustive' };
    // Smallest first: every subset of 1, then of 2, ... while the count of tests stays small.
    let tried = 0;
    for (let size = 1; size < all.length; size++) {
      const subsets = combinations(all, size);
      if (tried + subsets.length > EXHAUSTIVE_TESTS) return { culprit: await this.ddmin(base, [...all], want), method: 'ddmin' };
      tried += subsets.length;
      const results = await pool(subsets, this.jobs, (s) => this.flips(base, s, want));
      const i = results.indexOf(true);
      if (i >= 0) return { culprit: subsets[i]!, method: 'exhaustive' };
    }
    return { culprit: [...all], method: 'exhaustive' };
  }

  /** Zeller's ddmin: a 1-minimal subset of cs (already known to flip). */
  private async ddmin(base: KernelSpec, cs: Change[], want: 'holds' | 'violated'): Promise<Change[]> {
    let n = 2;
    while (cs.length >= 2) {
      const chunks = split(cs, n);
      let reduced = false;
      for (const c of chunks) {
        if (await this.flips(base, c, want)) {
          cs = c;
          n = 2;
          reduced = true;
          break;
        }
      }
      if (!reduced)
        for (const c of chunks) {
          const rest = cs.filter((x) => !c.includes(x));
          if (rest.length && (await this.flips(base, rest, want))) {
            cs = rest;
            n = Math.max(n - 1, 2);
            reduced = true;
            break;
          }
        }
      if (!reduced) {
        if (n >= cs.length) break;
        n = Math.min(cs.length, 2 * n);
      }
    }
    return cs;
  }
}

function combinations<T>(xs: readonly T[], k: number): T[][] {
  if (k === 0) return [[]];
  const out: T[][] = [];
  xs.forEach((x, i) => {
    for (const rest of combinations(xs.slice(i + 1), k - 1)) out.push([x, ...rest]);
  });
  return out;
}

function split<T>(xs: readonly T[], n: number): T[][] {
  const out: T[][] = [];
  const size = Math.ceil(xs.length / n);
  for (let i = 0; i < xs.length; i += size) out.push(xs.slice(i, i + size));
  return out;
}

/** The switches that turn on or off from kernel a to kernel b, as changes to apply to a. */
function switchDiff(a: Cell, b: Cell): Change[] {
  const on = a.variant!.switches as ReadonlySet<string>;
  const next = b.variant!.switches as ReadonlySet<string>;
  const used = new Set([...(a.run?.used ?? []), ...(b.run?.used ?? [])]);
  const changes: Change[] = [
    ...[...next].filter((s) => !on.has(s)).map((name) => ({ kind: 'patch' as const, name })),
    ...[...on].filter((s) => !next.has(s)).map((name) => ({ kind: 'revert' as const, name })),
  ];
  // Switches either run consulted first: the likely culprits are tried first.
  return changes.sort((x, y) => Number(used.has(y.name)) - Number(used.has(x.name)));
}

export interface BisectResult {
  mode: 'releases' | 'changes';
  cells: Cell[];
  flips: Flip[];
  problems: string[];
  runs: RunRecord[];
  ran: number;
  cacheError?: string;
}

export async function computeBisect(req: BisectRequest): Promise<BisectResult> {
  checkChangeNames(req);
  const h = new History(req);
  const b = new Bisector(h, req.jobs);
  const problems: string[] = [];
  const flips: Flip[] = [];
  let cells: Cell[];
  if (req.kernel !== undefined) {
    const changes: Change[] = [
      ...req.patch.map((name) => ({ kind: 'patch' as const, name })),
      ...req.revert.map((name) => ({ kind: 'revert' as const, name })),
      ...req.mutants.map((name) => ({ kind: 'mutant' as const, name })),
    ];
    if (!changes.length) throw new UsageError('bisect --kernel needs the changes to bisect: --patch, --revert or --mutant');
    const base: KernelSpec = { kernel: req.kernel, patch: [], revert: [], mutants: [] };
    const before = await h.cell(base);
    const after = await h.cell({ ...base, patch: req.patch, revert: req.revert, mutants: req.mutants });
    cells = [before, after];
    for (const c of cells) if (c.verdict === 'refused') throw new UsageError(c.reason!);
    const want = decisive(after);
    if (decisive(before) && want && decisive(before) !== want) {
      const found = await b.culprit(base, changes, want);
      flips.push({ before, after, differ: changes, ...found, tests: b.tests });
    }
    return { mode: 'changes', cells, flips, problems, runs: runsOf(cells), ran: h.ran, ...(h.cacheError ? { cacheError: h.cacheError } : {}) };
  }
  if (req.patch.length + req.revert.length + req.mutants.length) throw new UsageError('bisect: --patch, --revert and --mutant need --kernel (the release they change)');
  if (req.shard) {
    if (req.kernel !== undefined) throw new UsageError('bisect --shard shares out the releases: not with --kernel');
    if (req.cacheDir === null) throw new UsageError('--shard fills the cache that an unsharded run then reads: it needs the cache (drop --no-cache)');
    const mine = shardReleases(releaseRange(req.kernels), req.shard);
    const cells = await pool(mine, req.jobs, (r) => h.cell({ kernel: r, patch: [], revert: [], mutants: [] }, r));
    problems.push(
      `shard ${req.shard.i}/${req.shard.n}: ${mine.length} release(s) checked into the cache ${req.cacheDir}; run bisect without --shard on the same cache for the flips`,
    );
    return { mode: 'releases', cells, flips, problems, runs: runsOf(cells), ran: h.ran, ...(h.cacheError ? { cacheError: h.cacheError } : {}) };
  }
  let releases = releaseRange(req.kernels);
  const ends = [req.good, req.bad].filter((x): x is string => x !== undefined);
  for (const e of ends) if (!releases.includes(releaseRange(e)[0]!)) throw new UsageError(`--good/--bad ${e} is outside --kernels ${req.kernels}`);
  if (ends.length === 2) {
    const [lo, hi] = ends.map((e) => releaseRange(e)[0]!).sort(cmpVersion) as [string, string];
    releases = releases.filter((r) => cmpVersion(r, lo) >= 0 && cmpVersion(r, hi) <= 0);
  }
  cells = await pool(releases, req.jobs, (r) => h.cell({ kernel: r, patch: [], revert: [], mutants: [] }, r));
  const at = (v: string | undefined) => (v === undefined ? undefined : cells.find((c) => c.kernel === releaseRange(v)[0]));
  const good = at(req.good);
  const bad = at(req.bad);
  if (good && decisive(good) !== 'holds') problems.push(`--good ${req.good}: the verdict there is ${verdictWord(good)}, not holds`);
  if (bad && decisive(bad) !== 'violated') problems.push(`--bad ${req.bad}: the verdict there is ${verdictWord(bad)}, not violated`);
  const decided = cells.filter((c) => decisive(c));
  for (let i = 1; i < decided.length; i++) {
    const before = decided[i - 1]!;
    const after = decided[i]!;
    if (decisive(before) === decisive(after)) continue;
    const differ = switchDiff(before, after);
    const base: KernelSpec = { kernel: before.kernel, patch: [], revert: [], mutants: [] };
    const t0 = b.tests;
    const found = await b.culprit(base, differ, decisive(after)!);
    flips.push({ before, after, differ, ...found, tests: b.tests - t0 });
  }
  return { mode: 'releases', cells, flips, problems, runs: runsOf(cells), ran: h.ran, ...(h.cacheError ? { cacheError: h.cacheError } : {}) };
}

function runsOf(cells: readonly Cell[]): RunRecord[] {
  const out: RunRecord[] = [];
  for (const c of cells) if (c.run && !out.includes(c.run)) out.push(c.run);
  return out;
}

/** A change by name and commit: a switch removed in a later release is named by the commit that removed it. */
export function changeName(c: Change): string {
  if (c.kind === 'mutant') return `MUTANT ${c.name}`;
  const info = findSwitch(c.name);
  if (!info) return c.kind === 'revert' ? `reverting ${c.name}` : c.name;
  if (c.kind === 'revert' && info.removedBy) return `the removal of ${c.name} (${info.removedBy.commit} "${info.removedBy.title}")`;
  return `${c.kind === 'revert' ? 'reverting ' : ''}${c.name} (${info.commit} "${info.title}")`;
}

/** "VIOLATED up to 5.17, holds from 5.18: cow-page-count (c145e0b47c77 "...") alone flips it". */
export function flipLine(f: Flip, mode: BisectResult['mode']): string {
  const head =
    mode === 'releases'
      ? `${verdictWord(f.before)} up to ${f.before.kernel}, ${verdictWord(f.after)} from ${f.after.kernel}`
      : `${verdictWord(f.before)} on ${f.before.label}, ${verdictWord(f.after)} with ${f.after.label}`;
  if (!f.culprit) return `${head}: no subset of the ${f.differ.length} differing switch(es) flips it on ${f.before.kernel} (they interact with code that is not a switch)`;
  const names = f.culprit.map(changeName);
  const how = f.culprit.length === 1 ? 'alone flips it' : `together flip it${f.method === 'exhaustive' ? ' (no smaller subset does)' : ' (ddmin: no subset of them does)'}`;
  return `${head}: ${names.join(' + ')} ${how}`;
}

export async function bisect(req: BisectRequest): Promise<{ code: number; out: string }> {
  const r = await computeBisect(req);
  const head = `${req.scenario}, ${req.invariant}`;
  const incomplete = r.cells.some((c) => c.verdict === 'incomplete');
  const lost = r.cacheError !== undefined;
  const found = req.shard !== undefined || (r.flips.length > 0 && !r.problems.length);
  const code = interruptedCode(req.signal) ?? (lost ? EXIT_OUTPUT_LOST : incomplete ? EXIT_INCOMPLETE : found ? EXIT_HOLDS : EXIT_VIOLATED);
  if (req.json) {
    const json = {
      scenario: req.scenario,
      invariant: req.invariant,
      mode: r.mode,
      verdicts: r.cells.map((c) => ({ kernel: c.label, verdict: c.verdict, ...(c.reason ? { reason: c.reason } : {}) })),
      flips: r.flips.map((f) => ({
        before: { kernel: f.before.label, verdict: f.before.verdict },
        after: { kernel: f.after.label, verdict: f.after.verdict },
        differ: f.differ.map((c) => `${c.kind === 'patch' ? '+' : c.kind === 'revert' ? '-' : 'mutant '}${c.name}`),
        culprit: f.culprit?.map((c) => ({ kind: c.kind, name: c.name, ...commitOf(c) })) ?? null,
        method: f.method,
        tests: f.tests,
        summary: `${head}: ${flipLine(f, r.mode)}`,
      })),
      problems: r.problems,
      distinctRuns: r.runs.length,
      ran: r.ran,
      ...(r.cacheError ? { error: r.cacheError } : {}),
    };
    return { code, out: JSON.stringify(json, null, 2) };
  }
  const lines: string[] = [];
  if (r.flips.length === 0 && !req.shard) {
    const seen = [...new Set(r.cells.map(verdictWord))].join(', ');
    lines.push(
      `${head}: no flip ${r.mode === 'releases' ? `from ${r.cells[0]?.kernel} to ${r.cells[r.cells.length - 1]?.kernel}` : `between ${r.cells[0]?.label} and ${r.cells[1]?.label}`} (${seen})`,
    );
  }
  for (const f of r.flips) {
    lines.push(`${head}: ${flipLine(f, r.mode)}`);
    if (f.differ.length > 1 || !f.culprit)
      lines.push(`  ${f.differ.length} switch(es) differ: ${f.differ.map((c) => `${c.kind === 'revert' ? '-' : '+'}${c.name}`).join(' ')}; ${f.tests} test run(s)`);
  }
  lines.push(...r.problems.map((p) => (req.shard ? p : `problem: ${p}`)));
  lines.push(`${r.runs.length} distinct run(s) for ${r.cells.length} kernel(s), ${r.ran} ran now (the rest shared or from the cache)`);
  if (r.cacheError) lines.push(`error: ${r.cacheError}`);
  return { code, out: lines.join('\n') };
}

/** The commit a change stands for: a switch's, or for the revert of a removed switch the commit that removed it. */
function commitOf(c: Change): { commit: string | null; title: string | null } {
  const info = c.kind === 'mutant' ? undefined : findSwitch(c.name);
  const by = c.kind === 'revert' && info?.removedBy ? info.removedBy : info;
  return { commit: by?.commit ?? null, title: by?.title ?? null };
}
