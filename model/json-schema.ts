/**
 * A small schema language for mmcheck's JSON inputs (scenario files, gate
 * configs): one description gives both the validator, whose errors name the
 * path and the reason ("threads[1].menu[0].addr: expected an integer, got
 * \"0\""), and the JSON Schema that editors use for completion.
 */
import { readFileSync } from 'node:fs';
import { didYouMean } from './variants.js';

export type Schema =
  | { kind: 'string'; doc?: string; enum?: readonly string[]; minLength?: number }
  | { kind: 'int'; doc?: string; min?: number; max?: number }
  | { kind: 'bool'; doc?: string }
  | { kind: 'null' }
  | { kind: 'array'; doc?: string; items: Schema; minItems?: number; maxItems?: number }
  | ObjectSchema
  | { kind: 'oneOf'; doc?: string; options: readonly Schema[] }
  /** An object with any keys (names), every value of one schema. */
  | { kind: 'record'; doc?: string; values: Schema }
  /** Objects told apart by one string field (the tag), e.g. a menu entry's "op". */
  | { kind: 'tagged'; doc?: string; tag: string; variants: Readonly<Record<string, ObjectSchema>> };

export interface ObjectSchema {
  kind: 'object';
  doc?: string;
  props: Readonly<Record<string, { schema: Schema; optional?: boolean }>>;
  /** A check across fields; returns a reason, or null. */
  refine?: (o: Record<string, unknown>) => string | null;
}

export const str = (doc?: string, extra: { enum?: readonly string[]; minLength?: number } = {}): Schema => ({ kind: 'string', doc, ...extra });
export const int = (doc?: string, min?: number, max?: number): Schema => ({ kind: 'int', doc, min, max });
export const bool = (doc?: string): Schema => ({ kind: 'bool', doc });
export const arr = (items: Schema, doc?: string, minItems?: number, maxItems?: number): Schema => ({ kind: 'array', items, doc, minItems, maxItems });
export const record = (values: Schema, doc?: string): Schema => ({ kind: 'record', values, doc });
export const req = (schema: Schema) => ({ schema });
export const opt = (schema: Schema) => ({ schema, optional: true });
export const obj = (props: ObjectSchema['props'], doc?: string, refine?: ObjectSchema['refine']): ObjectSchema => ({ kind: 'object', props, doc, refine });

export class SchemaError extends Error {
  constructor(
    readonly path: string,
    readonly reason: string,
  ) {
    super(`${path || '(top level)'}: ${reason}`);
  }
}

function describe(x: unknown): string {
  if (x === null) return 'null';
  if (Array.isArray(x)) return 'a list';
  if (typeof x === 'object') return 'an object';
  if (typeof x === 'string') return JSON.stringify(x.length > 40 ? `${x.slice(0, 40)}...` : x);
  return String(x);
}

const join = (path: string, key: string | number): string => (typeof key === 'number' ? `${path}[${key}]` : path ? `${path}.${key}` : key);

/** Thrown instead of a SchemaError while a oneOf tries its options: no message to build, no stack to capture. */
const MISFIT: unknown = Symbol('misfit');

