#!/usr/bin/env node
// The mmcheck command. The TypeScript sources are compiled to dist/ by
// `npm install` (the prepare script) or `npm run build`.
import { existsSync } from 'node:fs';

// A Ctrl-C (or SIGTERM) while the modules load is kept and handled as one that comes later: the run stops at once and says so.
const early = [];
const keep = (sig) => early.push(sig);
process.on('SIGINT', keep);
process.on('SIGTERM', keep);

const main = new URL('../dist/cli/main.js', import.meta.url);
if (!existsSync(main)) {
  process.stderr.write('mmcheck: not built yet: run `npm install` (or `npm run build`) in the mmcheck directory\n');
  process.exit(2);
}
const { run } = await import(main.href);
try {
  // run() installs its own handlers before it first waits; only then does `keep` go, so that a signal never
  // finds no listener (the default would kill the process, or lose the signal where the parent ignores it).
  const done = run(process.argv.slice(2), early[0]);
  process.off('SIGINT', keep);
  process.off('SIGTERM', keep);
  process.exitCode = await done;
} catch (e) {
  if (process.env.MMCHECK_DEBUG) throw e;
  process.stderr.write(`mmcheck: internal error: ${e?.message ?? e} (set MMCHECK_DEBUG=1 for the stack; please report it)\n`);
  process.exitCode = 70;
}
