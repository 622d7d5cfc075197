/**
 * Parallel level-synchronous BFS over long-lived worker threads (see
 * share.ts for what each worker does and why the result does not depend on
 * the number of workers). This coordinator owns the shared visited table: it
 * seeds level 0, runs each level (the workers expand it together, pausing
 * when the table or an arena must grow), has the workers commit their new
 * states and merge their keys into global ranks, and keeps the parent
 * pointers, placed by rank, from which counterexamples are rebuilt by replay.
 */
import { availableParallelism } from 'node:os';
import { loadModel, type ModelFactory } from './factory.js';
import { collisionProbability, fingerprint, fpLo } from './fingerprint.js';
import type { ExploreOptions, ExploreResult, Progress, Violation } from './model.js';
import {
  controlWords,
  FOUND,
  HDR,
  levelProgress,
  PAUSE,
  SLOT,
  sharedInts,
  workerBits,
  type CommitResult,
  type Frontier,
  type LevelParents,
  type LevelPlan,
  type Segment,
} from './share.js';
import { capacityFor, MAX_LOAD, newTable, rehash } from './shared-table.js';
import { canonicalizer } from './reduce.js';
import { DEFAULT_REDUCTIONS, verdictOf, violationFromPath, witnessResults } from './search.js';
import { timeoutAfter } from './timer.js';
import { ParentStore } from './store.js';
import type { WorkerInit } from './worker.js';
import { type Remote, releaseWorkers, takeWorkers } from './pool.js';

/** The search was stopped from outside (Ctrl-C) or by a limit its workers did not answer in time. */
class Halted extends Error {
  constructor(readonly why: NonNullable<ExploreResult['stoppedBy']>) {
    super(why);
  }
}

/** An allocation that failed: the engine's memory ran out (the run is incomplete, stopped by memory). */
export function isAllocationFailure(e: unknown): boolean {
  const err = e as Error | null;
  return !!err && (err.name === 'RangeError' || err instanceof RangeError) && /allocat|Invalid typed array length|Array buffer|out of memory/i.test(err.message ?? '');
}

/** How long the workers get, after a limit or an interrupt, to stop by themselves before they are terminated. */
export const GRACE_MS = 2000;
/** How often the coordinator looks at the workers' counts and the process's memory while a level runs. */
const WATCH_MS = 50;
/**
 * A search starts on one worker and starts the others when a level to expand
 * has this many states. Each thread costs its start, its modules and its own
 * JIT warm-up, which a small search never earns back: on 2 cores the default
 * check (--depth 12, 112,151 states, no level above 30,000) took 1.32-1.37 s
 * on 1 worker against 1.56-1.88 s on 2. The results do not depend on it: a
 * level is the same whichever workers expand it.
 */
export const SPREAD_AT = 40_000;

/** MMCHECK_SPREAD_AT overrides SPREAD_AT (0: every worker from the start), for tests that compare worker counts through the command. */
function spreadFromEnv(): number | undefined {
  const v = process.env.MMCHECK_SPREAD_AT;
  return v !== undefined && /^\d+$/.test(v) ? Number(v) : undefined;
}

export function defaultWorkers(): number {
  return Math.max(1, availableParallelism());
}