/** Throws SchemaError at the first place `x` does not fit `s` (MISFIT when `quiet`). */
export function validate(x: unknown, s: Schema, path = '', quiet = false): void {
  const fail = (why: string): never => {
    throw quiet ? MISFIT : new SchemaError(path, why);
  };
  switch (s.kind) {
    case 'string':
      if (typeof x !== 'string') fail(`expected a string, got ${describe(x)}`);
      if (s.enum && !s.enum.includes(x as string) && quiet) throw MISFIT;
      if (s.enum && !s.enum.includes(x as string)) fail(`must be one of ${s.enum.map((e) => `"${e}"`).join(', ')}, got ${describe(x)}${didYouMean(x as string, s.enum)}`);
      if (s.minLength !== undefined && (x as string).length < s.minLength) fail('must not be empty');
      return;
    case 'int':
      if (typeof x !== 'number' || !Number.isInteger(x)) fail(`expected an integer, got ${describe(x)}`);
      if (s.min !== undefined && (x as number) < s.min) fail(`must be at least ${s.min}, got ${x}`);
      if (s.max !== undefined && (x as number) > s.max) fail(`must be at most ${s.max}, got ${x}`);
      return;
    case 'bool':
      if (typeof x !== 'boolean') fail(`expected true or false, got ${describe(x)}`);
      return;
    case 'null':
      if (x !== null) fail(`expected null, got ${describe(x)}`);
      return;
    case 'array':
      if (!Array.isArray(x)) fail(`expected a list, got ${describe(x)}`);
      if (s.minItems !== undefined && (x as unknown[]).length < s.minItems) fail(s.minItems === 1 ? 'must not be empty' : `needs at least ${s.minItems} entries`);
      if (s.maxItems !== undefined && (x as unknown[]).length > s.maxItems) fail(`at most ${s.maxItems} entries, got ${(x as unknown[]).length}`);
      (x as unknown[]).forEach((e, i) => validate(e, s.items, join(path, i), quiet));
      return;
    case 'object': {
      if (!x || typeof x !== 'object' || Array.isArray(x)) fail(`expected an object, got ${describe(x)}`);
      const o = x as Record<string, unknown>;
      for (const k of Object.keys(o)) {
        if (k === '$schema' && path === '') continue;
        if (!Object.hasOwn(s.props, k)) {
          if (quiet) throw MISFIT;
          throw new SchemaError(join(path, k), `unknown field${didYouMean(k, Object.keys(s.props))}; expected one of ${Object.keys(s.props).join(', ')}`);
        }
      }
      for (const [k, p] of Object.entries(s.props)) {
        const v = Object.hasOwn(o, k) ? o[k] : undefined;
        if (v === undefined) {
          if (!p.optional) fail(`missing field "${k}"`);
          continue;
        }
        validate(v, p.schema, join(path, k), quiet);
      }
      const why = s.refine?.(o);
      if (why) fail(why);
      return;
    }
    case 'record': {
      if (!x || typeof x !== 'object' || Array.isArray(x)) fail(`expected an object, got ${describe(x)}`);
      for (const [k, v] of Object.entries(x as Record<string, unknown>)) validate(v, s.values, join(path, k), quiet);
      return;
    }
    case 'oneOf': {
      // Most inputs fit an option: find it without building the others' errors (a scenario's menu entries, at every start).
      for (const opt of s.options) {
        try {
          validate(x, opt, path, true);
          return;
        } catch (e) {
          if (e !== MISFIT) throw e;
        }
      }
      if (quiet) throw MISFIT;
      const errors: SchemaError[] = [];
      for (const opt of s.options) {
        try {
          validate(x, opt, path);
          return;
        } catch (e) {
          if (!(e instanceof SchemaError)) throw e;
          errors.push(e);
        }
      }
      // The option that got furthest is the one the author meant.
      throw errors.sort((a, b) => b.path.length - a.path.length)[0]!;
    }
    case 'tagged': {
      if (!x || typeof x !== 'object' || Array.isArray(x)) fail(`expected an object with "${s.tag}", got ${describe(x)}`);
      const tag = Object.hasOwn(x as object, s.tag) ? (x as Record<string, unknown>)[s.tag] : undefined;
      const names = Object.keys(s.variants);
      if (typeof tag !== 'string') fail(`missing "${s.tag}" (one of ${names.join(', ')})`);
      const v = Object.hasOwn(s.variants, tag as string) ? s.variants[tag as string] : undefined;
      if (!v) {
        if (quiet) throw MISFIT;
        throw new SchemaError(join(path, s.tag), `unknown ${s.tag} "${tag}"${didYouMean(tag as string, names)}; one of ${names.join(', ')}`);
      }
      validate(x, v, path, quiet);
      return;
    }
  }
}

/** The JSON Schema (draft 2020-12) of `s`, for editors. */
export function toJsonSchema(s: Schema): Record<string, unknown> {
  const doc = 'doc' in s && s.doc ? { description: s.doc } : {};
  switch (s.kind) {
    case 'string':
      return { type: 'string', ...doc, ...(s.enum ? { enum: [...s.enum] } : {}), ...(s.minLength ? { minLength: s.minLength } : {}) };
    case 'int':
      return { type: 'integer', ...doc, ...(s.min !== undefined ? { minimum: s.min } : {}), ...(s.max !== undefined ? { maximum: s.max } : {}) };
    case 'bool':
      return { type: 'boolean', ...doc };
    case 'null':
      return { type: 'null' };
    case 'array':
      return { type: 'array', ...doc, items: toJsonSchema(s.items), ...(s.minItems ? { minItems: s.minItems } : {}), ...(s.maxItems ? { maxItems: s.maxItems } : {}) };
    case 'object':
      return {
        type: 'object',
        ...doc,
        properties: Object.fromEntries(Object.entries(s.props).map(([k, p]) => [k, toJsonSchema(p.schema)])),
        required: Object.entries(s.props)
          .filter(([, p]) => !p.optional)
          .map(([k]) => k),
        additionalProperties: false,
      };
    case 'oneOf':
      return { ...doc, oneOf: s.options.map(toJsonSchema) };
    case 'record':
      return { type: 'object', ...doc, additionalProperties: toJsonSchema(s.values) };
    case 'tagged':
      return {
        ...doc,
        oneOf: Object.entries(s.variants).map(([tag, v]) => {
          const j = toJsonSchema(v) as { properties: Record<string, unknown> };
          j.properties[s.tag] = { const: tag };
          return j;
        }),
      };
  }
}

