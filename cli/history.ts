/**
 * Kernel history as an axis: the verdict of one scenario and invariant on
 * many kernels (releases, or a release with patches, reverts and mutants),
 * for `mmcheck matrix` and `mmcheck bisect`.
 *
 * Two kernels that agree on every switch a run consulted (model/switch-use.ts)
 * explore the same states to the same verdict, so a run is shared by every
 * kernel that agrees with it on those switches. Runs are kept in a cache
 * keyed by the code of the checker and model, the scenario's content, the
 * invariant, the depth and --strict; a later invocation takes a kernel's
 * verdict from there when a cached run's switches match.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { findInvariant, invariantSource } from '../invariants/registry.js';
import { scenarioKernelProblem, type ScenarioSpec } from '../model/scenario.js';
import { switchesUsed } from '../model/switch-use.js';
import { parseRelease, RELEASES } from '../model/releases.js';
import { didYouMean, findSwitch, KERNELS, MUTANTS, resolveVariant, SWITCHES, type Variant, VariantError } from '../model/variants.js';
import { renderTrace } from '../traces/render-text.js';
import { type CheckRequest, type CheckVerdict, execute, plan, resolveScenario } from './check.js';
import { UsageError } from './usage.js';

/** A kernel to check: a release, and changes made to it. */
export interface KernelSpec {
  kernel: string;
  patch: readonly string[];
  revert: readonly string[];
  mutants: readonly string[];
}

/** One run of the checker, and what it consulted. */
export interface RunRecord {
  /** The switches the kernel had (sorted) and its mutants. */
  on: string[];
  mutants: string[];
  /** The switches the run consulted: any kernel that agrees on these has this verdict. */
  used: string[];
  verdict: CheckVerdict;
  states: number;
  transitions: number;
  seconds: number;
  /** The kernel it ran on. */
  ranOn: string;
  message?: string;
  /** The counterexample, narrated (text, no colour). */
  trace?: string;
  stoppedBy?: string;
}

export type Served = 'ran' | 'shared' | 'cached';

/** A kernel's verdict, or why there is none (the kernel or change cannot be modelled, the invariant does not apply). */
export interface Cell {
  kernel: string;
  label: string;
  verdict: CheckVerdict | 'refused';
  reason?: string;
  variant?: Variant;
  run?: RunRecord;
  served?: Served;
}

export interface HistoryOptions {
  scenario: string;
  invariant: string;
  depth?: number;
  strict: boolean;
  workers: number;
  maxSeconds?: number;
  maxStates?: number;
  maxMemory?: number;
  /** null: no cache. */
  cacheDir: string | null;
  toolVersion: string;
  signal?: AbortSignal;
}

/** The default cache directory: $MMCHECK_CACHE, else $XDG_CACHE_HOME/mmcheck, else ~/.cache/mmcheck. */
export function defaultCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.MMCHECK_CACHE || join(env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'mmcheck');
}

let codeHash: string | undefined;
/** A hash of the compiled checker, model and invariants: a change to any of them starts a new cache. */
function codeFingerprint(): string {
  if (codeHash) return codeHash;
  const h = createHash('sha256');
  const root = fileURLToPath(new URL('../', import.meta.url));
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir).sort()) {
      const p = join(dir, name);
      if (statSync(p).isDirectory()) walk(p);
      else if (name.endsWith('.js')) h.update(name).update(readFileSync(p));
    }
  };
  for (const d of ['checker', 'model', 'invariants', 'cli', 'traces']) walk(join(root, d));
  codeHash = h.digest('hex');
  return codeHash;
}

export class History {
  readonly spec: ScenarioSpec;
  private readonly records: { r: RunRecord; fromCache: boolean }[] = [];
  private readonly file: string | null;
  private readonly inflight = new Map<string, Promise<RunRecord>>();
  /** Runs made by this invocation. */
  ran = 0;
  /** Why the cache could not be written (reported, and exit code 6). */
  cacheError?: string;

  constructor(readonly opts: HistoryOptions) {
    if (!findInvariant(opts.invariant)) throw new UsageError(`unknown invariant "${opts.invariant}" (mmcheck list invariants)`);
    this.spec = resolveScenario(opts.scenario);
    this.file = opts.cacheDir === null ? null : join(opts.cacheDir, `${this.key()}.json`);
    if (this.file) {
      try {
        const saved = JSON.parse(readFileSync(this.file, 'utf8')) as { records: RunRecord[] };
        for (const r of saved.records) this.records.push({ r, fromCache: true });
      } catch {
        // no cache yet, or one that does not parse: start afresh
      }
    }
  }

