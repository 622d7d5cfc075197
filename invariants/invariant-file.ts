/**
 * Invariant files: an ES module (--invariants-file ./my.mjs) exporting
 * invariants in the same form as the built-ins (invariants/invariant.ts):
 * `export const invariants = [{ name, description, when, defaultScenario,
 * check(v) }]` (or a default export of the list). check() gets the state view;
 * `v.readable` is the state as the readable model, typed (model/readable.ts),
 * the same fields a trace file shows. Loaded into the registry, so every
 * worker thread and every command sees them by name.
 */
import { existsSync } from 'node:fs';
import { register } from 'node:module';
import { dirname, resolve } from 'node:path';
import { jsUrl } from '../checker/factory.js';
import { pathToFileURL } from 'node:url';
import { isScenarioFile } from '../model/scenario-file.js';
import { didYouMean } from '../model/variants.js';
import type { MMInvariant, When } from './invariant.js';
import { BUILTIN_INVARIANTS, registerInvariant, findInvariant } from './registry.js';

export class InvariantFileError extends Error {
  override name = 'InvariantFileError';
}

const WHEN: readonly When[] = ['always', 'quiescent', 'quiescent, and at exit'];
const loaded = new Map<string, string[]>();

/** Imports the file and registers its invariants; returns their names. Loading the same file twice is a no-op. */
export async function loadInvariantFile(file: string): Promise<string[]> {
  const abs = resolve(file);
  const done = loaded.get(abs);
  if (done) return done;
  if (!existsSync(abs)) throw new InvariantFileError(`cannot read invariants file ${file}: ENOENT`);
  installResolveHook();
  let mod: Record<string, unknown>;
  try {
    mod = (await import(pathToFileURL(abs).href)) as Record<string, unknown>;
  } catch (e) {
    const err = e as Error;
    throw new InvariantFileError(`cannot load invariants file ${file}: ${err.name}: ${String(err.message).split('\n')[0]}`);
  }
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
  if (typeof o.description !== 'string' || !o.description) fail(`${o.name}: "description" must say in one line what must hold`);
  if (typeof o.check !== 'function') fail(`${o.name}: needs a check(v) function returning null or a message`);
  const when = o.when ?? 'always';
  if (!WHEN.includes(when as When)) fail(`${o.name}: "when" must be one of ${WHEN.map((w) => `"${w}"`).join(', ')}${didYouMean(String(when), WHEN)}`);
  if (o.defaultScenario !== undefined && typeof o.defaultScenario !== 'string') fail(`${o.name}: "defaultScenario" must be a scenario name or file`);
  if (o.notApplicable !== undefined && typeof o.notApplicable !== 'function') fail(`${o.name}: "notApplicable" must be a function`);
  const check = o.check as MMInvariant['check'];
  const name = o.name as string;
  return {
    name,
    description: o.description as string,
    reference: typeof o.reference === 'string' ? o.reference : 'user invariant',
    when: when as When,
    // A scenario file named by the invariant is relative to the invariant file.
    defaultScenario: typeof o.defaultScenario === 'string' && isScenarioFile(o.defaultScenario) ? resolve(dir, o.defaultScenario) : ((o.defaultScenario as string | undefined) ?? ''),
    notApplicable: o.notApplicable as MMInvariant['notApplicable'],
    // An exception in user code is a finding about the invariant, not a crash of the engine.
    check(v) {
      let r: unknown;
      try {
        r = check(v);
      } catch (e) {
        throw new InvariantFileError(`invariant ${name} threw: ${(e as Error).message ?? String(e)}`);
      }
      if (r === null || r === undefined || r === false) return null;
      return typeof r === 'string' ? r : `${name} is violated`;
    },
  };
}
