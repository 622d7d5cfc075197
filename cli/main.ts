/**
 * The mmcheck command: a thin layer over the checker, model, invariants and
 * traces. Bad usage prints one line and exits 2; every subcommand has --help.
 * A command imports what it runs when it runs: most of mmcheck's start is the
 * import of the model (about 0.2 s), which help, version and usage errors
 * need not pay, nor one command another's (the explore server, the gate).
 */
import { readFileSync } from 'node:fs';
import { RELEASES } from '../model/releases.js';
import { LISTS } from './list-names.js';
import { defaultMemoryCap } from '../checker/memory.js';
import { EXIT_INTERRUPTED, EXIT_OUTPUT_LOST, EXIT_TERMINATED, EXIT_USAGE, intFlag, listFlag, numberFlag, sizeFlag, UsageError } from './usage.js';
import { didYouMean, NEWEST_KERNEL } from '../model/variants.js';
import { type CommandSpec, commandHelp, flag, list, parseCommand, str, usageLine } from './options.js';
import { type Io, PROCESS_IO } from './io.js';

const INVARIANTS_FILE = { name: 'invariants-file', arg: 'FILE.mjs', multiple: true, help: 'load your own invariants from this ES module (repeatable)' };
const NO_COLOR = { name: 'no-color', help: 'no colour, even on a terminal (NO_COLOR does the same)' };

export const CHECK: CommandSpec = {
  name: 'check',
  summary: "Explores every interleaving of the scenario's threads on one kernel and checks the invariants (default: all, each on its own default scenario).",
  options: [
    { name: 'invariant', short: 'i', arg: 'NAME[,NAME...]', multiple: true, help: 'the invariants to check (mmcheck list invariants)' },
    { name: 'scenario', short: 's', arg: 'NAME|FILE.json', help: 'a built-in scenario (mmcheck list scenarios) or a scenario file' },
    { name: 'kernel', short: 'k', arg: 'VERSION', help: `the kernel release, e.g. 5.18, 6.1.20 (default ${NEWEST_KERNEL}, the newest modelled)` },
    { name: 'depth', short: 'd', arg: 'N', help: 'explore at most N steps (default: until no new state appears)' },
    { name: 'strategy', arg: 'bfs|dfs', help: 'breadth-first (default; parallel, shortest traces) or depth-first' },
    {
      name: 'workers',
      short: 'j',
      arg: 'N',
      help: 'BFS worker threads, 1 to 64 (default: the number of cores, the second and later started once a level is large); results do not depend on it',
    },
    { name: 'mutant', arg: 'NAME', multiple: true, help: 'add a deliberately wrong kernel behaviour (mmcheck list mutants)' },
    { name: 'patch', arg: 'SWITCH', multiple: true, help: 'turn a switch on (mmcheck list switches)' },
    { name: 'revert', arg: 'SWITCH', multiple: true, help: 'turn a switch off' },
    { name: 'continue', help: "don't stop at the first violation: report each invariant's first" },
    { name: 'strict', help: 'a HOLDS where an operation never completed, a thread never finished or a witness was not found is VACUOUS (exit 4)' },
    { name: 'max-states', arg: 'N', help: 'stop after N distinct states (the result is INCOMPLETE, exit 3)' },
    { name: 'max-seconds', arg: 'S', help: 'stop after S seconds (INCOMPLETE)' },
    { name: 'max-memory', arg: 'SIZE', help: "stop when the process uses SIZE of memory, e.g. 512M, 2G (INCOMPLETE; default: most of the machine's memory)" },
    { name: 'no-symmetry', help: 'turn off the symmetry reduction over page frames' },
    { name: 'no-por', help: 'turn off the partial-order reduction' },
    { name: 'reduction-factor', help: 'also run without each reduction and print what each saves' },
    { name: 'trace-out', arg: 'FILE', help: 'write the counterexample as an ITF trace file' },
    { name: 'lock-graph', arg: 'FILE', help: 'with --invariant lock-order: write the lock dependency graph (Graphviz .dot)' },
    { name: 'json', help: 'print one JSON object instead of text' },
    { name: 'coverage', help: 'list how often each step fired, and each witness' },
    NO_COLOR,
    { name: 'quiet', short: 'q', help: 'no progress lines' },
    { name: 'progress', help: 'a progress line a second on stderr (the default on a terminal)' },
    INVARIANTS_FILE,
  ],
  details:
    'Exit codes: 0 holds, 1 violated or deadlock, 2 bad usage or input, 3 incomplete (a limit),\n' +
    '4 vacuous (--strict), 5 not applicable, 6 an output could not be written, 130 SIGINT, 143 SIGTERM.',
};

