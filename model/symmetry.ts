/**
 * Symmetry reduction over page frames: which physical frame holds a page is
 * irrelevant (the allocator could have returned any free one), so a state is
 * stored in a canonical numbering.
 *
 * The places that can name a frame come from the state schema
 * (model/objects.ts): every field, or bit field of a packed word, typed as a
 * frame reference, in every object, in the schema's order (page tables,
 * GUP references, page-cache slots, thread locals...). A field added to the
 * schema with a frame type is renamed with no change here.
 *
 * Frames are ordered by the first place that names them; frames no place
 * names, by content (a swap-cache page's content includes its slot); free
 * frames last. Since each place names one frame, the order is the same
 * whatever the numbering: symmetric states get the same form. Each pool of
 * frames (RAM now) is renumbered within itself.
 *
 * A folio's tail that no place names is signed after every named frame, by
 * its head's signature, and then ordered by content (the tails of one head
 * differ in their subpage index). The one place inside a frame that may name
 * a frame is a tail's head (schema RefSpec.folioHead); used as a first place
 * it would sign the tail by its own number. One case stays non-canonical:
 * two THPs whose heads no place names (their tails share a signature and
 * their content holds the raw head pfn). No built-in scenario reaches it; the
 * form is then still a renumbering of the state (sound), only less reduced.
 *
 * The zeropage (pfn 0) is not a frame and never renamed.
 */
import type { Layout } from './layout.js';
import { FramePlaces } from './frame-places.js';

const INF = 0x7fffffff;

/** The pools: consecutive pfn ranges, each of frames of one object kind. */
interface Pool {
  readonly kind: string;
  /** pfn of its first frame. */
  readonly first: number;
  readonly count: number;
}

export class FrameSymmetry {
  private readonly F: number;
  private readonly pools: readonly Pool[];
  /** Per pfn: its pool's index. */
  private readonly poolOf: Int32Array;
  private readonly sig: Int32Array;
  private readonly order: Int32Array;
  private readonly perm: Int32Array; // old pfn -> new pfn
  private readonly tmp: Int32Array;
  /** The places (model/frame-places.ts), split for the hot path: whole words (a pfn + bias), and bit fields of packed words (up to two word kinds each). */
  private readonly directOffset: Int32Array;
  private readonly directBias: Int32Array;
  private readonly packedOffset: Int32Array;
  private readonly packedShift: Int32Array;
  private readonly packedMask: Int32Array;
  private readonly packedBias: Int32Array;
  private readonly packedKindMask: Int32Array;
  private readonly packedKind0: Int32Array;
  private readonly packedKind1: Int32Array;
  /** Places inside frames (a tail's head): offset, shift, mask, and the frame the place lives in. */
  private readonly headOffset: Int32Array;
  private readonly headShift: Int32Array;
  private readonly headMask: Int32Array;
  private readonly headOwner: Int32Array;
  /** Word offset of each frame (index pfn; 0 unused), and a frame's words. */
  private readonly frameAt: Int32Array;
  private readonly W: number;

  constructor(L: Layout) {
    const pools: Pool[] = [];
    let pfn = 1;
    for (const o of L.objects) {
      if (!o.pool) continue;
      const count = L.bases[o.kind]!.length;
      pools.push({ kind: o.kind, first: pfn, count });
      pfn += count;
    }
    this.pools = pools;
    this.F = pfn - 1;
    this.poolOf = new Int32Array(this.F + 1);
    pools.forEach((p, i) => this.poolOf.fill(i, p.first, p.first + p.count));
    this.W = L.frameWords;
    this.sig = new Int32Array(this.F + 1);
    this.order = new Int32Array(this.F);
    this.perm = new Int32Array(this.F + 1);
    this.tmp = new Int32Array(this.F * this.W);
    const P = new FramePlaces(L);
    const direct: number[] = [];
    const packed: number[] = [];
    const heads: number[] = [];
    for (let i = 0; i < P.length; i++) {
      if (P.owner[i]) {
        if (P.kindMask[i] !== 0 || P.bias[i] !== 0) throw new Error(`${P.names[i]}: a tail's head is a plain pfn bit field`);
        heads.push(i);
        continue;
      }
      const whole = P.kindMask[i] === 0 && P.shift[i] === 0 && P.mask[i] === -1;
      (whole ? direct : packed).push(i);
      if (P.kinds[i * 4 + 2] !== -1) throw new Error(`${P.names[i]}: the symmetry handles at most two word kinds per place`);
    }
    const pick = (from: Int32Array, idx: number[], stride = 1, at = 0) => Int32Array.from(idx, (i) => from[i * stride + at]!);
    this.directOffset = pick(P.offset, direct);
    this.directBias = pick(P.bias, direct);
    this.packedOffset = pick(P.offset, packed);
    this.packedShift = pick(P.shift, packed);
    this.packedMask = pick(P.mask, packed);
    this.packedBias = pick(P.bias, packed);
    this.packedKindMask = pick(P.kindMask, packed);
    this.packedKind0 = pick(P.kinds, packed, 4, 0);
    // A second kind of -1 never matches a masked word (masks are non-negative here), as in FramePlaces.
    this.packedKind1 = pick(P.kinds, packed, 4, 1);
    this.headOffset = pick(P.offset, heads);
    this.headShift = pick(P.shift, heads);
    this.headMask = pick(P.mask, heads);
    this.headOwner = pick(P.owner, heads);
    this.frameAt = Int32Array.from({ length: this.F + 1 }, (_, p) => (p === 0 ? 0 : L.page(p)));
    this.canonicalize = this.compileCanonicalize();
  }

