/**
 * What a trace page draws, computed once from the readable states (cold
 * path): a fixed layout of boxes (one per process, page frame, file, and one
 * each for swap, GUP references, page tables, threads and locks) whose rows
 * are the union over all steps, so nothing moves while stepping; per step the
 * text of every row and the relations between rows (PTE -> frame or swap
 * slot, swap cache <-> slot, page cache -> frame, migration entry -> old
 * frame and the frame it migrates to, GUP reference -> frame and the PTE it
 * was taken through, PMD -> PTE table or huge folio, device-private entry ->
 * device frame); the objects the violation names; and links to the kernel
 * source of the release (elixir.bootlin.com) and to each switch's commit.
 */
import { flatten, parseGup, parsePte, type ReadableState } from '../model/readable.js';
import { MM_OBJECTS } from '../model/objects.js';
import { parseRelease } from '../model/releases.js';
import { SWITCHES } from '../model/variants.js';
import type { Trace } from './trace.js';

export type Column = 0 | 1 | 2;

export interface ViewBox {
  id: string;
  col: Column;
  title: string;
  /** Field keys, in order: the union over every step. */
  rows: string[];
  /** What each row is called inside its box ("refcount" in box pfn 1, "vma buf" in process P). */
  labels: string[];
}

export type RelationKind = 'map' | 'huge' | 'table' | 'swap' | 'swapcache' | 'cache' | 'gup' | 'through' | 'migration' | 'migrate-to' | 'device' | 'waits';

/** An arrow from a row to a row (or a box, by its id). */
export interface Relation {
  from: string;
  to: string;
  kind: RelationKind;
}

export interface StepView {
  /** Row key -> text; a key missing here does not exist at this step. */
  fields: Record<string, string>;
  relations: Relation[];
}

export interface Link {
  text: string;
  href: string;
}

/** A piece of a step's kernel-function text, linked where it names a function. */
export interface Segment {
  text: string;
  href?: string;
}

export interface TraceView {
  boxes: ViewBox[];
  /** Index 0: the initial state; i: after step i. */
  states: StepView[];
  /** Row keys and box ids the violation names (outlined on the last step). */
  offending: string[];
  /** Per step (index 0 unused): its kernel-function text, each function linked to the release's source. */
  sources: Segment[][];
}

const ELIXIR = 'https://elixir.bootlin.com/linux';
const KERNEL_GIT = 'https://git.kernel.org/pub/scm/linux/kernel/git/torvalds/linux.git/commit/?id=';

/** The tag of a release on elixir (v5.7, v5.10.89, v7.3-rc6); null for a label that is not a release. */
export function elixirTag(kernel: string): string | null {
  const r = parseRelease(kernel.replace(/\+.*$/, ''));
  return r ? `v${kernel.replace(/\+.*$/, '')}` : null;
}

/** A step's kernel-function text ("mm/memory.c:do_wp_page (5.7-6.2)", "a -> b") with each function linked to elixir's identifier search at the release. */
export function sourceSegments(kernelFunction: string, kernel: string): Segment[] {
  const tag = elixirTag(kernel);
  const out: Segment[] = [];
  let at = 0;
  for (const m of kernelFunction.matchAll(/([\w./-]+\.[ch]):(\w+)/g)) {
    const fnAt = m.index + m[1]!.length + 1;
    out.push({ text: kernelFunction.slice(at, fnAt) });
    out.push(tag ? { text: m[2]!, href: `${ELIXIR}/${tag}/A/ident/${m[2]}` } : { text: m[2]! });
    at = fnAt + m[2]!.length;
  }
  out.push({ text: kernelFunction.slice(at) });
  return out.filter((x) => x.text !== '');
}

/** A switch with its commit, linked when the commit is a hash. */
export function switchLink(name: string): { name: string; commit: string; title: string; href: string | null } {
  const s = SWITCHES.find((x) => x.name === name);
  if (!s) return { name, commit: '', title: '', href: null };
  const hash = /^[0-9a-f]{7,40}$/.test(s.commit) ? s.commit : null;
  return { name, commit: s.commit, title: s.title, href: hash ? `${KERNEL_GIT}${hash}` : null };
}

interface Placed {
  box: string;
  col: Column;
  title: string;
}

/** Which box an entity of a readable section goes in. */
function place(section: string, name: string): Placed {
  switch (section) {
    case 'mms':
    case 'pmds':
      return { box: `mm ${name}`, col: 0, title: `process ${name}` };
    case 'pgtables':
      return { box: 'pgtables', col: 0, title: 'page tables' };
    case 'pages':
      return { box: `pfn ${name}`, col: 1, title: `pfn ${name}` };
    case 'pgmap':
      return { box: 'pgmap', col: 1, title: 'device memory (pgmap)' };
    case 'files':
      return { box: `file ${name}`, col: 2, title: `file ${name}` };
    case 'swap':
      return { box: 'swap', col: 2, title: 'swap' };
    case 'gup':
      return { box: 'gup', col: 2, title: 'GUP references' };
    case 'threads':
      return { box: 'threads', col: 2, title: 'threads' };
    default:
      return { box: section, col: 2, title: section.replace(/_/g, ' ') };
  }
}