export const GATE: CommandSpec = {
  name: 'gate',
  summary: 'Runs every check of a gate config on each of its kernels and fails if any verdict differs from the expected one.',
  options: [
    { name: 'config', short: 'c', arg: 'FILE', help: 'the gate config (default mmcheck.gate.json; mmcheck schema gate)' },
    { name: 'junit', arg: 'FILE', help: 'write JUnit XML' },
    { name: 'summary', arg: 'FILE', help: 'write a Markdown summary (also appended to $GITHUB_STEP_SUMMARY)' },
    { name: 'jobs', short: 'j', arg: 'N', help: 'checks run at a time (default: one per core)' },
    { name: 'traces', arg: 'DIR', help: 'where the traces of unexpected violations go (default mmcheck-gate-traces)' },
    { name: 'only', arg: 'TEXT', help: 'run only the checks whose label or name contains TEXT' },
    { name: 'strict', help: 'every check as with check --strict' },
    { name: 'shard', arg: 'i/N', help: "run shard i of N: a deterministic share of the rows, balanced by their recorded cost (merge the shards' --results with gate merge)" },
    { name: 'costs', arg: 'FILE', help: "each row's cost in seconds, by label (default: the config's name with .costs.json, when it exists)" },
    { name: 'record-costs', arg: 'FILE', help: "write each row's cost in seconds after the run (for --costs)" },
    { name: 'results', arg: 'FILE', help: 'write the results as JSON, for gate merge' },
    NO_COLOR,
    INVARIANTS_FILE,
  ],
  details: 'Exit codes: 0 every verdict as expected, 1 some differ, 2 a bad config, 6 a report could not be written, 130/143 interrupted.',
};

export const GATE_MERGE: CommandSpec = {
  name: 'gate merge',
  summary: "Combines the --results files of a sharded gate's shards into the one table, JUnit and summary an unsharded run gives.",
  positionals: 'RESULTS...',
  options: [
    { name: 'junit', arg: 'FILE', help: 'write JUnit XML' },
    { name: 'summary', arg: 'FILE', help: 'write a Markdown summary (also appended to $GITHUB_STEP_SUMMARY)' },
    NO_COLOR,
  ],
  details: 'Exit codes: 0 every verdict as expected, 1 some differ, 2 bad or incomplete results, 6 a report could not be written.',
};

export const LIST: CommandSpec = {
  name: 'list',
  summary: `Lists what can be named: ${LISTS.join(', ')}.`,
  positionals: LISTS.join('|'),
  options: [{ name: 'json', help: 'as JSON' }, INVARIANTS_FILE],
};

export const SCHEMA: CommandSpec = {
  name: 'schema',
  summary: 'Prints the JSON Schema of scenario files or gate configs (for editors).',
  positionals: 'scenario|gate',
  options: [],
};

export const TRACE_REPLAY: CommandSpec = {
  name: 'trace replay',
  summary: 'Re-runs a trace file on the model and checks every step, state and label; exit 0 when it reproduces, 1 where it diverges.',
  positionals: 'FILE',
  options: [{ ...INVARIANTS_FILE, help: 'the invariant file a trace of a user invariant needs (checked against the hash the trace records)' }],
};

