/**
 * Invariant files: an ES module (--invariants-file ./my.mjs) exporting
 * invariants in the same form as the built-ins (invariants/invariant.ts):
 * `export const invariants = [{ name, description, when, defaultScenario,
 * check(v) }]` (or a default export of the list). check() gets the state view;
 * `v.readable` is the state as the readable model, typed (model/readable.ts),
 * the same fields a trace file shows. Loaded into the registry, so every
 * worker thread and every command sees them by name.
 */
import { MM_OBJECTS } from '../model/objects.js';
import { existsSync } from 'node:fs';
import { register } from 'node:module';
import { dirname, resolve } from 'node:path';
import { jsUrl } from '../checker/factory.js';
import { pathToFileURL } from 'node:url';
import { isScenarioFile } from '../model/scenario-file.js';
import { didYouMean } from '../model/variants.js';
import type { MMInvariant, When } from './invariant.js';
import type { StateView } from '../model/kernel.js';
import { BUILTIN_INVARIANTS, registerInvariant, findInvariant } from './registry.js';

export class InvariantFileError extends Error {
  override name = 'InvariantFileError';
}

const WHEN: readonly When[] = ['always', 'quiescent', 'quiescent, and at exit'];
const loaded = new Map<string, string[]>();
/** Every file a load was tried for, loaded or not (Node keeps a module that failed to load as well). */
const tried = new Set<string>();

/** How many invariant files this process has tried to load: a run in a test's own process must leave it alone (test/helpers.ts). */
export function invariantFilesTried(): number {
  return tried.size;
}
/** Names the engine itself reports violations under: an invariant of that name would be mistaken for them. */
const RESERVED = ['deadlock', 'lock-order', 'vacuous'];
/** How long an invariant file may take to load (its top-level code, awaits included). */
const LOAD_TIMEOUT_MS = 10_000;

/** What was thrown, in one line, whatever it was (user code may throw null, a string, anything). */
export function describeThrown(e: unknown): string {
  if (e instanceof Error) return `${e.name}: ${String(e.message).split('\n')[0]}`;
  if (e === null || e === undefined) return `${String(e)} was thrown`;
  try {
    return `${typeof e === 'string' ? JSON.stringify(e) : String(e)} was thrown`;
  } catch {
    return 'a value that cannot be shown was thrown';
  }
}

/**
 * import() of a user's module, given up on when it does not finish: a
 * top-level await that never settles would otherwise end the process
 * without a word (Node's exit code 13) or hang it.
 */
function importWithin(url: string, file: string): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const never = (): void => reject(new InvariantFileError(`cannot load invariants file ${file}: its top-level code never finishes (an await that never settles?)`));
    const timer = setTimeout(
      () => reject(new InvariantFileError(`cannot load invariants file ${file}: its top-level code did not finish within ${LOAD_TIMEOUT_MS / 1000} s`)),
      LOAD_TIMEOUT_MS,
    );
    timer.unref();
    // Nothing else left to wait for, and the import has not settled: it never will.
    process.once('beforeExit', never);
    import(url).then(
      (m) => {
        clearTimeout(timer);
        process.off('beforeExit', never);
        resolve(m);
      },
      (e: unknown) => {
        clearTimeout(timer);
        process.off('beforeExit', never);
        reject(new InvariantFileError(`cannot load invariants file ${file}: ${describeThrown(e)}`));
      },
    );
  });
}

/** Imports the file and registers its invariants; returns their names. Loading the same file twice is a no-op. */
export async function loadInvariantFile(file: string): Promise<string[]> {
  const abs = resolve(file);
  const done = loaded.get(abs);
  if (done) return done;
  tried.add(abs);
  if (!existsSync(abs)) throw new InvariantFileError(`cannot read invariants file ${file}: ENOENT`);
  installResolveHook();
  const mod = (await importWithin(pathToFileURL(abs).href, file)) as Record<string, unknown>;
  const list = mod.invariants ?? mod.default;
  if (list === undefined) throw new InvariantFileError(`${file}: exports no "invariants" (and no default export)`);
  const invs = Array.isArray(list) ? list : [list];
  if (invs.length === 0) throw new InvariantFileError(`${file}: "invariants" is empty`);
  const names: string[] = [];
  invs.forEach((x, i) => {
    const inv = checkShape(x, `${file}: invariants[${i}]`, dirname(abs));
    const clash = findInvariant(inv.name);
    if (clash) {
      const builtin = BUILTIN_INVARIANTS.includes(clash);
      throw new InvariantFileError(`${file}: invariants[${i}]: "${inv.name}" is already ${builtin ? 'a built-in invariant' : 'defined by another invariants file'}`);
    }
    registerInvariant(inv, abs);
    names.push(inv.name);
  });
  loaded.set(abs, names);
  return names;
}

