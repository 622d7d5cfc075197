/**
 * The readable model: a packed MM state as plain data (cold path), for
 * trace files, diffs and viewers. Field names follow the kernel's.
 */
import { formatGupFlags, GUP_DETACHED, GUP_NONE, gupAddr, gupKind, gupMm, gupPfn } from './gup.js';
import type { StateView } from './kernel.js';
import {
  F_FALLOC,
  F_FLAGS,
  F_GHOST,
  F_I_RWSEM,
  F_IMMAP,
  GHOST_PUNCH_LOST_COW,
  GHOST_STALE_MIGRATION,
  MM_FLAGS,
  MM_LOCK,
  MMF_HAS_PINNED,
  PG_ANON,
  PG_ANON_EXCLUSIVE,
  PG_DATA,
  PG_DIRTY,
  PG_ISOLATED,
  PG_LOCKED,
  PG_SWAPBACKED,
  PG_SWAPCACHE,
  RSS_NAMES,
  SWAP_HAS_CACHE,
  TH_NEWPAGE,
  TH_PAGE,
  TH_PC,
  TH_STATUS,
  VMA_PRESENT,
  VMA_WRITE,
} from './layout.js';
import { formatPte } from './pte.js';
import type { MMModel } from './world.js';

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
}

const MM_STATES = ['unused', 'live', 'exited', 'freed'];
const PAGE_FLAGS: [number, string][] = [
  [PG_ANON, 'anon'],
  [PG_ANON_EXCLUSIVE, 'anon_exclusive'],
  [PG_SWAPBACKED, 'swapbacked'],
  [PG_SWAPCACHE, 'swapcache'],
  [PG_LOCKED, 'locked'],
  [PG_DIRTY, 'dirty'],
  [PG_ISOLATED, 'isolated'],
];

export function readableState(model: MMModel, s: Int32Array): ReadableState {
  const v: StateView = model.view(s);
  const sc = model.scenario;
  const mms: Record<string, ReadableMm> = {};
  for (let m = 0; m < v.mms; m++) {
    const lock = v.mmWord(m, MM_LOCK);
    const vmas: Record<string, string> = {};
    sc.vmas.forEach((vma, i) => {
      const w = s[model.layout.vma(m, i)]!;
      vmas[vma.name] = w & VMA_PRESENT ? (w & VMA_WRITE ? 'rw' : 'r') : 'unmapped';
    });
    const ptes: Record<string, string> = {};
    for (let a = 0; a < v.addrs; a++) ptes[String(a)] = formatPte(v.pte(m, a));
    const rss: Record<string, number> = {};
    RSS_NAMES.forEach((n, c) => (rss[n] = v.rss(m, c)));
    mms[v.mmName(m)] = {
      state: MM_STATES[v.mmState(m)] ?? '?',
      mmap_lock: lock < 0 ? 'write-locked' : lock > 0 ? `read-locked x${lock}` : 'unlocked',
      flags: v.mmWord(m, MM_FLAGS) & MMF_HAS_PINNED ? ['MMF_HAS_PINNED'] : [],
      rss,
      vmas,
      ptes,
    };
  }
  const files: Record<string, ReadableFile> = {};
  for (let f = 0; f < v.files; f++) {
    const fl = v.fileWord(f, F_FLAGS);
    const flags: string[] = [];
    if (fl & F_I_RWSEM) flags.push('i_rwsem');
    if (fl & F_FALLOC) flags.push(`shmem_falloc[${(fl >>> 8) & 0xff},${(fl >>> 16) & 0xff})`);
    const ghost = v.fileWord(f, F_GHOST);
    if (ghost & GHOST_STALE_MIGRATION) flags.push('WARN:migration-entry-after-pre-unmap');
    if (ghost & GHOST_PUNCH_LOST_COW) flags.push('WARN:punch-zapped-cow');
    const lock = v.fileWord(f, F_IMMAP);
    const pagecache: Record<string, number> = {};
    for (let i = 0; i < v.L.shape.filePages; i++) if (v.cachePage(f, i)) pagecache[String(i)] = v.cachePage(f, i);
    files[v.world.fileNames[f]!] = {
      size: v.fileSize(f),
      flags,
      i_mmap_rwsem: lock < 0 ? 'write-locked' : lock > 0 ? `read-locked x${lock}` : 'unlocked',
      pagecache,
    };
  }
  const pages: Record<string, ReadablePage> = {};
  for (let p = 1; p <= v.frames; p++) {
    if (v.isFree(p) && v.pageMapcount(p) === 0) continue;
    const f = v.pageFlags(p);
    const page: ReadablePage = {
      refcount: v.pageRef(p),
      mapcount: v.pageMapcount(p),
      flags: PAGE_FLAGS.filter(([bit]) => f & bit).map(([, n]) => n),
      data: v.pageWord(p, PG_DATA),
    };
    if (f & PG_SWAPCACHE) page.swap_slot = v.pageSwapSlot(p);
    if (v.pageFile(p) >= 0) page.mapping = `${v.world.fileNames[v.pageFile(p)]}:${v.pageIndex(p)}`;
    pages[String(p)] = page;
  }
  const swap: ReadableState['swap'] = {};
  for (let i = 0; i < v.swapSlots; i++) {
    const map = v.swapMap(i);
    if (map === 0) continue;
    swap[String(i)] = { count: v.swapCount(i), cache: (map & SWAP_HAS_CACHE) !== 0, data: v.swapData(i) };
  }
  const gup: Record<string, string> = {};
  for (let g = 0; g < v.gupSlots; g++) gup[v.world.gupNames[g]!] = formatGup(v, v.gup(g));
  const threads: Record<string, string> = {};
  for (let t = 0; t < v.threads; t++) threads[v.world.threadNames[t]!] = formatThread(model, v, s, t);
  return { mms, files, pages, swap, gup, threads };
}