export const TRACE_SHOW: CommandSpec = {
  name: 'trace show',
  summary: 'Prints a trace file step by step: thread, kernel function, what it decided, what changed, the locks each thread holds.',
  positionals: 'FILE',
  options: [{ name: 'step', arg: 'K', help: 'only step K' }, { name: 'full', help: 'every field of the state after each step, not only what changed' }, NO_COLOR],
};

export const TRACE_HTML: CommandSpec = {
  name: 'trace html',
  summary: 'Writes a trace file as one self-contained HTML page that draws each step.',
  positionals: 'FILE',
  options: [{ name: 'out', short: 'o', arg: 'OUT.html', help: 'the page to write (required)' }],
};

export const TRACE_REPRODUCER: CommandSpec = {
  name: 'trace reproducer',
  summary:
    "Writes a trace as a C program that performs its operations in the trace's order on the running kernel (mmap, fork, write, vmsplice, madvise, mprotect, munmap, exit; pipes order the processes) and reads what the invariant's break would show; exit 5 with the reason when user space cannot order the trace (a race inside a kernel function, kswapd, migration).",
  positionals: 'FILE',
  options: [{ name: 'out', short: 'o', arg: 'OUT.c', help: 'the C file to write (required)' }],
};

export const EXPLORE: CommandSpec = {
  name: 'explore',
  summary:
    "Serves an interactive explorer on a local web page: from a scenario's initial state (or a trace file's path), take any thread's enabled step, step back, branch off at any step, see every invariant on the state shown, search its fields. Ctrl-C stops it.",
  options: [
    // The scenario and the kernel are named as for check.
    ...['scenario', 'kernel', 'patch', 'revert', 'mutant'].map((n) => CHECK.options.find((o) => o.name === n)!),
    { name: 'trace', arg: 'FILE', help: "start from a trace file's path (its scenario and kernel)" },
    { name: 'host', arg: 'ADDR', help: 'the address to listen on (default 127.0.0.1: this machine only)' },
    { name: 'port', short: 'p', arg: 'N', help: 'the port (default 7433; 0: any free port)' },
  ],
};

const HISTORY_OPTIONS = [
  { name: 'scenario', short: 's', arg: 'NAME|FILE.json', help: 'a built-in scenario (mmcheck list scenarios) or a scenario file (required)' },
  { name: 'kernels', arg: 'A..B', help: `the releases, oldest first (default 4.4..${RELEASES[RELEASES.length - 1]!.version}: every release known)` },
  { name: 'depth', short: 'd', arg: 'N', help: 'explore at most N steps (default: until no new state appears)' },
  { name: 'patch', arg: 'SWITCH', multiple: true, help: 'turn a switch on' },
  { name: 'revert', arg: 'SWITCH', multiple: true, help: 'turn a switch off' },
  { name: 'mutant', arg: 'NAME', multiple: true, help: 'add a deliberately wrong kernel behaviour' },
  { name: 'jobs', short: 'j', arg: 'N', help: 'runs at a time (default 1; each run uses --workers threads)' },
  { name: 'workers', arg: 'N', help: "BFS worker threads per run (default: the machine's cores / --jobs)" },
  { name: 'strict', help: 'a HOLDS where something the scenario is about never happened is VACUOUS' },
  { name: 'max-seconds', arg: 'S', help: 'stop each run after S seconds (its verdict is INCOMPLETE)' },
  { name: 'cache', arg: 'DIR', help: 'where runs are kept between invocations (default $MMCHECK_CACHE, else ~/.cache/mmcheck)' },
  { name: 'no-cache', help: 'neither read nor write the cache' },
  { name: 'shard', arg: 'i/N', help: 'check only shard i of N of the releases, into the cache (a shared --cache DIR); then run without --shard to assemble' },
  { name: 'json', help: 'print one JSON object instead of text' },
  INVARIANTS_FILE,
];

