/**
 * Single-producer single-consumer rings of record chunks on
 * SharedArrayBuffers: how one BFS worker hands successors to their owner
 * while both keep working, so that a chunk is consumed while it is still in
 * the shared cache. Each worker also has a doorbell, rung whenever a chunk is
 * published to it or a ring it writes to frees a slot.
 *
 * Control words: [0] chunks written, [1] chunks read, [2] last level whose
 * sending is finished, [3 + i] records in slot i.
 */

export const CHUNK = 256;
export const SLOTS = 8;
const WRITE = 0;
const READ = 1;
const DONE = 2;
const LENS = 3;

export interface RingBuffers {
  ctrl: SharedArrayBuffer;
  data: SharedArrayBuffer;
}

export function createRing(stride: number): RingBuffers {
  return {
    ctrl: new SharedArrayBuffer((LENS + SLOTS) * 4),
    data: new SharedArrayBuffer(SLOTS * CHUNK * stride * 4),
  };
}

export class Ring {
  readonly ctrl: Int32Array;
  readonly data: Int32Array;
  /** Sender side: records in the chunk being filled. */
  fill = 0;

  constructor(
    b: RingBuffers,
    readonly stride: number,
  ) {
    this.ctrl = new Int32Array(b.ctrl);
    this.data = new Int32Array(b.data);
  }

  /** Sender: a free slot exists for the chunk being filled. */
  canWrite(): boolean {
    return Atomics.load(this.ctrl, WRITE) - Atomics.load(this.ctrl, READ) < SLOTS;
  }

  /** Sender: word offset of the next record of the current chunk (call canWrite first when fill is 0). */
  next(): number {
    const slot = this.ctrl[WRITE]! % SLOTS;
    return (slot * CHUNK + this.fill++) * this.stride;
  }

  /** Sender: publishes the current chunk (if it has records). */
  publish(): void {
    if (this.fill === 0) return;
    const w = this.ctrl[WRITE]!;
    this.ctrl[LENS + (w % SLOTS)] = this.fill;
    this.fill = 0;
    Atomics.store(this.ctrl, WRITE, w + 1);
  }

  /** Sender: no more chunks this level. */
  finish(level: number): void {
    Atomics.store(this.ctrl, DONE, level);
  }

  /** Receiver: the next published chunk as [offset, records], or null. */
  peek(): [number, number] | null {
    const r = this.ctrl[READ]!;
    if (r >= Atomics.load(this.ctrl, WRITE)) return null;
    const slot = r % SLOTS;
    return [slot * CHUNK * this.stride, this.ctrl[LENS + slot]!];
  }

  /** Receiver: the chunk from peek() is consumed. */
  release(): void {
    Atomics.store(this.ctrl, READ, this.ctrl[READ]! + 1);
  }

  /** Receiver: the sender finished `level` and every chunk was consumed. */
  drained(level: number): boolean {
    return Atomics.load(this.ctrl, DONE) >= level && this.ctrl[READ]! >= Atomics.load(this.ctrl, WRITE);
  }
}

/** Rings between every ordered pair of W workers (none from a worker to itself) and a doorbell each. */
export interface Mesh {
  rings: (RingBuffers | null)[][];
  doorbells: SharedArrayBuffer;
}

export function createMesh(workers: number, stride: number): Mesh {
  return {
    rings: Array.from({ length: workers }, (_, s) => Array.from({ length: workers }, (_, r) => (s === r ? null : createRing(stride)))),
    doorbells: new SharedArrayBuffer(workers * 4),
  };
}
