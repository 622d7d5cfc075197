/**
 * The mmcheck command: a thin layer over the checker, model, invariants and
 * traces. Bad usage prints one line and exits 2.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { check } from './check.js';
import { gate, GATE_SCHEMA } from './gate.js';
import { jsonSchemaDocument } from '../model/json-schema.js';
import { SCENARIO_SCHEMA } from '../model/scenario-file.js';
import { traceHtml, traceReplay, traceShow } from './trace.js';
import { list, LISTS } from './list.js';
import { defaultWorkers } from '../checker/parallel.js';
import { EXIT_INTERRUPTED, EXIT_USAGE, intFlag, listFlag, numberFlag, sizeFlag, UsageError } from './usage.js';
import { didYouMean } from '../model/variants.js';
import { loadInvariantFiles } from '../invariants/invariant-file.js';

const COMMANDS = ['check', 'gate', 'list', 'trace', 'schema', 'help', 'version'];

const HELP = `mmcheck: an explicit-state model checker for Linux memory-management invariants

usage:
  mmcheck check [--invariant NAME[,NAME...]] [--scenario S] [--kernel V] [--depth N]
                [--strategy bfs|dfs] [--workers N] [--mutant M] [--patch SWITCH] [--revert SWITCH]
                [--continue] [--max-states N] [--max-seconds S] [--max-memory SIZE]
                [--no-symmetry] [--no-por] [--reduction-factor]
                [--trace-out FILE] [--json] [--coverage] [--no-color] [--quiet | --progress]
                [--invariants-file FILE.mjs]
  mmcheck gate [--config mmcheck.gate.json] [--junit FILE] [--summary FILE] [--jobs N]
               [--traces DIR] [--only TEXT] [--invariants-file FILE.mjs]
  mmcheck list invariants|kernels|scenarios|mutants|switches [--json] [--invariants-file FILE.mjs]
  mmcheck schema scenario|gate
  mmcheck trace replay FILE [--invariants-file FILE.mjs]
  mmcheck trace show FILE [--step K] [--full] [--no-color]
  mmcheck trace html FILE -o OUT.html
  mmcheck help | version

--scenario takes a built-in name or a scenario file (./my.json).

check explores every interleaving of the scenario's threads on the given kernel
(default: the newest modelled, ${'6.2'}) and checks the invariants (default: all,
each on its own default scenario). Exit: 0 holds, 1 violated or deadlock,
2 bad usage, 3 incomplete (stopped by a limit).`;

export function toolVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
    return pkg.version;
  } catch {
    return 'unknown';
  }
}

export async function main(argv: string[], signal?: AbortSignal): Promise<{ code: number; out: string }> {
  const [command, ...rest] = argv;
  switch (command) {
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      return { code: command === undefined ? EXIT_USAGE : 0, out: HELP };
    case 'version':
    case '--version':
      return { code: 0, out: `mmcheck ${toolVersion()}` };
    case 'list': {
      const { values, positionals } = parseArgs({
        args: rest,
        options: { json: { type: 'boolean' }, 'invariants-file': { type: 'string', multiple: true } },
        allowPositionals: true,
        strict: true,
      });
      if (positionals.length > 1) throw new UsageError(`list takes one of: ${LISTS.join(', ')}`);
      await loadInvariantFiles(listFlag(values['invariants-file']));
      return { code: 0, out: list(positionals[0], !!values.json) };
    }
    case 'trace': {
      const [sub, ...more] = rest;
      const { values, positionals } = parseArgs({
        args: more,
        options: {
          step: { type: 'string' },
          full: { type: 'boolean' },
          out: { type: 'string', short: 'o' },
          'no-color': { type: 'boolean' },
          'invariants-file': { type: 'string', multiple: true },
        },
        allowPositionals: true,
        strict: true,
      });
      if (positionals.length !== 1) throw new UsageError(`trace ${sub ?? ''} needs one trace file`.replace('  ', ' '));
      const file = positionals[0]!;
      const color = !values['no-color'] && process.stdout.isTTY === true && !process.env.NO_COLOR;
      switch (sub) {
        case 'replay':
          await loadInvariantFiles(listFlag(values['invariants-file']));
          return await traceReplay(file);
        case 'show':
          return traceShow(file, intFlag('step', values.step, 1), !!values.full, color);
        case 'html':
          return traceHtml(file, values.out);
        default:
          throw new UsageError(`trace ${sub === undefined ? 'what?' : `"${sub}"`}${sub ? didYouMean(sub, ['replay', 'show', 'html']) : ''}; one of: replay, show, html`);
      }
    }
    case 'gate': {
      const { values, positionals } = parseArgs({
        args: rest,
        options: {
          config: { type: 'string', short: 'c' },
          junit: { type: 'string' },
          summary: { type: 'string' },
          jobs: { type: 'string', short: 'j' },
          traces: { type: 'string' },
          only: { type: 'string' },
          'no-color': { type: 'boolean' },
          'invariants-file': { type: 'string', multiple: true },
        },
        allowPositionals: true,
        strict: true,
      });
      if (positionals.length) throw new UsageError(`gate takes no positional arguments, got "${positionals[0]}" (use --config FILE)`);
      await loadInvariantFiles(listFlag(values['invariants-file']));
      return await gate({
        config: values.config ?? 'mmcheck.gate.json',
        junit: values.junit,
        summary: values.summary,
        jobs: intFlag('jobs', values.jobs, 1),
        traces: values.traces,
        only: values.only,
        toolVersion: toolVersion(),
        color: !values['no-color'] && process.stdout.isTTY === true && !process.env.NO_COLOR,
        signal,
      });
    }
    case 'schema': {
      const [what, ...more] = rest;
      if (more.length) throw new UsageError('schema takes one of: scenario, gate');
      if (what === 'scenario') return { code: 0, out: JSON.stringify(jsonSchemaDocument('mmcheck scenario', SCENARIO_SCHEMA), null, 2) };
      if (what === 'gate') return { code: 0, out: JSON.stringify(jsonSchemaDocument('mmcheck gate config', GATE_SCHEMA), null, 2) };
      throw new UsageError(`schema ${what === undefined ? 'of what?' : `"${what}"${didYouMean(what, ['scenario', 'gate'])}`}; one of: scenario, gate`);
    }
    case 'check': {
      const { values, positionals } = parseArgs({
        args: rest,
        options: {
          invariant: { type: 'string', multiple: true, short: 'i' },
          scenario: { type: 'string', short: 's' },
          kernel: { type: 'string', short: 'k' },
          depth: { type: 'string', short: 'd' },
          strategy: { type: 'string' },
          mutant: { type: 'string', multiple: true },
          patch: { type: 'string', multiple: true },
          revert: { type: 'string', multiple: true },
          'trace-out': { type: 'string' },
          json: { type: 'boolean' },
          continue: { type: 'boolean' },
          'max-states': { type: 'string' },
          'max-seconds': { type: 'string' },
          coverage: { type: 'boolean' },
          'no-color': { type: 'boolean' },
          workers: { type: 'string', short: 'j' },
          'max-memory': { type: 'string' },
          'no-symmetry': { type: 'boolean' },
          'no-por': { type: 'boolean' },
          'reduction-factor': { type: 'boolean' },
          quiet: { type: 'boolean', short: 'q' },
          progress: { type: 'boolean' },
          'invariants-file': { type: 'string', multiple: true },
        },
        allowPositionals: true,
        strict: true,
      });
      if (positionals.length) throw new UsageError(`check takes no positional arguments, got "${positionals[0]}"`);
      const strategy = values.strategy ?? 'bfs';
      if (strategy !== 'bfs' && strategy !== 'dfs') throw new UsageError(`--strategy must be bfs or dfs, got "${strategy}"`);
      const depth = intFlag('depth', values.depth, 0);
      if (strategy === 'dfs' && depth !== undefined && depth > 0xffff) throw new UsageError('--depth for dfs must be at most 65535');
      const color = !values['no-color'] && !values.json && process.stdout.isTTY === true && !process.env.NO_COLOR;
      if (values.quiet && values.progress) throw new UsageError('--quiet and --progress contradict each other');
      const workers = intFlag('workers', values.workers, 1) ?? defaultWorkers();
      if (workers > 64) throw new UsageError(`--workers ${workers}: at most 64`);
      const mine = await loadInvariantFiles(listFlag(values['invariants-file']));
      const asked = listFlag(values.invariant);
      return await check({
        // With invariant files and no --invariant: check the files' invariants.
        invariants: asked.length ? asked : mine,
        scenario: values.scenario,
        kernel: values.kernel,
        patch: listFlag(values.patch),
        revert: listFlag(values.revert),
        mutants: listFlag(values.mutant),
        depth,
        strategy,
        traceOut: values['trace-out'],
        json: !!values.json,
        stopAtFirst: !values.continue,
        maxStates: intFlag('max-states', values['max-states'], 1),
        maxSeconds: numberFlag('max-seconds', values['max-seconds']),
        coverage: !!values.coverage,
        color,
        toolVersion: toolVersion(),
        workers,
        maxMemory: sizeFlag('max-memory', values['max-memory']),
        reductions: { symmetry: !values['no-symmetry'], por: !values['no-por'] },
        reductionFactor: !!values['reduction-factor'],
        progress: !values.quiet && (values.progress === true || process.stderr.isTTY === true),
        signal,
      });
    }
    default:
      throw new UsageError(`unknown command "${command}"${didYouMean(command, COMMANDS)}; try: mmcheck help`);
  }
}

/**
 * Runs main() and turns every usage problem into one line and exit code 2.
 * Ctrl-C stops the workers; the partial statistics are printed and the exit
 * code is 130.
 */
