/**
 * Who holds which lock, read from the lock fields the state schema declares
 * (a FieldDecl with `lock`): for the readable state (locks per holder),
 * deadlock reports (who holds what a sleeper waits for) and lockdep (the
 * classes a thread holds when it takes another).
 */
import type { Layout } from './layout.js';
import { keyClass, keyObject, LOCK_CLASSES, lockClass, pageLockOwner, PTL_WORD, RWSEM_WORD, rwsemHolders, rwsemWriter, waitKey } from './locks.js';
import { fieldLength } from './schema.js';

export interface Held {
  readonly thread: number;
  /** The lock's wait key (class and object). */
  readonly key: number;
  readonly mode: 'read' | 'write' | 'locked';
}

type Decode = 'rwsem' | 'owner+1' | 'page';

/** Every lock word of a world, with its class, object and encoding. */
export class LockPlaces {
  readonly offset: Int32Array;
  readonly cls: Int32Array;
  readonly object: Int32Array;
  private readonly decode: Decode[];

  constructor(L: Layout) {
    const off: number[] = [];
    const cls: number[] = [];
    const obj: number[] = [];
    const dec: Decode[] = [];
    for (const o of L.objects) {
      const n = L.bases[o.kind]!.length;
      for (const f of o.fields) {
        if (f.lock === undefined) continue;
        const d: Decode = f.type === RWSEM_WORD ? 'rwsem' : f.type === PTL_WORD ? 'owner+1' : 'page';
        for (let i = 0; i < n; i++) {
          for (let e = 0; e < fieldLength(f, L.shape, i); e++) {
            off.push(L.at(o.kind, i, f.name, e));
            cls.push(f.lock);
            obj.push(i + (o.first ?? 0));
            dec.push(d);
          }
        }
      }
    }
    this.offset = Int32Array.from(off);
    this.cls = Int32Array.from(cls);
    this.object = Int32Array.from(obj);
    this.decode = dec;
  }

  /** The holders of lock place i in s. */
  holders(s: Int32Array, i: number): Held[] {
    const w = s[this.offset[i]!]!;
    const key = waitKey(this.cls[i]!, this.object[i]!);
    switch (this.decode[i]!) {
      case 'rwsem': {
        const mode = rwsemWriter(w) >= 0 ? 'write' : 'read';
        return rwsemHolders(w).map((thread) => ({ thread, key, mode }));
      }
      case 'owner+1':
        return w > 0 ? [{ thread: w - 1, key, mode: 'locked' }] : [];
      case 'page': {
        const t = pageLockOwner(w);
        return t >= 0 ? [{ thread: t, key, mode: 'locked' }] : [];
      }
    }
  }

  /** Every lock held in s. */
  all(s: Int32Array): Held[] {
    const out: Held[] = [];
    for (let i = 0; i < this.offset.length; i++) if (s[this.offset[i]!] !== 0) out.push(...this.holders(s, i));
    return out;
  }

  /** The offset of the lock word with this wait key, or -1 (a wait queue); a map built once. */
  offsetOf(key: number): number {
    if (!this.byKey) {
      this.byKey = new Map();
      for (let i = 0; i < this.offset.length; i++) this.byKey.set(waitKey(this.cls[i]!, this.object[i]!), this.offset[i]!);
    }
    return this.byKey.get(key) ?? -1;
  }
  private byKey: Map<number, number> | undefined;

  /** The holders of the lock with this wait key (none for a wait queue). */
  holdersOf(s: Int32Array, key: number): Held[] {
    for (let i = 0; i < this.offset.length; i++) if (waitKey(this.cls[i]!, this.object[i]!) === key) return this.holders(s, i);
    return [];
  }

  /** The lock classes thread t holds in s, as a bit mask (bit = class id): lockdep's held-lock stack, as classes. */
  classesHeldBy(s: Int32Array, t: number): number {
    let mask = 0;
    for (let i = 0; i < this.offset.length; i++) {
      if (s[this.offset[i]!] === 0) continue;
      for (const h of this.holders(s, i)) if (h.thread === t) mask |= 1 << this.cls[i]!;
    }
    return mask;
  }
}

/** A lock or wait queue by its key, as reports name it: "P mmap_lock", "pfn 2 PG_locked". */
export function keyName(key: number, names: { mm: (i: number) => string; file: (i: number) => string; vma: (i: number) => string }): string {
  const c = lockClass(keyClass(key));
  const o = keyObject(key);
  switch (c.object) {
    case 'mm':
      return `${names.mm(o)} ${c.name}`;
    case 'file':
      return `${names.file(o)} ${c.name}`;
    case 'vma':
      return `${names.vma(o)} ${c.name}`;
    case 'frame':
      return `pfn ${o} ${c.name}`;
    case 'pgmap':
      return c.name;
  }
}

export { LOCK_CLASSES };
