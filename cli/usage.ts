/**
 * Bad input: one clear line and exit code 2, never a stack trace.
 */
export class UsageError extends Error {}

export const EXIT_HOLDS = 0;
export const EXIT_VIOLATED = 1;
export const EXIT_USAGE = 2;
export const EXIT_INCOMPLETE = 3;
export const EXIT_INTERRUPTED = 130;

/** Parses a non-negative integer flag value, or throws a UsageError naming the flag. */
export function intFlag(name: string, value: string | undefined, min = 0): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value) || Number(value) < min || !Number.isSafeInteger(Number(value))) {
    throw new UsageError(`--${name} needs an integer >= ${min}, got "${value}"`);
  }
  return Number(value);
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
  return (values ?? []).flatMap((v) => v.split(',')).map((v) => v.trim()).filter((v) => v !== '');
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