  /** The canonical form, in place (compileCanonicalize: sign() compiled, then sortAndRename() when the frames are out of order). */
  readonly canonicalize: (s: Int32Array) => void;

  /**
   * The same, by the loops over the place tables that the compiled pass is
   * made from: the reference the tests hold it to.
   */
  canonicalizeByLoops(s: Int32Array): void {
    if (!this.sign(s)) this.sortAndRename(s);
  }

  /**
   * Signs every frame (sig) and tells whether the frames are numbered in
   * canonical order already.
   */
  private sign(s: Int32Array): boolean {
    const F = this.F;
    const sig = this.sig;
    for (let p = 1; p <= F; p++) sig[p] = INF;
    // Each place in turn names the frame it refers to: the first place naming a frame is its signature.
    // Whole-word places first, then packed ones (a fixed order: any fixed order gives a canonical form).
    const dOff = this.directOffset;
    const dBias = this.directBias;
    const nd = dOff.length;
    for (let i = 0; i < nd; i++) {
      const p = s[dOff[i]!]! - dBias[i]!;
      if (p > 0 && p <= F && sig[p] === INF) sig[p] = i;
    }
    const pOff = this.packedOffset;
    const pShift = this.packedShift;
    const pMask = this.packedMask;
    const pBias = this.packedBias;
    const pKindMask = this.packedKindMask;
    const pKind0 = this.packedKind0;
    const pKind1 = this.packedKind1;
    const np = pOff.length;
    for (let i = 0; i < np; i++) {
      const w = s[pOff[i]!]!;
      const k = w & pKindMask[i]!;
      if (k !== pKind0[i] && k !== pKind1[i]) continue;
      const p = ((w >>> pShift[i]!) & pMask[i]!) - pBias[i]!;
      if (p > 0 && p <= F && sig[p] === INF) sig[p] = nd + i;
    }
    const named = nd + np;
    const frameAt = this.frameAt;
    const W = this.W;
    for (let p = 1; p <= F; p++) {
      if (sig[p] !== INF) continue;
      const o = frameAt[p]!;
      for (let i = 0; i < W; i++) {
        if (s[o + i] !== 0) {
          sig[p] = named; // named by no place but not free
          break;
        }
      }
    }
    // A tail no place names: after every named frame, by its head's signature (then by content, its index among it).
    const hOff = this.headOffset;
    for (let i = 0; i < hOff.length; i++) {
      const owner = this.headOwner[i]!;
      if (sig[owner] !== named) continue;
      const h = (s[hOff[i]!]! >>> this.headShift[i]!) & this.headMask[i]!;
      if (h > 0 && h <= F && sig[h]! <= named) sig[owner] = named + 1 + sig[h]!;
    }
    // Most states are numbered canonically already.
    for (let p = 1; p < F; p++) if (this.poolOf[p] === this.poolOf[p + 1] && this.less(s, p + 1, p)) return false;
    return true;
  }

