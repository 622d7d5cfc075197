/**
 * Reference accounting (docs/rules.md#accounting): every allocated
 * page's _refcount is the sum of its holders - one per present PTE, one per
 * FOLL_GET, GUP_PIN_COUNTING_BIAS per FOLL_PIN, one for the swap cache, one
 * for the page cache, one per reference a thread holds mid-operation - and
 * _mapcount counts its present PTEs (migration entries hold no reference: the
 * migrating thread's isolation reference keeps the page). A free page is
 * referenced by nothing. Each swap slot's count is its number of swap entries.
 *
 * A THP's references are its head's (compound_head): the head's _refcount
 * is the sum over its subpages, plus one per huge pmd mapping the folio
 * (the head's entire mapcount); each subpage's own _mapcount counts the PTEs
 * mapping it; a tail's own _refcount stays 0.
 */
import { GUP_NONE, gupKind, gupPfn, gupRefs } from '../model/gup.js';
import { PG_REF, PG_SWAPCACHE, PG_THP } from '../model/layout.js';
import { pmdMigrationPfn } from '../model/objects.js';
import { deviceBase, deviceHolders } from '../model/kernel/memremap.js';
import { PTE_MIGRATION, PTE_PRESENT, PTE_SPECIAL, PTE_SWAP, pteKind, pteTarget } from '../model/pte.js';
import type { MMInvariant } from './invariant.js';

export const refcountSane: MMInvariant = {
  name: 'refcount-sane',
  description: '_refcount = mappings + GUP references + swap/page cache + held references; nothing refers to a free page',
  reference: 'include/linux/mm.h page_ref_*, GUP_PIN_COUNTING_BIAS; mm/swapfile.c swap_map; docs/rules.md#accounting',
  when: 'always',
  defaultScenario: 'cow-fork-gup',
  check(v) {
    // One pass over the places that refer to frames counts each frame's holders (not one pass per frame).
    const F = v.frames;
    // Sections of one reused array: mapped, migration entries, GUP references, thread-held, then swap entries per slot.
    const c = counts(F, v.swapSlots);
    const n = F + 1;
    const MIG = n;
    const GUP = 2 * n;
    const HELD = 3 * n;
    const SWP = 4 * n;
    const PMD = 4 * n + v.swapSlots;
    // Per folio head: the references of all its pages (with the huge pmds).
    const FOLIO = 5 * n + v.swapSlots;
    const mms = v.mms;
    const addrs = v.addrs;
    const gups = v.gupSlots;
    const slots = v.swapSlots;
    for (let m = 0; m < mms; m++) {
      for (let a = 0; a < addrs; a++) {
        const e = v.pte(m, a);
        const k = pteKind(e);
        const x = pteTarget(e);
        if (k === PTE_PRESENT && (e & PTE_SPECIAL) === 0 && x <= F) c[x]!++;
        else if (k === PTE_MIGRATION && x <= F) c[MIG + x]!++;
        else if (k === PTE_SWAP && x < slots) c[SWP + x]!++;
      }
    }
    // A huge pmd maps its THP once (the head's entire mapcount).
    const hugePmds = v.hugePmds;
    for (let m = 0; m < hugePmds; m++) {
      const folio = v.hugePmdPfn(m);
      if (folio > 0 && folio <= F) c[PMD + folio]!++;
      // A PMD migration entry holds no reference, but its THP must not be freed under it.
      const migrating = pmdMigrationPfn(v.pmdWord(m));
      if (migrating > 0 && migrating <= F) c[MIG + migrating]!++;
    }
    for (let g = 0; g < gups; g++) {
      const r = v.gup(g);
      if (gupKind(r) !== GUP_NONE && gupPfn(r) <= F) c[GUP + gupPfn(r)]! += gupRefs(r);
    }
    // The thread locals the schema types as held frames (a fault's page, its copy...).
    const held = v.threadHeld;
    for (let i = 0; i < held.length; i++) {
      const p = held.pfnAt(v.s, i);
      if (p > 0 && p <= F) c[HELD + p]!++;
    }
    // A page-cache THP has a page-cache reference per subpage (page_ref_add(nr), 4.8 on): the caches count per page too.
    // Without folios in the layout every page is its own head, and its sum is taken where it is compared.
    const folios = v.folios;
    if (folios)
      for (let pfn = 1; pfn <= F; pfn++) {
        const head = v.folioHead(pfn);
        c[FOLIO + head]! += c[pfn]! + c[GUP + pfn]! + c[HELD + pfn]! + c[PMD + pfn]! + cacheRefs(v, pfn);
      }
    for (let pfn = 1; pfn <= F; pfn++) {
      const maps = c[pfn]!;
      const gup = c[GUP + pfn]!;
      const held = c[HELD + pfn]!;
      const head = v.folioHead(pfn);
      if (head !== pfn) {
        if (head > F || !v.pageTest(head, PG_THP) || v.pageWord(head, PG_REF) === 0) return `pfn ${pfn} is a tail of pfn ${head}, which is not a THP`;
        if (v.pageWord(pfn, PG_REF) !== 0) return `pfn ${pfn}: a tail page has _refcount ${v.pageWord(pfn, PG_REF)} of its own (its references are its head's)`;
        if (v.pageMapcount(pfn) !== maps) return `pfn ${pfn}: _mapcount is ${v.pageMapcount(pfn)} but ${maps} PTE(s) map it`;
        continue;
      }
      const ref = v.pageWord(pfn, PG_REF);
      if (ref === 0) {
        if (maps > 0 || c[PMD + pfn]! > 0) return `pfn ${pfn} is free but mapped by ${maps + c[PMD + pfn]!} PTE(s) or huge pmd(s)`;
        if (c[MIG + pfn]! > 0) return `pfn ${pfn} is free but a migration entry still points at it`;
        if (gup > 0) {
          // Which reference, for the message (only when there is one: this runs for every free frame of every state).
          for (let g = 0; g < gups; g++) {
            const r = v.gup(g);
            if (gupKind(r) !== GUP_NONE && gupPfn(r) === pfn) return `pfn ${pfn} is free but GUP reference "${v.world.gupNames[g]}" holds it`;
          }
        }
        if (held > 0) return `pfn ${pfn} is free but a thread holds a reference to it`;
        if (v.pageFlags(pfn) !== 0 || v.pageMapcount(pfn) !== 0) return `pfn ${pfn} is free but its flags or _mapcount were changed after it was freed`;
        continue;
      }
      const want = folios ? c[FOLIO + pfn]! : maps + gup + held + cacheRefs(v, pfn);
      if (ref !== want) {
        const cache = folioCacheRefs(v, pfn);
        const what = v.pageTest(pfn, PG_THP) ? 'PTE(s) and huge pmd(s) of the THP' : 'mapped';
        return `pfn ${pfn}: _refcount is ${ref} but ${want} references exist (${want - cache - gupOf(c, GUP, HELD, v, pfn)} ${what}, ${gupOf(c, GUP, 0, v, pfn)} GUP, ${cache} swap/page cache, ${heldOf(c, HELD, v, pfn)} held by threads)`;
      }
      if (v.pageMapcount(pfn) !== maps) return `pfn ${pfn}: _mapcount is ${v.pageMapcount(pfn)} but ${maps} PTE(s) map it`;
      if (v.folioEntire(pfn) !== c[PMD + pfn]!) return `pfn ${pfn}: the entire mapcount is ${v.folioEntire(pfn)} but ${c[PMD + pfn]!} huge pmd(s) map it`;
    }
    const dev = deviceProblem(v);
    if (dev) return dev;
    for (let slot = 0; slot < slots; slot++) {
      const entries = c[SWP + slot]!;
      if (v.swapCount(slot) !== entries) return `swap slot ${slot}: swap_map count is ${v.swapCount(slot)} but ${entries} swap entries use it`;
    }
    return null;
  },
};