export const MATRIX: CommandSpec = {
  name: 'matrix',
  summary:
    'The verdict of one scenario on every release of a range, per invariant; with --patch/--revert/--mutant, a second strip with those changes on every release. Releases that agree on every switch a run consulted share that run.',
  options: [
    { name: 'invariant', short: 'i', arg: 'NAME[,NAME...]', multiple: true, help: 'the invariants (required): a strip each' },
    ...HISTORY_OPTIONS,
    { name: 'markdown', help: 'print a Markdown table instead of text' },
    { name: 'html', arg: 'FILE.html', help: "also write a self-contained page: a strip per invariant, each release linking to its run's trace" },
  ],
  details: 'Exit codes: 0 the matrix is complete, 2 bad usage, 3 a run stopped at a limit (INCOMPLETE), 6 an output could not be written, 130/143 interrupted.',
};

export const BISECT: CommandSpec = {
  name: 'bisect',
  summary:
    'Every release boundary where the verdict flips, and the smallest subset of the switches that differ there which flips it on its own (named by commit); with --kernel and --patch/--revert/--mutant, which of those changes flip that release.',
  options: [
    { name: 'invariant', short: 'i', arg: 'NAME', help: 'the invariant (required)' },
    { name: 'good', arg: 'VERSION', help: 'a release where it holds (with --bad: bisect between the two)' },
    { name: 'bad', arg: 'VERSION', help: 'a release where it is violated' },
    { name: 'kernel', short: 'k', arg: 'VERSION', help: 'bisect the --patch/--revert/--mutant changes on this release instead of the releases' },
    ...HISTORY_OPTIONS,
  ],
  details:
    'Exit codes: 0 a flip found (and --good/--bad as said), 1 none found (or --good/--bad wrong), 2 bad usage, 3 a run stopped at a limit, 6 the cache could not be written.',
};

export const TRACE_DIFF: CommandSpec = {
  name: 'trace diff',
  summary:
    "Replays a trace file's interleaving (the same thread and operation choices) on another kernel and shows where the two first decide differently, and whether the invariant still breaks.",
  positionals: 'FILE',
  options: [
    { name: 'kernel', short: 'k', arg: 'VERSION', help: "the other release (default: the trace's own, with --patch/--revert/--mutant)" },
    { name: 'patch', arg: 'SWITCH', multiple: true, help: 'turn a switch on' },
    { name: 'revert', arg: 'SWITCH', multiple: true, help: 'turn a switch off' },
    { name: 'mutant', arg: 'NAME', multiple: true, help: 'add a deliberately wrong kernel behaviour' },
    { name: 'html', arg: 'OUT.html', help: 'also write the two side by side as one self-contained page' },
    { name: 'json', help: 'print one JSON object instead of text' },
  ],
};

const TRACE_SUBS = [TRACE_REPLAY, TRACE_SHOW, TRACE_HTML, TRACE_DIFF, TRACE_REPRODUCER];
const SPECS = [CHECK, GATE, GATE_MERGE, MATRIX, BISECT, LIST, SCHEMA, EXPLORE, ...TRACE_SUBS];
const COMMANDS = ['check', 'gate', 'matrix', 'bisect', 'list', 'trace', 'explore', 'schema', 'help', 'version'];

const HELP = `mmcheck: an explicit-state model checker for Linux memory-management invariants

usage:
${SPECS.map((c) => `  ${usageLine(c)}`).join('\n')}
  mmcheck help [COMMAND]
  mmcheck version

${CHECK.details}

mmcheck help COMMAND (or mmcheck COMMAND --help) lists a command's options.`;

export function toolVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
    return pkg.version;
  } catch {
    return 'unknown';
  }
}

function helpOf(words: string[]): { code: number; out: string } {
  const name = words.join(' ');
  const spec = SPECS.find((c) => c.name === name);
  if (spec) return { code: 0, out: commandHelp(spec) };
  if (name === 'trace') return { code: 0, out: TRACE_SUBS.map(commandHelp).join('\n\n') };
  if (name === '') return { code: 0, out: HELP };
  throw new UsageError(
    `help: no command "${name}"${didYouMean(
      name,
      SPECS.map((c) => c.name),
    )}; commands: ${COMMANDS.join(', ')}`,
  );
}