/** A complete JSON Schema document for a file format (a "$schema" key is allowed at the top). */
export function jsonSchemaDocument(title: string, s: Schema): Record<string, unknown> {
  const body = toJsonSchema(s) as { properties?: Record<string, unknown> };
  if (body.properties) body.properties = { $schema: { type: 'string' }, ...body.properties };
  return { $schema: 'https://json-schema.org/draft/2020-12/schema', title, ...body };
}

/** What is wrong with an input file, in one line: unreadable, not JSON, or not fitting its schema (with the path). */
export class InputError extends Error {}

/** A file's text; an unreadable file is an InputError naming what it should have been. */
export function readText(file: string, what: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (e) {
    throw new InputError(`cannot read ${what} ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

/** Parses JSON text from `source` and validates it against `schema` (when given); problems are InputErrors. */
export function checkJson(text: string, source: string, schema?: Schema): unknown {
  try {
    const json = parseJson(text, source);
    if (schema) validate(json, schema);
    return json;
  } catch (e) {
    if (e instanceof SchemaError) throw new InputError(e.path === '' && e.reason.startsWith(`${source} is not valid JSON`) ? e.reason : `${source}: ${e.message}`);
    throw e;
  }
}

/** Objects and lists nested deeper than this are refused (no input of mmcheck's needs more than a few levels). */
const MAX_DEPTH = 32;

/**
 * What JSON.parse accepts silently, found in the text first: a key given
 * twice in one object (JSON.parse keeps the last) and nesting deeper than
 * MAX_DEPTH. Malformed text is left to JSON.parse to report.
 */
function scanJson(text: string): void {
  interface Frame {
    obj: boolean;
    path: string;
    keys: Set<string>;
    expectKey: boolean;
    key: string;
    index: number;
  }
  const stack: Frame[] = [];
  const n = text.length;
  for (let i = 0; i < n; i++) {
    const c = text[i];
    const top = stack[stack.length - 1];
    if (c === '"') {
      let j = i + 1;
      while (j < n && text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
      if (top?.obj && top.expectKey) {
        let key: string;
        try {
          key = JSON.parse(text.slice(i, j + 1)) as string;
        } catch {
          return;
        }
        if (top.keys.has(key)) throw new SchemaError(join(top.path, key), 'given twice in one object (JSON keeps only the last one: remove the other)');
        top.keys.add(key);
        top.key = key;
        top.expectKey = false;
      }
      i = j;
    } else if (c === '{' || c === '[') {
      const path = !top ? '' : top.obj ? join(top.path, top.key) : join(top.path, top.index);
      if (stack.length >= MAX_DEPTH) throw new SchemaError(path, `nested more than ${MAX_DEPTH} levels deep`);
      stack.push({ obj: c === '{', path, keys: new Set(), expectKey: c === '{', key: '', index: 0 });
    } else if (c === '}' || c === ']') stack.pop();
    else if (c === ',' && top) {
      if (top.obj) top.expectKey = true;
      else top.index++;
    }
  }
}

/** JSON.parse with an error that gives the line and column; duplicate keys and deep nesting are errors too. */
export function parseJson(text: string, source: string): unknown {
  try {
    const json: unknown = JSON.parse(text);
    scanJson(text);
    return json;
  } catch (e) {
    if (e instanceof SchemaError) throw e;
    let msg = (e as Error).message.replace(/, (\.\.\.)?".*" is not valid JSON$/s, '');
    const pos = /at position (\d+)/.exec(msg);
    if (pos) {
      const before = text.slice(0, Number(pos[1]));
      const line = before.split('\n').length;
      const col = before.length - before.lastIndexOf('\n');
      msg = `${msg.replace(/ in JSON at position \d+.*$/, '').replace(/ at position \d+.*$/, '')} at line ${line}, column ${col}`;
    }
    throw new SchemaError('', `${source} is not valid JSON: ${msg}`);
  }
}