  private key(): string {
    const file = invariantSource(this.opts.invariant);
    const what = {
      code: codeFingerprint(),
      tool: this.opts.toolVersion,
      scenario: this.spec,
      invariant: this.opts.invariant,
      invariantFile: file ? createHash('sha256').update(readFileSync(file)).digest('hex') : null,
      depth: this.opts.depth ?? null,
      strict: this.opts.strict,
      limits: [this.opts.maxStates ?? null, this.opts.maxSeconds ?? null],
    };
    return createHash('sha256').update(JSON.stringify(what)).digest('hex').slice(0, 32);
  }

  /** The verdict on a kernel: from a run that matches it, or a new run. */
  async cell(k: KernelSpec, label = describeKernel(k)): Promise<Cell> {
    let variant: Variant;
    try {
      variant = resolveVariant(k);
    } catch (e) {
      if (e instanceof VariantError) return { kernel: k.kernel, label, verdict: 'refused', reason: e.message };
      throw e;
    }
    const problem = scenarioKernelProblem(this.spec, variant.version);
    if (problem) return { kernel: k.kernel, label, verdict: 'refused', reason: problem, variant };
    const na = findInvariant(this.opts.invariant)!.notApplicable?.(variant) ?? null;
    if (na) return { kernel: k.kernel, label, verdict: 'not-applicable', reason: na, variant };
    const exact = `${[...variant.switches].sort().join(',')}|${[...variant.mutants].sort().join(',')}`;
    // The same kernel already running (--jobs): wait for it rather than run it twice.
    const pending = this.inflight.get(exact);
    if (pending) await pending;
    const found = this.records.find((x) => matches(x.r, variant));
    if (found) return { kernel: k.kernel, label, verdict: found.r.verdict, variant, run: found.r, served: found.fromCache ? 'cached' : 'shared' };
    const running = this.run(k, variant);
    this.inflight.set(exact, running);
    try {
      const r = await running;
      return { kernel: k.kernel, label, verdict: r.verdict, variant, run: r, served: 'ran' };
    } finally {
      this.inflight.delete(exact);
    }
  }

  private async run(k: KernelSpec, variant: Variant): Promise<RunRecord> {
    const req: CheckRequest = {
      invariants: [this.opts.invariant],
      scenario: this.opts.scenario,
      kernel: k.kernel,
      patch: [...k.patch],
      revert: [...k.revert],
      mutants: [...k.mutants],
      depth: this.opts.depth,
      strategy: 'bfs',
      json: false,
      stopAtFirst: true,
      maxStates: this.opts.maxStates,
      maxSeconds: this.opts.maxSeconds,
      maxMemory: this.opts.maxMemory,
      coverage: false,
      color: false,
      toolVersion: this.opts.toolVersion,
      workers: this.opts.workers,
      reductions: { symmetry: true, por: true },
      reductionFactor: false,
      progress: false,
      strict: this.opts.strict,
      signal: this.opts.signal,
    };
    const [o] = await execute(plan(req), req);
    const t = o!.traces[0];
    const r: RunRecord = {
      on: [...variant.switches].sort(),
      mutants: [...variant.mutants].sort(),
      used: switchesUsed(o!.result.observations).sort(),
      verdict: o!.verdict,
      states: o!.result.states,
      transitions: o!.result.transitions,
      seconds: Number(o!.result.seconds.toFixed(3)),
      ranOn: describeKernel(k),
      ...(t ? { message: t.message, trace: renderTrace(t, false) } : {}),
      ...(o!.result.stoppedBy ? { stoppedBy: o!.result.stoppedBy } : {}),
    };
    this.ran++;
    // An interrupted or limited run is not a verdict to keep.
    if (r.verdict !== 'incomplete') {
      this.records.push({ r, fromCache: false });
      this.save();
    }
    return r;
  }

  private save(): void {
    if (!this.file || this.cacheError) return;
    try {
      mkdirSync(this.opts.cacheDir!, { recursive: true });
      // Other processes (matrix --shard on a shared cache) may have saved runs since: keep theirs too.
      const mine = this.records.map((x) => x.r);
      const key = (r: RunRecord) => JSON.stringify([r.on, r.mutants, r.used]);
      const known = new Set(mine.map(key));
      let theirs: RunRecord[] = [];
      try {
        theirs = (JSON.parse(readFileSync(this.file, 'utf8')) as { records: RunRecord[] }).records.filter((r) => !known.has(key(r)));
      } catch {
        // none yet
      }
      const tmp = `${this.file}.${process.pid}.tmp`;
      writeFileSync(tmp, JSON.stringify({ records: [...mine, ...theirs] }));
      renameSync(tmp, this.file);
    } catch (e) {
      this.cacheError = `could not write the cache ${this.file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`;
    }
  }
}

