/**
 * The state schema: every kernel object the model keeps, with its typed
 * fields, declared once. Everything else is derived from it:
 *
 * - the layout (model/layout.ts): where each object and field lives in the
 *   packed state, and the offset constants the kernel code uses (PG_REF...);
 * - the readable state (model/readable.ts) that traces and invariant files
 *   see, and the trace file's schema;
 * - the symmetry (model/symmetry.ts): every field, or bit field of a packed
 *   word, typed as a frame reference is renamed, wherever it lives;
 * - the partial-order footprints (model/por.ts): objects, not fields, with
 *   every object in the footprint of an operation that declares none;
 * - the scenario limits (model/scenario.ts): the bit widths of references.
 *
 * A word is an int, a reference to an object (its index plus a bias: a
 * frame's pfn is its index + 1, 0 being the zeropage), or a packed word
 * whose bit fields may be references (a PTE's target is a frame or a swap
 * slot, depending on its kind). Frames come in pools: a pool's frames are
 * interchangeable among themselves, not with another pool's (RAM now, device
 * memory next).
 */

/** The kinds of object a reference can name. */
export type RefKind = 'frame' | 'slot' | 'mm' | 'file' | 'thread' | 'pgtable';

export interface RefSpec {
  readonly to: RefKind;
  /** The stored value is index + bias (0 then means "none" when bias is 1). */
  readonly bias: number;
  /** Whether the reference holds a reference count on its target (a thread's page) or only names it. */
  readonly holds?: boolean;
  /**
   * A frame's field naming another frame of its pool: a folio's tail naming
   * its head. The symmetry signs such a frame, when no other place names it,
   * after every named frame by its head's signature (model/symmetry.ts); no
   * other frame field may name a frame.
   */
  readonly folioHead?: true;
}

/** A bit field of a packed word; `ref` when it names an object, `when` it does. */
export interface BitField {
  readonly name: string;
  readonly shift: number;
  readonly bits: number;
  readonly ref?: RefSpec;
  /** The field is a reference only in words of these kinds (a PTE's target is a frame only when present or migration). */
  readonly when?: WordKinds;
}

/**
 * Which words a bit field is a reference in: those whose bits under `mask`
 * are one of `among`. Data, not a function, so that the hot path (symmetry)
 * compiles it to two typed-array words.
 */
export interface WordKinds {
  readonly mask: number;
  readonly among: readonly number[];
}

/** Whether a word is of one of the kinds (cold path; the symmetry compiles its own test). */
export function isKind(word: number, k: WordKinds | undefined): boolean {
  return k === undefined || k.among.includes(word & k.mask);
}

/** The type of a word. */
export interface WordType {
  readonly name: string;
  /** The whole word is a reference (stored index + bias; 0 is none). */
  readonly ref?: RefSpec;
  /** The bit fields of a packed word. */
  readonly fields?: readonly BitField[];
}

export const INT: WordType = { name: 'int' };

/** The readable form of a field (cold path): a key in its object's record and what to show; undefined hides it. */
export interface Readable {
  /** The key in the object's readable record; omitted: the object returned by show() is merged in. */
  readonly key?: string;
  /** JSON schema of the value, for trace files: 'int', 'string', 'strings', 'bool', or a record of one of them. */
  readonly json: 'int' | 'string' | 'strings' | 'bool' | { record: 'int' | 'string' } | { object: Record<string, 'int' | 'string' | 'strings' | 'bool'> };
  /** For an array field: the key of element i (null: leave it out). */
  readonly elementKey?: (ctx: ReadableContext, i: number) => string | null;
  /** The readable value of the word (or of the array's element); undefined: leave it out. */
  readonly show: (value: number, ctx: ReadableContext) => unknown;
  /** The value may be left out (show returns undefined for some states). */
  readonly optional?: boolean;
  /** Its label in a flat "field: value" listing (trace diffs), given the object's name and the element's key; default "<object> <key>". */
  readonly flat?: (object: string, element?: string) => string;
  /** Its value there; default: a list joined by "|" ("0" when empty), anything else as text. */
  readonly flatValue?: (value: unknown) => string;
}

/** What a readable formatter may look at: the state, through the view, and the object's index. */
export interface ReadableContext {
  /** The state view (model/kernel.ts StateView), typed loosely here: the schema is below the kernel. */
  readonly v: import('./kernel.js').StateView;
  readonly index: number;
  /** Another word of the same object. */
  word(field: string): number;
}

export interface FieldDecl {
  readonly name: string;
  readonly type: WordType;
  /** Words of an array field; a number, or from the scenario's shape (and the object's index). */
  readonly length?: number | ((shape: ShapeCounts, index: number) => number);
  /**
   * A one-word field that only some worlds have (0 words in the others, so
   * that they do not pay for it in every state): like a field whose length
   * depends on the scenario, it comes after the fixed ones.
   */
  readonly only?: (shape: ShapeCounts) => boolean;
  /** How it shows in the readable state; false: it does not (bookkeeping, locks shown elsewhere). */
  readonly readable: Readable | false;
  /** The field is a lock of this class (model/locks.ts LOCK_*): held locks, per holder, are read from it. */
  readonly lock?: number;
  /**
   * The word lives only while an operation runs (a thread's locals): it is
   * zeroed when the operation ends, so that states differing only in what a
   * finished operation left behind are one state. A word that holds a
   * reference must already be zero then (checked under MMCHECK_ASSERT).
   */
  readonly perOperation?: true;
}

