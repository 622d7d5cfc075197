/**
 * Locks and waits as objects (model/locks.ts, model/kernel/locking.ts):
 * sleeping waits and their wake-ups, writer-fair rw-semaphores, the
 * wait-for cycle of a deadlock, a lost wake-up, and lockdep's lock order
 * over every explored transition (cli/lock-order.ts).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import {
  anon_vma_lock_read,
  anon_vma_unlock_read,
  lock_page,
  mmap_read_lock,
  mmap_read_unlock,
  mmap_write_lock,
  mmap_write_unlock,
  trylock_page,
  unlock_page,
} from '../../model/kernel/locking.js';
import { dependencyName, Lockdep } from '../../model/lockdep.js';
import { WAIT_ASLEEP } from '../../model/locks.js';
import { ALL_WORKERS, check, mmcheckHere, mmcheckWith, model } from '../helpers.js';

/** The model's initial state, a copy. */
function initial(m: ReturnType<typeof model>): Int32Array {
  let s = new Int32Array(0);
  m.initialStates((x) => (s = x.slice()));
  return s;
}

const dir = mkdtempSync(join(tmpdir(), 'mmcheck-locks-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('rw-semaphores: owners, sleeping, writer fairness', () => {
  // cow-fork-gup has three threads in P: enough for reader, writer, reader.
  const m = model('cow-fork-gup', { kernel: '6.2' });
  const k = m.view(initial(m));
  const asleep = (t: number) => (k.threadWait(t) & WAIT_ASLEEP) !== 0;

  test('a reader holds it; a writer sleeps; a new reader sleeps behind the waiting writer; the last up_read wakes the writer', () => {
    // Each call below is a step of its own (a step may sleep only before it takes its first lock).
    const step = () => {
      k.acquiredInStep = 0;
    };
    expect(mmap_read_lock(k, 0, 0)).toBe(true);
    step();
    expect(k.readable.mms.P!.mmap_lock).toBe('read-locked by P');
    expect(mmap_write_lock(k, 1, 0)).toBe(false); // the step returns SLEEP
    expect(asleep(1)).toBe(true);
    // Only a reader holds the lock, but a writer waits: writer-fair, the new reader waits too.
    step();
    expect(mmap_read_lock(k, 2, 0)).toBe(false);
    expect(asleep(2)).toBe(true);
    mmap_read_unlock(k, 0, 0);
    expect(asleep(1)).toBe(false);
    expect(asleep(2)).toBe(false);
    // Woken, the writer takes it; the reader, still behind a queued writer, would sleep again.
    expect(mmap_write_lock(k, 1, 0)).toBe(true);
    k.forgetReadable();
    expect(k.readable.mms.P!.mmap_lock).toMatch(/^write-locked by /);
    expect(k.readable.locks).toEqual({ [m.world.threadNames[1]!]: ['P mmap_lock (write)'] });
    mmap_write_unlock(k, 0);
    k.forgetReadable();
    expect(k.readable.mms.P!.mmap_lock).toBe('unlocked');
  });

  test('the page lock has an owner; unlock_page wakes its sleepers', () => {
    const k2 = m.view(initial(m));
    expect(lock_page(k2, 0, 1)).toBe(true);
    expect(k2.readable.locks).toEqual({ [m.world.threadNames[0]!]: ['pfn 1 PG_locked'] });
    k2.acquiredInStep = 0; // the next step
    expect(lock_page(k2, 1, 1)).toBe(false);
    expect(k2.threadWait(1) & WAIT_ASLEEP).not.toBe(0);
    unlock_page(k2, 1);
    expect(k2.threadWait(1) & WAIT_ASLEEP).toBe(0);
  });
});

describe('lockdep records dependencies on blocking acquisitions only', () => {
  const m = model('cow-fork-gup', { kernel: '6.2' });
  test('mmap_lock, a trylock of a page, then lock_page and the anon_vma lock: the dependencies lockdep would add', () => {
    const k = m.view(initial(m));
    const ld = new Lockdep();
    k.lockdep = ld;
    const names = () => [...ld.seen.keys()].map(dependencyName).sort();
    mmap_read_lock(k, 0, 0);
    trylock_page(k, 0, 2); // a trylock cannot wait: no dependency
    expect(names()).toEqual([]);
    lock_page(k, 0, 1); // PG_locked while PG_locked (pfn 2) is held: same class, no dependency
    expect(names()).toEqual(['mmap_lock -> PG_locked']);
    anon_vma_lock_read(k, 0, 0);
    anon_vma_unlock_read(k, 0, 0);
    expect(names()).toEqual(['PG_locked -> anon_vma->rwsem', 'mmap_lock -> PG_locked', 'mmap_lock -> anon_vma->rwsem'].sort());
    // Recording is off while the engine only probes past the depth bound.
    ld.observing = false;
    mmap_write_unlock(k, 0);
    lock_page(k, 1, 3);
    expect(names()).toHaveLength(3);
  });
});