/** Loads users' invariant files (the registry, and with it the model, only when there are some). */
async function loadFiles(files: string[]): Promise<string[]> {
  if (!files.length) return [];
  const { loadInvariantFiles } = await import('../invariants/invariant-file.js');
  return loadInvariantFiles(files);
}

const colorOn = (p: { values: Record<string, unknown> }, io: Io, json = false): boolean => p.values['no-color'] !== true && !json && io.outTTY && !io.env.NO_COLOR;

/** The command's exit code and what it prints at the end (on stderr for exit 2); what it prints as it goes goes to `io`. */
export async function main(argv: string[], signal?: AbortSignal, io: Io = PROCESS_IO): Promise<{ code: number; out: string }> {
  const [command, ...rest] = argv;
  switch (command) {
    case undefined:
      return { code: EXIT_USAGE, out: HELP };
    case 'help':
    case '--help':
    case '-h':
      return helpOf(rest);
    case 'version':
    case '--version':
      return { code: 0, out: `mmcheck ${toolVersion()}` };
    case 'list': {
      const p = parseCommand(LIST, rest);
      if (p.help) return { code: 0, out: commandHelp(LIST) };
      if (p.positionals.length > 1) throw new UsageError(`list takes one of: ${LISTS.join(', ')}`);
      await loadFiles(listFlag(list(p, 'invariants-file')));
      const { list: listCmd } = await import('./list.js');
      return { code: 0, out: listCmd(p.positionals[0], flag(p, 'json')) };
    }
    case 'trace': {
      const [sub, ...more] = rest;
      if (sub === undefined || sub === '--help' || sub === '-h') return helpOf(['trace']);
      const spec = TRACE_SUBS.find((c) => c.name === `trace ${sub}`);
      if (!spec) throw new UsageError(`trace "${sub}"${didYouMean(sub, ['replay', 'show', 'html', 'diff', 'reproducer'])}; one of: replay, show, html, diff, reproducer`);
      const p = parseCommand(spec, more);
      if (p.help) return { code: 0, out: commandHelp(spec) };
      if (p.positionals.length !== 1) throw new UsageError(`trace ${sub} needs one trace file (${usageLine(spec)})`);
      const file = p.positionals[0]!;
      const { traceDiff, traceHtml, traceReplay, traceReproducer, traceShow } = await import('./trace.js');
      switch (sub) {
        case 'replay':
          return await traceReplay(file, listFlag(list(p, 'invariants-file')));
        case 'show':
          return traceShow(file, intFlag('step', str(p, 'step'), 1), flag(p, 'full'), colorOn(p, io));
        case 'diff':
          return traceDiff(
            file,
            { kernel: str(p, 'kernel'), patch: listFlag(list(p, 'patch')), revert: listFlag(list(p, 'revert')), mutants: listFlag(list(p, 'mutant')) },
            { json: flag(p, 'json'), html: str(p, 'html') },
          );
        case 'reproducer':
          return traceReproducer(file, str(p, 'out'));
        default:
          return traceHtml(file, str(p, 'out'));
      }
    }
    case 'gate': {
      const { gate, gateMerge, parseShard } = await import('./gate.js');
      if (rest[0] === 'merge') {
        const p = parseCommand(GATE_MERGE, rest.slice(1));
        if (p.help) return { code: 0, out: commandHelp(GATE_MERGE) };
        return gateMerge(p.positionals, { junit: str(p, 'junit'), summary: str(p, 'summary'), color: colorOn(p, io), io });
      }
      const p = parseCommand(GATE, rest);
      if (p.help) return { code: 0, out: commandHelp(GATE) };
      if (p.positionals.length) throw new UsageError(`gate takes no positional arguments, got "${p.positionals[0]}" (use --config FILE)`);
      await loadFiles(listFlag(list(p, 'invariants-file')));
      return await gate({
        config: str(p, 'config') ?? 'mmcheck.gate.json',
        junit: str(p, 'junit'),
        summary: str(p, 'summary'),
        jobs: intFlag('jobs', str(p, 'jobs'), 1, 64),
        traces: str(p, 'traces'),
        only: str(p, 'only'),
        strict: flag(p, 'strict'),
        toolVersion: toolVersion(),
        color: colorOn(p, io),
        io,
        signal,
        shard: str(p, 'shard') === undefined ? undefined : parseShard(str(p, 'shard')!),
        costs: str(p, 'costs'),
        recordCosts: str(p, 'record-costs'),
        results: str(p, 'results'),
      });
    }
    case 'schema': {
      const p = parseCommand(SCHEMA, rest);
      if (p.help) return { code: 0, out: commandHelp(SCHEMA) };
      const [what, ...more] = p.positionals;
      if (more.length) throw new UsageError('schema takes one of: scenario, gate');
      const { jsonSchemaDocument } = await import('../model/json-schema.js');
      if (what === 'scenario') {
        const { SCENARIO_SCHEMA } = await import('../model/scenario-file.js');
        return { code: 0, out: JSON.stringify(jsonSchemaDocument('mmcheck scenario', SCENARIO_SCHEMA), null, 2) };
      }
      if (what === 'gate') {
        const { GATE_SCHEMA } = await import('./gate.js');
        return { code: 0, out: JSON.stringify(jsonSchemaDocument('mmcheck gate config', GATE_SCHEMA), null, 2) };
      }
      throw new UsageError(`schema ${what === undefined ? 'of what?' : `"${what}"${didYouMean(what, ['scenario', 'gate'])}`}; one of: scenario, gate`);
    }
    case 'matrix':
    case 'bisect': {
      const spec = command === 'matrix' ? MATRIX : BISECT;
      const p = parseCommand(spec, rest);
      if (p.help) return { code: 0, out: commandHelp(spec) };
      if (p.positionals.length) throw new UsageError(`${command} takes no positional arguments, got "${p.positionals[0]}"`);
      await loadFiles(listFlag(list(p, 'invariants-file')));
      const scenario = str(p, 'scenario');
      if (scenario === undefined) throw new UsageError(`${command} needs --scenario`);
      const invariants = listFlag(list(p, 'invariant'));
      if (!invariants.length) throw new UsageError(`${command} needs --invariant`);
      if (command === 'bisect' && invariants.length > 1) throw new UsageError('bisect takes one --invariant');
      const jobs = intFlag('jobs', str(p, 'jobs'), 1, 64) ?? 1;
      const [{ defaultWorkers }, { defaultCacheDir }, { parseShard }] = await Promise.all([import('../checker/parallel.js'), import('./history.js'), import('./gate.js')]);
      const common = {
        scenario,
        kernels: str(p, 'kernels'),
        depth: intFlag('depth', str(p, 'depth'), 0, 1_000_000),
        patch: listFlag(list(p, 'patch')),
        revert: listFlag(list(p, 'revert')),
        mutants: listFlag(list(p, 'mutant')),
        jobs,
        workers: intFlag('workers', str(p, 'workers'), 1, 64) ?? Math.max(1, Math.floor(defaultWorkers() / jobs)),
        strict: flag(p, 'strict'),
        maxSeconds: numberFlag('max-seconds', str(p, 'max-seconds')),
        maxMemory: defaultMemoryCap(),
        cacheDir: flag(p, 'no-cache') ? null : (str(p, 'cache') ?? defaultCacheDir(io.env)),
        toolVersion: toolVersion(),
        signal,
        shard: str(p, 'shard') === undefined ? undefined : parseShard(str(p, 'shard')!),
      };
      if (flag(p, 'no-cache') && str(p, 'cache') !== undefined) throw new UsageError('--cache and --no-cache contradict each other');
      if (command === 'matrix') {
        if (flag(p, 'json') && flag(p, 'markdown')) throw new UsageError('--json and --markdown contradict each other');
        const { matrix } = await import('./matrix.js');
        return await matrix({ ...common, invariants, format: flag(p, 'json') ? 'json' : flag(p, 'markdown') ? 'markdown' : 'text', html: str(p, 'html') });
      }
      const { bisect } = await import('./bisect.js');
      return await bisect({ ...common, invariant: invariants[0]!, good: str(p, 'good'), bad: str(p, 'bad'), kernel: str(p, 'kernel'), json: flag(p, 'json') });
    }
    case 'explore': {
      const p = parseCommand(EXPLORE, rest);
      if (p.help) return { code: 0, out: commandHelp(EXPLORE) };
      if (p.positionals.length) throw new UsageError(`explore takes no positional arguments, got "${p.positionals[0]}"`);
      const { explore } = await import('./explore.js');
      return await explore(
        {
          scenario: str(p, 'scenario'),
          kernel: str(p, 'kernel'),
          patch: listFlag(list(p, 'patch')),
          revert: listFlag(list(p, 'revert')),
          mutants: listFlag(list(p, 'mutant')),
          trace: str(p, 'trace'),
          host: str(p, 'host') ?? '127.0.0.1',
          port: intFlag('port', str(p, 'port'), 0, 65535) ?? 7433,
        },
        (url) => io.out(`mmcheck explore: ${url} (Ctrl-C stops)\n`),
        signal,
      );
    }
    case 'check': {
      const p = parseCommand(CHECK, rest);
      if (p.help) return { code: 0, out: commandHelp(CHECK) };
      if (p.positionals.length) throw new UsageError(`check takes no positional arguments, got "${p.positionals[0]}"`);
      const strategy = str(p, 'strategy') ?? 'bfs';
      if (strategy !== 'bfs' && strategy !== 'dfs') throw new UsageError(`--strategy must be bfs or dfs, got "${strategy}"${didYouMean(strategy, ['bfs', 'dfs'])}`);
      const depth = intFlag('depth', str(p, 'depth'), 0, strategy === 'dfs' ? 0xffff : 1_000_000);
      const json = flag(p, 'json');
      if (flag(p, 'quiet') && flag(p, 'progress')) throw new UsageError('--quiet and --progress contradict each other');
      const [{ defaultWorkers }, { check }] = await Promise.all([import('../checker/parallel.js'), import('./check.js')]);
      const workers = intFlag('workers', str(p, 'workers'), 1, 64) ?? defaultWorkers();
      const mine = await loadFiles(listFlag(list(p, 'invariants-file')));
      const asked = listFlag(list(p, 'invariant'));
      return await check({
        // With invariant files and no --invariant: check the files' invariants.
        invariants: asked.length ? asked : mine,
        scenario: str(p, 'scenario'),
        kernel: str(p, 'kernel'),
        patch: listFlag(list(p, 'patch')),
        revert: listFlag(list(p, 'revert')),
        mutants: listFlag(list(p, 'mutant')),
        depth,
        strategy,
        traceOut: str(p, 'trace-out'),
        lockGraph: str(p, 'lock-graph'),
        json,
        stopAtFirst: !flag(p, 'continue'),
        strict: flag(p, 'strict'),
        maxStates: intFlag('max-states', str(p, 'max-states'), 1),
        maxSeconds: numberFlag('max-seconds', str(p, 'max-seconds')),
        coverage: flag(p, 'coverage'),
        color: colorOn(p, io, json),
        toolVersion: toolVersion(),
        workers,
        maxMemory: sizeFlag('max-memory', str(p, 'max-memory')) ?? defaultMemoryCap(),
        reductions: { symmetry: !flag(p, 'no-symmetry'), por: !flag(p, 'no-por') },
        reductionFactor: flag(p, 'reduction-factor'),
        progress: !flag(p, 'quiet') && (flag(p, 'progress') || io.errTTY),
        io,
        signal,
      });
    }
    default:
      throw new UsageError(`unknown command "${command}"${didYouMean(command, COMMANDS)}; try: mmcheck help`);
  }
}

