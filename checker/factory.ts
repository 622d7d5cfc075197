/**
 * Models that run in worker threads are built from a factory: a JS module
 * URL and JSON-serialisable arguments, so every worker builds the same model.
 */
import type { Invariant, Model, Witness } from './model.js';

export interface ModelFactory {
  /** URL of an ES module exporting createModel(args). */
  readonly module: string;
  readonly args: unknown;
  /**
   * Runs in threads of its own, never in threads an earlier search used:
   * for models that run users' code, which may keep state from one run to
   * the next (checker/pool.ts).
   */
  readonly isolated?: boolean;
}

export interface BuiltModel {
  model: Model;
  invariants: Invariant[];
  witnesses?: Witness[];
}

export async function loadModel(f: ModelFactory): Promise<BuiltModel> {
  const mod = (await import(f.module)) as { createModel(args: unknown): BuiltModel; prepare?(args: unknown): Promise<void> };
  // Asynchronous set-up a worker needs first (e.g. loading user modules).
  await mod.prepare?.(f.args);
  return mod.createModel(f.args);
}

/** The project root (or dist/ when running compiled) and whether we run the TypeScript sources. */
const SELF = import.meta.url;
const FROM_SOURCES = SELF.endsWith('.ts');
const ROOT = new URL('../', SELF).href;

/**
 * The URL of a compiled module, given its path from the project root
 * ("checker/worker.js"): vitest runs the TypeScript sources, but worker
 * threads load the JavaScript in dist/.
 */
export function jsUrl(pathFromRoot: string): string {
  return new URL(FROM_SOURCES ? `dist/${pathFromRoot}` : pathFromRoot, ROOT).href;
}
