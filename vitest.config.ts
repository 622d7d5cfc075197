import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig, type Plugin } from 'vitest/config';

const ROOT = dirname(fileURLToPath(import.meta.url));
const TREES = ['checker', 'model', 'invariants', 'traces', 'cli', 'bench'];
const IN_TREES = new RegExp(`^(${TREES.join('|')})/`);

/**
 * The tests import the project's modules as tsc compiled them, from dist/,
 * natively, as the command and its worker threads run them. Through Vite's
 * transform each test file compiled the model again, and every call across
 * modules went through an import object: in-process searches ran 1.75x as
 * slowly (reductions and verdicts tests: 51.6 s against 29.5 s).
 */
const compiled: Plugin = {
  name: 'mmcheck-tests-import-dist',
  enforce: 'pre',
  resolveId(source, importer) {
    if (!importer || !source.startsWith('.') || !source.endsWith('.js')) return null;
    if (!relative(ROOT, importer).startsWith('test/')) return null;
    const rel = relative(ROOT, resolve(dirname(importer), source));
    return IN_TREES.test(rel) ? { id: join(ROOT, 'dist', rel), external: true } : null;
  },
};

/** Whether some source is newer than what tsc made of it (or was never compiled). */
function distIsStale(): boolean {
  const walk = (dir: string): boolean =>
    readdirSync(join(ROOT, dir), { withFileTypes: true }).some((e) => {
      const rel = join(dir, e.name);
      if (e.isDirectory()) return walk(rel);
      if (!e.name.endsWith('.ts') || e.name.endsWith('.d.ts')) return false;
      const out = join(ROOT, 'dist', rel.replace(/\.ts$/, '.js'));
      return !existsSync(out) || statSync(out).mtimeMs < statSync(join(ROOT, rel)).mtimeMs;
    });
  return TREES.some(walk);
}

// `npm test` builds first; a bare `npx vitest` after an edit builds here, so that no test runs yesterday's code.
if (distIsStale()) {
  process.stderr.write('vitest.config.ts: dist/ is older than the sources: building (tsc -p tsconfig.json)\n');
  execFileSync(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json'], { cwd: ROOT, stdio: 'inherit' });
}

export default defineConfig({
  plugins: [compiled],
  test: {
    include: ['test/**/*.test.ts'],
    exclude: ['dist/**', 'node_modules/**'],
    testTimeout: 60_000,
    server: { deps: { external: [/\/dist\//] } },
    // The files of one worker share the modules (they are loaded once, not once per file: import 45 s -> 13 s in all).
    // The tests share no mutable state but the worker-thread pool; the suite also passes in shuffled file order.
    isolate: false,
    // Vitest's default is one worker fewer than the cores: on 2 cores, one file at a time. Most files spend much of
    // their time waiting on child processes, Chromium and worker threads: two at a time took 361 s against 527 s.
    // The tests that stop a run at a moment wait for the run's CPU time too, not only the wall clock (trust.test.ts).
    maxWorkers: availableParallelism(),
    // Every layout index checked: a step that names an object that does not exist throws (model/layout.ts).
    env: { MMCHECK_ASSERT: '1' },
  },
});
