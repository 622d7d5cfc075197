/**
 * Footprints for partial-order reduction: the objects each operation's steps
 * may read or write. The objects come from the state schema
 * (model/objects.ts): one bit for each object of a kind declared `each` (an
 * mm with its page table, VMAs, rss and locks; a file; a thread's locals),
 * one bit for all objects of a kind declared `all` (the page frames and
 * their allocator, the swap slots, the GUP references). An operation
 * declares the kinds it touches; one that declares none touches everything.
 * Footprints are static and conservative: a step that may touch an object
 * (through an rmap walk, a zap that detaches GUP references, the allocator)
 * declares it.
 *
 * An action is only reduced when no other thread can ever touch its objects
 * and no checked invariant reads them (checker/reduce.ts). In this model every
 * step that does kernel work touches page frames, which every other thread may
 * touch too; the reduction therefore rarely applies here - it is exact and
 * sound, and it pays off on models with thread-local steps.
 */
import type { PorInfo } from '../checker/reduce.js';
import type { Layout } from './layout.js';
import type { ObjectDecl } from './schema.js';
import type { MenuEntry, ScenarioSpec } from './scenario.js';

/** The footprint bits of a world: where each kind's bits start and how many it has. */
export class ObjectBits {
  private readonly first = new Map<string, number>();
  private readonly count = new Map<string, number>();
  /** Bits in all; above 32 the reduction is off (footprints are one Uint32 per action). */
  readonly total: number;

  constructor(objects: readonly ObjectDecl[], L: Layout) {
    let bit = 0;
    for (const o of objects) {
      const count = L.bases[o.kind]!.length;
      const n = o.footprint === 'each' ? count : Math.min(count, 1);
      this.first.set(o.kind, bit);
      this.count.set(o.kind, n);
      bit += n;
    }
    this.total = bit;
  }

  /** The bit of object `index` of `kind` (of the whole kind when it is declared `all`). */
  of(kind: string, index = 0): number {
    const n = this.count.get(kind);
    if (n === undefined) throw new Error(`no object kind ${kind}`);
    return n === 0 ? 0 : (1 << (this.first.get(kind)! + Math.min(index, n - 1))) >>> 0;
  }

  /** Every object of `kind`. */
  all(kind: string): number {
    const n = this.count.get(kind);
    if (n === undefined) throw new Error(`no object kind ${kind}`);
    return n === 0 ? 0 : ((2 ** n - 1) * 2 ** this.first.get(kind)!) >>> 0;
  }

  /** Every object of every kind. */
  get everything(): number {
    return (2 ** this.total - 1) >>> 0;
  }
}

/** Objects of thread t's menu entry e. */
export function entryObjects(bits: ObjectBits, sc: ScenarioSpec, t: number, e: MenuEntry): number {
  const mmOf = (name: string | null) => (name === null ? -1 : sc.processes.indexOf(name));
  const m = mmOf(sc.threads[t]!.mm);
  const mine = bits.of('thread', t) | (m >= 0 ? bits.of('mm', m) : 0);
  const threadsOf = (mm: number) => sc.threads.reduce((o, u, i) => (u.mm !== null && mmOf(u.mm) === mm ? o | bits.of('thread', i) : o), 0);
  // Device frames and the pgmap go with the frames: whatever touches a page may touch a device page.
  const frames = bits.all('frame') | bits.all('devframe') | bits.all('pgmap');
  const swap = bits.all('slot');
  const gup = bits.all('gup');
  const files = bits.all('file');
  switch (e.op) {
    case 'put':
    case 'device-write':
      return (mine | frames | gup) >>> 0;
    case 'fork':
      // The child's mm and threads (they are born with it), and its page table (pmd, the pool).
      return (mine | bits.of('mm', mmOf(e.child)) | threadsOf(mmOf(e.child)) | frames | swap | bits.all('pmd') | bits.all('pgtable')) >>> 0;
    case 'exit':
      // exit_mmap ends every thread of the mm, and frees its page table.
      return (mine | threadsOf(m) | frames | swap | gup | bits.all('pmd') | bits.all('pgtable')) >>> 0;
    case 'reclaim':
    case 'pageout':
    case 'migrate':
    case 'truncate':
    case 'punch':
      // rmap walks reach every mm.
      return (mine | bits.all('mm') | frames | swap | gup | files) >>> 0;
    case 'read':
    case 'write':
    case 'gup':
    case 'mprotect':
    case 'mprotect-subpage':
    case 'madv-dontfork':
    case 'madv-dofork':
    case 'munmap':
    case 'madv-dontneed':
      // Faults, GUP, mprotect, munmap, MADV_DONTNEED: the mm, frames, swap, files, GUP; page tables (pmd entries, the pool);
      // every thread (a released lock wakes its sleepers: their status words); every mm when an allocation may reclaim or
      // kill (the OOM killer marks another process; direct reclaim locks another's page).
      return (mine | frames | swap | gup | files | bits.all('pmd') | bits.all('pgtable') | bits.all('thread') | (sc.reclaim ? bits.all('mm') : 0)) >>> 0;
    default:
      // writeback (its wake-ups reach any thread asleep on PG_writeback), and any operation without a footprint of its own: dependent on everything.
      return bits.everything >>> 0;
  }
}

/**
 * The footprints of a model's actions, and the objects the checked
 * invariants read (`reads`, object kinds; everything when an invariant
 * declares none); undefined when the world has more objects than bits.
 */
export function porInfo(
  objects: readonly ObjectDecl[],
  L: Layout,
  sc: ScenarioSpec,
  actionThread: number[],
  actionEntry: number[],
  invariantReads: readonly (readonly string[] | undefined)[],
): PorInfo | undefined {
  const bits = new ObjectBits(objects, L);
  if (bits.total > 32) return undefined;
  let visible = 0;
  for (const reads of invariantReads) visible |= reads ? reads.reduce((o, k) => o | bits.all(k), 0) : bits.everything;
  const footprint = sc.threads.map((t, ti) => t.menu.map((e) => entryObjects(bits, sc, ti, e)));
  const actionObjects = Uint32Array.from(actionThread, (t, a) => footprint[t]![actionEntry[a]!]!);
  return { actionThread: Int32Array.from(actionThread), actionObjects, visibleObjects: visible >>> 0 };
}
