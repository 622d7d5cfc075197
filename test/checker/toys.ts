/** Small models for engine tests. */
import type { Emit, ExploreResult, Model } from '../../checker/model.js';

/** A directed graph: state = node id; actions = edge index. */
export class GraphModel implements Model {
  readonly stateWords = 1;
  readonly actionCount: number;
  private readonly out: [number, number][][];
  private readonly buf = new Int32Array(1);

  constructor(
    readonly nodes: number,
    readonly edges: readonly [number, number][],
    readonly start = 0,
  ) {
    this.actionCount = Math.max(1, edges.length);
    this.out = Array.from({ length: nodes }, () => []);
    edges.forEach(([a, b], i) => this.out[a]!.push([b, i]));
  }
  initialStates(emit: Emit): void {
    this.buf[0] = this.start;
    emit(this.buf, 0);
  }
  successors(s: Int32Array, emit: Emit): void {
    for (const [b, i] of this.out[s[0]!]!) {
      this.buf[0] = b;
      emit(this.buf, i);
    }
  }
  actionName(a: number): string {
    return `edge ${a}`;
  }
}

/** Shortest distances from `start`, by an independent plain BFS. */
export function distances(nodes: number, edges: readonly [number, number][], start = 0): number[] {
  const d = new Array<number>(nodes).fill(-1);
  d[start] = 0;
  const q = [start];
  while (q.length) {
    const a = q.shift()!;
    for (const [x, y] of edges)
      if (x === a && d[y] === -1) {
        d[y] = d[a]! + 1;
        q.push(y);
      }
  }
  return d;
}

/**
 * Two threads taking two locks in opposite orders (the ABBA deadlock).
 * Words: lockA owner, lockB owner (0 free, t+1), pc of thread 0, pc of thread 1.
 */
export class AbbaModel implements Model {
  readonly stateWords = 4;
  readonly actionCount = 2;
  private readonly n = new Int32Array(4);
  constructor(private readonly sameOrder = false) {}
  initialStates(emit: Emit): void {
    emit(new Int32Array(4), 0);
  }
  successors(s: Int32Array, emit: Emit): void {
    for (let t = 0; t < 2; t++) {
      const pc = s[2 + t]!;
      const first = t === 0 || this.sameOrder ? 0 : 1;
      const second = 1 - first;
      const n = this.n;
      n.set(s);
      if (pc === 0 && s[first] === 0) n[first] = t + 1;
      else if (pc === 1 && s[second] === 0) n[second] = t + 1;
      else if (pc === 2) {
        n[0] = 0;
        n[1] = 0;
      } else continue;
      n[2 + t] = pc + 1;
      emit(n, t);
    }
  }
  isDeadlock(s: Int32Array): boolean {
    return s[2] !== 3 || s[3] !== 3;
  }
  actionName(a: number): string {
    return `thread ${a}`;
  }
}

/** Factory entry for worker threads (the parallel engine's tests): createModel({ sameOrder }). */
export function createModel(args: { sameOrder?: boolean }) {
  return { model: new AbbaModel(args.sameOrder ?? false), invariants: [] };
}

/** What must not depend on the number of workers or on the threads a search runs in: verdict, counts, levels, traces. */
export function summary(r: ExploreResult) {
  return {
    verdict: r.verdict,
    states: r.states,
    transitions: r.transitions,
    depth: r.depthReached,
    levels: r.levelSizes,
    violations: r.violations.map((v) => ({ invariant: v.invariant, message: v.message, actions: v.path.map((p) => p.action) })),
  };
}
