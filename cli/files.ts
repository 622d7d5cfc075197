/**
 * Writing outputs: a directory created level by level (fs.mkdirSync with
 * recursive: true loops for ever under /proc), and names made safe to use as
 * file names, and text made safe to show on a terminal.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

/** mkdir -p, one level at a time; throws the first error (ENOENT, EACCES, ENOTDIR...). */
export function makeDirs(dir: string): void {
  const abs = resolve(dir);
  if (existsSync(abs)) return;
  const parent = dirname(abs);
  if (parent !== abs) makeDirs(parent);
  mkdirSync(abs);
}

/** A name as a file name: only letters, digits and . _ + -, no leading dot, at most 80 characters. */
export function safeFileName(name: string): string {
  const s = name
    .replace(/[^A-Za-z0-9._+-]+/g, '_')
    .replace(/^[._]+/, '')
    .slice(0, 80);
  return s || 'unnamed';
}

/** Control characters shown as escapes (a name in a config must not drive the terminal). */
export function printable(s: string): string {
  // eslint-disable-next-line no-control-regex
  return s.replace(/[\u0000-\u001f\u007f-\u009f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}