export async function exploreParallel(factory: ModelFactory, opts: ExploreOptions = {}): Promise<ExploreResult> {
  const t0 = performance.now();
  const workers = Math.max(1, opts.workers ?? defaultWorkers());
  const reductions = opts.reductions ?? DEFAULT_REDUCTIONS;
  const stopAtFirst = opts.stopAtFirst ?? true;
  const checkDeadlock = opts.checkDeadlock ?? true;
  const maxDepth = opts.maxDepth ?? Infinity;
  const spreadAt = opts.spreadAt ?? spreadFromEnv() ?? SPREAD_AT;
  const { model, invariants, witnesses = [] } = await loadModel(factory);
  const witnessDepth = new Int32Array(witnesses.length).fill(-1);
  const noteWitnesses = (results: CommitResult[], depth: number): void => {
    for (const r of results) for (const i of r.witnessesFound) if (witnessDepth[i]! < 0) witnessDepth[i] = depth;
  };
  const W = model.stateWords;
  const stride = HDR + W;
  const bits = workerBits(workers);
  const expectedStates = opts.expectedStates ?? 1 << 16;
  // Each worker must be able to insert a state's successors (and a batch) between its room checks.
  const reserve = 4 * workers * (Math.max(1, model.actionCount) + 512);

  const control = sharedInts(controlWords(workers));
  const init: Omit<WorkerInit, 'id'> = { factory, workers, reductions, control };
  // One worker to start with; the others join when a level is large enough (SPREAD_AT).
  const remotes = takeWorkers(1, init);
  /** Whether the search ended by itself, its workers fit for another search (checker/pool.ts). */
  let clean = false;
  /**
   * Stops the search now: the workers are terminated (a worker stuck in an
   * invariant's code cannot answer), and the levels completed before are the
   * result. Ctrl-C does this at once; a time limit the workers did not
   * answer within GRACE_MS does it then.
   */
  let halted: NonNullable<ExploreResult['stoppedBy']> | undefined;
  const haltNow = (why: NonNullable<ExploreResult['stoppedBy']>): void => {
    if (halted) return;
    halted = why;
    for (const r of remotes) {
      r.fail(new Halted(why));
      void r.terminate();
    }
  };
  const onAbort = (): void => haltNow('interrupted');
  opts.signal?.addEventListener('abort', onAbort);
  if (opts.signal?.aborted) onAbort(); // interrupted before the workers started
  const cancelDeadline = opts.maxSeconds === undefined ? () => {} : timeoutAfter(opts.maxSeconds * 1000 + GRACE_MS, () => haltNow('max-seconds'));

  // What the result reports, kept up to date level by level: a search stopped in the middle reports the levels it completed.
  const parents = new ParentStore(Math.min(expectedStates, 1 << 22), false, model.actionCount > 0xffff);
  const found: { invariant: string; message: string; index: number }[] = [];
  const violated = new Set<string>();
  let stoppedBy: ExploreResult['stoppedBy'];
  /** The model's observations, gathered from every worker at the end (Model.observations). */
  let observations: string[] = [];
  let transitions = 0;
  const levelSizes: number[] = [];
  let depth = 0;
  let depthBounded = false;
  let ampleStates = 0;
  /** Each worker's coverage counts, in shared memory (readable even after a worker is terminated), and their sum at the last completed level. */
  let workerCoverage: Float64Array[] = [];
  const coverage = new Float64Array(model.actionCount);
  const snapshotCoverage = (): void => {
    coverage.fill(0);
    for (const c of workerCoverage) for (let a = 0; a < coverage.length; a++) coverage[a]! += c[a]!;
  };
  let tableBytes = 0;
  try {
    type Arena = { states: Int32Array; keys: Int32Array };
    const arenas: Arena[] = [];
    /** Waits until the workers (the first, or those that join) have built the model; takes their arenas and coverage counts. */
    const join = async (rs: readonly Remote[]): Promise<void> => {
      const ready = await Promise.all(rs.map((r) => r.next<{ arena: Arena; coverage: Float64Array }>()));
      arenas.push(...ready.map((m) => m.arena));
      workerCoverage = [...workerCoverage, ...ready.map((m) => m.coverage)];
    };
    await join(remotes);
    const done = (): boolean => found.length > 0 && (stopAtFirst || violated.size >= invariants.length + (checkDeadlock ? 1 : 0));

    // The visited table; `stored` counts its entries.
    let table = newTable(capacityFor(expectedStates, reserve * 4));
    let stored = 0;
    /** Grows the table until the workers have room; the workers are idle or paused. */
    const ensureRoom = (extra: number): void => {
      let cap = table.length >> 1;
      const free = (c: number) => c * MAX_LOAD - stored - extra;
      if (free(cap) >= reserve) return;
      while (free(cap) < reserve) cap *= 2;
      // Growing would take the process past --max-memory: stop before (the old and the new table live together while it rehashes).
      if (opts.maxMemory !== undefined && process.memoryUsage.rss() + cap * 8 > opts.maxMemory) throw new Halted('max-memory');
      const mask = (1 << bits) - 1;
      table = rehash(table, cap, (ref, slot) => {
        arenas[ref & mask]!.states[(ref >>> bits) * stride + SLOT] = slot;
      });
      tableBytes = table.byteLength;
    };
    tableBytes = table.byteLength;
    const plan = (_w: number, inserted: number, levelInserted: number): LevelPlan => ({
      table,
      keyArenas: arenas.map((a) => a.keys),
      budget: inserted + Math.floor(((table.length >> 1) * MAX_LOAD - stored - levelInserted) / remotes.length),
      alone: remotes.length === 1,
    });

    /**
     * Has the workers place a committed level by global rank: its parent
     * pointers and the next frontier's rank order. Returns where the level
     * starts, the global ranks of the workers' violations, and the frontier.
     */
    // The last level's frontier is expanded before the next is placed, so one set of buffers serves every level.
    let placed: Omit<LevelParents, 'prevBase'> = { parents: new Uint32Array(0), actions: new Uint32Array(0), byRank: new Int32Array(0) };
    const place = async (results: CommitResult[], prevBase: number): Promise<{ base: number; violationRanks: number[][]; frontier: Frontier }> => {
      const total = results.reduce((a, r) => a + r.count, 0);
      if (placed.byRank.length < total) {
        // Reused from level to level (grown by doubling): fresh memory costs its page faults on every level.
        const words = () => new Uint32Array(new SharedArrayBuffer(total * 8));
        placed = { parents: words(), actions: words(), byRank: sharedInts(total * 2) };
      }
      const to: LevelParents = { prevBase, ...placed };
      const all = results.map((r) => ({ keys: r.keys, count: r.count }));
      const replies = await Promise.all(remotes.map((r) => r.ask<{ violationRanks: number[] }>({ cmd: 'place', all, to })));
      const base = parents.reserve(total);
      parents.setLevel(base, to.parents, to.actions, total);
      results.forEach((r, w) => (arenas[w] = r.arena));
      const frontier = { byRank: to.byRank, total, states: results.map((r) => r.frontier) };
      return { base, violationRanks: replies.map((x) => x.violationRanks), frontier };
    };

    /** The first violations in rank order (all of them in continue mode). */
    const takeViolations = (results: CommitResult[], ranks: number[][], base: number, deadlock: { rank: number; parentBase: number } | null): void => {
      const cands: { invariant: string; message: string; index: number; order: number }[] = [];
      for (const inv of invariants) {
        if (violated.has(inv.name)) continue;
        let best: { message: string; rank: number; key: number } | null = null;
        results.forEach((r, w) => {
          r.violations.forEach((v, i) => {
            if (v.invariant !== inv.name) return;
            const rank = ranks[w]![i]!;
            if (!best || rank < best.rank) best = { message: v.message, rank, key: v.key };
          });
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

    // Level 0: the initial states, deduplicated, all seeded by worker 0.
    const canon = canonicalizer(model, reductions);
    const inits: { ordinal: number; state: Int32Array }[] = [];
    const seen = new Set<string>();
    let ordinal = 0;
    model.initialStates((s0) => {
      const s = s0.slice(0, W);
      if (canon) canon(s);
      const hi = fingerprint(s, 0, W);
      const key = `${hi}:${fpLo}`;
      if (!seen.has(key)) {
        seen.add(key);
        inits.push({ ordinal, state: s });
      }
      ordinal++;
    });
    ensureRoom(inits.length);
    const seeded = await Promise.all(
      remotes.map((r, w) => {
        const list = w === 0 ? inits : [];
        const states = sharedInts(list.length * W);
        const ordinals = sharedInts(list.length);
        list.forEach((x, k) => {
          states.set(x.state, k * W);
          ordinals[k] = x.ordinal;
        });
        return r.ask<CommitResult>({ cmd: 'seed', plan: plan(w, 0, 0), states, ordinals, count: list.length });
      }),
    );
    stored += inits.length;
    noteWitnesses(seeded, 0);
    let level = await place(seeded, -1);
    takeViolations(seeded, level.violationRanks, level.base, null);
    levelSizes.push(inits.length);

    /** The memory the process uses (its resident set: the coordinator, the workers and every table): what --max-memory caps. */
    const memoryBytes = (): number => process.memoryUsage.rss();

    let lastProgress = t0;
    const progress = (now: number, p: Omit<Progress, 'seconds' | 'bytes'>): void => {
      if (!opts.onProgress || now - lastProgress < 1000) return;
      lastProgress = now;
      opts.onProgress({ ...p, seconds: (now - t0) / 1000, bytes: memoryBytes() });
    };

    /** Every worker has stopped: grow what is short, then go on where each stopped (null: the growth broke --max-memory). */
    const resume = async (segs: Segment[]): Promise<Segment[] | null> => {
      // A worker's arenas double when they grow: stop first if that would take the process past --max-memory.
      const growth = segs.reduce((a, s, w) => a + (s.arenaFull ? arenas[w]!.states.byteLength + arenas[w]!.keys.byteLength : 0), 0);
      if (opts.maxMemory !== undefined && growth > 0 && memoryBytes() + growth > opts.maxMemory) return null;
      await Promise.all(
        segs.map(async (s, w) => {
          if (s.arenaFull) arenas[w] = (await remotes[w]!.ask<{ arena: Arena }>({ cmd: 'grow' })).arena;
        }),
      );
      const levelInserted = segs.reduce((a, s) => a + s.inserted, 0);
      ensureRoom(levelInserted);
      if (opts.maxMemory !== undefined && memoryBytes() >= opts.maxMemory) return null;
      Atomics.store(control, PAUSE, 0);
      return Promise.all(remotes.map((r, w) => r.ask<Segment>({ cmd: 'resume', plan: plan(w, segs[w]!.inserted, levelInserted) })));
    };

    /** Why the level being run was cut short (it is then dropped: the levels before it are the result). */
    let cut: ExploreResult['stoppedBy'];
    /**
     * Runs one level to its end, growing the table and arenas whenever a
     * worker pauses for room. A limit stops the workers in the middle of the
     * level, and the level is dropped: null. --max-states drops the level
     * that would take the count past it, however fast it ran, so that the
     * result does not depend on timing.
     */
    const runLevel = async (frontier: Frontier, probe: boolean): Promise<Segment[] | null> => {
      control.fill(0);
      if (!probe) ensureRoom(0);
      const stop = (why: NonNullable<ExploreResult['stoppedBy']>): void => {
        cut ??= why;
        Atomics.store(control, PAUSE, 1);
      };
      const overStates = (inserted: number): boolean => opts.maxStates !== undefined && stored + inserted > opts.maxStates;
      const cancel = opts.maxSeconds === undefined || probe ? () => {} : timeoutAfter(t0 + opts.maxSeconds * 1000 - performance.now(), () => stop('max-seconds'));
      // While the level runs: progress once a second, and the state and memory limits.
      const watch = probe
        ? undefined
        : setInterval(() => {
            const p = levelProgress(control, workers);
            if (overStates(p.inserted)) stop('max-states');
            if (opts.maxMemory !== undefined && memoryBytes() >= opts.maxMemory) stop('max-memory');
            progress(performance.now(), { depth: depth + 1, states: stored + p.inserted, transitions: transitions + p.transitions, frontier: frontier.total });
          }, WATCH_MS);
      try {
        let segs = await Promise.all(remotes.map((r, w) => r.ask<Segment>({ cmd: 'level', plan: plan(w, 0, 0), frontier, probe })));
        while (segs.some((s) => s.paused)) {
          if (cut) return null;
          const next = await resume(segs);
          if (!next) {
            cut ??= 'max-memory';
            return null;
          }
          segs = next;
        }
        if (cut) return null;
        const inserted = segs.reduce((a, s) => a + s.inserted, 0);
        if (inserted > 0 && overStates(inserted)) {
          cut = 'max-states';
          return null;
        }
        return segs;
      } finally {
        cancel();
        clearInterval(watch);
      }
    };
    while (level.frontier.total > 0 && !done()) {
      if (depth >= maxDepth) {
        // One more level, only to learn whether the bound cut anything off.
        await runLevel(level.frontier, true);
        depthBounded = Atomics.load(control, FOUND) !== 0;
        break;
      }
      if (remotes.length < workers && level.frontier.total >= spreadAt) {
        const joining = takeWorkers(workers - remotes.length, init, remotes.length);
        remotes.push(...joining);
        await join(joining);
      }
      const expanded = await runLevel(level.frontier, false);
      if (!expanded) {
        // A limit in the middle of a level: the levels before it are the result.
        stoppedBy = cut;
        break;
      }
      const results = await Promise.all(remotes.map((r) => r.ask<CommitResult>({ cmd: 'commit' })));
      for (const e of expanded) transitions += e.transitions;
      let deadlock: { rank: number; parentBase: number } | null = null;
      if (checkDeadlock && !violated.has('deadlock')) {
        // A deadlock rank is a global rank already (workers expand with global ranks).
        const dl = expanded.map((e) => e.deadlockRank).filter((r) => r >= 0);
        if (dl.length) deadlock = { rank: Math.min(...dl), parentBase: level.base };
      }
      const newCount = results.reduce((a, r) => a + r.count, 0);
      stored += newCount;
      const prevBase = level.base;
      level = await place(results, prevBase);
      if (newCount > 0) {
        depth++;
        levelSizes.push(newCount);
        noteWitnesses(results, depth);
      }
      takeViolations(results, level.violationRanks, level.base, deadlock);
      ampleStates = expanded.reduce((a, e) => a + e.ampleStates, 0); // each worker's count so far
      snapshotCoverage();
      if (newCount === 0) break;

      const now = performance.now();
      if (opts.maxSeconds !== undefined && (now - t0) / 1000 >= opts.maxSeconds) stoppedBy ??= 'max-seconds';
      if (opts.maxMemory !== undefined && memoryBytes() >= opts.maxMemory) stoppedBy ??= 'max-memory';
      if (opts.shouldStop?.()) stoppedBy ??= 'interrupted';
      progress(now, { depth, states: parents.length, transitions, frontier: newCount });
      if (stoppedBy) break;
    }
    if (!halted && model.observations) {
      const all = await Promise.all(remotes.map((r) => r.ask<{ observations: string[] }>({ cmd: 'observations' })));
      observations = [...new Set(all.flatMap((x) => x.observations))].sort();
    }
    if (process.env.MMCHECK_PROFILE) {
      const stats = await Promise.all(remotes.map((r) => r.ask<{ time: unknown }>({ cmd: 'stats' })));
      process.stderr.write(`worker phase ms: ${JSON.stringify(stats.map((s) => s.time))}\n`);
    }
    clean = !halted;
  } catch (e) {
    // Stopped from outside or by a limit (the workers terminated, or a growth that would pass --max-memory), or out of memory.
    if (e instanceof Halted) stoppedBy = e.why;
    else if (halted) stoppedBy = halted;
    else if (isAllocationFailure(e)) stoppedBy = 'max-memory';
    else throw e;
  } finally {
    cancelDeadline();
    opts.signal?.removeEventListener('abort', onAbort);
    await releaseWorkers(remotes, clean, factory.isolated === true);
  }
  const violations: Violation[] = found.map((f) => violationFromPath(model, invariants, f.invariant, f.message, parents.actionsTo(f.index)));
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
    workersStarted: remotes.length,
    tableBytes: parents.bytes + tableBytes,
    ampleStates,
    reductions,
    witnesses: witnessResults(witnesses, witnessDepth),
    observations,
  };
}
