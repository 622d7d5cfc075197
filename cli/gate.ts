/**
 * mmcheck gate: the CI invariant gate. A config file lists checks (scenario,
 * kernel versions, invariants, depth, expected verdict); the gate runs every
 * (check, kernel) pair, prints a table, writes JUnit XML and a Markdown
 * summary, saves the trace of every unexpected violation, and fails if any
 * verdict differs from what was expected - a "violated" that now holds is a
 * failure too: the bug moved.
 */
import { createHash } from 'node:crypto';
import { appendFileSync, existsSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { loadInvariantFiles } from '../invariants/invariant-file.js';
import { findInvariant, INVARIANTS, invariantSource } from '../invariants/registry.js';
import { didYouMean, resolveVariant, VariantError } from '../model/variants.js';
import { scenarioKernelProblem } from '../model/scenario.js';
import { type Io, PROCESS_IO } from './io.js';
import { arr, bool, checkJson, InputError, int, obj, opt, readText, req, type Schema, str } from '../model/json-schema.js';
import type { WitnessSpec } from '../model/scenario.js';
import { isScenarioFile, WITNESS } from '../model/scenario-file.js';
import { makeDirs, printable, safeFileName } from './files.js';
import { traceToItf } from '../traces/itf.js';
import { summaryLine } from '../traces/render-text.js';
import {
  type CheckRequest,
  type CheckVerdict,
  execute,
  LOCK_ORDER,
  interruptedCode,
  minimalTraces,
  plan,
  type Plan,
  resolveScenario,
  type RunOutcome,
  worstVerdict,
} from './check.js';
import { EXIT_OUTPUT_LOST, UsageError } from './usage.js';
import { thousands } from './format.js';

const names = (doc: string) => arr(str(doc, { minLength: 1 }), doc, 1);

export const GATE_SCHEMA: Schema = obj(
  {
    description: opt(str('what this gate is for')),
    strict: opt(bool('every check strict: a HOLDS where an operation never completed or a thread never finished fails as "vacuous"')),
    invariantsFiles: opt(arr(str('an invariant file (relative to this config)', { minLength: 1 }), 'invariant files the checks use')),
    checks: req(
      arr(
        obj({
          name: opt(str('what the check is about, e.g. the bug or the fix', { minLength: 1 })),
          scenario: req(str('a built-in scenario or a scenario file (relative to this config)', { minLength: 1 })),
          kernels: req(names('kernel versions, each checked on its own')),
          invariants: req(names('invariants checked together')),
          expect: req(str('the expected verdict', { enum: ['holds', 'violated', 'deadlock'] })),
          depth: opt(int('depth bound (default: none, every reachable state)', 0)),
          strategy: opt(str('search strategy', { enum: ['bfs', 'dfs'] })),
          mutants: opt(names('mutants switched on')),
          patch: opt(names('switches turned on beyond the kernel version')),
          revert: opt(names('switches turned off')),
          maxStates: opt(int('state limit: reaching it makes the result incomplete (a failure)', 1)),
          maxSeconds: opt(int('time limit in seconds: reaching it makes the result incomplete (a failure)', 1, 31_536_000)),
          strict: opt(bool('a HOLDS where an operation never completed or a thread never finished fails as "vacuous"')),
          witnesses: opt(arr(WITNESS, "witnesses this check needs, besides the scenario's: each must be found for a HOLDS to pass")),
        }),
        'the checks',
        1,
      ),
    ),
  },
  'an mmcheck gate config',
);

interface CheckSpec {
  name?: string;
  scenario: string;
  kernels: string[];
  invariants: string[];
  expect: 'holds' | 'violated' | 'deadlock';
  depth?: number;
  strategy?: 'bfs' | 'dfs';
  mutants?: string[];
  patch?: string[];
  revert?: string[];
  maxStates?: number;
  maxSeconds?: number;
  strict?: boolean;
  witnesses?: WitnessSpec[];
}

interface GateConfig {
  description?: string;
  strict?: boolean;
  invariantsFiles?: string[];
  checks: CheckSpec[];
}

export interface GateOptions {
  config: string;
  junit?: string;
  summary?: string;
  jobs?: number;
  traces?: string;
  /** Run only the rows whose label contains this text. */
  only?: string;
  toolVersion: string;
  color: boolean;
  signal?: AbortSignal;
  /** Every check strict (check --strict). */
  strict?: boolean;
  /** Run shard i of n (1-based): a deterministic share of the rows, balanced by their recorded cost. */
  shard?: { i: number; n: number };
  /** Each row's cost in seconds, by label (--costs; default: the config's name with .costs.json, when it exists). */
  costs?: string;
  /** Write each row's cost here after the run (--record-costs). */
  recordCosts?: string;
  /** Write the machine-readable results here (--results), for `mmcheck gate merge`. */
  results?: string;
  /** Where the progress lines go, and the environment ($GITHUB_STEP_SUMMARY); default the process's. */
  io?: Io;
}

/** One (check, kernel) pair. */
interface Row {
  /** Its place among all the config's rows (0-based): names its trace file, orders merged shards. */
  index: number;
  label: string;
  check: CheckSpec;
  path: string;
  kernel: string;
  req: CheckRequest;
  /** Resolved once, before anything runs. */
  plan: Plan;
}

type Got = CheckVerdict | 'interrupted' | 'error';

interface RowResult {
  row: Pick<Row, 'index' | 'label'> & { check: Pick<CheckSpec, 'name' | 'scenario' | 'expect'> };
  got: Got;
  ok: boolean;
  states: number;
  seconds: number;
  detail: string;
  trace?: string;
  /** Why the trace of an unexpected violation could not be written. */
  traceLost?: string;
}

export function readGateConfig(file: string): GateConfig {
  try {
    return checkJson(readText(file, 'gate config'), file, GATE_SCHEMA) as GateConfig;
  } catch (e) {
    if (e instanceof InputError) throw new UsageError(e.message);
    throw e;
  }
}

/** Every row, each resolved now so a bad name fails before anything runs. */
function planRows(cfg: GateConfig, opts: GateOptions): Row[] {
  const base = dirname(resolve(opts.config));
  const rows: Row[] = [];
  cfg.checks.forEach((c, i) => {
    const scenario = isScenarioFile(c.scenario) && !isAbsolute(c.scenario) ? join(base, c.scenario) : c.scenario;
    const at = (path: string, f: () => unknown) => {
      try {
        f();
      } catch (e) {
        if (e instanceof UsageError || e instanceof VariantError) throw new UsageError(`${opts.config}: checks[${i}].${path}: ${e.message}`);
        throw e;
      }
    };
    // Each name where it is written, so the error points at it.
    at('scenario', () => resolveScenario(scenario));
    at('witnesses', () => resolveScenario(scenario, c.witnesses ?? []));
    if ((c.strategy ?? 'bfs') === 'dfs' && c.depth !== undefined && c.depth > 0xffff) {
      throw new UsageError(`${opts.config}: checks[${i}].depth: a dfs check's depth must be at most 65535, got ${c.depth}`);
    }
    c.invariants.forEach((n, j) =>
      at(`invariants[${j}]`, () => {
        if (!findInvariant(n) && n !== LOCK_ORDER) throw new UsageError(`unknown invariant "${n}"${didYouMean(n, [...INVARIANTS.map((x) => x.name), LOCK_ORDER])}`);
      }),
    );
    c.kernels.forEach((k, j) =>
      at(`kernels[${j}]`, () => {
        const why = scenarioKernelProblem(resolveScenario(scenario), resolveVariant({ kernel: k }).version);
        if (why) throw new UsageError(why);
      }),
    );
    at('mutants', () => resolveVariant({ mutants: c.mutants ?? [] }));
    // A patch is checked on each of the row's kernels: some apply to some releases only.
    c.kernels.forEach((kernel) => at('patch', () => resolveVariant({ kernel, patch: c.patch ?? [] })));
    at('revert', () => resolveVariant({ revert: c.revert ?? [] }));
    c.kernels.forEach((kernel, k) => {
      const path = `checks[${i}].kernels[${k}]`;
      const extras = [
        ...(c.mutants ?? []).map((m) => `mutant ${m}`),
        ...(c.patch ?? []).map((p) => `+${p}`),
        ...(c.revert ?? []).map((r) => `-${r}`),
        ...(c.strategy === 'dfs' ? ['dfs'] : []),
        ...(c.depth !== undefined ? [`depth ${c.depth}`] : []),
      ];
      const label = `${c.scenario} ${c.invariants.join(',')} @ ${kernel}${extras.length ? ` (${extras.join(', ')})` : ''}`;
      const req: CheckRequest = {
        invariants: c.invariants,
        scenario,
        kernel,
        patch: c.patch ?? [],
        revert: c.revert ?? [],
        mutants: c.mutants ?? [],
        depth: c.depth,
        strategy: c.strategy ?? 'bfs',
        json: false,
        stopAtFirst: true,
        maxStates: c.maxStates,
        maxSeconds: c.maxSeconds,
        coverage: false,
        color: false,
        toolVersion: opts.toolVersion,
        workers: 1,
        reductions: { symmetry: true, por: true },
        reductionFactor: false,
        progress: false,
        signal: opts.signal,
        traces: false, // built below, only for an unexpected violation
        strict: opts.strict === true || cfg.strict === true || c.strict === true,
        witnesses: c.witnesses,
      };
      let p: Plan;
      try {
        p = plan(req);
      } catch (e) {
        if (e instanceof UsageError) throw new UsageError(`${opts.config}: ${path}: ${e.message}`);
        throw e;
      }
      // A check of nothing is a mistake in the config, not a verdict.
      if (p.runs.length === 0) throw new UsageError(`${opts.config}: ${path}: ${p.notApplicable.map((n) => `${n.invariant} does not apply: ${n.reason}`).join('; ')}`);
      rows.push({ index: rows.length, label, check: c, path, kernel, req, plan: p });
    });
  });
  const only = opts.only;
  return only ? rows.filter((r) => r.label.includes(only) || (r.check.name ?? '').includes(only)) : rows;
}

/**
 * A row's verdict for the gate: the check's, except that a HOLDS whose
 * scenario or invariant witness was not found is "vacuous" even when the
 * check is not strict (a witness says what a HOLDS relies on).
 */
function gateVerdict(o: RunOutcome): CheckVerdict {
  if (o.verdict === 'holds' && o.witnesses.some((w) => w.kind !== 'thread' && !w.found)) return 'vacuous';
  return o.verdict;
}

async function runRow(row: Row, opts: GateOptions, traceDir: string): Promise<RowResult> {
  const index = row.index;
  const t0 = performance.now();
  let outcomes: RunOutcome[];
  try {
    outcomes = await execute(row.plan, row.req);
  } catch (e) {
    if (opts.signal?.aborted) return { row, got: 'interrupted', ok: false, states: 0, seconds: 0, detail: 'interrupted' };
    const msg = e instanceof Error ? e.message : String(e);
    return { row, got: 'error', ok: false, states: 0, seconds: (performance.now() - t0) / 1000, detail: msg.split('\n')[0]! };
  }
  const states = outcomes.reduce((n, o) => n + o.result.states, 0);
  const seconds = outcomes.reduce((n, o) => n + o.result.seconds, 0);
  const got: Got = opts.signal?.aborted ? 'interrupted' : worstVerdict(outcomes.length ? outcomes.map(gateVerdict) : ['not-applicable']);
  const ok = got === row.check.expect;
  const withViolation = outcomes.find((o) => o.result.violations.length);
  const v = withViolation?.result.violations[0];
  // Minimising a trace costs more than finding it: only for a violation that was not expected.
  const t = v && !ok ? minimalTraces(withViolation!, row.req.strategy)[0] : undefined;
  let detail = '';
  if (t) detail = `${t.invariant}: ${t.message} (${summaryLine(t)})`;
  else if (v) detail = `${v.invariant}: ${v.message}${v.path.length ? ` (${v.path.length - 1} steps)` : ''}`;
  else if (got === 'incomplete') detail = `stopped by ${outcomes.find((o) => o.result.verdict === 'incomplete')!.result.stoppedBy}`;
  else if (got === 'vacuous') {
    const o = outcomes.find((x) => gateVerdict(x) === 'vacuous')!;
    const missing = [...o.neverCompleted.map((n) => `never completed: ${n}`), ...o.witnesses.filter((w) => !w.found).map((w) => `not found: ${w.name}`)];
    detail = `holds, but ${missing.join('; ')}`;
  } else if (got === 'not-applicable') detail = row.plan.notApplicable.map((n) => `${n.invariant}: ${n.reason}`).join('; ');
  else if (got === 'holds') detail = outcomes.some((o) => o.result.depthBounded) ? `holds to depth ${row.req.depth}` : 'holds in every reachable state';
  let trace: string | undefined;
  let traceLost: string | undefined;
  if (t && withViolation) {
    // An unexpected violation: keep its trace for `mmcheck trace show|html|replay`, in a file of this row's own.
    const extras = [...row.req.mutants, ...row.req.patch.map((p) => `+${p}`), ...row.req.revert.map((r) => `-${r}`)];
    const name = safeFileName(`${withViolation.scenario}-${row.kernel}-${t.invariant}${extras.length ? `-${extras.join('-')}` : ''}`);
    const file = join(traceDir, `${String(index + 1).padStart(3, '0')}-${name}.itf.json`);
    const itf = traceToItf(t, { scenario: withViolation.spec, variant: row.plan.variant, toolVersion: opts.toolVersion, invariantFile: invariantSource(t.invariant) });
    try {
      makeDirs(traceDir);
      writeFileSync(file, `${JSON.stringify(itf, null, 2)}\n`);
      trace = file;
    } catch (e) {
      traceLost = `could not write its trace to ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`;
    }
  }
  return { row, got, ok, states, seconds, detail, trace, traceLost };
}

/** Runs `jobs` rows at a time; results in config order. */
async function runAll(rows: Row[], opts: GateOptions, traceDir: string, onDone: (r: RowResult) => void): Promise<RowResult[]> {
  const results: RowResult[] = new Array(rows.length);
  let next = 0;
  const jobs = Math.max(1, Math.min(opts.jobs ?? availableParallelism(), rows.length));
  const worker = async () => {
    while (next < rows.length) {
      const i = next++;
      if (opts.signal?.aborted) {
        results[i] = { row: rows[i]!, got: 'interrupted', ok: false, states: 0, seconds: 0, detail: 'not run: interrupted' };
        continue;
      }
      results[i] = await runRow(rows[i]!, opts, traceDir);
      onDone(results[i]!);
    }
  };
  await Promise.all(Array.from({ length: jobs }, worker));
  return results;
}

export async function gate(opts: GateOptions): Promise<{ code: number; out: string }> {
  const cfg = readGateConfig(opts.config);
  const base = dirname(resolve(opts.config));
  await loadInvariantFiles((cfg.invariantsFiles ?? []).map((f) => (isAbsolute(f) ? f : join(base, f))));
  const all = planRows(cfg, opts);
  if (all.length === 0) throw new UsageError(`--only ${opts.only}: no check matches`);
  const rows = opts.shard ? shardRows(all, opts.shard, readCosts(opts)) : all;
  const traceDir = opts.traces ?? 'mmcheck-gate-traces';
  const t0 = performance.now();
  let done = 0;
  const io = opts.io ?? PROCESS_IO;
  const results = await runAll(rows, opts, traceDir, (r) => {
    done++;
    if (io.errTTY) io.err(`\r\x1b[K[${done}/${rows.length}] ${r.ok ? 'ok  ' : 'FAIL'} ${r.row.label}`);
  });
  if (io.errTTY) io.err('\r\x1b[K');
  const wall = (performance.now() - t0) / 1000;
  const lost: string[] = [];
  if (opts.results) {
    const doc: ShardResults = {
      mmcheckGateResults: 1,
      config: opts.config,
      configSha256: configHash(opts.config),
      rows: all.length,
      shard: opts.shard ?? { i: 1, n: 1 },
      wall,
      results: results.map(flatResult),
    };
    writeOrFail(lost, opts.results, `${JSON.stringify(doc, null, 2)}\n`);
  }
  if (opts.recordCosts) writeOrFail(lost, opts.recordCosts, `${JSON.stringify(Object.fromEntries(results.map((r) => [r.row.label, Number(r.seconds.toFixed(3))])), null, 2)}\n`);
  const shardNote = opts.shard ? ` (shard ${opts.shard.i}/${opts.shard.n}: ${rows.length} of ${all.length} rows)` : '';
  return report(results, { ...opts, io }, wall, lost, shardNote);
}

/** The table, counts, JUnit and Markdown of a gate run (or of merged shards), and its exit code. */
function report(
  results: RowResult[],
  // io required: a report that fell back to this process's environment would write another run's step summary.
  opts: Pick<GateOptions, 'config' | 'junit' | 'summary' | 'color' | 'signal'> & { io: Io },
  wall: number,
  lost: string[],
  shardNote = '',
): { code: number; out: string } {
  const failed = results.filter((r) => !r.ok);
  const interrupted = results.some((r) => r.got === 'interrupted');
  const title = `mmcheck gate: ${printable(opts.config)}${shardNote}`;
  const counts = `${results.length - failed.length} of ${results.length} as expected, ${failed.length} different${interrupted ? ' (interrupted)' : ''}; ${wall.toFixed(1)} s`;
  const out = [title, table(results, opts.color), '', counts];
  for (const r of failed) {
    out.push(
      `  ${printable(r.row.label)}: expected ${r.row.check.expect}, got ${r.got}${r.detail ? ` - ${printable(r.detail)}` : ''}${r.trace ? `\n    trace: ${printable(r.trace)}` : ''}`,
    );
  }
  // Every report is written, whatever happened to the others; one that could not be is an error line and exit 6.
  lost.unshift(...results.filter((r) => r.traceLost).map((r) => `error: ${printable(r.row.label)}: ${r.traceLost}`));
  if (opts.junit) writeOrFail(lost, opts.junit, junit(results, opts.config, wall));
  const md = markdown(results, opts.config, counts);
  if (opts.summary) writeOrFail(lost, opts.summary, md);
  const stepSummary = opts.io.env.GITHUB_STEP_SUMMARY;
  if (stepSummary) writeOrFail(lost, stepSummary, md, true);
  out.push(...lost);
  const code = interruptedCode(opts.signal) ?? (failed.length ? 1 : lost.length ? EXIT_OUTPUT_LOST : 0);
  return { code, out: out.join('\n') };
}

/** Writes a report; one that cannot be written is an error line in `lost` (and exit 6), whatever happens to the others. */
function writeOrFail(lost: string[], file: string, text: string, append = false): void {
  try {
    if (append) appendFileSync(file, text);
    else writeFileSync(file, text);
  } catch (e) {
    lost.push(`error: could not write ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

function table(results: RowResult[], color: boolean): string {
  const head = ['', 'CHECK', 'EXPECTED', 'GOT', 'STATES', 'SECONDS'];
  const rows = results.map((r) => [r.ok ? 'ok' : 'FAIL', printable(r.row.label), r.row.check.expect, r.got, thousands(r.states), r.seconds.toFixed(2)]);
  const width = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[], ok = true) => {
    const text = cells
      .map((c, i) => (i >= 4 ? c.padStart(width[i]!) : c.padEnd(width[i]!)))
      .join('  ')
      .trimEnd();
    return color && !ok ? `\x1b[31m${text}\x1b[0m` : text;
  };
  return [line(head), ...rows.map((r, i) => line(r, results[i]!.ok))].join('\n');
}

/** Text as XML 1.0 character data: markup escaped, and the control characters XML cannot hold shown as escapes. */
function xml(s: string): string {
  // eslint-disable-next-line no-control-regex
  const clean = s.replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f\ufffe\uffff]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
  return clean.replace(/[<>&"']/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[c]!);
}

function junit(results: RowResult[], config: string, wall: number): string {
  const failures = results.filter((r) => !r.ok && r.got !== 'error').length;
  const errors = results.filter((r) => r.got === 'error').length;
  const cases = results.map((r) => {
    const name = xml(`${r.row.check.name ? `${r.row.check.name}: ` : ''}${r.row.label}`);
    const head = `    <testcase classname="mmcheck.${xml(r.row.check.scenario)}" name="${name}" time="${r.seconds.toFixed(3)}">`;
    if (r.ok) return `${head}\n      <system-out>${xml(`${r.got}: ${thousands(r.states)} states. ${r.detail}`)}</system-out>\n    </testcase>`;
    const tag = r.got === 'error' ? 'error' : 'failure';
    const body = `${r.detail}${r.trace ? `\ntrace: ${r.trace}` : ''}`;
    return `${head}\n      <${tag} message="${xml(`expected ${r.row.check.expect}, got ${r.got}`)}" type="${r.got}">${xml(body)}</${tag}>\n    </testcase>`;
  });
  return (
    `<?xml version="1.0" encoding="UTF-8"?>\n` +
    `<testsuites name="mmcheck gate" tests="${results.length}" failures="${failures}" errors="${errors}" time="${wall.toFixed(3)}">\n` +
    `  <testsuite name="${xml(config)}" tests="${results.length}" failures="${failures}" errors="${errors}" time="${wall.toFixed(3)}">\n` +
    `${cases.join('\n')}\n  </testsuite>\n</testsuites>\n`
  );
}

function markdown(results: RowResult[], config: string, counts: string): string {
  const failed = results.filter((r) => !r.ok);
  const cell = (s: string) => printable(s).replace(/\|/g, '\\|');
  const lines = [
    `## mmcheck gate: ${failed.length ? `${failed.length} verdict${failed.length === 1 ? '' : 's'} changed` : 'every verdict as expected'}`,
    '',
    `\`${config}\`: ${counts}`,
    '',
  ];
  if (failed.length) {
    lines.push('| check | expected | got | what happened | trace |', '|---|---|---|---|---|');
    for (const r of failed) lines.push(`| ${cell(r.row.label)} | ${r.row.check.expect} | **${r.got}** | ${cell(r.detail)} | ${r.trace ? `\`${r.trace}\`` : ''} |`);
    lines.push('');
  }
  lines.push('<details><summary>all checks</summary>', '', '| | check | expected | got | states | seconds |', '|---|---|---|---|---:|---:|');
  for (const r of results) lines.push(`| ${r.ok ? '✅' : '❌'} | ${cell(r.row.label)} | ${r.row.check.expect} | ${r.got} | ${thousands(r.states)} | ${r.seconds.toFixed(2)} |`);
  lines.push('', '</details>', '');
  return lines.join('\n');
}

// ---- shards ----------------------------------------------------------------------------------

/** The results file of a gate run or shard: what `mmcheck gate merge` reads. */
interface ShardResults {
  mmcheckGateResults: 1;
  config: string;
  configSha256: string;
  /** Rows in the whole config (all shards). */
  rows: number;
  shard: { i: number; n: number };
  wall: number;
  results: FlatResult[];
}

type FlatResult = Omit<RowResult, 'row'> & { index: number; label: string; name?: string; scenario: string; expect: CheckSpec['expect'] };

function flatResult(r: RowResult): FlatResult {
  const { row, ...rest } = r;
  return { index: row.index, label: row.label, ...(row.check.name ? { name: row.check.name } : {}), scenario: row.check.scenario, expect: row.check.expect, ...rest };
}

function configHash(file: string): string {
  return createHash('sha256').update(readText(file, 'gate config')).digest('hex');
}

/** "i/N" with 1 <= i <= N. */
export function parseShard(text: string): { i: number; n: number } {
  const m = /^(\d{1,4})\/(\d{1,4})$/.exec(text.trim());
  const i = Number(m?.[1]);
  const n = Number(m?.[2]);
  if (!m || n < 1 || i < 1 || i > n) throw new UsageError(`--shard must be i/N with 1 <= i <= N, e.g. 2/3; got "${text}"`);
  return { i, n };
}

/** Each row's recorded cost (seconds), from --costs or the config's own .costs.json; {} when there is none. */
function readCosts(opts: GateOptions): Record<string, number> {
  const file = opts.costs ?? opts.config.replace(/(\.json)?$/, '.costs.json');
  if (opts.costs === undefined && !existsSync(file)) return {};
  try {
    return checkJson(readText(file, 'gate costs'), file) as Record<string, number>;
  } catch (e) {
    if (e instanceof InputError) throw new UsageError(e.message);
    throw e;
  }
}

/**
 * Shard i of n: the rows, costliest first (ties in config order), each given
 * to the shard with the least cost so far (the first such): the same rows
 * on every machine. A row without a recorded cost counts as the median of
 * those recorded (1 s when none is).
 */
export function shardRows<R extends { index: number; label: string }>(rows: R[], shard: { i: number; n: number }, costs: Record<string, number>): R[] {
  const known = Object.values(costs)
    .filter((x) => typeof x === 'number' && x >= 0)
    .sort((a, b) => a - b);
  const fallback = known.length ? known[Math.floor(known.length / 2)]! : 1;
  const cost = (r: R) => (typeof costs[r.label] === 'number' ? costs[r.label]! : fallback);
  const order = [...rows].sort((a, b) => cost(b) - cost(a) || a.index - b.index);
  const load = new Array<number>(shard.n).fill(0);
  const mine: R[] = [];
  for (const r of order) {
    let k = 0;
    for (let j = 1; j < shard.n; j++) if (load[j]! < load[k]!) k = j;
    load[k]! += cost(r);
    if (k === shard.i - 1) mine.push(r);
  }
  return mine.sort((a, b) => a.index - b.index);
}

/** `mmcheck gate merge RESULTS...`: the shards' results as one run's report (table, counts, JUnit, Markdown). */
export function gateMerge(files: string[], opts: { junit?: string; summary?: string; color: boolean; io: Io }): { code: number; out: string } {
  if (files.length === 0) throw new UsageError('gate merge needs the results files of the shards (gate --results FILE)');
  const docs = files.map((f) => {
    let d: ShardResults;
    try {
      d = checkJson(readText(f, 'gate results'), f) as ShardResults;
    } catch (e) {
      if (e instanceof InputError) throw new UsageError(e.message);
      throw e;
    }
    if (d?.mmcheckGateResults !== 1 || !Array.isArray(d.results)) throw new UsageError(`${f}: not a results file of mmcheck gate --results`);
    return { f, d };
  });
  const first = docs[0]!.d;
  for (const { f, d } of docs) {
    if (d.configSha256 !== first.configSha256 || d.rows !== first.rows || d.shard.n !== first.shard.n)
      throw new UsageError(`${f}: its shard is of another gate run (config ${d.config}, ${d.rows} rows, ${d.shard.n} shards) than ${docs[0]!.f}`);
  }
  const seen = new Map<number, string>();
  const results: RowResult[] = [];
  for (const { f, d } of docs)
    for (const x of d.results) {
      if (seen.has(x.index)) throw new UsageError(`${f}: row ${x.index + 1} (${x.label}) is also in ${seen.get(x.index)}`);
      seen.set(x.index, f);
      const { index, label, name, scenario, expect, ...rest } = x;
      results.push({ row: { index, label, check: { name, scenario, expect } }, ...rest });
    }
  const shards = new Set(docs.map(({ d }) => d.shard.i));
  const missing = Array.from({ length: first.shard.n }, (_, k) => k + 1).filter((k) => !shards.has(k));
  if (missing.length || results.length !== first.rows)
    throw new UsageError(
      `gate merge: ${results.length} of ${first.rows} rows${missing.length ? `; shard${missing.length > 1 ? 's' : ''} ${missing.map((k) => `${k}/${first.shard.n}`).join(', ')} missing` : ''}`,
    );
  results.sort((a, b) => a.row.index - b.row.index);
  const wall = Math.max(...docs.map(({ d }) => d.wall));
  return report(results, { config: first.config, junit: opts.junit, summary: opts.summary, color: opts.color, io: opts.io }, wall, []);
}