/** main(), with bad usage and bad input (an invariant file that does not load, or whose check() throws) as exit 2 and the one line to print. */
async function settle(argv: string[], signal: AbortSignal | undefined, io: Io): Promise<{ code: number; out: string }> {
  try {
    return await main(argv, signal, io);
  } catch (e) {
    // A user's invariant file that does not load, or whose check() throws (here or in a worker): bad input too.
    if (e instanceof UsageError || (e instanceof Error && e.name === 'InvariantFileError')) return { code: EXIT_USAGE, out: `mmcheck: ${(e as Error).message}` };
    throw e;
  }
}

/** Prints what a command ended with: on stderr for bad usage, else on stdout. */
function print(res: { code: number; out: string }, io: Io): void {
  if (res.code === EXIT_USAGE) io.err(`${res.out.startsWith('mmcheck') ? '' : 'mmcheck: '}${res.out}\n`);
  else io.out(`${res.out}\n`);
}

/**
 * The command run in this process, as `mmcheck` runs it, with what it would
 * print kept instead: its exit code, standard output and standard error. No
 * terminal (no colour, no progress lines unless --progress), no signal
 * handlers (`signal` stands for Ctrl-C), the environment `env` (default
 * this process's). Files (--trace-out, --junit, ...) are written as by the
 * command, relative to process.cwd(). An internal error throws, where the
 * command exits 70. For tests (test/helpers.ts mmcheckHere): a run in this
 * process does not pay Node's start-up and the import of the model.
 */
