/**
 * The places in a packed state that can name a page frame, from the state
 * schema (model/objects.ts): every field, or bit field of a packed word,
 * typed as a frame reference, in every object, in the schema's order. The
 * symmetry renames them all; the allocator and refcount-sane read the
 * thread locals among them (held or only remembered).
 */
import type { Layout } from './layout.js';
import { fieldLength, frameRefs } from './schema.js';

/** Every place in a state that can name a frame, as typed arrays (canonicalize runs for every successor). */
export class FramePlaces {
  /** Word offset, shift and mask of the pfn, and the word kinds it is a pfn in (mask, and a bit set of `among` values or -1: always). */
  readonly offset: Int32Array;
  readonly shift: Int32Array;
  readonly mask: Int32Array;
  readonly bias: Int32Array;
  readonly kindMask: Int32Array;
  /** Up to 4 kind values; -1 pads (and a kindMask of 0 with kind 0 means always). */
  readonly kinds: Int32Array;
  readonly holds: Uint8Array;
  /** The pfn of the frame a place lives in (a folio tail's head field), or 0: the symmetry signs such frames after the others. */
  readonly owner: Int32Array;
  /** Object kind and field of each place (cold path: tests, messages). */
  readonly names: readonly string[];

  /** Every place, or those `which` keeps (by object kind and whether the place holds a reference on the frame). */
  constructor(L: Layout, which: (kind: string, holds: boolean) => boolean = () => true) {
    const off: number[] = [];
    const sh: number[] = [];
    const mk: number[] = [];
    const bi: number[] = [];
    const km: number[] = [];
    const ks: number[] = [];
    const ho: number[] = [];
    const ow: number[] = [];
    const names: string[] = [];
    for (const o of L.objects) {
      const n = L.bases[o.kind]!.length;
      // A frame naming a frame would be signed by its own number, which renaming changes (model/symmetry.ts): only a folio's tail may, naming its head.
      if (o.pool && o.fields.some((f) => frameRefs(f.type).some((r) => !r.folioHead)))
        throw new Error(`${o.kind}: a frame's field cannot name a frame (except a tail its folio's head)`);
      const first = o.pool ? pfnOfFirst(L, o.kind) : 0;
      for (let i = 0; i < n; i++) {
        for (const f of o.fields) {
          const refs = frameRefs(f.type);
          if (!refs.length) continue;
          const len = fieldLength(f, L.shape, i);
          for (let e = 0; e < len; e++) {
            for (const r of refs) {
              if (!which(o.kind, r.holds)) continue;
              const among = r.when?.among ?? [0];
              if (among.length > 4) throw new Error(`${o.kind}.${f.name}: at most 4 word kinds name a frame`);
              off.push(L.at(o.kind, i, f.name, e));
              sh.push(r.shift);
              mk.push(r.mask);
              bi.push(r.bias);
              km.push(r.when?.mask ?? 0);
              for (let j = 0; j < 4; j++) ks.push(among[j] ?? -1);
              ho.push(r.holds ? 1 : 0);
              ow.push(o.pool ? first + i : 0);
              names.push(`${o.kind}[${i}].${f.name}${len > 1 ? `[${e}]` : ''}`);
            }
          }
        }
      }
    }
    this.offset = Int32Array.from(off);
    this.shift = Int32Array.from(sh);
    this.mask = Int32Array.from(mk);
    this.bias = Int32Array.from(bi);
    this.kindMask = Int32Array.from(km);
    this.kinds = Int32Array.from(ks);
    this.holds = Uint8Array.from(ho);
    this.owner = Int32Array.from(ow);
    this.names = names;
  }

  get length(): number {
    return this.offset.length;
  }

  /** The pfn place i names in state s, or -1 when the word is not of a kind that names a frame. */
  pfnAt(s: Int32Array, i: number): number {
    const w = s[this.offset[i]!]!;
    const k = w & this.kindMask[i]!;
    const b = i * 4;
    const ks = this.kinds;
    if (k !== ks[b] && k !== ks[b + 1] && k !== ks[b + 2] && k !== ks[b + 3]) return -1;
    return ((w >>> this.shift[i]!) & this.mask[i]!) - this.bias[i]!;
  }

  /** Writes pfn into place i (which names a frame in s). */
  setPfn(s: Int32Array, i: number, pfn: number): void {
    const o = this.offset[i]!;
    const sh = this.shift[i]!;
    const m = this.mask[i]!;
    s[o] = (s[o]! & ~(m << sh)) | (((pfn + this.bias[i]!) & m) << sh);
  }
}

/** The pfn of the first frame of a pool's object kind: pools take consecutive pfns from 1, in the schema's order. */
function pfnOfFirst(L: Layout, kind: string): number {
  let pfn = 1;
  for (const o of L.objects) {
    if (o.kind === kind) return pfn;
    if (o.pool) pfn += L.bases[o.kind]!.length;
  }
  throw new Error(`no object kind ${kind}`);
}
