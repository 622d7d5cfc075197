/**
 * Models that run in worker threads are built from a factory: a JS module
 * URL and JSON-serialisable arguments, so every worker builds the same model.
 */
import type { Invariant, Model } from './model.js';

export interface ModelFactory {
  /** URL of an ES module exporting createModel(args). */
  readonly module: string;
  readonly args: unknown;
}

export interface BuiltModel {
  model: Model;
  invariants: Invariant[];
}

export async function loadModel(f: ModelFactory): Promise<BuiltModel> {
  const mod = (await import(f.module)) as { createModel(args: unknown): BuiltModel };
  return mod.createModel(f.args);
}

/**
 * The compiled (dist/) URL of a module next to `from`: vitest runs the
 * TypeScript sources, but worker threads load JavaScript.
 */
export function compiledUrl(from: string, rel: string): string {
  const url = new URL(rel, from);
  if (!from.endsWith('.ts')) return url.href;
  // Sources sit one directory below the project root: <root>/checker/x.ts -> <root>/dist/checker/x.js
  const root = new URL('../', from).href;
  return new URL(`dist/${url.href.slice(root.length)}`, root).href;
}
