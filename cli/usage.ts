/**
 * Bad input: one clear line and exit code 2, never a stack trace.
 */
export class UsageError extends Error {}

/** Exit codes (README, "Exit codes"). */
export const EXIT_HOLDS = 0;
/** violated, or a deadlock */
export const EXIT_VIOLATED = 1;
/** bad usage or input: one line, no stack trace */
export const EXIT_USAGE = 2;
/** stopped by a limit (or a misbehaving invariant file) before the search finished */
export const EXIT_INCOMPLETE = 3;
/** --strict: it holds, but an operation never completed, a thread never finished or a witness was not found */
export const EXIT_VACUOUS = 4;
/** none of the invariants exists on this kernel (anon-exclusive before 5.19) */
export const EXIT_NOT_APPLICABLE = 5;
/** the result was reached, but an output (trace file, report, standard output) could not be written */
export const EXIT_OUTPUT_LOST = 6;
/** interrupted by SIGINT (Ctrl-C); SIGTERM gives 143 */
export const EXIT_INTERRUPTED = 130;
export const EXIT_TERMINATED = 143;

/** Parses an integer flag value in [min, max], or throws a UsageError naming the flag and the range. */
export function intFlag(name: string, value: string | undefined, min = 0, max = Number.MAX_SAFE_INTEGER): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!/^-?\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n < min || n > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `an integer >= ${min}` : `an integer from ${min} to ${max}`;
    throw new UsageError(`--${name} needs ${range}, got "${value}"`);
  }
  return n;
}

/** Parses a positive number flag value (may be fractional). */
export function numberFlag(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n <= 0) throw new UsageError(`--${name} needs a positive number, got "${value}"`);
  return n;
}

/** Splits "a,b" and repeated flags into one list. */
export function listFlag(values: string[] | undefined): string[] {
  return (values ?? [])
    .flatMap((v) => v.split(','))
    .map((v) => v.trim())
    .filter((v) => v !== '');
}

/** Parses a size such as 512M, 2G, 100000 (bytes). */
export function sizeFlag(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const m = /^(\d+(?:\.\d+)?)([KMG]i?B?|B)?$/i.exec(value.trim());
  if (!m) throw new UsageError(`--${name} needs a size such as 512M or 2G, got "${value}"`);
  const unit = (m[2] ?? 'B').toUpperCase()[0]!;
  const mult = unit === 'K' ? 2 ** 10 : unit === 'M' ? 2 ** 20 : unit === 'G' ? 2 ** 30 : 1;
  const n = Number(m[1]) * mult;
  if (n <= 0) throw new UsageError(`--${name} must be positive, got "${value}"`);
  return n;
}
