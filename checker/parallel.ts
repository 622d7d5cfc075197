/**
 * Parallel level-synchronous BFS over long-lived worker threads (see
 * partition.ts for what each worker does and why the result does not depend
 * on the number of workers). This coordinator seeds level 0 and runs each
 * level in phases: every worker expands the states it owns and hands each
 * successor to its owner through SharedArrayBuffer outboxes; every owner
 * dedups what it received and commits its new states in key order; the owners
 * merge their key lists into global ranks. It keeps the parent pointers,
 * placed by rank, from which counterexamples are rebuilt by replay.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { jsUrl, loadModel, type ModelFactory } from './factory.js';
import { collisionProbability, fingerprint, fpLo } from './fingerprint.js';
import type { ExploreOptions, ExploreResult, Violation } from './model.js';
import { HDR, ownerOf, type CommitResult } from './partition.js';
import { createMesh } from './ring.js';
import { DEFAULT_REDUCTIONS, verdictOf, violationFromPath } from './search.js';
import { NO_PARENT, ParentStore } from './store.js';
import type { WorkerInit } from './worker.js';

const WORKER_URL = jsUrl('checker/worker.js');

type Box = { data: Int32Array; length: number };

/** A worker and the replies it owes, in order. */
class Remote {
  private pending: { resolve: (v: unknown) => void; reject: (e: unknown) => void }[] = [];
  private failed: unknown = null;
  constructor(readonly worker: Worker) {
    worker.on('message', (m: { error?: string; name?: string; stack?: string }) => {
      if (m && typeof m === 'object' && 'error' in m && m.error) {
        // Rebuilt with the worker's class name, so callers can tell a user's error from an engine bug.
        const e = new Error(m.error);
        e.name = m.name ?? 'Error';
        e.stack = `worker: ${m.stack ?? m.error}`;
        this.fail(e);
      }
      else this.pending.shift()?.resolve(m);
    });
    worker.on('error', (e) => this.fail(e));
  }
  fail(e: unknown): void {
    this.failed = e;
    for (const p of this.pending.splice(0)) p.reject(e);
  }
  next<T>(): Promise<T> {
    if (this.failed) return Promise.reject(this.failed);
    return new Promise((resolve, reject) => this.pending.push({ resolve: resolve as (v: unknown) => void, reject }));
  }
  ask<T>(msg: unknown): Promise<T> {
    const p = this.next<T>();
    this.worker.postMessage(msg);
    return p;
  }
}

class Interrupted extends Error {}

export function defaultWorkers(): number {
  return Math.max(1, availableParallelism());
}

/** Live handles, so that an interrupt can stop the workers at once. */
export const running = new Set<Worker>();

