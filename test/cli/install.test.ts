/**
 * A global install, as a user makes one from a clone: `npm pack` (dist/ is
 * in the package; its one runtime dependency, @dagrejs/graphlib, comes from the registry) and `npm install -g`
 * of the tarball into a fresh prefix. The installed command runs from any
 * directory, finds its built-in scenarios, and an invariant file elsewhere
 * can `import ... from 'mmcheck'`.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test } from 'vitest';

const ROOT = new URL('../../', import.meta.url).pathname;

test('npm pack, npm install -g: mmcheck works outside the clone', () => {
  const dir = mkdtempSync(join(tmpdir(), 'install-'));
  // npm test has just built dist/; the pack need not run the build again.
  const pack = spawnSync('npm', ['pack', '--ignore-scripts', '--pack-destination', dir], { cwd: ROOT, encoding: 'utf8' });
  expect(pack.status, pack.stderr).toBe(0);
  const tarball = readdirSync(dir).find((f) => f.endsWith('.tgz'))!;
  const prefix = join(dir, 'prefix');
  const install = spawnSync('npm', ['install', '-g', '--prefix', prefix, '--no-audit', '--no-fund', join(dir, tarball)], { cwd: tmpdir(), encoding: 'utf8' });
  expect(install.status, install.stderr).toBe(0);
  const bin = join(prefix, 'bin', 'mmcheck');
  const run = (...args: string[]) => spawnSync(bin, args, { cwd: dir, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
  const v = run('check', '-i', 'pin-coherent', '-s', 'iouring-ro-remap', '-k', '5.18', '-q');
  expect(v.status).toBe(1);
  expect(v.stdout).toMatch(/VIOLATED pin-coherent/);
  const inv = join(dir, 'mine.mjs');
  copyFileSync(join(ROOT, 'examples/invariants/no-longterm-zeropage-pin.mjs'), inv);
  const u = run('check', '--invariants-file', inv, '-k', '6.2', '-q');
  expect(u.stderr).toBe('');
  expect(u.status).toBe(0);
  expect(run('check', '--help').stdout).toMatch(/^usage: mmcheck check/);
}, 120_000);