export async function outcome(argv: string[], opts: { signal?: AbortSignal; env?: NodeJS.ProcessEnv } = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const io: Io = {
    out: (text) => {
      stdout += text;
    },
    err: (text) => {
      stderr += text;
    },
    outTTY: false,
    errTTY: false,
    env: opts.env ?? process.env,
  };
  const res = await settle(argv, opts.signal, io);
  print(res, io);
  return { code: res.code, stdout, stderr };
}

/**
 * Runs main() and turns every usage problem into one line and exit code 2.
 * SIGINT (Ctrl-C) and SIGTERM (what CI timeouts send) stop the search; the
 * statistics so far are printed and the exit code is 130 or 143. A second
 * signal exits at once. An output that cannot be written (stdout to a full
 * disk) is one line on stderr and exit 6. What it prints goes to the
 * process's streams as it is printed (outcome() is the same run with the
 * output kept in strings).
 */
export async function run(argv: string[], earlySignal?: 'SIGINT' | 'SIGTERM'): Promise<number> {
  let res: { code: number; out: string };
  const ac = new AbortController();
  if (earlySignal) ac.abort(earlySignal); // it came while the modules loaded
  const handlers = (['SIGINT', 'SIGTERM'] as const).map((sig) => {
    const h = (): void => {
      if (ac.signal.aborted) process.exit(sig === 'SIGTERM' ? EXIT_TERMINATED : EXIT_INTERRUPTED);
      ac.abort(sig);
    };
    process.on(sig, h);
    return [sig, h] as const;
  });
  const outputLost = (e: NodeJS.ErrnoException): never => {
    // `mmcheck ... | head`: a reader that went away is not an error.
    if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    try {
      process.stderr.write(`mmcheck: cannot write the output: ${e.code ?? e.message}\n`);
    } catch {
      // stderr is gone too: the exit code says it
    }
    process.exit(EXIT_OUTPUT_LOST);
  };
  for (const stream of [process.stdout, process.stderr]) stream.on('error', outputLost);
  const write = (stream: NodeJS.WriteStream) => (text: string) => {
    try {
      stream.write(text);
    } catch (e) {
      outputLost(e as NodeJS.ErrnoException);
    }
  };
  const io: Io = { out: write(process.stdout), err: write(process.stderr), outTTY: PROCESS_IO.outTTY, errTTY: PROCESS_IO.errTTY, env: process.env };
  try {
    res = await settle(argv, ac.signal, io);
  } finally {
    for (const [sig, h] of handlers) process.off(sig, h);
  }
  print(res, io);
  return res.code;
}