describe('deadlocks name their wait-for cycle; a lost wake-up names the sleeper', () => {
  test('undo-range-i-mmap-first on 5.17 (i_mmap_rwsem for write): punch and migration deadlock; the trace ends where the cycle closes', async () => {
    const r = await mmcheckHere(['check', '-s', 'punch-migrate', '-i', 'rss-consistent', '-k', '5.17', '--mutant', 'undo-range-i-mmap-first', '--json']);
    expect(r.code).toBe(1);
    const j = JSON.parse(r.out);
    expect(j.verdict).toBe('deadlock');
    expect(j.message).toMatch(/^wait-for cycle: evictor sleeps on pfn \d+ PG_locked, held by kcompactd; kcompactd sleeps on memfd i_mmap_rwsem, held by evictor$/);
    expect(j.waitFor.cycle).toEqual(['evictor', 'kcompactd']);
    expect(j.waitFor.lost).toEqual([]);
    // The last step is the one that closes the cycle: a thread goes to sleep holding what the other waits for.
    const last = j.trace.at(-1);
    expect(last.notes.join(' ')).toMatch(/sleeps on/);
    // Without the mutant, no deadlock.
    expect(check('punch-migrate', '5.17', ['rss-consistent']).result.verdict).toBe('holds');
  });

  test('unlock-page-no-wake: a sleeper on the page lock is never woken: a lost wake-up, not a cycle', () => {
    const { result } = check('zap-migrate', '6.2', ['rss-consistent'], { mutants: ['unlock-page-no-wake'] });
    expect(result.verdict).toBe('deadlock');
    expect(result.violations[0]!.message).toMatch(/^lost wake-up: \w+ sleeps on pfn \d+ PG_locked; nothing can wake it/);
    expect(check('zap-migrate', '6.2', ['rss-consistent']).result.verdict).toBe('holds');
  });
});

describe('lock-order: lockdep over every explored transition', () => {
  test('holds on the built-in scenario: the dependencies are the kernel documented order (mm/rmap.c)', async () => {
    const r = await mmcheckHere(['check', '-s', 'zap-migrate', '-i', 'lock-order', '-k', '6.2', '--json']);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.out);
    expect(j.lockOrder.cycle).toBeNull();
    expect(j.lockOrder.dependencies.map((d: { from: string; to: string }) => `${d.from} -> ${d.to}`)).toEqual([
      'i_rwsem -> i_mmap_rwsem',
      'i_rwsem -> PG_locked',
      'i_rwsem -> ptl',
      'i_mmap_rwsem -> ptl',
      'PG_locked -> i_mmap_rwsem',
      'PG_locked -> ptl',
    ]);
  });

  test('a mutant taking i_mmap_rwsem before the page lock is a violation on 6.2, where the deadlock itself cannot happen', async () => {
    // On 6.2 both sides take i_mmap_rwsem for read, and nothing else runs that would take it for write: no deadlock is reachable.
    expect(check('punch-migrate', '6.2', ['rss-consistent'], { mutants: ['undo-range-i-mmap-first'] }).result.verdict).toBe('holds');
    const dot = join(dir, 'g.dot');
    const trace = join(dir, 'lo.itf.json');
    const r = await mmcheckHere([
      'check',
      '-s',
      'punch-migrate',
      '-i',
      'lock-order',
      '-k',
      '6.2',
      '--mutant',
      'undo-range-i-mmap-first',
      '--lock-graph',
      dot,
      '--trace-out',
      trace,
    ]);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/VIOLATED lock-order: possible circular locking dependency: PG_locked -> i_mmap_rwsem -> PG_locked/);
    expect(r.out).toMatch(/Possible unsafe locking scenario:/);
    expect(r.out).toMatch(/CPU0 +CPU1/);
    expect(r.out).toMatch(/\*\*\* DEADLOCK \*\*\*/);
    expect(r.out).toMatch(/Acquisition 1: i_mmap_rwsem -> PG_locked, a shortest trace to it:/);
    expect(r.out).toMatch(/Acquisition 2: PG_locked -> i_mmap_rwsem, a shortest trace to it:/);
    expect(readFileSync(dot, 'utf8')).toMatch(/"PG_locked" -> "i_mmap_rwsem" \[label="[^"]*try_to_migrate_one[^"]*", color=red/);
    // Each acquisition's trace replays to the acquisition.
    for (const f of [trace, join(dir, 'lo-lock-order-2.itf.json')]) {
      const rep = await mmcheckHere(['trace', 'replay', f]);
      expect(rep.code, rep.err).toBe(0);
      expect(rep.out).toMatch(/lock-order is violated: \S+ taken while holding \S+/);
      const show = await mmcheckHere(['trace', 'show', f]);
      expect(show.code, show.err).toBe(0);
      expect(show.out).toMatch(/locks held: evictor: memfd i_rwsem \(write\)|locks held: kcompactd: pfn \d+ PG_locked/);
      expect((await mmcheckHere(['trace', 'html', f, '-o', join(dir, 'lo.html')])).code).toBe(0);
    }
  });

  test('the same dependencies and cycle at any worker count; BFS and DFS agree when the search completes', () => {
    const deps = (kernel: string, ...extra: string[]) => {
      const r = mmcheckWith(ALL_WORKERS, 'check', '-s', 'zap-migrate', '-i', 'lock-order', '-k', kernel, '--mutant', 'undo-range-i-mmap-first', '--json', ...extra);
      const j = JSON.parse(r.out);
      return JSON.stringify([j.lockOrder.dependencies, j.lockOrder.cycle, j.violations]);
    };
    // 5.17: the deadlock is reachable, and the search stops at its level: the same levels at any worker count.
    const one = deps('5.17', '-j', '1');
    expect(deps('5.17', '-j', '2')).toBe(one);
    expect(deps('5.17', '-j', '3')).toBe(one);
    // 6.2: every state is explored, whatever the order.
    expect(deps('6.2', '--strategy', 'dfs')).toBe(deps('6.2', '-j', '2'));
  });

  test('--lock-graph without lock-order: one clear line, exit 2', async () => {
    const r = await mmcheckHere(['check', '-s', 'zap-migrate', '-i', 'rss-consistent', '--lock-graph', join(dir, 'x.dot')]);
    expect(r.code).toBe(2);
    expect(r.err.trim()).toBe('mmcheck: --lock-graph needs --invariant lock-order');
  });
});