/** The rows of one readable state, by box. */
function rowsOf(r: ReadableState): Map<string, { placed: Placed; rows: [string, string][] }> {
  const out = new Map<string, { placed: Placed; rows: [string, string][] }>();
  const add = (placed: Placed, rows: [string, string][]) => {
    const b = out.get(placed.box) ?? { placed, rows: [] };
    b.rows.push(...rows);
    out.set(placed.box, b);
  };
  const sections = new Set(MM_OBJECTS.filter((o) => !o.readable.hidden).map((o) => o.readable.section));
  for (const section of sections) {
    const entities = (r as unknown as Record<string, Record<string, unknown> | undefined>)[section] ?? {};
    for (const [name, value] of Object.entries(entities)) {
      const one = { [section]: { [name]: value } } as unknown as ReadableState;
      add(place(section, name), [...flatten(one)]);
    }
  }
  add(
    { box: 'locks', col: 2, title: 'locks held' },
    Object.entries(r.locks ?? {}).map(([holder, held]) => [`locks of ${holder}`, held.join(', ')]),
  );
  return out;
}

/** The fixed order of the boxes: processes, page tables; frames by number; files, swap, GUP, threads, locks. */
const ORDER = ['mm ', 'pgtables', 'zeropage', 'pfn ', 'pgmap', 'file ', 'swap', 'gup', 'anon_vmas', 'threads', 'locks'];
const rank = (id: string) => {
  const i = ORDER.findIndex((p) => id === p || id.startsWith(p));
  return i < 0 ? ORDER.length : i;
};

const frame = (n: number | string) => (String(n) === '0' ? 'zeropage' : `pfn ${n}`);
/** A PTE's row key: a process name (letters, digits, _ . + -) and an address. */
const PTE = /^[\w.+-]+:\d+$/;

/** Where a PTE points, read by the readable state's own parser (model/readable.ts). */
function pteRelation(key: string, text: string): Relation | null {
  const e = parsePte(text);
  switch (e.kind) {
    case 'none':
      return null;
    case 'swap':
      return { from: key, to: `swap slot ${e.slot}`, kind: 'swap' };
    case 'migration':
      return { from: key, to: frame(e.pfn), kind: 'migration' };
    case 'device-private':
      return { from: key, to: frame(e.pfn), kind: 'device' };
    default:
      return { from: key, to: frame(e.pfn), kind: 'map' };
  }
}

/**
 * The rows without a parser of their own, each as a rule on its key and
 * text: the first rule of a kind of row that matches wins.
 */
const RULES: { key: RegExp; text: RegExp; to: (m: RegExpExecArray) => string; kind: RelationKind }[] = [
  { key: / pmd$/, text: /^table (\d+)/, to: (m) => `page table ${m[1]}`, kind: 'table' },
  { key: / pmd$/, text: /^migration entry .* of pfn (\d+)/, to: (m) => frame(m[1]!), kind: 'migration' },
  { key: / pmd$/, text: /\bpfn (\d+)/, to: (m) => frame(m[1]!), kind: 'huge' },
  { key: / page cache\[\d+\]$/, text: /\bpfn (\d+)/, to: (m) => frame(m[1]!), kind: 'cache' },
  { key: /^pfn \d+ swap slot$/, text: /^(\d+)$/, to: (m) => `swap slot ${m[1]}`, kind: 'swapcache' },
];

/** The relations of one step's fields. */
function relations(fields: Record<string, string>): Relation[] {
  const out: Relation[] = [];
  for (const [key, text] of Object.entries(fields)) {
    if (PTE.test(key)) {
      const r = pteRelation(key, text);
      if (r) out.push(r);
      continue;
    }
    if (key.startsWith('ref "')) {
      // A GUP reference: its frame, and the PTE it was taken through (by the readable state's parser).
      const g = parseGup(text);
      if (!g) continue;
      out.push({ from: key, to: frame(g.pfn), kind: 'gup' });
      const via = `${g.mm}:${g.addr}`;
      if (fields[via] !== undefined) out.push({ from: key, to: via, kind: 'through' });
      continue;
    }
    for (const r of RULES) {
      const m = r.key.test(key) ? r.text.exec(text) : null;
      if (!m) continue;
      // A swap-cache page's row belongs to its frame's box: the arrow starts at the box.
      const from = r.kind === 'swapcache' ? key.replace(/ swap slot$/, '') : key;
      const to = r.to(m);
      if (r.kind !== 'swapcache' || fields[to] !== undefined) out.push({ from, to, kind: r.kind });
      break;
    }
    // A migration under way holds the old frame and its new one: the old migrates to the new.
    if (key.startsWith('thread ') && /\bmigrat/.test(text)) {
      const pfns = [...text.matchAll(/\bpfn (\d+)/g)].map((x) => x[1]!);
      if (pfns.length === 2) out.push({ from: `pfn ${pfns[0]}`, to: `pfn ${pfns[1]}`, kind: 'migrate-to' });
    }
  }
  return out;
}

