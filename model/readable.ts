/**
 * The readable model: a packed MM state as plain data (cold path), for
 * trace files, diffs and viewers, derived from the state schema
 * (model/objects.ts). Field names follow the kernel's.
 */
import { MM_OBJECTS } from './objects.js';
import { fieldLength, type ObjectDecl, type Readable, type ReadableContext } from './schema.js';
import type { StateView } from './kernel.js';
import { TH_HELD_FRAMES, TH_PC, TH_PTE_TABLE, TH_STATUS } from './layout.js';
import { STATUS_MASK, WAIT_ASLEEP, WAIT_KEY_MASK } from './locks.js';
import type { MMModel } from './world.js';
import { pcEntry, pcStep } from './program.js';
import type { Layout } from './layout.js';

export interface ReadableMm {
  state: string;
  mmap_lock: string;
  flags: string[];
  rss: Record<string, number>;
  vmas: Record<string, string>;
  /** address -> entry */
  ptes: Record<string, string>;
}

export interface ReadablePage {
  refcount: number;
  mapcount: number;
  flags: string[];
  data: number;
  swap_slot?: number;
  /** file:index of a page-cache page */
  mapping?: string;
}

export interface ReadableFile {
  size: number;
  flags: string[];
  /** inode_lock (absent in traces before version 3, where it was a flag). */
  i_rwsem?: string;
  i_mmap_rwsem: string;
  /** index -> pfn of the page-cache page */
  pagecache: Record<string, number>;
}

export interface ReadableState {
  mms: Record<string, ReadableMm>;
  files: Record<string, ReadableFile>;
  /** pfn -> page; free frames are left out */
  pages: Record<string, ReadablePage>;
  swap: Record<string, { count: number; cache: boolean; data: number }>;
  gup: Record<string, string>;
  threads: Record<string, string>;
  /** The anon_vma locks held, by VMA (locked ones only). */
  anon_vmas?: Record<string, { rwsem: string }>;
  /** thread -> the locks it holds, e.g. "P mmap_lock (read)" (derived from the lock fields; absent in traces before version 3). */
  locks?: Record<string, string[]>;
}

/**
 * The readable state of a packed one, built from the state schema: per
 * object kind its section, per object its record (or one value), per field
 * its key (model/objects.ts says how each shows).
 */
export function readableState(model: MMModel, s: Int32Array): ReadableState {
  return readableOf(model.layout, model.view(s), s);
}

/** The readable state of s under a layout (one with more objects than the model's, in a test). */
export function readableOf(L: Layout, v: StateView, s: Int32Array): ReadableState {
  const out: Record<string, Record<string, unknown>> = {};
  for (const o of L.objects) {
    if (o.readable.hidden) continue;
    const section: Record<string, unknown> = out[o.readable.section] ?? {};
    out[o.readable.section] = section;
    const n = o.count(L.shape);
    for (let i = 0; i < n; i++) {
      const index = i + (o.first ?? 0);
      const base = L.bases[o.kind]![i]!;
      const offsets = L.fieldOffsets[o.kind]!;
      const ctx: ReadableContext = { v, index, word: (f) => s[base + offsets[f]!]! };
      if (o.readable.omit?.(ctx)) continue;
      const name = o.readable.name(ctx);
      if (o.readable.value) {
        section[name] = o.readable.value(ctx);
        continue;
      }
      const rec: Record<string, unknown> = {};
      let off = 0;
      for (const f of o.fields) {
        const len = fieldLength(f, L.shape, i);
        const r = f.readable;
        if (r) {
          if (f.length === undefined) {
            const x = len ? r.show(s[base + off]!, ctx) : undefined;
            if (x !== undefined) {
              if (r.key) rec[r.key] = x;
              else Object.assign(rec, x);
            }
          } else {
            const elems: Record<string, unknown> = {};
            for (let e = 0; e < len; e++) {
              const key = r.elementKey?.(ctx, e) ?? String(e);
              const x = r.show(s[base + off + e]!, ctx);
              if (x !== undefined) elems[key] = x;
            }
            rec[r.key ?? f.name] = elems;
          }
        }
        off += len;
      }
      section[name] = rec;
    }
  }
  return { mms: {}, files: {}, pages: {}, swap: {}, gup: {}, threads: {}, ...out, locks: heldLocks(v, s) } as unknown as ReadableState;
}

/** The locks each thread holds, by thread name (threads holding none left out). */
function heldLocks(v: StateView, s: Int32Array): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const h of v.lockPlaces.all(s)) {
    const name = v.world.threadNames[h.thread] ?? `thread ${h.thread}`;
    const held = out[name] ?? [];
    out[name] = held;
    held.push(`${v.keyName(h.key)}${h.mode === 'locked' ? '' : ` (${h.mode})`}`);
  }
  return out;
}

/** A thread's state in one line: not started, idle, exited, or where it is and which page references it holds. */
export function describeThread(model: MMModel, v: StateView, t: number): string {
  const status = v.threadWord(t, TH_STATUS) & STATUS_MASK;
  if (status === 0) return 'not started';
  if (status === 2) return 'exited';
  const pc = v.threadWord(t, TH_PC);
  if (pc === 0) return 'idle';
  const e = pcEntry(pc);
  const prog = model.programs[t]![e]!;
  const step = prog.steps[pcStep(pc)]!;
  const held: string[] = [];
  for (const o of TH_HELD_FRAMES) {
    const pfn = v.threadWord(t, o);
    if (pfn) held.push(`pfn ${pfn}`);
  }
  const table = v.threadWord(t, TH_PTE_TABLE);
  if (table) held.push(`PTE table ${table - 1}`);
  const w = v.threadWait(t);
  const key = w & WAIT_KEY_MASK;
  const wait = key === 0 ? '' : w & WAIT_ASLEEP ? `; asleep on ${v.keyName(key)}` : `; woken, waits for ${v.keyName(key)}`;
  return `in ${prog.title}, next ${step.label}${held.length ? `; holds a reference to ${held.join(' and ')}` : ''}${wait}`;
}