/** Loads each file in turn; returns the names of all the invariants they define. */
export async function loadInvariantFiles(files: readonly string[]): Promise<string[]> {
  const names: string[] = [];
  for (const f of files) names.push(...(await loadInvariantFile(f)));
  return names;
}

let hooked = false;

/** `import ... from 'mmcheck'` in an invariant file resolves to this mmcheck's API (invariants/api.ts). */
function installResolveHook(): void {
  if (hooked) return;
  hooked = true;
  register(jsUrl('invariants/resolve-hook.js'), { data: { apiUrl: jsUrl('invariants/api.js') } });
}

function checkShape(x: unknown, where: string, dir: string): MMInvariant {
  const fail = (why: string): never => {
    throw new InvariantFileError(`${where}: ${why}`);
  };
  if (!x || typeof x !== 'object') fail('not an object');
  const o = x as Record<string, unknown>;
  if (typeof o.name !== 'string' || !/^[a-z][a-z0-9-]*$/.test(o.name)) fail('"name" must be a kebab-case string such as "no-zeropage-pins"');
  if (RESERVED.includes(o.name as string)) fail(`"${o.name as string}" is reserved: mmcheck reports its own verdicts under it (${RESERVED.join(', ')})`);
  if (typeof o.description !== 'string' || !o.description) fail(`${o.name}: "description" must say in one line what must hold`);
  if (typeof o.check !== 'function') fail(`${o.name}: needs a check(v) function returning null or a message`);
  const when = o.when ?? 'always';
  if (!WHEN.includes(when as When)) fail(`${o.name}: "when" must be one of ${WHEN.map((w) => `"${w}"`).join(', ')}${didYouMean(String(when), WHEN)}`);
  if (o.defaultScenario !== undefined && typeof o.defaultScenario !== 'string') fail(`${o.name}: "defaultScenario" must be a scenario name or file`);
  if (o.notApplicable !== undefined && typeof o.notApplicable !== 'function') fail(`${o.name}: "notApplicable" must be a function`);
  const witnesses = o.witnesses ?? [];
  if (!Array.isArray(witnesses)) fail(`${o.name}: "witnesses" must be a list of { name, check(v) }`);
  (witnesses as unknown[]).forEach((w, i) => {
    const x = w as Record<string, unknown> | null;
    if (!x || typeof x !== 'object' || typeof x.name !== 'string' || !x.name || typeof x.check !== 'function') fail(`${o.name}: witnesses[${i}] must be { name, check(v) }`);
  });
  const kinds = MM_OBJECTS.map((k) => k.kind);
  if (o.reads !== undefined && (!Array.isArray(o.reads) || o.reads.some((k) => !kinds.includes(k as string)))) {
    fail(`${o.name}: "reads" must list the kinds of object it reads, of ${kinds.join(', ')} (leave it out: everything)`);
  }
  const check = o.check as MMInvariant['check'];
  const notApplicable = o.notApplicable as MMInvariant['notApplicable'];
  const name = o.name as string;
  /** User code that throws is a finding about the file, not a crash of the engine. */
  const guard = <T>(what: string, f: () => T): T => {
    try {
      return f();
    } catch (e) {
      throw new InvariantFileError(`invariant ${name}: ${what} threw: ${describeThrown(e)}`);
    }
  };
  return {
    name,
    description: o.description as string,
    reference: typeof o.reference === 'string' ? o.reference : 'user invariant',
    when: when as When,
    reads: o.reads as string[] | undefined,
    // A scenario file named by the invariant is relative to the invariant file.
    defaultScenario:
      typeof o.defaultScenario === 'string' && isScenarioFile(o.defaultScenario) ? resolve(dir, o.defaultScenario) : ((o.defaultScenario as string | undefined) ?? ''),
    notApplicable: notApplicable
      ? (variant) => {
          const r: unknown = guard('notApplicable()', () => notApplicable(variant));
          return typeof r === 'string' && r ? r : null;
        }
      : undefined,
    witnesses: (witnesses as { name: string; check: (v: StateView) => unknown }[]).map((w) => ({
      name: w.name,
      check: (v: StateView) => guard(`witness "${w.name}"`, () => w.check(v)) === true,
    })),
    check(v) {
      const r: unknown = guard('check()', () => check(v));
      if (r === null || r === undefined || r === false) return null;
      return typeof r === 'string' ? r : `${name} is violated`;
    },
  };
}