  /**
   * canonicalizeByLoops() with sign() compiled for this layout into
   * straight-line code, each place's offset, shift, mask, bias and kinds a
   * constant, each frame's words at their offsets. canonicalize() runs for
   * every successor, and the loops spend most of their time reading those
   * tables: on cow-fork-gup's successors 160 ns a call by the loops, 65
   * compiled. Generated from the same tables as the loops, statement for
   * statement; one closure, so that the engine calls it directly.
   */
  private compileCanonicalize(): (s: Int32Array) => void {
    const F = this.F;
    const W = this.W;
    const body: string[] = [];
    for (let p = 1; p <= F; p++) body.push(`sig[${p}] = ${INF};`);
    body.push('let p = 0, w = 0, k = 0;');
    const note = (place: number) => `if (p > 0 && p <= ${F} && sig[p] === ${INF}) sig[p] = ${place};`;
    const nd = this.directOffset.length;
    for (let i = 0; i < nd; i++) body.push(`p = s[${this.directOffset[i]}] - ${this.directBias[i]}; ${note(i)}`);
    const np = this.packedOffset.length;
    for (let i = 0; i < np; i++) {
      const pfn = `p = ((w >>> ${this.packedShift[i]}) & ${this.packedMask[i]}) - ${this.packedBias[i]};`;
      body.push(`w = s[${this.packedOffset[i]}]; k = w & ${this.packedKindMask[i]}; if (k === ${this.packedKind0[i]} || k === ${this.packedKind1[i]}) { ${pfn} ${note(nd + i)} }`);
    }
    const named = nd + np;
    for (let p = 1; p <= F; p++) {
      const o = this.frameAt[p]!;
      const used = Array.from({ length: W }, (_, i) => `s[${o + i}] !== 0`).join(' || ');
      body.push(`if (sig[${p}] === ${INF} && (${used || 'false'})) sig[${p}] = ${named};`);
    }
    for (let i = 0; i < this.headOffset.length; i++) {
      const owner = this.headOwner[i]!;
      body.push(
        `if (sig[${owner}] === ${named}) { p = (s[${this.headOffset[i]}] >>> ${this.headShift[i]}) & ${this.headMask[i]}; if (p > 0 && p <= ${F} && sig[p] <= ${named}) sig[${owner}] = ${named + 1} + sig[p]; }`,
      );
    }
    // less(s, p + 1, p) for each pair of neighbours in one pool: by signature, then by content.
    const less = (a: number, b: number): string => {
      const oa = this.frameAt[a]!;
      const ob = this.frameAt[b]!;
      const words = Array.from({ length: W }, (_, i) => `s[${oa + i}] !== s[${ob + i}] ? s[${oa + i}] < s[${ob + i}] : `).join('');
      return `(sig[${a}] !== sig[${b}] ? sig[${a}] < sig[${b}] : ${words}false)`;
    };
    const unsorted: string[] = [];
    for (let p = 1; p < F; p++) if (this.poolOf[p] === this.poolOf[p + 1]) unsorted.push(less(p + 1, p));
    body.push(`if (${unsorted.join(' || ') || 'false'}) sortAndRename(s);`);
    const make = new Function('sig', 'sortAndRename', `return function canonicalize(s) {\n${body.join('\n')}\n};`);
    return make(this.sig, (s: Int32Array) => this.sortAndRename(s)) as (s: Int32Array) => void;
  }

  /** Renumbers the frames by (signature, content), pool by pool (sig filled by sign()). */
  private sortAndRename(s: Int32Array): void {
    const F = this.F;
    // Insertion sort of each pool's frames by (signature, content).
    const order = this.order;
    for (const pool of this.pools) {
      const lo = pool.first - 1;
      for (let i = lo; i < lo + pool.count; i++) {
        const p = i + 1;
        let j = i - 1;
        while (j >= lo && this.less(s, p, order[j]!)) {
          order[j + 1] = order[j]!;
          j--;
        }
        order[j + 1] = p;
      }
    }
    for (let i = 0; i < F; i++) this.perm[order[i]!] = i + 1;
    this.rename(s);
  }

  private less(s: Int32Array, p: number, q: number): boolean {
    const a = this.sig[p]!;
    const b = this.sig[q]!;
    if (a !== b) return a < b;
    const op = this.frameAt[p]!;
    const oq = this.frameAt[q]!;
    for (let i = 0; i < this.W; i++) {
      const x = s[op + i]!;
      const y = s[oq + i]!;
      if (x !== y) return x < y;
    }
    return false;
  }

  private rename(s: Int32Array): void {
    const F = this.F;
    const W = this.W;
    const perm = this.perm;
    // Frames move to their new numbers (frames are consecutive in the state, pool after pool).
    const base = this.frameAt[1]!;
    const tmp = this.tmp;
    for (let i = 0; i < F * W; i++) tmp[i] = s[base + i]!;
    for (let p = 1; p <= F; p++) {
      const to = this.frameAt[perm[p]!]!;
      const from = (p - 1) * W;
      for (let i = 0; i < W; i++) s[to + i] = tmp[from + i]!;
    }
    // Then every place (a place inside a frame is read at the frame's new offset).
    const dOff = this.directOffset;
    const dBias = this.directBias;
    for (let i = 0; i < dOff.length; i++) {
      const o = dOff[i]!;
      const p = s[o]! - dBias[i]!;
      if (p > 0 && p <= F) s[o] = perm[p]! + dBias[i]!;
    }
    const pOff = this.packedOffset;
    for (let i = 0; i < pOff.length; i++) {
      const o = pOff[i]!;
      const w = s[o]!;
      const k = w & this.packedKindMask[i]!;
      if (k !== this.packedKind0[i] && k !== this.packedKind1[i]) continue;
      const sh = this.packedShift[i]!;
      const m = this.packedMask[i]!;
      const p = ((w >>> sh) & m) - this.packedBias[i]!;
      if (p > 0 && p <= F) s[o] = (w & ~(m << sh)) | (((perm[p]! + this.packedBias[i]!) & m) << sh);
    }
    const hOff = this.headOffset;
    for (let i = 0; i < hOff.length; i++) {
      const o = hOff[i]!;
      const w = s[o]!;
      const sh = this.headShift[i]!;
      const m = this.headMask[i]!;
      const p = (w >>> sh) & m;
      if (p > 0 && p <= F) s[o] = (w & ~(m << sh)) | ((perm[p]! & m) << sh);
    }
  }
}