function formatGup(v: StateView, r: number): string {
  if (gupKind(r) === GUP_NONE) return 'none';
  const pfn = gupPfn(r);
  const target = pfn === 0 ? 'zeropage' : `pfn ${pfn}`;
  return `${formatGupFlags(r)} on ${target} via ${v.addrName(gupMm(r), gupAddr(r))}${r & GUP_DETACHED ? ' (unmapped since)' : ''}`;
}

function formatThread(model: MMModel, v: StateView, s: Int32Array, t: number): string {
  const tb = model.layout.threadBase[t]!;
  const status = s[tb + TH_STATUS]!;
  if (status === 0) return 'not started';
  if (status === 2) return 'exited';
  const pc = s[tb + TH_PC]!;
  if (pc === 0) return 'idle';
  const e = (pc >>> 8) - 1;
  const prog = model.programs[t]![e]!;
  const step = prog.steps[pc & 0xff]!;
  const held: string[] = [];
  const p = v.threadWord(t, TH_PAGE);
  const np = v.threadWord(t, TH_NEWPAGE);
  if (p) held.push(`pfn ${p}`);
  if (np) held.push(`pfn ${np}`);
  return `in ${prog.title}, next ${step.label}${held.length ? `; holds a reference to ${held.join(' and ')}` : ''}`;
}

/** Flattens a readable state into "path: value" lines, in a stable order (for diffs). */
export function flatten(r: ReadableState): Map<string, string> {
  const out = new Map<string, string>();
  for (const [name, mm] of Object.entries(r.mms)) {
    out.set(`${name} mm`, mm.state);
    out.set(`${name} mmap_lock`, mm.mmap_lock);
    out.set(`${name} flags`, mm.flags.join('|') || '0');
    for (const [k, n] of Object.entries(mm.rss)) out.set(`${name} ${k}`, String(n));
    for (const [vn, vv] of Object.entries(mm.vmas)) out.set(`${name} vma ${vn}`, vv);
    for (const [a, e] of Object.entries(mm.ptes)) out.set(`${name}:${a}`, e);
  }
  for (const [name, f] of Object.entries(r.files)) {
    out.set(`${name} i_size`, String(f.size));
    out.set(`${name} flags`, f.flags.join('|') || '0');
    out.set(`${name} i_mmap_rwsem`, f.i_mmap_rwsem);
    for (const [i, pfn] of Object.entries(f.pagecache)) out.set(`${name} page cache[${i}]`, `pfn ${pfn}`);
  }
  for (const [pfn, p] of Object.entries(r.pages)) {
    out.set(`pfn ${pfn} refcount`, String(p.refcount));
    out.set(`pfn ${pfn} mapcount`, String(p.mapcount));
    out.set(`pfn ${pfn} flags`, p.flags.join('|') || '0');
    out.set(`pfn ${pfn} data`, String(p.data));
    if (p.swap_slot !== undefined) out.set(`pfn ${pfn} swap slot`, String(p.swap_slot));
    if (p.mapping !== undefined) out.set(`pfn ${pfn} mapping`, p.mapping);
  }
  for (const [i, sl] of Object.entries(r.swap)) {
    out.set(`swap slot ${i}`, `count ${sl.count}${sl.cache ? ' + cache' : ''}, data ${sl.data}`);
  }
  for (const [g, x] of Object.entries(r.gup)) out.set(`ref "${g}"`, x);
  for (const [t, x] of Object.entries(r.threads)) out.set(`thread ${t}`, x);
  return out;
}

/** A page-table entry of the readable state, as data. */
export type ReadablePte =
  | { kind: 'none' }
  | { kind: 'present'; pfn: number; zeropage: boolean; write: boolean; dirty: boolean }
  | { kind: 'swap'; slot: number; exclusive: boolean }
  | { kind: 'migration'; pfn: number; type: 'read' | 'read-exclusive' | 'write' };

/** Parses an entry of ReadableMm.ptes ("present(pfn 2, rw, dirty)", "swap(slot 0, exclusive)", ...). */
export function parsePte(text: string): ReadablePte {
  if (text === 'none') return { kind: 'none' };
  if (text === 'present(zeropage, ro)') return { kind: 'present', pfn: 0, zeropage: true, write: false, dirty: false };
  let m = /^present\(pfn (\d+), (rw|ro)(, dirty)?\)$/.exec(text);
  if (m) return { kind: 'present', pfn: Number(m[1]), zeropage: false, write: m[2] === 'rw', dirty: m[3] !== undefined };
  m = /^swap\(slot (\d+)(, exclusive)?\)$/.exec(text);
  if (m) return { kind: 'swap', slot: Number(m[1]), exclusive: m[2] !== undefined };
  m = /^migration\(pfn (\d+), (read|read-exclusive|write)\)$/.exec(text);
  if (m) return { kind: 'migration', pfn: Number(m[1]), type: m[2] as 'read' | 'read-exclusive' | 'write' };
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
