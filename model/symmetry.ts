/**
 * Symmetry reduction over page frames: which physical frame holds a page is
 * irrelevant (the allocator could have returned any free one), so a state is
 * stored in a canonical numbering. Frames are ordered by the first place that
 * refers to them, in a fixed order of places - PTEs, page-cache slots, the swap
 * slot a swap-cache page belongs to, GUP references, thread locals - then, for
 * frames nothing refers to, by content; free frames come last. Every reference
 * is renamed accordingly. Since each place refers to one frame, the order is
 * the same whatever the numbering: symmetric states get the same form.
 *
 * The zeropage (pfn 0) is not a frame and never renamed.
 */
import { GUP_NONE, gupKind } from './gup.js';
import { F_CACHE, type Layout, PG_FLAGS, PG_MAP, PG_PRIVATE, PG_REF, PG_SWAPCACHE, TH_NEWPAGE, TH_ORIG, TH_PAGE, TH_PFN } from './layout.js';
import { PTE_MIGRATION, PTE_PRESENT, PTE_SPECIAL } from './pte.js';

const PG_WORDS = 6;
const INF = 0x7fffffff;

export class FrameSymmetry {
  private readonly F: number;
  private readonly sig: Int32Array;
  private readonly order: Int32Array;
  private readonly perm: Int32Array; // old pfn -> new pfn
  private readonly tmp: Int32Array;
  /** Word offsets of the places, in their fixed order (computed once: canonicalize runs for every successor). */
  private readonly ptes: Int32Array;
  private readonly caches: Int32Array;
  private readonly gups: Int32Array;
  /** Per thread: orig_pte, page, new_page, pfn. */
  private readonly locals: Int32Array;
  /** Word offset of each frame (index pfn; 0 unused). */
  private readonly frameAt: Int32Array;

  constructor(private readonly L: Layout) {
    this.F = L.shape.frames;
    this.sig = new Int32Array(this.F + 1);
    this.order = new Int32Array(this.F);
    this.perm = new Int32Array(this.F + 1);
    this.tmp = new Int32Array(this.F * PG_WORDS);
    const sh = L.shape;
    const ptes: number[] = [];
    for (let m = 0; m < sh.mms; m++) for (let a = 0; a < sh.addrs; a++) ptes.push(L.pte(m, a));
    const caches: number[] = [];
    for (let f = 0; f < sh.files; f++) for (let i = 0; i < sh.filePages; i++) caches.push(L.file(f) + F_CACHE + i);
    const locals: number[] = [];
    for (let t = 0; t < sh.entries.length; t++) for (const w of [TH_ORIG, TH_PAGE, TH_NEWPAGE, TH_PFN]) locals.push(L.thread(t) + w);
    this.ptes = Int32Array.from(ptes);
    this.caches = Int32Array.from(caches);
    this.gups = Int32Array.from({ length: sh.gupSlots }, (_, g) => L.gup(g));
    this.locals = Int32Array.from(locals);
    this.frameAt = Int32Array.from({ length: this.F + 1 }, (_, p) => (p === 0 ? 0 : L.page(p)));
  }

  /** A frame referred to by a PTE or thread-local PTE value, or 0. */
  private static pteFrame(e: number): number {
    const k = e & 7;
    return (k === PTE_PRESENT && !(e & PTE_SPECIAL)) || k === PTE_MIGRATION ? (e >>> 3) & 0xff : 0;
  }