/** A run's verdict holds for a variant that has the same mutants and agrees on every switch the run consulted. */
function matches(r: RunRecord, v: Variant): boolean {
  const mutants = [...v.mutants].sort();
  if (mutants.length !== r.mutants.length || mutants.some((m, i) => m !== r.mutants[i])) return false;
  const on = new Set(r.on);
  return r.used.every((s) => (v.switches as ReadonlySet<string>).has(s) === on.has(s));
}

export function describeKernel(k: KernelSpec): string {
  return [k.kernel, ...k.patch.map((p) => `+${p}`), ...k.revert.map((p) => `-${p}`), ...k.mutants.map((m) => `MUTANT ${m}`)].join(' ');
}

/**
 * The releases of a range "A..B" (either end may be left out: from the
 * oldest modelled, to the newest release known), oldest first.
 */
export function releaseRange(text: string | undefined): string[] {
  const all = RELEASES.map((r) => r.version).filter((v) => cmpVersion(v, KERNELS[0]!.version) >= 0);
  if (text === undefined) return all;
  const m = /^\s*([^.\s][^\s]*?)?\s*\.\.\s*([^\s]+)?\s*$/.exec(text);
  const ends = m ? [m[1], m[2]] : [text, text];
  const pick = (end: string | undefined, dflt: string): string => {
    if (end === undefined) return dflt;
    const r = parseRelease(end);
    const name = r ? `${r.major}.${r.minor}` : end;
    if (!r || r.sublevel || r.rc) throw new UsageError(`--kernels: "${end}" is not a mainline release such as 5.18 (a range is A..B, e.g. 4.4..6.2)`);
    if (!all.includes(name)) throw new UsageError(`--kernels: ${end} is not a release from ${all[0]} to ${all[all.length - 1]}`);
    return name;
  };
  const from = pick(ends[0], all[0]!);
  const to = pick(ends[1], all[all.length - 1]!);
  if (cmpVersion(from, to) > 0) throw new UsageError(`--kernels ${text}: ${from} comes after ${to}`);
  return all.filter((v) => cmpVersion(v, from) >= 0 && cmpVersion(v, to) <= 0);
}

export function cmpVersion(a: string, b: string): number {
  const x = parseRelease(a)!;
  const y = parseRelease(b)!;
  return x.major - y.major || x.minor - y.minor || x.sublevel - y.sublevel;
}

/** Runs tasks with at most `jobs` at a time, in order of start; results in input order. */
export async function pool<T, R>(items: readonly T[], jobs: number, f: (x: T, i: number) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      out[i] = await f(items[i]!, i);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(jobs, items.length)) }, worker));
  return out;
}

/** Unknown switch or mutant names are bad input (one line), not a column of refusals. */
export function checkChangeNames(k: { patch: readonly string[]; revert: readonly string[]; mutants: readonly string[] }): void {
  for (const s of [...k.patch, ...k.revert])
    if (!findSwitch(s))
      throw new UsageError(
        `unknown switch "${s}"${didYouMean(
          s,
          SWITCHES.map((x) => x.name),
        )} (mmcheck list switches)`,
      );
  for (const m of k.mutants)
    if (!MUTANTS.some((x) => x.name === m))
      throw new UsageError(
        `unknown mutant "${m}"${didYouMean(
          m,
          MUTANTS.map((x) => x.name),
        )} (mmcheck list mutants)`,
      );
}

/**
 * Shard i of n of a range of releases (matrix --shard, bisect --shard): the
 * releases grouped by their switch sets (a group is one run at most), the
 * groups dealt out in turn. The shards fill a cache they share; a run
 * without --shard on that cache then assembles the answer.
 */
export function shardReleases(releases: readonly string[], shard: { i: number; n: number }): string[] {
  const groups = new Map<string, string[]>();
  for (const r of releases) {
    let key = r;
    try {
      key = [...resolveVariant({ kernel: r }).switches].sort().join(',');
    } catch {
      // a release the model refuses: a group of its own
    }
    if (!groups.has(key)) groups.set(key, []);
    groups.get(key)!.push(r);
  }
  return [...groups.values()].filter((_, k) => k % shard.n === shard.i - 1).flat();
}