/**
 * An FS_DAX page (docs/rules.md#zone-device): its idle count (1 up to 6.14,
 * 0 from 6.15), plus one per PTE that takes a reference (6.15's DAX
 * mappings; a devmap PTE takes none), its GUP references and what threads
 * hold; its _mapcount counts those PTEs. A DAX entry in the file's mapping
 * holds no reference. Never below the idle count.
 */
function deviceProblem(v: Parameters<MMInvariant['check']>[0]): string | null {
  for (let d = 1; d <= v.devFrames; d++) {
    const pfn = v.frames + d;
    const { maps, gup, held } = deviceHolders(v, pfn);
    // Its base: a device-private page's free count or allocated base, a device-dax page's 1, an FS_DAX page's idle count.
    const want = deviceBase(v, pfn) + maps + gup + held;
    const ref = v.pageWord(pfn, PG_REF);
    if (ref !== want)
      return `device pfn ${pfn}: _refcount is ${ref} but ${want} references exist (base ${want - maps - gup - held}, ${maps} PTE(s) or device-private entries, ${gup} GUP, ${held} held by threads)`;
    if (v.pageMapcount(pfn) !== maps) return `device pfn ${pfn}: _mapcount is ${v.pageMapcount(pfn)} but ${maps} PTE(s) map it`;
  }
  return null;
}

/** The swap cache's and the page cache's references on a page (each subpage of a page-cache THP has its own). */
function cacheRefs(v: Parameters<MMInvariant['check']>[0], pfn: number): number {
  return (v.pageTest(pfn, PG_SWAPCACHE) ? 1 : 0) + (v.inPageCache(pfn) ? 1 : 0);
}
/** Over a folio's pages (the cold path of a message). */
function folioCacheRefs(v: Parameters<MMInvariant['check']>[0], head: number): number {
  let n = 0;
  for (let p = 1; p <= v.frames; p++) if (v.folioHead(p) === head) n += cacheRefs(v, p);
  return n;
}

/** The counters, zeroed, in one array reused from check to check (each worker thread has its own). */
let scratch = new Int32Array(0);

/** Over a folio's pages (the cold path of a message): its GUP references, or (with `held` set) its GUP and held references. */
function gupOf(c: Int32Array, GUP: number, HELD: number, v: Parameters<MMInvariant['check']>[0], head: number): number {
  let n = 0;
  for (let p = 1; p <= v.frames; p++) if (v.folioHead(p) === head) n += c[GUP + p]! + (HELD ? c[HELD + p]! : 0);
  return n;
}
function heldOf(c: Int32Array, HELD: number, v: Parameters<MMInvariant['check']>[0], head: number): number {
  let n = 0;
  for (let p = 1; p <= v.frames; p++) if (v.folioHead(p) === head) n += c[HELD + p]!;
  return n;
}

function counts(frames: number, slots: number): Int32Array {
  const len = 6 * (frames + 1) + slots;
  if (scratch.length < len) scratch = new Int32Array(len);
  scratch.fill(0, 0, len);
  return scratch;
}