/** The readable field spec of a section's key, from the schema. */
function specOf(objects: readonly ObjectDecl[], section: string, key: string): Readable | undefined {
  for (const o of objects) {
    if (o.readable.section !== section) continue;
    for (const f of o.fields) if (f.readable && (f.readable.key ?? f.name) === key) return f.readable;
  }
  return undefined;
}

/**
 * Flattens a readable state into "field: value" lines, in a stable order
 * (for diffs), each labelled as the schema says. Works on a readable state
 * read back from a trace file too.
 */
export function flatten(r: ReadableState, objects: readonly ObjectDecl[] = MM_OBJECTS): Map<string, string> {
  const out = new Map<string, string>();
  const text = (x: unknown): string => (Array.isArray(x) ? x.join('|') || '0' : String(x));
  for (const o of objects) {
    if (o.readable.hidden) continue;
    const section = (r as unknown as Record<string, Record<string, unknown>>)[o.readable.section] ?? {};
    for (const [name, value] of Object.entries(section)) {
      if (o.readable.value) {
        for (const [k, x] of o.readable.flat ? o.readable.flat(name, value) : [[`${o.readable.section} ${name}`, text(value)] as [string, string]]) out.set(k, x);
        continue;
      }
      for (const [key, x] of Object.entries(value as Record<string, unknown>)) {
        const spec = specOf(objects, o.readable.section, key);
        if (x && typeof x === 'object' && !Array.isArray(x)) {
          for (const [e, y] of Object.entries(x as Record<string, unknown>)) {
            out.set(spec?.flat ? spec.flat(name, e) : `${name} ${key}[${e}]`, spec?.flatValue ? spec.flatValue(y) : text(y));
          }
        } else out.set(spec?.flat ? spec.flat(name) : `${name} ${key}`, spec?.flatValue ? spec.flatValue(x) : text(x));
      }
    }
  }
  return out;
}

/** A page-table entry of the readable state, as data. */
export type ReadablePte =
  | { kind: 'none' }
  | { kind: 'present'; pfn: number; zeropage: boolean; write: boolean; dirty: boolean }
  | { kind: 'swap'; slot: number; exclusive: boolean }
  | { kind: 'migration'; pfn: number; type: 'read' | 'read-exclusive' | 'write' }
  /** A DAX mapping (fsdax, device-dax): present to the MMU, a device page. */
  | { kind: 'devmap'; pfn: number; write: boolean }
  /** A device-private entry: not present, the page lives in device memory. */
  | { kind: 'device-private'; pfn: number; write: boolean };

/** Parses an entry of ReadableMm.ptes ("present(pfn 2, rw, dirty)", "swap(slot 0, exclusive)", ...): each kind model/pte.ts formats. */
export function parsePte(text: string): ReadablePte {
  if (text === 'none') return { kind: 'none' };
  if (text === 'present(zeropage, ro)') return { kind: 'present', pfn: 0, zeropage: true, write: false, dirty: false };
  let m = /^present\(pfn (\d+), (rw|ro)(, dirty)?\)$/.exec(text);
  if (m) return { kind: 'present', pfn: Number(m[1]), zeropage: false, write: m[2] === 'rw', dirty: m[3] !== undefined };
  m = /^swap\(slot (\d+)(, exclusive)?\)$/.exec(text);
  if (m) return { kind: 'swap', slot: Number(m[1]), exclusive: m[2] !== undefined };
  m = /^migration\(pfn (\d+), (read|read-exclusive|write)\)$/.exec(text);
  if (m) return { kind: 'migration', pfn: Number(m[1]), type: m[2] as 'read' | 'read-exclusive' | 'write' };
  m = /^devmap\(pfn (\d+), (rw|ro)\)$/.exec(text);
  if (m) return { kind: 'devmap', pfn: Number(m[1]), write: m[2] === 'rw' };
  m = /^device-private\(pfn (\d+), (writable|readable)\)$/.exec(text);
  if (m) return { kind: 'device-private', pfn: Number(m[1]), write: m[2] === 'writable' };
  throw new Error(`not a page-table entry of the readable state: "${text}"`);
}

/** A GUP reference of the readable state, as data. */
export interface ReadableGup {
  pin: boolean;
  write: boolean;
  longterm: boolean;
  /** 0: the shared zeropage. */
  pfn: number;
  /** The process and address it was taken through. */
  mm: string;
  addr: number;
  /** The address was unmapped after the reference was taken. */
  detached: boolean;
}

/** Parses an entry of ReadableState.gup ("FOLL_PIN|FOLL_LONGTERM on pfn 1 via P:0"); null for "none". */
export function parseGup(text: string): ReadableGup | null {
  if (text === 'none') return null;
  const m = /^(FOLL_\w+(?:\|FOLL_\w+)*) on (?:pfn (\d+)|zeropage) via ([^:]+):(\d+)( \(unmapped since\))?$/.exec(text);
  if (!m) throw new Error(`not a GUP reference of the readable state: "${text}"`);
  const flags = m[1]!.split('|');
  return {
    pin: flags.includes('FOLL_PIN'),
    write: flags.includes('FOLL_WRITE'),
    longterm: flags.includes('FOLL_LONGTERM'),
    pfn: m[2] === undefined ? 0 : Number(m[2]),
    mm: m[3]!,
    addr: Number(m[4]),
    detached: m[5] !== undefined,
  };
}