/** The counts of a scenario's world that the layout needs (model/layout.ts Shape). */
export interface ShapeCounts {
  readonly mms: number;
  readonly vmas: number;
  readonly addrs: number;
  readonly frames: number;
  /** ZONE_DEVICE frames (a pgmap's pages), after the RAM frames. */
  readonly devFrames?: number;
  readonly swapSlots: number;
  readonly gupSlots: number;
  readonly files: number;
  readonly filePages: number;
  readonly entries: readonly number[];
  /** Objects of kinds the built-in schema does not know (a test's toy object), by kind. */
  readonly extra?: Readonly<Record<string, number>>;
}

export type ObjectKind = string;

export interface ObjectDecl {
  readonly kind: ObjectKind;
  /** How many the world has. */
  readonly count: (shape: ShapeCounts) => number;
  /** The index of the first one as references name it (frames: 1, pfn 0 being the zeropage). */
  readonly first?: number;
  /** For frames: the pool. A pool's frames are interchangeable (model/symmetry.ts); pools take consecutive pfns, in the schema's order. */
  readonly pool?: string;
  readonly fields: readonly FieldDecl[];
  /**
   * The readable state: the section it goes in, each object's name there,
   * and whether to leave one out (a free frame). `value` replaces the record
   * built from the fields (a GUP reference and a thread show as one line).
   */
  readonly readable: {
    readonly section: string;
    readonly name: (ctx: ReadableContext) => string;
    readonly omit?: (ctx: ReadableContext) => boolean;
    readonly value?: (ctx: ReadableContext) => unknown;
    readonly json?: Readable['json'];
    /** Not part of the readable state at all (a checker's ghost word). */
    readonly hidden?: boolean;
    /** A trace file may lack the section (one written before it existed, or a world without such objects). */
    readonly mayBeAbsent?: boolean;
    /** With `value`: its "field: value" lines. */
    readonly flat?: (object: string, value: unknown) => [string, string][];
  };
  /** Partial-order footprints (model/por.ts): one bit for each object of the kind, or one for all of them. */
  readonly footprint: 'each' | 'all';
}

/** The length of a field in object `index`. */
export function fieldLength(f: FieldDecl, shape: ShapeCounts, index: number): number {
  if (f.only && !f.only(shape)) return 0;
  if (f.length === undefined) return 1;
  return typeof f.length === 'number' ? f.length : f.length(shape, index);
}

/** The offset of `field` within its object, when every field before it has a fixed length (a constant). */
export function staticOffset(o: ObjectDecl, field: string): number {
  let off = 0;
  for (const f of o.fields) {
    if (f.name === field) return off;
    if (typeof f.length === 'function' || f.only) throw new Error(`${o.kind}.${field}: comes after ${o.kind}.${f.name}, whose length depends on the scenario`);
    off += f.length ?? 1;
  }
  throw new Error(`${o.kind} has no field ${field}`);
}

/**
 * Where a frame reference can live in a word of this type: the whole word,
 * or a bit field (with the kinds of word it is one in). Empty: the type
 * names no frame.
 */
export interface FrameRefPlace {
  readonly shift: number;
  readonly mask: number;
  readonly bias: number;
  readonly when?: WordKinds;
  /** It holds a reference count on the frame (a thread's page), or only names it (orig_pte, a remembered pfn). */
  readonly holds: boolean;
  /** A folio's tail naming its head (RefSpec.folioHead). */
  readonly folioHead: boolean;
}

export function frameRefs(t: WordType): FrameRefPlace[] {
  const out: FrameRefPlace[] = [];
  if (t.ref?.to === 'frame') out.push({ shift: 0, mask: -1 >>> 0, bias: t.ref.bias, holds: !!t.ref.holds, folioHead: !!t.ref.folioHead });
  for (const b of t.fields ?? []) {
    if (b.ref?.to === 'frame') out.push({ shift: b.shift, mask: (1 << b.bits) - 1, bias: b.ref.bias, when: b.when, holds: !!b.ref.holds, folioHead: !!b.ref.folioHead });
  }
  return out;
}

/** The largest index a reference of this kind can hold anywhere in the schema, and where: its narrowest field. */
export function refLimit(objects: readonly ObjectDecl[], to: RefKind): { max: number; where: string; bits: number } {
  let best = { max: Infinity, where: '', bits: 32 };
  for (const o of objects) {
    for (const f of o.fields) {
      if (f.type.ref?.to === to && 2 ** 31 - 1 - f.type.ref.bias < best.max) best = { max: 2 ** 31 - 1 - f.type.ref.bias, where: `${o.kind}.${f.name}`, bits: 31 };
      for (const b of f.type.fields ?? []) {
        if (b.ref?.to === to && 2 ** b.bits - 1 - b.ref.bias < best.max) best = { max: 2 ** b.bits - 1 - b.ref.bias, where: `${o.kind}.${f.name}.${b.name}`, bits: b.bits };
      }
    }
  }
  return best;
}

/** The widest value a bit field named `field` of a word type can hold. */
export function bitFieldMax(t: WordType, field: string): number {
  const b = t.fields?.find((x) => x.name === field);
  if (!b) throw new Error(`${t.name} has no bit field ${field}`);
  return 2 ** b.bits - 1;
}
