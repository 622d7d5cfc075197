/**
 * mmcheck check: a staged pipeline - resolve the request (invariants,
 * scenario, kernel variant), build the model, explore, report.
 */
import { accessSync, constants, statSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { exploreSequential } from '../checker/sequential.js';
import { InvariantFileError } from '../invariants/invariant-file.js';
import type { ExploreOptions, ExploreResult, Progress, Strategy } from '../checker/model.js';
import { exploreParallel } from '../checker/parallel.js';
import { verdictOf } from '../checker/search.js';
import { checkLockOrder, lockGraphDot, type LockOrderResult } from './lock-order.js';
import type { Reductions } from '../checker/reduce.js';
import { findInvariant, INVARIANTS, invariantSource, type MMInvariant } from '../invariants/registry.js';
import { createModel, mmFactory } from '../model/factory.js';
import { ScenarioError, type ScenarioSpec, scenarioKernelProblem, validateScenario } from '../model/scenario.js';
import { isScenarioFile, loadScenarioFile, ScenarioFileError } from '../model/scenario-file.js';
import { findScenario, SCENARIOS } from '../model/scenarios.js';
import { describeVariant, didYouMean, laterSwitches, NEWEST_KERNEL, resolveVariant, type Variant, VariantError } from '../model/variants.js';
import type { MMModel } from '../model/world.js';
import { traceToItf } from '../traces/itf.js';
import { renderTrace } from '../traces/render-text.js';
import { minimize } from '../traces/minimize.js';
import { buildTrace, type Trace } from '../traces/trace.js';
import type { Invariant } from '../checker/model.js';
import { witnessOutcomes, witnessPlan, type WitnessOutcome } from '../model/witnesses.js';
import type { WitnessSpec } from '../model/scenario.js';
import {
  EXIT_HOLDS,
  EXIT_INCOMPLETE,
  EXIT_INTERRUPTED,
  EXIT_NOT_APPLICABLE,
  EXIT_TERMINATED,
  EXIT_OUTPUT_LOST,
  EXIT_USAGE,
  EXIT_VACUOUS,
  EXIT_VIOLATED,
  UsageError,
} from './usage.js';
import { type Io, PROCESS_IO } from './io.js';
import { thousands } from './format.js';

export interface CheckRequest {
  invariants: string[];
  scenario?: string;
  kernel?: string;
  patch: string[];
  revert: string[];
  mutants: string[];
  depth?: number;
  strategy: Strategy;
  traceOut?: string;
  json: boolean;
  stopAtFirst: boolean;
  maxStates?: number;
  maxSeconds?: number;
  maxMemory?: number;
  coverage: boolean;
  color: boolean;
  toolVersion: string;
  /** Worker threads for BFS (>= 1). */
  workers: number;
  reductions: Reductions;
  /** Also run without each reduction and print the factors. */
  reductionFactor: boolean;
  /** Progress lines on stderr once a second. */
  progress: boolean;
  /** Where the progress lines go (default the process's stderr). */
  io?: Io;
  /** Aborted on Ctrl-C. */
  signal?: AbortSignal;
  /** Build the (minimised) trace of each violation (default true; the gate builds only those it reports). */
  traces?: boolean;
  /** A HOLDS where an operation never completed, a thread never finished or a witness was not found is verdict "vacuous". */
  strict: boolean;
  /** Witnesses added to the scenario's own (a gate row's). */
  witnesses?: WitnessSpec[];
  /** With lock-order: write the lock dependency graph here (Graphviz). */
  lockGraph?: string;
}

/** A run's verdict: the engine's, or vacuous (--strict), or not applicable (no checked invariant exists on the kernel). */
export type CheckVerdict = ExploreResult['verdict'] | 'vacuous' | 'not-applicable';

interface Run {
  scenario: ScenarioSpec;
  invariants: MMInvariant[];
  /** Check the built-in property lock-order too (cli/lock-order.ts). */
  lockOrder: boolean;
}

/** The built-in property over transitions (lockdep); not a state invariant. */
export const LOCK_ORDER = 'lock-order';
/** The scenario lock-order is checked on when none is given: the one with the most lock classes in play. */
const LOCK_ORDER_DEFAULT_SCENARIO = 'zap-migrate';

export interface Plan {
  variant: Variant;
  runs: Run[];
  notApplicable: { invariant: string; reason: string }[];
  /** Lines to show before the result (a release newer than the newest modelled). */
  warnings: string[];
}

/** The kernel a command names, with its patches, reverts and mutants; a bad one is a UsageError with one line. */
export function variantOf(req: { kernel?: string; patch?: string[]; revert?: string[]; mutants?: string[] }): Variant {
  try {
    return resolveVariant({ kernel: req.kernel, patch: req.patch, revert: req.revert, mutants: req.mutants });
  } catch (e) {
    if (e instanceof VariantError) throw new UsageError(e.message);
    throw e;
  }
}

/** Stage 1: names to objects. Throws UsageError with one clear line. */
export function plan(req: CheckRequest): Plan {
  const variant = variantOf(req);
  const asked = req.invariants.length ? req.invariants : INVARIANTS.map((i) => i.name);
  const lockOrder = asked.includes(LOCK_ORDER);
  const names = asked.filter((n) => n !== LOCK_ORDER);
  const invs = names.map((n) => {
    const inv = findInvariant(n);
    if (!inv) throw new UsageError(`unknown invariant "${n}"${didYouMean(n, [...INVARIANTS.map((i) => i.name), LOCK_ORDER])}`);
    return inv;
  });
  if (req.lockGraph !== undefined) {
    if (!lockOrder) throw new UsageError('--lock-graph needs --invariant lock-order');
    checkOutputFile('--lock-graph', req.lockGraph);
  }
  const notApplicable: Plan['notApplicable'] = [];
  const applicable = invs.filter((inv) => {
    const why = inv.notApplicable?.(variant) ?? null;
    if (why) notApplicable.push({ invariant: inv.name, reason: why });
    return !why;
  });
  const warnings = [
    ...(variant.modelledAs
      ? [
          `warning: kernel ${req.kernel} is newer than the newest modelled release: it is checked as ${variant.modelledAs} (changes after ${variant.modelledAs} are not modelled${laterSwitches(variant)})`,
        ]
      : []),
    ...(variant.notes ?? []),
  ];
  if (req.traceOut !== undefined) checkOutputFile('--trace-out', req.traceOut);
  const runs: Run[] = [];
  if (applicable.length === 0 && !lockOrder) {
    // Still check the scenario, so that a typo there is a usage error, not "not applicable".
    if (req.scenario !== undefined) resolveScenario(req.scenario, req.witnesses);
    return { variant, runs, notApplicable, warnings };
  }
  if (req.scenario !== undefined) {
    runs.push({ scenario: resolveScenario(req.scenario, req.witnesses), invariants: applicable, lockOrder });
  } else {
    // Each invariant on its own default scenario; invariants sharing one share a run.
    for (const inv of applicable) {
      if (!inv.defaultScenario) throw new UsageError(`invariant ${inv.name} (from ${invariantSource(inv.name)}) names no defaultScenario: give --scenario`);
      const sc = resolveScenario(inv.defaultScenario, req.witnesses);
      const run = runs.find((r) => r.scenario.name === sc.name);
      if (run) run.invariants.push(inv);
      else runs.push({ scenario: sc, invariants: [inv], lockOrder: false });
    }
    if (lockOrder) {
      const run = runs.find((r) => r.scenario.name === LOCK_ORDER_DEFAULT_SCENARIO);
      if (run) run.lockOrder = true;
      else runs.push({ scenario: resolveScenario(LOCK_ORDER_DEFAULT_SCENARIO, req.witnesses), invariants: [], lockOrder: true });
    }
  }
  for (const run of runs) {
    const why = scenarioKernelProblem(run.scenario, variant.version);
    if (why) throw new UsageError(why);
  }
  return { variant, runs, notApplicable, warnings };
}

/**
 * Refuses, before a long run, an output file that cannot be written: an
 * empty name, a directory, a file or directory without write permission.
 */
export function checkOutputFile(flag: string, file: string): void {
  if (file.trim() === '') throw new UsageError(`${flag} needs a file name, got ""`);
  let isDir = false;
  let exists = false;
  try {
    const st = statSync(file);
    exists = true;
    isDir = st.isDirectory();
  } catch {
    // does not exist yet: its directory must be writable
  }
  if (isDir) throw new UsageError(`${flag} ${file} is a directory: give a file name`);
  try {
    accessSync(exists ? file : dirname(file), constants.W_OK);
  } catch (e) {
    throw new UsageError(`${flag} ${file}: cannot write there (${(e as NodeJS.ErrnoException).code ?? 'error'})`);
  }
}

/** A built-in scenario's name, or the path of a scenario file; with extra witnesses (a gate row's), checked with the scenario. */
export function resolveScenario(nameOrPath: string, witnesses: WitnessSpec[] = []): ScenarioSpec {
  let sc: ScenarioSpec | undefined;
  if (isScenarioFile(nameOrPath)) {
    try {
      sc = loadScenarioFile(nameOrPath);
    } catch (e) {
      if (e instanceof ScenarioFileError) throw new UsageError(e.message);
      throw e;
    }
  } else {
    sc = findScenario(nameOrPath);
    if (!sc)
      throw new UsageError(
        `unknown scenario "${nameOrPath}"${didYouMean(
          nameOrPath,
          SCENARIOS.map((s) => s.name),
        )} (a scenario file needs a path, e.g. ./${nameOrPath}.json)`,
      );
  }
  if (witnesses.length === 0) return sc;
  const withMine: ScenarioSpec = { ...sc, witnesses: [...(sc.witnesses ?? []), ...witnesses] };
  try {
    validateScenario(withMine);
  } catch (e) {
    if (e instanceof ScenarioError) throw new UsageError(e.message);
    throw e;
  }
  return withMine;
}

export interface RunOutcome {
  scenario: string;
  spec: ScenarioSpec;
  invariants: string[];
  result: ExploreResult;
  /** The engine's verdict, or "vacuous" when --strict finds the HOLDS vacuous. */
  verdict: CheckVerdict;
  /** Menu entries that no explored transition completed ("thread: operation"). */
  neverCompleted: string[];
  /** Every witness (threads finishing, the scenario's, the invariants'), found or not. */
  witnesses: WitnessOutcome[];
  model: MMModel;
  /** The invariants as the engine checks them, on `model`. */
  checked: Invariant[];
  traces: Trace[];
  /** With --reduction-factor: states without each reduction. */
  factors?: { none: number; symmetry: number; por: number };
  /** With lock-order: the dependencies, the cycle and its traces. */
  lockOrder?: LockOrderResult;
}

/** Stage 2 and 3: build each model and explore it (BFS on worker threads, DFS in process). */
export async function execute(p: Plan, req: CheckRequest): Promise<RunOutcome[]> {
  const out: RunOutcome[] = [];
  const io = req.io ?? PROCESS_IO;
  for (const run of p.runs) {
    const names = run.invariants.map((i) => i.name);
    const factory = mmFactory(run.scenario, p.variant, names, run.lockOrder ? 'collect' : undefined);
    // One in-process model: for DFS, and to minimise and narrate traces (BFS builds its own in each worker).
    const built = createModel(factory.args);
    const model = built.model;
    const search = (reductions: Reductions, quiet: boolean): Promise<ExploreResult> => {
      const opts: ExploreOptions = {
        strategy: req.strategy,
        maxDepth: req.depth,
        stopAtFirst: req.stopAtFirst,
        maxStates: req.maxStates,
        maxSeconds: req.maxSeconds,
        maxMemory: req.maxMemory,
        workers: req.workers,
        // lockdep must see every transition: no ample sets while the lock order is checked.
        reductions: run.lockOrder ? { ...reductions, por: false } : reductions,
        signal: req.signal,
        onProgress: req.progress && !quiet ? progressPrinter(run.scenario.name, io) : undefined,
        shouldStop: () => req.signal?.aborted === true,
      };
      // Both engines run the model in worker threads, so that a limit and Ctrl-C hold whatever an invariant's code does.
      if (req.strategy === 'bfs') return exploreParallel(factory, opts);
      return exploreSequential(factory, model.actionCount, opts);
    };
    let result: ExploreResult;
    try {
      result = await search(req.reductions, false);
    } catch (e) {
      // A worker that ended by itself: with an invariant file in the run, that file's code did it.
      const files = names.map(invariantSource).filter((f) => f !== undefined);
      if (e instanceof Error && e.name === 'WorkerExited' && files.length) {
        throw new InvariantFileError(`${e.message}; the run uses invariants from ${[...new Set(files)].join(', ')}, whose code may have called process.exit()`);
      }
      throw e;
    }
    if (req.progress) io.err(clear(io));
    let lockOrder: LockOrderResult | undefined;
    if (run.lockOrder && result.stoppedBy !== 'interrupted') {
      const opts: ExploreOptions = {
        maxDepth: req.depth,
        maxStates: req.maxStates,
        maxSeconds: req.maxSeconds,
        maxMemory: req.maxMemory,
        workers: req.workers,
        reductions: { ...req.reductions, por: false },
        signal: req.signal,
        shouldStop: () => req.signal?.aborted === true,
      };
      lockOrder = await checkLockOrder(result.observations, model, run.scenario, p.variant, opts);
      if (lockOrder.cycle) {
        // Its traces (one per acquisition of the cycle) come from searches of their own: no path here.
        result.violations.push({ invariant: LOCK_ORDER, message: `possible circular locking dependency: ${[...lockOrder.cycle, lockOrder.cycle[0]].join(' -> ')}`, path: [] });
        Object.assign(result, verdictOf(result.violations, undefined));
      }
    }
    let factors: RunOutcome['factors'];
    if (req.reductionFactor && result.verdict === 'holds') {
      const none = await search({ symmetry: false, por: false }, true);
      const sym = await search({ symmetry: true, por: false }, true);
      const por = await search({ symmetry: false, por: true }, true);
      factors = { none: none.states, symmetry: sym.states, por: por.states };
    }
    const neverCompleted = model.neverCompleted(result.coverage);
    const witnesses = witnessOutcomes(witnessPlan(run.scenario, run.invariants), result.witnesses, model, result.coverage);
    // lock-order with no dependency at all has nothing to order: vacuous under --strict, a warning otherwise (vacuityLines).
    const noLockOrder = lockOrder !== undefined && lockOrder.dependencies.length === 0;
    const vacuous = result.verdict === 'holds' && req.strict && (neverCompleted.length > 0 || witnesses.some((w) => !w.found) || noLockOrder);
    const o: RunOutcome = {
      scenario: run.scenario.name,
      spec: run.scenario,
      invariants: run.lockOrder ? [...names, LOCK_ORDER] : names,
      result,
      verdict: vacuous ? 'vacuous' : result.verdict,
      neverCompleted,
      witnesses,
      model,
      checked: built.invariants,
      traces: [],
      factors,
      lockOrder,
    };
    if (req.traces !== false) o.traces = [...minimalTraces(o, req.strategy), ...(lockOrder?.traces ?? [])];
    out.push(o);
  }
  return out;
}

/** The trace of each violation of a run: shortest, then fewest preemptions (a DFS trace shortened first). */
export function minimalTraces(o: RunOutcome, strategy: Strategy): Trace[] {
  const model = o.model;
  return o.result.violations
    .filter((v) => v.invariant !== LOCK_ORDER)
    .map((v) => {
      const inv = v.invariant === 'deadlock' ? deadlockInvariant(model) : o.checked.find((i) => i.name === v.invariant)!;
      const m = minimize(model, inv, v.path, strategy === 'dfs');
      const last = m.path[m.path.length - 1]!.state;
      const message = inv.check(last) ?? v.message;
      const trace = buildTrace(model, { invariant: v.invariant, message, path: m.path }, m.optimal);
      // Who waits for whom where the trace ends (text: the message; JSON: this).
      if (v.invariant === 'deadlock') trace.waitFor = model.waitFor(last);
      return trace;
    });
}

/** Deadlock as a predicate, for trace minimisation: no successor while a thread is mid-operation. */
function deadlockInvariant(model: MMModel): Invariant {
  return {
    name: 'deadlock',
    check(s: Int32Array): string | null {
      let n = 0;
      model.successors(s, () => n++);
      return n === 0 && model.isDeadlock(s) ? model.deadlockMessage(s) : null;
    },
  };
}

/** What takes back a progress line on a terminal (on a pipe each is a line of its own). */
const clear = (io: Io): string => (io.errTTY ? '\r\x1b[K' : '');

function progressPrinter(scenario: string, io: Io): (p: Progress) => void {
  let last = { states: 0, seconds: 0 };
  return (p) => {
    const rate = (p.states - last.states) / Math.max(1e-9, p.seconds - last.seconds);
    last = { states: p.states, seconds: p.seconds };
    const line =
      `${scenario}: level ${p.depth}, ${thousands(p.states)} distinct states, ${thousands(p.transitions)} transitions, ` +
      `frontier ${thousands(p.frontier)}, ${thousands(Math.round(rate))} states/s, ${(p.bytes / 2 ** 20).toFixed(0)} MiB, ${p.seconds.toFixed(0)} s`;
    io.err(io.errTTY ? `${clear(io)}${line}` : `${line}\n`);
  };
}

/** The verdict of several runs: the worst one. */
export function worstVerdict(verdicts: readonly CheckVerdict[]): CheckVerdict {
  for (const v of ['violated', 'deadlock', 'vacuous', 'incomplete', 'holds'] as const) if (verdicts.includes(v)) return v;
  return 'not-applicable';
}

const EXIT_OF: Record<CheckVerdict, number> = {
  holds: EXIT_HOLDS,
  violated: EXIT_VIOLATED,
  deadlock: EXIT_VIOLATED,
  incomplete: EXIT_INCOMPLETE,
  vacuous: EXIT_VACUOUS,
  'not-applicable': EXIT_NOT_APPLICABLE,
};

function statesPerSecond(r: ExploreResult): number {
  return r.seconds > 0 ? Math.round(r.states / r.seconds) : r.states;
}

/** "2 workers", or how many of them started when no level was large enough for the others (checker/parallel.ts SPREAD_AT). */
function workersLine(r: ExploreResult): string {
  const n = `${r.workers} worker${r.workers === 1 ? '' : 's'}`;
  return r.workersStarted < r.workers ? `${r.workersStarted} of ${n} started (no level was large enough for the others)` : n;
}

/** The steps (of those built for this kernel and scenario) that never fired, whatever their outcome. */
function neverTaken(o: RunOutcome): string[] {
  return o.model
    .stepCoverage(o.result.coverage)
    .filter(([, n]) => n === 0)
    .map(([name]) => name);
}

/** The warning lines of a HOLDS that may be vacuous. */
function vacuityLines(o: RunOutcome): string[] {
  if (o.result.verdict !== 'holds') return [];
  const lines: string[] = [];
  const within = o.result.depthBounded ? ` within depth ${o.result.depthReached}` : '';
  if (o.neverCompleted.length) lines.push(`warning: never completed on any path${within}: ${o.neverCompleted.join('; ')}`);
  const threads = o.witnesses.filter((w) => w.kind === 'thread' && !w.found).map((w) => w.name.replace(/^thread (.*) finishes$/, '$1'));
  if (threads.length) lines.push(`warning: never finished on any path${within}: thread${threads.length > 1 ? 's' : ''} ${threads.join(', ')}`);
  for (const w of o.witnesses) if (w.kind !== 'thread' && !w.found) lines.push(`warning: witness not found${within}: ${w.name}`);
  if (o.lockOrder && o.lockOrder.dependencies.length === 0) lines.push(`warning: lock-order: no lock was taken while another was held${within}: there is no order to check`);
  return lines;
}

function runJson(o: RunOutcome, p: Plan, req: CheckRequest) {
  const r = o.result;
  const first = o.traces[0];
  return {
    verdict: o.verdict,
    ...(r.stoppedBy ? { stoppedBy: r.stoppedBy } : {}),
    invariant: first?.invariant ?? o.invariants.join(','),
    invariants: o.invariants,
    kernel: p.variant.version,
    ...(p.variant.modelledAs ? { modelledAs: p.variant.modelledAs } : {}),
    epoch: p.variant.epoch,
    switches: [...p.variant.switches],
    mutants: [...p.variant.mutants],
    scenario: o.scenario,
    strategy: r.strategy,
    depth: r.depthReached,
    depthBound: req.depth ?? null,
    exhaustive: r.verdict === 'holds' && !r.depthBounded,
    states: r.states,
    transitions: r.transitions,
    seconds: Number(r.seconds.toFixed(3)),
    statesPerSecond: statesPerSecond(r),
    workers: r.workers,
    workersStarted: r.workersStarted,
    reductions: r.reductions,
    ampleStates: r.ampleStates,
    bytesPerState: r.states ? Number((r.tableBytes / r.states).toFixed(1)) : null,
    ...(o.factors ? { reductionFactors: reductionFactors(o) } : {}),
    collisionProbability: r.collisionProbability,
    coverage: { steps: o.model.stepCoverage(r.coverage).length, neverTaken: neverTaken(o) },
    strict: req.strict,
    neverCompleted: o.neverCompleted,
    unfinishedThreads: o.witnesses.filter((w) => w.kind === 'thread' && !w.found).map((w) => w.name.replace(/^thread (.*) finishes$/, '$1')),
    witnesses: o.witnesses.map((w) => ({ name: w.name, kind: w.kind, found: w.found, ...(w.depth >= 0 ? { depth: w.depth } : {}) })),
    warnings: [...p.warnings, ...vacuityLines(o)],
    ...(first ? { message: first.message } : {}),
    ...(first?.waitFor ? { waitFor: first.waitFor } : {}),
    ...(first ? { steps: first.steps.length, preemptions: first.preemptions, threadsInvolved: first.threads, operations: first.operations } : {}),
    ...(first
      ? {
          trace: first.steps.map((s) => ({
            step: s.index,
            thread: s.thread,
            operation: s.operation,
            action: s.action,
            kernelFunction: s.kernelFunction,
            notes: s.notes,
            preempted: s.preempted,
            locks: s.locks,
            changes: s.changes.filter((c) => !c.field.startsWith('thread ')),
          })),
        }
      : {}),
    violations: o.traces.map((t) => ({
      invariant: t.invariant,
      message: t.message,
      steps: t.steps.length,
      preemptions: t.preemptions,
      ...(t.lockDependency ? { dependency: t.lockDependency } : {}),
    })),
    ...(o.lockOrder ? { lockOrder: { dependencies: o.lockOrder.dependencies, cycle: o.lockOrder.cycle, ...(o.lockOrder.report ? { report: o.lockOrder.report } : {}) } } : {}),
  };
}

function reductionFactors(o: RunOutcome) {
  const f = o.factors!;
  const x = (a: number, b: number) => Number((a / Math.max(1, b)).toFixed(2));
  return { statesWithout: f.none, symmetry: x(f.none, f.symmetry), por: x(f.none, f.por), both: x(f.none, o.result.states) };
}

function runText(o: RunOutcome, p: Plan, req: CheckRequest): string {
  const r = o.result;
  const lines: string[] = [];
  lines.push(
    `mmcheck: ${o.invariants.join(', ')} on scenario ${o.scenario}, kernel ${describeVariant(p.variant)}, ${r.strategy}` +
      (req.depth !== undefined ? `, depth <= ${req.depth}` : ''),
  );
  const stats =
    `states ${thousands(r.states)}, transitions ${thousands(r.transitions)}, depth ${r.depthReached}, ` + `${r.seconds.toFixed(2)} s, ${thousands(statesPerSecond(r))} states/s`;
  const vacuity = vacuityLines(o);
  switch (o.verdict) {
    case 'holds':
    case 'vacuous':
      lines.push(
        (o.verdict === 'vacuous' ? 'VACUOUS (--strict): it holds, but not everything it is about happened; ' : '') +
          (r.depthBounded
            ? `HOLDS to depth ${req.depth} (bounded: deeper states were not explored)`
            : `HOLDS: every reachable state explored (no new state after depth ${r.depthReached})`),
      );
      break;
    case 'incomplete':
      lines.push(
        r.stoppedBy === 'interrupted'
          ? 'INCOMPLETE: interrupted; no violation found so far'
          : `INCOMPLETE: stopped by ${r.stoppedBy} before the search finished; no violation found so far`,
      );
      break;
    default:
      for (const v of r.violations) {
        const t = o.traces.find((x) => x.invariant === v.invariant);
        lines.push(`VIOLATED ${v.invariant}: ${v.invariant === 'lock-order' ? v.message : (t?.message ?? v.message)}`);
      }
  }
  if (o.lockOrder) lines.push(...lockOrderLines(o.lockOrder));
  lines.push(...vacuity);
  lines.push(`  ${stats}`);
  const red = [r.reductions.symmetry ? 'symmetry (page frames)' : '', r.reductions.por ? `partial-order (ample sets on ${thousands(r.ampleStates)} states)` : '']
    .filter(Boolean)
    .join(', ');
  lines.push(
    `  ${r.strategy === 'bfs' ? workersLine(r) : 'sequential DFS'}; reductions: ${red || 'none'}; ` +
      `tables ${(r.tableBytes / 2 ** 20).toFixed(1)} MiB` +
      (r.states >= 100_000 ? ` (${(r.tableBytes / r.states).toFixed(1)} bytes per state)` : ''),
  );
  if (o.factors) {
    const f = reductionFactors(o);
    lines.push(`  reduction factors: symmetry x${f.symmetry}, partial-order x${f.por}, both x${f.both} (${thousands(f.statesWithout)} states without)`);
  }
  lines.push(`  fingerprint collision probability (optimistic): ${r.collisionProbability.toExponential(1)}`);
  const never = neverTaken(o);
  const steps = o.model.stepCoverage(r.coverage);
  const found = o.witnesses.filter((w) => w.found).length;
  if (o.witnesses.length && o.result.verdict !== 'violated' && o.result.verdict !== 'deadlock')
    lines.push(
      `  witnesses: ${found} of ${o.witnesses.length} found (threads finishing${o.witnesses.some((w) => w.kind !== 'thread') ? ", the scenario's and the invariants'" : ''})`,
    );
  if (req.coverage) {
    lines.push('  coverage (times each step fired):');
    for (const [name, n] of steps) lines.push(`    ${String(n).padStart(8)}  ${name}`);
    for (const w of o.witnesses) lines.push(`    ${w.found ? 'found' : 'NOT FOUND'}  witness: ${w.name}${w.depth >= 0 ? ` (depth ${w.depth})` : ''}`);
  } else if (never.length) {
    lines.push(`  coverage: ${never.length} of ${steps.length} steps never fired (--coverage lists them)`);
  }
  for (const t of o.traces)
    lines.push('', ...(t.lockDependency ? [`Acquisition ${t.part!.replace(/^lock-order-/, '')}: ${t.lockDependency}, a shortest trace to it:`] : []), renderTrace(t, req.color));
  return lines.join('\n');
}

/** The lock order's summary: the dependencies seen and, for a cycle, lockdep's report. */
function lockOrderLines(lo: LockOrderResult): string[] {
  const classes = new Set(lo.dependencies.flatMap((d) => [d.from, d.to]));
  const head = `  lock order: ${lo.dependencies.length} dependenc${lo.dependencies.length === 1 ? 'y' : 'ies'} among ${classes.size} lock classes`;
  if (!lo.cycle) return [`${head}, no cycle (${lo.dependencies.map((d) => `${d.from} -> ${d.to}`).join(', ') || 'none'})`];
  return [`${head}, a cycle:`, '', ...lo.report!.split('\n').map((l) => `  ${l}`)];
}

/** Runs `check`; returns the exit code and the text to print. */
export async function check(req: CheckRequest): Promise<{ code: number; out: string }> {
  let p: Plan;
  try {
    p = plan(req);
  } catch (e) {
    if (e instanceof UsageError) return { code: EXIT_USAGE, out: e.message };
    throw e;
  }
  const outcomes = await execute(p, req);
  const wrote: string[] = [];
  const lost: { file: string; error: string }[] = [];
  if (req.traceOut) {
    const traces = outcomes.flatMap((o) => o.traces.map((t) => ({ t, spec: o.spec })));
    traces.forEach(({ t, spec }, i) => {
      // The first trace goes to FILE; with --continue, each further one to FILE-<invariant>.
      const file = i === 0 ? req.traceOut! : req.traceOut!.replace(/(\.itf)?(\.json)?$/, (ext) => `-${t.part ?? t.invariant}${ext}`);
      const itf = traceToItf(t, { scenario: spec, variant: p.variant, toolVersion: req.toolVersion, invariantFile: invariantSource(t.invariant) });
      try {
        writeFileSync(file, `${JSON.stringify(itf, null, 2)}\n`);
        wrote.push(`wrote the ${t.invariant} trace to ${file}`);
      } catch (e) {
        const error = (e as NodeJS.ErrnoException).code ?? (e as Error).message;
        lost.push({ file, error });
        wrote.push(`error: could not write the ${t.invariant} trace to ${file}: ${error}`);
      }
    });
  }
  if (req.lockGraph) {
    const lo = outcomes.find((o) => o.lockOrder)?.lockOrder;
    if (lo) {
      try {
        writeFileSync(req.lockGraph, lockGraphDot(lo.graph, lo.cycle));
        wrote.push(`wrote the lock dependency graph to ${req.lockGraph}`);
      } catch (e) {
        const error = (e as NodeJS.ErrnoException).code ?? (e as Error).message;
        lost.push({ file: req.lockGraph, error });
        wrote.push(`error: could not write the lock dependency graph to ${req.lockGraph}: ${error}`);
      }
    }
  }
  const verdict = worstVerdict(outcomes.length ? outcomes.map((o) => o.verdict) : ['not-applicable']);
  const code = interruptedCode(req.signal) ?? (lost.length ? EXIT_OUTPUT_LOST : EXIT_OF[verdict]);
  const na = p.notApplicable.map((n) => `${outcomes.length ? 'note: ' : ''}${n.invariant} does not apply: ${n.reason}`);
  if (req.json) {
    const runs = outcomes.map((o) => runJson(o, p, req));
    const extra = { notApplicable: p.notApplicable, ...(lost.length ? { outputLost: lost } : {}) };
    const body =
      runs.length === 1
        ? { ...runs[0]!, ...extra }
        : { verdict, kernel: p.variant.version, ...(p.variant.modelledAs ? { modelledAs: p.variant.modelledAs } : {}), runs, warnings: p.warnings, ...extra };
    return { code, out: JSON.stringify(body, null, 2) };
  }
  const head = outcomes.length ? [] : [`NOT APPLICABLE on kernel ${p.variant.version}: nothing was checked`];
  const text = [...p.warnings, ...head, ...na, ...outcomes.map((o) => runText(o, p, req)), ...(wrote.length ? [wrote.join('\n')] : [])].join('\n\n');
  return { code, out: text };
}

/** 130 after SIGINT (Ctrl-C), 143 after SIGTERM; null when not interrupted. */
export function interruptedCode(signal: AbortSignal | undefined): number | null {
  if (!signal?.aborted) return null;
  return signal.reason === 'SIGTERM' ? EXIT_TERMINATED : EXIT_INTERRUPTED;
}

export { NEWEST_KERNEL };
