/**
 * Each subcommand's options, declared once: the parser (node:util parseArgs)
 * and the help text (`mmcheck help check`, `mmcheck check --help`) are made
 * from the same table, so every option has its line of help. An unknown
 * option gets a "did you mean", and a negative number after an option that
 * takes a value ("--depth -1") reaches the option's own check, which names
 * the valid range.
 */
import { parseArgs } from 'node:util';
import { didYouMean } from '../model/variants.js';
import { UsageError } from './usage.js';

export interface OptionSpec {
  name: string;
  short?: string;
  /** The value's name in the help (omitted: a flag). */
  arg?: string;
  multiple?: boolean;
  help: string;
}

export interface CommandSpec {
  name: string;
  /** One line: what the command does. */
  summary: string;
  /** The positional arguments, as the usage line shows them. */
  positionals?: string;
  /** More lines after the options. */
  details?: string;
  options: OptionSpec[];
}

const HELP_OPTION: OptionSpec = { name: 'help', short: 'h', help: 'print this help' };

export function usageLine(c: CommandSpec): string {
  return `mmcheck ${c.name}${c.positionals ? ` ${c.positionals}` : ''} [options]`;
}

/** The help of a command: usage, summary, one line per option. */
export function commandHelp(c: CommandSpec): string {
  const opts = [...c.options, HELP_OPTION];
  const left = opts.map((o) => `${o.short ? `-${o.short}, ` : '    '}--${o.name}${o.arg ? ` ${o.arg}` : ''}`);
  const width = Math.min(34, Math.max(...left.map((l) => l.length)));
  const lines = [`usage: ${usageLine(c)}`, '', c.summary, '', 'options:'];
  opts.forEach((o, i) => {
    const l = left[i]!;
    lines.push(l.length > width ? `  ${l}\n  ${' '.repeat(width)}  ${o.help}` : `  ${l.padEnd(width)}  ${o.help}`);
  });
  if (c.details) lines.push('', c.details);
  return lines.join('\n');
}

export interface Parsed {
  values: Record<string, string | boolean | string[] | undefined>;
  positionals: string[];
  help: boolean;
}

/** Parses a subcommand's arguments; every problem is a UsageError of one line. */
export function parseCommand(c: CommandSpec, args: readonly string[]): Parsed {
  const opts = [...c.options, HELP_OPTION];
  const byName = new Map(opts.map((o) => [o.name, o]));
  const byShort = new Map(opts.filter((o) => o.short).map((o) => [o.short!, o]));
  // "--depth -1": hand the value to the option (its check names the range) instead of parseArgs's "ambiguous".
  const fixed: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    const next = args[i + 1];
    const o = a.startsWith('--') ? byName.get(a.slice(2)) : /^-[^-]$/.test(a) ? byShort.get(a.slice(1)) : undefined;
    if (o?.arg && next !== undefined && /^-[\d.]/.test(next)) {
      fixed.push(`--${o.name}=${next}`);
      i++;
    } else fixed.push(a);
  }
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({
      args: fixed,
      options: Object.fromEntries(
        opts.map((o) => [o.name, { type: o.arg ? ('string' as const) : ('boolean' as const), ...(o.short ? { short: o.short } : {}), ...(o.multiple ? { multiple: true } : {}) }]),
      ),
      allowPositionals: true,
      strict: true,
    });
  } catch (e) {
    throw new UsageError(parseError(c, e as Error & { code?: string }, opts));
  }
  const values = parsed.values as Parsed['values'];
  return { values, positionals: parsed.positionals, help: values.help === true };
}

function parseError(c: CommandSpec, e: Error & { code?: string }, opts: OptionSpec[]): string {
  const msg = e.message.split('\n')[0] ?? '';
  const see = `(mmcheck ${c.name} --help lists the options)`;
  if (e.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
    const m = /Unknown option '(-{1,2})([^']*)'/.exec(msg);
    const given = m ? `${m[1]}${m[2]}` : '?';
    const names = opts.flatMap((o) => [`--${o.name}`, ...(o.short ? [`-${o.short}`] : [])]);
    return `${c.name}: unknown option ${given}${didYouMean(given, names)} ${see}`;
  }
  if (e.code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
    const m = /Option '(?:-\w, )?--([\w-]+)/.exec(msg);
    const o = m ? opts.find((x) => x.name === m[1]) : undefined;
    if (o?.arg) return `${c.name}: --${o.name} needs a value (${o.arg})`;
    if (o) return `${c.name}: --${o.name} takes no value`;
  }
  if (e.code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL') return `${c.name}: unexpected argument ${see}`;
  return `${c.name}: ${msg} ${see}`;
}

/** A string option's value (the last one given, when given twice). */
export function str(p: Parsed, name: string): string | undefined {
  const v = p.values[name];
  return Array.isArray(v) ? v[v.length - 1] : typeof v === 'string' ? v : undefined;
}

export function flag(p: Parsed, name: string): boolean {
  return p.values[name] === true;
}

export function list(p: Parsed, name: string): string[] | undefined {
  const v = p.values[name];
  return Array.isArray(v) ? v : typeof v === 'string' ? [v] : undefined;
}