export async function exploreParallel(factory: ModelFactory, opts: ExploreOptions = {}): Promise<ExploreResult> {
  const t0 = performance.now();
  const workers = Math.max(1, opts.workers ?? defaultWorkers());
  const reductions = opts.reductions ?? DEFAULT_REDUCTIONS;
  const stopAtFirst = opts.stopAtFirst ?? true;
  const checkDeadlock = opts.checkDeadlock ?? true;
  const maxDepth = opts.maxDepth ?? Infinity;
  const { model, invariants } = await loadModel(factory);
  const W = model.stateWords;
  const expectedStates = opts.expectedStates ?? 1 << 16;

  const mesh = workers > 1 ? createMesh(workers, HDR + W) : null;
  const init: Omit<WorkerInit, 'id'> = { factory, workers, reductions, expectedStates, mesh };
  const remotes = Array.from({ length: workers }, (_, id) => {
    const w = new Worker(new URL(WORKER_URL), { workerData: { ...init, id } });
    running.add(w);
    return new Remote(w);
  });
  // An abort (Ctrl-C) stops the workers at once; the partial counts are reported.
  let interrupted = false;
  const onAbort = (): void => {
    interrupted = true;
    for (const r of remotes) {
      r.fail(new Interrupted('interrupted'));
      void r.worker.terminate();
    }
  };
  opts.signal?.addEventListener('abort', onAbort);
  try {
    await Promise.all(remotes.map((r) => r.next()));

    const parents = new ParentStore(Math.min(expectedStates, 1 << 22), false, model.actionCount > 0xffff);
    const found: { invariant: string; message: string; index: number }[] = [];
    const violated = new Set<string>();
    let stoppedBy: ExploreResult['stoppedBy'];
    let transitions = 0;
    const levelSizes: number[] = [];
    const halted = (): boolean =>
      found.length > 0 && (stopAtFirst || violated.size >= invariants.length + (checkDeadlock ? 1 : 0));

    /** Places a committed level's parents by global rank; returns each owner's ranks. */
    const place = async (results: CommitResult[], prevBase: number): Promise<{ base: number; ranks: Float64Array[] }> => {
      const total = results.reduce((a, r) => a + r.count, 0);
      let ranks: Float64Array[];
      if (workers === 1) ranks = [Float64Array.from({ length: results[0]!.count }, (_, k) => k)];
      else {
        const all = results.map((r) => ({ keys: r.keys, count: r.count }));
        const replies = await Promise.all(remotes.map((r, w) => r.ask<{ ranks: Float64Array }>({ cmd: 'ranks', all, count: results[w]!.count })));
        ranks = replies.map((x) => x.ranks);
      }
      const base = parents.reserve(total);
      results.forEach((r, w) => {
        const rk = ranks[w]!;
        for (let k = 0; k < r.count; k++) {
          const pr = r.parents[2 * k]!;
          parents.setAt(base + rk[k]!, prevBase < 0 ? NO_PARENT : prevBase + pr, r.parents[2 * k + 1]!);
        }
      });
      return { base, ranks };
    };

    /** The first violations in rank order (all of them in continue mode). */
    const takeViolations = (results: CommitResult[], ranks: Float64Array[], base: number, deadlock: { rank: number; parentBase: number } | null): void => {
      const cands: { invariant: string; message: string; index: number; order: number }[] = [];
      for (const inv of invariants) {
        if (violated.has(inv.name)) continue;
        let best: { message: string; rank: number; key: number } | null = null;
        results.forEach((r, w) => {
          for (const v of r.violations) {
            if (v.invariant !== inv.name) continue;
            const rank = ranks[w]![v.position]!;
            if (!best || rank < best.rank) best = { message: v.message, rank, key: v.key };
          }
        });
        const b = best as { message: string; rank: number; key: number } | null;
        if (b) cands.push({ invariant: inv.name, message: b.message, index: base + b.rank, order: b.key });
      }
      if (deadlock) {
        // Found while expanding its rank: before any violation found from a later parent.
        cands.push({ invariant: 'deadlock', message: 'no thread can move', index: deadlock.parentBase + deadlock.rank, order: deadlock.rank * 65536 + 65535.5 });
      }
      cands.sort((a, b) => a.order - b.order);
      for (const c of stopAtFirst ? cands.slice(0, 1) : cands) {
        violated.add(c.invariant);
        found.push(c);
      }
    };

    // Level 0: the initial states, deduplicated, to their owners.
    const canon = reductions.symmetry && model.canonicalize ? model.canonicalize.bind(model) : null;
    const inits: { hi: number; lo: number; ordinal: number; state: Int32Array }[] = [];
    const seen = new Set<string>();
    let ordinal = 0;
    model.initialStates((s0) => {
      const s = s0.slice(0, W);
      if (canon) canon(s);
      const hi = fingerprint(s, 0, W);
      const key = `${hi}:${fpLo}`;
      if (!seen.has(key)) {
        seen.add(key);
        inits.push({ hi, lo: fpLo, ordinal, state: s });
      }
      ordinal++;
    });
    const byOwner = remotes.map(() => [] as typeof inits);
    for (const x of inits) byOwner[ownerOf(x.hi, workers)]!.push(x);
    const seeded = await Promise.all(
      remotes.map((r, w) => {
        const list = byOwner[w]!;
        const states = new Int32Array(new SharedArrayBuffer(Math.max(1, list.length) * W * 4));
        const ordinals = new Int32Array(new SharedArrayBuffer(Math.max(1, list.length) * 4));
        list.forEach((x, k) => {
          states.set(x.state, k * W);
          ordinals[k] = x.ordinal;
        });
        return r.ask<CommitResult>({ cmd: 'seed', states, ordinals, count: list.length });
      }),
    );
    let level = await place(seeded, -1);
    takeViolations(seeded, level.ranks, level.base, null);
    let counts = seeded.map((r) => r.count);
    levelSizes.push(inits.length);

    let depth = 0;
    let levelNo = 0;
    let depthBounded = false;
    let lastProgress = t0;
    try {
    while (counts.some((c) => c > 0) && !halted()) {
      const probe = depth >= maxDepth;
      let expanded: { transitions: number; deadlockRank: number }[];
      let results: CommitResult[];
      if (workers === 1) {
        expanded = await Promise.all(remotes.map((r) => r.ask<{ transitions: number; deadlockRank: number; boxes: Box[] }>({ cmd: 'expand' })));
        results = await Promise.all(remotes.map((r) => r.ask<CommitResult>({ cmd: 'receive', boxes: [], commit: !probe })));
      } else {
        // All workers run the level at once, exchanging successors through the rings.
        levelNo++;
        results = await Promise.all(remotes.map((r) => r.ask<CommitResult & { transitions: number; deadlockRank: number }>({ cmd: 'level', level: levelNo, commit: !probe })));
        expanded = results as unknown as { transitions: number; deadlockRank: number }[];
      }
      if (probe) {
        depthBounded = results.some((r) => r.count > 0);
        break;
      }
      for (const e of expanded) transitions += e.transitions;
      let deadlock: { rank: number; parentBase: number } | null = null;
      if (checkDeadlock && !violated.has('deadlock')) {
        // A deadlock rank is a global rank already (workers expand with global ranks).
        const dl = expanded.map((e) => e.deadlockRank).filter((r) => r >= 0);
        if (dl.length) deadlock = { rank: Math.min(...dl), parentBase: level.base };
      }
      const newCount = results.reduce((a, r) => a + r.count, 0);
      const prevBase = level.base;
      if (newCount > 0) {
        level = await place(results, prevBase);
        depth++;
        levelSizes.push(newCount);
      }
      takeViolations(results, level.ranks, level.base, deadlock);
      counts = results.map((r) => r.count);
      if (newCount === 0) break;

      const now = performance.now();
      const states = parents.length;
      if (opts.maxStates !== undefined && states >= opts.maxStates) stoppedBy ??= 'max-states';
      if (opts.maxSeconds !== undefined && (now - t0) / 1000 >= opts.maxSeconds) stoppedBy ??= 'max-seconds';
      if (opts.shouldStop?.()) stoppedBy ??= 'interrupted';
      if (opts.maxMemory !== undefined || opts.onProgress) {
        const bytes = parents.bytes + 16 * states; // the visited tables hold at most 16 bytes a state
        if (opts.maxMemory !== undefined && bytes >= opts.maxMemory) stoppedBy ??= 'max-memory';
        if (opts.onProgress && now - lastProgress >= 1000) {
          lastProgress = now;
          opts.onProgress({ depth, states, transitions, frontier: newCount, seconds: (now - t0) / 1000, bytes });
        }
      }
      if (stoppedBy) break;
    }
    } catch (e) {
      if (!interrupted) throw e;
      stoppedBy = 'interrupted';
    }

    const stats = interrupted
      ? []
      : await Promise.all(remotes.map((r) => r.ask<{ coverage: Float64Array; ampleStates: number; bytes: number }>({ cmd: 'stats' })));
    const coverage = new Float64Array(model.actionCount);
    for (const s of stats) s.coverage.forEach((n, a) => (coverage[a]! += n));
    if (process.env.MMCHECK_PROFILE) {
      process.stderr.write(`worker phase ms: ${JSON.stringify(stats.map((s) => (s as unknown as { time: unknown }).time))}\n`);
    }
    const violations: Violation[] = found.map((f) =>
      violationFromPath(model, invariants, f.invariant, f.message, parents.actionsTo(f.index)),
    );
    const states = parents.length;
    return {
      ...verdictOf(violations, violations.length ? undefined : stoppedBy),
      violations,
      states,
      transitions,
      depthReached: depth,
      depthBounded,
      levelSizes,
      coverage,
      seconds: (performance.now() - t0) / 1000,
      collisionProbability: collisionProbability(states, transitions),
      strategy: 'bfs',
      workers,
      tableBytes: parents.bytes + stats.reduce((a, s) => a + s.bytes, 0),
      ampleStates: stats.reduce((a, s) => a + s.ampleStates, 0),
      reductions,
    };
  } finally {
    opts.signal?.removeEventListener('abort', onAbort);
    for (const r of remotes) running.delete(r.worker);
    await Promise.all(remotes.map((r) => r.worker.terminate()));
  }
}