  canonicalize(s: Int32Array): void {
    const F = this.F;
    const sig = this.sig;
    for (let p = 1; p <= F; p++) sig[p] = INF;
    // Each place in turn names the frame it refers to: the first place naming a frame is its signature.
    let pos = 0;
    const ptes = this.ptes;
    for (let i = 0; i < ptes.length; i++, pos++) {
      const p = FrameSymmetry.pteFrame(s[ptes[i]!]!);
      if (p > 0 && p <= F && sig[p] === INF) sig[p] = pos;
    }
    const caches = this.caches;
    for (let i = 0; i < caches.length; i++, pos++) {
      const p = s[caches[i]!]!;
      if (p > 0 && p <= F && sig[p] === INF) sig[p] = pos;
    }
    const swapBase = pos;
    pos += this.L.shape.swapSlots;
    const gups = this.gups;
    for (let i = 0; i < gups.length; i++, pos++) {
      const r = s[gups[i]!]!;
      const p = gupKind(r) !== GUP_NONE ? (r >>> 16) & 0xff : 0;
      if (p > 0 && p <= F && sig[p] === INF) sig[p] = pos;
    }
    const locals = this.locals;
    for (let i = 0; i < locals.length; i++, pos++) {
      const w = s[locals[i]!]!;
      const p = (i & 3) === 0 ? FrameSymmetry.pteFrame(w) : w;
      if (p > 0 && p <= F && sig[p] === INF) sig[p] = pos;
    }
    const unreferenced = pos;
    const frameAt = this.frameAt;
    for (let p = 1; p <= F; p++) {
      const o = frameAt[p]!;
      if (s[o + PG_FLAGS]! & PG_SWAPCACHE) {
        const at = swapBase + s[o + PG_PRIVATE]! - 1;
        if (at < sig[p]!) sig[p] = at;
      }
      if (sig[p] === INF && (s[o + PG_REF]! !== 0 || s[o + PG_MAP]! !== 0)) sig[p] = unreferenced;
    }
    // Most states are numbered canonically already: check that first.
    let sorted = true;
    for (let p = 1; p < F && sorted; p++) if (this.less(s, p + 1, p)) sorted = false;
    if (sorted) return;
    // Insertion sort of the frames by (signature, content).
    const order = this.order;
    for (let i = 0; i < F; i++) {
      const p = i + 1;
      let j = i - 1;
      while (j >= 0 && this.less(s, p, order[j]!)) {
        order[j + 1] = order[j]!;
        j--;
      }
      order[j + 1] = p;
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
    for (let i = 0; i < PG_WORDS; i++) {
      const x = s[op + i]!;
      const y = s[oq + i]!;
      if (x !== y) return x < y;
    }
    return false;
  }

  private renamePte(e: number): number {
    const k = e & 7;
    if ((k === PTE_PRESENT && !(e & PTE_SPECIAL)) || k === PTE_MIGRATION) {
      const p = (e >>> 3) & 0xff;
      if (p > 0 && p <= this.F) return (e & ~(0xff << 3)) | (this.perm[p]! << 3);
    }
    return e;
  }

  private renamePfn(p: number): number {
    return p > 0 && p <= this.F ? this.perm[p]! : p;
  }

  private rename(s: Int32Array): void {
    const L = this.L;
    const F = this.F;
    const perm = this.perm;
    // Frames move to their new numbers.
    const base = L.page(1);
    const tmp = this.tmp;
    for (let i = 0; i < F * PG_WORDS; i++) tmp[i] = s[base + i]!;
    for (let p = 1; p <= F; p++) {
      const to = this.frameAt[perm[p]!]!;
      const from = (p - 1) * PG_WORDS;
      for (let i = 0; i < PG_WORDS; i++) s[to + i] = tmp[from + i]!;
    }
    // Then every place, in the offsets canonicalize() reads them from.
    const { ptes, caches, gups } = this;
    for (let i = 0; i < ptes.length; i++) s[ptes[i]!] = this.renamePte(s[ptes[i]!]!);
    for (let i = 0; i < caches.length; i++) s[caches[i]!] = this.renamePfn(s[caches[i]!]!);
    for (let i = 0; i < gups.length; i++) {
      const o = gups[i]!;
      const r = s[o]!;
      if (gupKind(r) !== GUP_NONE) s[o] = (r & ~(0xff << 16)) | (this.renamePfn((r >>> 16) & 0xff) << 16);
    }
    const locals = this.locals;
    for (let i = 0; i < locals.length; i++) {
      const o = locals[i]!;
      s[o] = (i & 3) === 0 ? this.renamePte(s[o]!) : this.renamePfn(s[o]!); // orig_pte is a PTE value
    }
  }
}
