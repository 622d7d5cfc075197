/**
 * The MM model as a worker-thread factory (checker/factory.ts): every worker
 * builds the same model and invariants from JSON arguments.
 */
import type { BuiltModel } from '../checker/factory.js';
import { jsUrl } from '../checker/factory.js';
import { InvariantFileError, loadInvariantFile } from '../invariants/invariant-file.js';
import { findInvariant, invariantSource, toEngineInvariant } from '../invariants/registry.js';
import { porInfo } from './por.js';
import { stateWitnesses } from './witnesses.js';
import type { ScenarioSpec } from './scenario.js';
import type { MutantName, SwitchName, Variant } from './variants.js';
import { MMModel } from './world.js';

export interface MMModelArgs {
  scenario: ScenarioSpec;
  variant: { version: string; epoch: string; switches: string[]; mutants: string[] };
  invariants: string[];
  /** Invariant files (absolute paths) that define some of `invariants`. */
  invariantFiles?: string[];
  /**
   * lockdep (model/lockdep.ts): 'collect' records every lock dependency the
   * exploration takes; a dependency (number) is witnessed instead: the only
   * invariant is then "this dependency was never taken".
   */
  lockdep?: 'collect' | number;
}

/** Loads the invariant files first, so createModel finds their invariants by name. */
export async function prepare(args: MMModelArgs): Promise<void> {
  for (const f of args.invariantFiles ?? []) await loadInvariantFile(f);
}

export function createModel(args: MMModelArgs): BuiltModel & { model: MMModel } {
  const variant: Variant = {
    version: args.variant.version,
    epoch: args.variant.epoch,
    switches: new Set(args.variant.switches as SwitchName[]),
    mutants: new Set(args.variant.mutants as MutantName[]),
  };
  const model = new MMModel(args.scenario, variant, { lockdep: args.lockdep });
  const view = model.view(new Int32Array(model.stateWords));
  const mine = args.invariants.map((n) => {
    const inv = findInvariant(n);
    if (inv) return inv;
    // Loaded again in this worker, an invariant file defined other names: they must not depend on chance.
    if (args.invariantFiles?.length) {
      throw new InvariantFileError(
        `invariant ${n} is not defined when ${args.invariantFiles.join(', ')} is loaded again in a worker thread: an invariant file must define the same invariants each time it is loaded`,
      );
    }
    throw new Error(`unknown invariant ${n}`);
  });
  model.porInfo = porInfo(
    model.layout.objects,
    model.layout,
    args.scenario,
    model.actions.map((a) => a.thread),
    model.actions.map((a) => a.entry),
    mine.map((inv) => inv.reads),
  );
  const invariants = typeof args.lockdep === 'number' ? [model.lockdepWitness()] : mine.map((inv) => toEngineInvariant(inv, view));
  // The witnesses get a view of their own: the invariants' view caches the readable state of the state it is bound to.
  const witnesses = stateWitnesses(model, mine, model.view(new Int32Array(model.stateWords)));
  return { model, invariants, witnesses };
}

export function mmFactory(scenario: ScenarioSpec, variant: Variant, invariants: string[], lockdep?: MMModelArgs['lockdep']) {
  const invariantFiles = [...new Set(invariants.map(invariantSource).filter((f): f is string => f !== undefined))];
  return {
    module: jsUrl('model/factory.js'),
    args: {
      scenario,
      variant: { version: variant.version, epoch: variant.epoch, switches: [...variant.switches], mutants: [...variant.mutants] },
      invariants,
      invariantFiles,
      ...(lockdep !== undefined ? { lockdep } : {}),
    } satisfies MMModelArgs,
    // An invariant file's code may keep state between runs: its searches get threads of their own.
    isolated: invariantFiles.length > 0,
  };
}
