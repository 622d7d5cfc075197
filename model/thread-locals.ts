/**
 * Thread-local working state, typed per operation. A thread keeps what an
 * operation carries from one step to the next in its scratch words
 * (model/objects.ts: `aux` and `aux2` are plain ints; `page` and `new_page`
 * hold a reference on a frame; `pfn` remembers one without a reference;
 * `orig` is a PTE value). Each operation names its locals and the word each
 * lives in, with the type it needs; the declaration is checked against the
 * schema when the module loads: a frame kept in an int word (which the
 * symmetry would not rename) or two locals of one operation in one word are
 * refused.
 */
import type { Kernel } from './kernel.js';
import { MM_OBJECTS } from './objects.js';
import { staticOffset, type WordType } from './schema.js';

type ScratchWord = 'aux' | 'aux2' | 'page' | 'new_page' | 'pfn' | 'orig';

/** What a local holds: an int, a frame the thread holds a reference on, a frame it only remembers, a PTE. */
export type LocalKind = 'int' | 'held frame' | 'frame' | 'pte';

export interface LocalSpec {
  readonly word: ScratchWord;
  readonly kind: LocalKind;
}

export const int = (word: ScratchWord): LocalSpec => ({ word, kind: 'int' });
export const heldFrame = (word: ScratchWord): LocalSpec => ({ word, kind: 'held frame' });
export const frame = (word: ScratchWord): LocalSpec => ({ word, kind: 'frame' });

/** One local of one operation: read and written through the Kernel like any thread word. */
export class Local {
  constructor(
    readonly op: string,
    readonly name: string,
    readonly offset: number,
  ) {}

  get(k: Kernel, t: number): number {
    return k.threadWord(t, this.offset);
  }

  set(k: Kernel, t: number, v: number): void {
    k.setThreadWord(t, this.offset, v);
  }
}

const THREAD = MM_OBJECTS.find((o) => o.kind === 'thread')!;

/** The kind a scratch word's schema type gives it. */
function kindOf(t: WordType): LocalKind {
  if (t.ref?.to === 'frame') return t.ref.holds ? 'held frame' : 'frame';
  if (t.fields?.some((b) => b.ref?.to === 'frame')) return 'pte';
  return 'int';
}

/** Declares operation `op`'s locals; throws (when the module loads) on a kind or word clash. */
export function threadLocals<N extends string>(op: string, spec: Record<N, LocalSpec>): Record<N, Local> {
  const used = new Map<ScratchWord, string>();
  const out = {} as Record<N, Local>;
  for (const name of Object.keys(spec) as N[]) {
    const { word, kind } = spec[name];
    const field = THREAD.fields.find((f) => f.name === word);
    if (!field) throw new Error(`${op}.${name}: the thread has no word ${word}`);
    if (!field.perOperation) throw new Error(`${op}.${name}: thread.${word} is not a per-operation word`);
    const have = kindOf(field.type);
    if (have !== kind) throw new Error(`${op}.${name}: ${kind === 'int' ? 'an' : 'a'} ${kind} cannot live in thread.${word}, which is typed ${have}`);
    const other = used.get(word);
    if (other) throw new Error(`${op}.${name}: thread.${word} already holds ${op}.${other}`);
    used.set(word, name);
    out[name] = new Local(op, name, staticOffset(THREAD, word));
  }
  return out;
}