export async function run(argv: string[]): Promise<number> {
  let res: { code: number; out: string };
  const ac = new AbortController();
  const onInt = (): void => {
    if (ac.signal.aborted) process.exit(EXIT_INTERRUPTED); // a second Ctrl-C: now
    ac.abort();
  };
  process.on('SIGINT', onInt);
  // `mmcheck ... | head`: a reader that went away is not an error.
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
      throw e;
    });
  }
  try {
    res = await main(argv, ac.signal);
  } catch (e) {
    // A user's invariant file that does not load, or whose check() throws (here or in a worker): bad input too.
    if (e instanceof UsageError || (e instanceof Error && e.name === 'InvariantFileError')) {
      process.stderr.write(`mmcheck: ${(e as Error).message}\n`);
      return EXIT_USAGE;
    }
    // parseArgs errors (unknown option, missing value) carry a code.
    const code = (e as { code?: string }).code;
    if (typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS')) {
      process.stderr.write(`mmcheck: ${(e as Error).message.split('\n')[0]}\n`);
      return EXIT_USAGE;
    }
    throw e;
  } finally {
    process.off('SIGINT', onInt);
  }
  if (res.code === EXIT_USAGE) process.stderr.write(`${res.out.startsWith('mmcheck') ? '' : 'mmcheck: '}${res.out}\n`);
  else process.stdout.write(res.out + '\n');
  return res.code;
}