/** "P sleeps on K, which only W can end; W sleeps on L, held by P": each sleeper -> what the other holds (its locks, else the thread). */
function waitsFor(message: string, fields: Record<string, string>): Relation[] {
  const out: Relation[] = [];
  for (const m of message.matchAll(/([\w.+-]+) (?:sleeps|waits|spins) on [^;]*?(?:held by|which only) ([\w.+-]+)/g)) {
    const from = `thread ${m[1]}`;
    const to = fields[`locks of ${m[2]}`] !== undefined ? `locks of ${m[2]}` : `thread ${m[2]}`;
    if (fields[from] !== undefined && fields[to] !== undefined) out.push({ from, to, kind: 'waits' });
  }
  return out;
}

/** The objects a violation message names: PTEs (P:0), frames (pfn 1), GUP references, swap slots, threads. */
export function offendingKeys(message: string, fields: Record<string, string>, boxes: ViewBox[]): string[] {
  const out = new Set<string>();
  for (const m of message.matchAll(/([A-Za-z][\w.+-]*:\d+)/g)) if (fields[m[1]!] !== undefined) out.add(m[1]!);
  for (const m of message.matchAll(/\bpfn (\d+)/g)) if (boxes.some((b) => b.id === `pfn ${m[1]}`)) out.add(`pfn ${m[1]}`);
  for (const m of message.matchAll(/\b(?:reference|pin|ref) "([^"]+)"/g)) if (fields[`ref "${m[1]}"`] !== undefined) out.add(`ref "${m[1]}"`);
  for (const m of message.matchAll(/\bslot (\d+)/g)) if (fields[`swap slot ${m[1]}`] !== undefined) out.add(`swap slot ${m[1]}`);
  // A message that names the kind of entry but not its address: every PTE holding one.
  for (const [word, kind] of [
    ['migration entr', 'migration('],
    ['swap entr', 'swap('],
    ['device-private entr', 'device-private('],
  ] as const) {
    if (!message.includes(word) || [...out].some((k) => PTE.test(k))) continue;
    for (const [key, text] of Object.entries(fields)) if (PTE.test(key) && text.startsWith(kind)) out.add(key);
  }
  for (const key of Object.keys(fields)) {
    const t = /^thread (\S+)$/.exec(key);
    if (t && new RegExp(`(^|[^\\w"])${t[1]!.replace(/[^\w]/g, '\\$&')} (sleeps|waits|spins)`).test(message)) out.add(key);
  }
  return [...out];
}

/** A row's name inside its box: the key without the box's own name. */
function labelIn(box: string, key: string): string {
  const own = box.replace(/^(mm|file) /, '');
  return key.startsWith(`${own} `) ? key.slice(own.length + 1) : key;
}

const ZEROPAGE: Placed = { box: 'zeropage', col: 1, title: 'the shared zero page' };

export function traceView(trace: Trace, kernel: string): TraceView {
  const readable = [trace.initial, ...trace.steps.map((s) => s.state)];
  const boxes = new Map<string, ViewBox>();
  const states: StepView[] = [];
  const put = (placed: Placed, k: string, text: string, fields: Record<string, string>) => {
    const box = boxes.get(placed.box) ?? { id: placed.box, col: placed.col, title: placed.title, rows: [], labels: [] };
    if (!box.rows.includes(k)) {
      box.rows.push(k);
      box.labels.push(labelIn(placed.box, k));
    }
    fields[k] = text;
    boxes.set(placed.box, box);
  };
  for (const r of readable) {
    const fields: Record<string, string> = {};
    for (const { placed, rows } of rowsOf(r).values()) for (const [k, text] of rows) put(placed, k, text, fields);
    const rel = relations(fields);
    if (rel.some((x) => x.to === 'zeropage')) put(ZEROPAGE, 'zeropage', 'pfn 0: mapped R/O, never freed', fields);
    states.push({ fields, relations: rel });
  }
  // Boxes of one kind in the order they first appear (processes as the scenario has them), frames by number.
  const first = [...boxes.keys()];
  const pfn = (id: string) => (id.startsWith('pfn ') ? Number(id.slice(4)) : 0);
  const ordered = [...boxes.values()].sort((a, b) => rank(a.id) - rank(b.id) || pfn(a.id) - pfn(b.id) || first.indexOf(a.id) - first.indexOf(b.id));
  const last = states[states.length - 1]!.fields;
  // A deadlock's waits, where the trace ends: the sleeper -> the locks of the thread that holds what it sleeps on.
  const waits = waitsFor(trace.message, last);
  states[states.length - 1]!.relations.push(...waits);
  return {
    boxes: ordered,
    states,
    offending: [...new Set([...offendingKeys(trace.message, last, ordered), ...waits.map((w) => w.to)])],
    sources: [[], ...trace.steps.map((s) => sourceSegments(s.kernelFunction, kernel))],
  };
}
