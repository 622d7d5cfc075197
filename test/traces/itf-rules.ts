/**
 * The Informal Trace Format's rules (Apalache ADR-015, as Apalache and Quint
 * write it), checked independently of mmcheck's own reader: a top-level
 * object of "#meta", "params", "vars", "states" and "loop"; "vars" a list of
 * names; each state an object with exactly those variables plus an optional
 * "#meta"; each value a boolean, a string, an integer as {"#bigint": "..."},
 * a list, {"#tup": [...]}, {"#set": [...]}, {"#map": [[k, v], ...]},
 * {"#unserializable": "..."} or a record whose keys do not start with "#".
 * Bare JSON numbers and null are not ITF values.
 */
import { expect } from 'vitest';

const TOP = new Set(['#meta', 'params', 'vars', 'states', 'loop']);

export function assertItfValue(x: unknown, path: string): void {
  const fail = (why: string): never => {
    throw new Error(`${path}: ${why}`);
  };
  if (typeof x === 'boolean' || typeof x === 'string') return;
  if (typeof x === 'number') fail(`a bare number (${x}); ITF wants {"#bigint": "..."}`);
  if (x === null || x === undefined) fail('null is not an ITF value');
  if (Array.isArray(x)) {
    x.forEach((v, i) => assertItfValue(v, `${path}[${i}]`));
    return;
  }
  const o = x as Record<string, unknown>;
  const keys = Object.keys(o);
  const special = keys.filter((k) => k.startsWith('#'));
  if (special.length) {
    if (keys.length !== 1) fail(`a tagged value has exactly one key, got ${keys.join(', ')}`);
    const [tag] = special;
    const v = o[tag!];
    switch (tag) {
      case '#bigint':
        if (typeof v !== 'string' || !/^-?\d+$/.test(v)) fail(`#bigint must be a string of digits, got ${JSON.stringify(v)}`);
        return;
      case '#tup':
      case '#set':
        if (!Array.isArray(v)) fail(`${tag} must hold a list`);
        (v as unknown[]).forEach((e, i) => assertItfValue(e, `${path}.${tag}[${i}]`));
        return;
      case '#map':
        if (!Array.isArray(v)) fail('#map must hold a list of pairs');
        (v as unknown[]).forEach((p, i) => {
          if (!Array.isArray(p) || p.length !== 2) fail(`#map[${i}] is not a [key, value] pair`);
          assertItfValue((p as unknown[])[0], `${path}.#map[${i}][0]`);
          assertItfValue((p as unknown[])[1], `${path}.#map[${i}][1]`);
        });
        return;
      case '#unserializable':
        if (typeof v !== 'string') fail('#unserializable must hold a string');
        return;
      default:
        fail(`unknown tag ${tag}`);
    }
  }
  for (const k of keys) assertItfValue(o[k], `${path}.${k}`);
}

/** Throws (and fails the test) unless `json` follows the ITF rules. */
export function assertItf(json: unknown): void {
  expect(json && typeof json === 'object' && !Array.isArray(json)).toBe(true);
  const t = json as Record<string, unknown>;
  for (const k of Object.keys(t)) expect(TOP.has(k), `top-level key ${k}`).toBe(true);
  expect(Array.isArray(t.vars)).toBe(true);
  expect(Array.isArray(t.states)).toBe(true);
  const vars = t.vars as unknown[];
  for (const v of vars) expect(typeof v).toBe('string');
  if (t['#meta'] !== undefined) expect(typeof t['#meta']).toBe('object');
  if (t.params !== undefined) expect((t.params as unknown[]).every((p) => typeof p === 'string')).toBe(true);
  if (t.loop !== undefined) expect(Number.isInteger(t.loop)).toBe(true);
  (t.states as unknown[]).forEach((s, i) => {
    expect(s && typeof s === 'object' && !Array.isArray(s), `state ${i} is an object`).toBe(true);
    const st = s as Record<string, unknown>;
    expect(
      Object.keys(st)
        .filter((k) => k !== '#meta')
        .sort(),
    ).toEqual([...(vars as string[])].sort());
    if (st['#meta'] !== undefined) expect(typeof st['#meta']).toBe('object');
    for (const v of vars as string[]) assertItfValue(st[v], `states[${i}].${v}`);
  });
}
