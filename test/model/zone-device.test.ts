/**
 * ZONE_DEVICE FS_DAX pages (seed 002): a DMA pin against break_layouts by
 * release, the 2020 RFC as a patch switch, the device pool in the symmetry,
 * and what is refused.
 */
import { describe, expect, test } from 'vitest';
import { findScenario } from '../../model/scenarios.js';
import { type ScenarioSpec, validateScenario } from '../../model/scenario.js';
import { check, mmcheckHere, model, testVerdictRows, type VerdictRow } from '../helpers.js';
import { PGMAP_GHOST_UAF } from '../../model/kernel/memremap.js';
import { pteTarget } from '../../model/pte.js';

const scenario = (): ScenarioSpec => structuredClone(findScenario('fsdax-unpin-break-layouts')!);

describe('FS_DAX unpin against break_layouts: verdicts and state counts', () => {
  const rows: VerdictRow[] = [
    ['fsdax-unpin-break-layouts', 'fsdax-idle-wakes', '5.17', 'holds', 26],
    ['fsdax-unpin-break-layouts', 'fsdax-idle-wakes', '5.18', 'violated', 26],
    ['fsdax-unpin-break-layouts', 'fsdax-idle-wakes', '5.19', 'holds', 26],
    ['fsdax-unpin-break-layouts', 'fsdax-idle-wakes', '6.15', 'holds', 26],
  ];
  testVerdictRows(rows, ['refcount-sane', 'idle-convention']);
});

describe('what each release does when a pinned FS_DAX page is unpinned', () => {
  test('5.18: gup_put_folio drops the pin without wake_up_var; the waiter is named with its key, after the unpin step', async () => {
    const r = await mmcheckHere(['check', '-s', 'fsdax-unpin-break-layouts', '-k', '5.18', '-i', 'fsdax-idle-wakes']);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/gup_put_folio: folio_put_refs\(1024\): _refcount 1, and no wake_up_var \(d8ddc099c6b3\)/);
    expect(r.out).toMatch(/VIOLATED fsdax-idle-wakes: T sleeps on pfn 2 _refcount \(wait_var_event\) while pfn 2 is idle \(_refcount 1\)/);
    // The last step of the trace is the unpin that should have woken it.
    const steps = r.out.split('\n').filter((l) => /^\s+\d+\s+[PT]\s/.test(l));
    expect(steps.at(-1)).toMatch(/release ref "dma" · unpin_user_page/);
    const lost = await mmcheckHere(['check', '-s', 'fsdax-unpin-break-layouts', '-k', '5.18', '-i', 'refcount-sane']);
    expect(lost.out).toMatch(/lost wake-up: T sleeps on pfn 2 _refcount \(wait_var_event\); nothing can wake it/);
  });
  test('5.17 and 5.19 wake at 1; 6.15 waits for 0 and the DAX mapping holds a reference', async () => {
    for (const k of ['5.17', '5.19']) expect((await mmcheckHere(['check', '-s', 'fsdax-unpin-break-layouts', '-k', k, '-i', 'fsdax-idle-wakes', '--strict'])).code).toBe(0);
    const r = await mmcheckHere(['check', '-s', 'fsdax-unpin-break-layouts', '-k', '6.15', '-i', 'refcount-sane', '--strict']);
    expect(r.code).toBe(0);
    const first = (kernel: string) => initialView('fsdax-unpin-break-layouts', kernel);
    expect(first('6.15').pageRef(2)).toBe(1); // idle 0, plus the DAX mapping's reference
    expect(first('6.15').pageMapcount(2)).toBe(1);
    expect(first('6.14').pageRef(2)).toBe(1); // idle 1; the devmap PTE holds nothing
    expect(first('6.14').pageMapcount(2)).toBe(0);
  });
  test('the RFC (--patch zone-device-rfc on 5.9) wakes at 0 while the waiter waits for 1', async () => {
    const r = await mmcheckHere(['check', '-s', 'fsdax-unpin-break-layouts', '-k', '5.9', '--patch', 'zone-device-rfc', '-i', 'fsdax-idle-wakes']);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/RFC: put_page_testzero: _refcount 1, not 0: no free_devmap_managed_page, no wake_up_var/);
    const conv = check('fsdax-unpin-break-layouts', '5.9', ['idle-convention'], { patch: ['zone-device-rfc'] });
    expect(conv.result.verdict).toBe('violated');
    expect(conv.result.violations[0]!.message).toMatch(/expect 1, the put path wakes at 0/);
  });
});

describe('the device pool', () => {
  test('device frames are a pool of their own: the allocator never takes one, and the symmetry keeps them apart', () => {
    const s = scenario();
    s.device!.pages = 2;
    s.files![0]!.size = 2;
    s.vmas[0]!.pages = 2;
    s.pages.push({ addr: 1, data: 6 });
    s.threads[0]!.menu = [
      { op: 'gup', ref: 'dma', addr: 1, pin: true, write: true },
      { op: 'put', ref: 'dma' },
    ];
    validateScenario(s);
    const { result } = check(s, '6.2', ['refcount-sane', 'fsdax-idle-wakes', 'idle-convention']);
    expect(result.verdict).toBe('holds');
  });
  test('refused with one line and exit 2: a device before 5.7, longterm or fast GUP of fsdax, other ops', async () => {
    const r = await mmcheckHere(['check', '-s', 'fsdax-unpin-break-layouts', '-k', '5.6']);
    expect(r.code).toBe(2);
    expect(r.err.trim().split('\n')).toHaveLength(1);
    expect(r.err).toMatch(/ZONE_DEVICE pages are modelled from 5\.7/);
    const long = scenario();
    long.threads[0]!.menu[0] = { op: 'gup', ref: 'dma', addr: 0, pin: true, write: true, longterm: true };
    expect(() => validateScenario(long)).toThrow(/without FOLL_LONGTERM \(which fsdax refuses: -EOPNOTSUPP\)/);
    const op = scenario();
    op.threads[0]!.menu.push({ op: 'madv-dontneed', addr: 0 });
    expect(() => validateScenario(op)).toThrow(/madv-dontneed is not modelled with FS_DAX memory/);
    const nodev = scenario();
    delete nodev.device;
    expect(() => validateScenario(nodev)).toThrow(/an fsdax file needs the scenario's FS_DAX device/);
  });
});

describe('device-private memory: the CPU fault and memunmap_pages by release', () => {
  const rows: VerdictRow[] = [
    ['device-private-fault-race', 'zone-device-free-count', '6.0', 'violated', 25],
    ['device-private-fault-race', 'zone-device-free-count', '6.1', 'holds', 23],
    ['device-memunmap-in-use', 'pgmap-pinned', '5.17', 'holds', 21],
    ['device-memunmap-in-use', 'pgmap-pinned', '5.18', 'violated', 3],
    ['device-memunmap-in-use', 'pgmap-pinned', '6.1', 'holds', 17],
  ];
  testVerdictRows(rows, ['refcount-sane', 'zone-device-never-lru']);

  test('up to 6.0 the fault takes no reference: the other fault frees the page before ->migrate_to_ram', async () => {
    const r = await mmcheckHere(['check', '-s', 'device-private-fault-race', '-k', '6.0', '-i', 'zone-device-free-count']);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/vmf->page = pfn 3: no PT lock, no reference on it/);
    expect(r.out).toMatch(/pfn 3: ->page_free: back on the driver's free list/);
    expect(r.out).toMatch(/pfn 3 is free \(->page_free put it back on the driver's list\): migrate_to_ram reads its zone_device_data/);
    const fixed = await mmcheckHere(['check', '-s', 'device-private-fault-race', '-k', '6.1', '-i', 'zone-device-free-count', '--strict', '--coverage']);
    expect(fixed.code).toBe(0);
    expect(fixed.out).toMatch(/pte_same, get_page/);
  });
  test('free device-private pages sit at 1 up to 6.0 and at 0 from 6.1; a mapped one at 2 up to 5.17, then 1', () => {
    const s = structuredClone(findScenario('device-private-fault-race')!);
    s.device!.pages = 2; // pfn 3 mapped, pfn 4 free
    const first = (kernel: string) => initialView(s, kernel);
    expect([first('5.17').pageRef(3), first('5.17').pageRef(4)]).toEqual([2, 1]);
    expect([first('5.18').pageRef(3), first('5.18').pageRef(4)]).toEqual([1, 1]);
    expect([first('6.1').pageRef(3), first('6.1').pageRef(4)]).toEqual([1, 0]);
  });
  test('5.18: the fault after memunmap_pages uses the freed pgmap (the ghost is reached), 6.1 never', () => {
    const reaches = (kernel: string) => {
      const m = model('device-memunmap-in-use', { kernel });
      const seen = new Set<string>();
      const queue: Int32Array[] = [];
      m.initialStates((x) => queue.push(x.slice()));
      const o = m.layout.bases.pgmap![0]! + m.layout.fieldOffsets.pgmap!.state!;
      while (queue.length) {
        const x = queue.shift()!;
        if (seen.has(String(x))) continue;
        seen.add(String(x));
        if (x[o]! & PGMAP_GHOST_UAF) return true;
        m.successors(x, (n) => queue.push(n.slice()));
      }
      return false;
    };
    expect(reaches('5.18')).toBe(true);
    expect(reaches('6.1')).toBe(false);
  });
  test('exit zaps a device-private entry: its reference and rss go, and memunmap_pages can complete (6.1); 5.18 frees the pgmap first', () => {
    const s = scenario2();
    s.threads[0]!.menu = [{ op: 'exit' }];
    s.witnesses = [];
    validateScenario(s);
    expect(check(s, '6.1', ['pgmap-pinned', 'refcount-sane', 'rss-consistent', 'zone-device-free-count']).result.verdict).toBe('holds');
    expect(check(s, '5.18', ['pgmap-pinned']).result.verdict).toBe('violated');
    expect(check(s, '5.17', ['pgmap-pinned', 'refcount-sane']).result.verdict).toBe('holds');
  });
  test('5.18-6.0: memunmap_pages returns with the page mapped and the driver frees the pgmap; the next fault uses it', () => {
    const { result } = check('device-memunmap-in-use', '5.18', ['pgmap-pinned']);
    expect(result.violations[0]!.message).toMatch(/the pgmap's reference is 0, below its 1 page\(s\) in use/);
    const s = scenario2();
    s.threads[0]!.mode = 'program';
    const later = check(s, '5.18', ['zone-device-free-count'], {});
    expect(later.result.verdict).toBe('holds'); // not this invariant's: the page is not free, its pgmap is
  });
  test('refused: a memunmap by a process thread, fork, a second process, the RFC on a release that rewrote the put paths', async () => {
    const f = scenario2();
    f.threads[1]!.mm = 'P';
    expect(() => validateScenario(f)).toThrow(/memunmap_pages is the driver's: a kernel thread/);
    const g = scenario2();
    g.threads[0]!.menu = [
      { op: 'read', addr: 0 },
      { op: 'migrate-to-device', addr: 0 },
    ];
    expect(() => validateScenario(g)).toThrow(/migrate-to-device is modelled in a program thread, alone in its process/);
    const h = scenario2();
    h.threads[0]!.menu.push({ op: 'madv-dontneed', addr: 0 });
    expect(() => validateScenario(h)).toThrow(/madv-dontneed is not modelled with device-private memory/);
    const r = await mmcheckHere(['check', '-s', 'fsdax-unpin-break-layouts', '-k', '6.2', '--patch', 'zone-device-rfc']);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/--patch zone-device-rfc patches the put paths of 5\.9-5\.17; kernel 6\.2 rewrote them/);
  });
  test('a pin taken again after break_layouts unmapped the file faults through dax_iomap_pte_fault, which waits for the invalidate lock', () => {
    const s = scenario();
    s.threads[0]!.menu = [
      { op: 'gup', ref: 'dma', addr: 0, pin: true, write: true },
      { op: 'gup', ref: 'dma2', addr: 0, pin: true, write: true },
      { op: 'put', ref: 'dma' },
      { op: 'put', ref: 'dma2' },
    ];
    s.witnesses = [{ name: 'the second pin is taken through a new DAX mapping', when: [{ ref: 'dma2', held: true }, { sleeps: 'T' }] }];
    validateScenario(s);
    for (const kernel of ['5.17', '5.19', '6.14']) {
      const { result } = check(s, kernel, ['fsdax-idle-wakes', 'refcount-sane']);
      expect(`${kernel} ${result.verdict}`).toBe(`${kernel} holds`);
    }
    expect(check(s, '5.18', ['fsdax-idle-wakes']).result.verdict).toBe('violated');
  });
  test('loads and stores through the DAX mapping reach the device page; a store after break_layouts faults it in again', () => {
    const s = scenario();
    s.threads.push({ name: 'P2', mm: 'P', menu: [{ op: 'write', addr: 0, value: 3 }] });
    s.witnesses = [{ name: 'P2 stored 3 into the device page', when: [{ at: 'P:0', data: 3 }] }];
    validateScenario(s);
    for (const kernel of ['5.17', '5.19', '6.14']) {
      const { result } = check(s, kernel, ['fsdax-idle-wakes', 'refcount-sane', 'idle-convention']);
      expect(`${kernel} ${result.verdict}`).toBe(`${kernel} holds`);
      expect(result.witnesses!.find((w) => w.name === 'P2 stored 3 into the device page')!.found).toBe(true);
    }
    // 6.15: the new DAX mapping holds a reference, and the waiter (waiting for 0) is never woken while it stays: a result of
    // the model from 6.15.4's code (insert_page, wait_page_idle), not seen on a kernel.
    expect(check(s, '6.15', ['fsdax-idle-wakes', 'refcount-sane']).result.verdict).toBe('deadlock');
  });
  test('up to 6.14 a file no VMA maps has no busy page (mapping_mapped), however pinned', () => {
    const s = scenario();
    s.threads[0]!.menu = [{ op: 'gup', ref: 'dma', addr: 0, pin: true, write: true }, { op: 'exit' }];
    s.threads[0]!.mode = 'program';
    s.witnesses = [];
    validateScenario(s);
    const r = check(s, '6.14', ['refcount-sane']).result;
    expect(r.verdict).not.toBe('violated');
  });
});

/** The view of a scenario's initial state on a kernel. */
function initialView(name: string | ScenarioSpec, kernel: string) {
  const m = model(name, { kernel });
  let s = new Int32Array(0);
  m.initialStates((x) => {
    s = x.slice();
  });
  return m.view(s);
}

describe('a round trip to device-private memory and back', () => {
  test('fork shares the device page R/O; the fault migrates it back for both processes; the pin then copies it for P', () => {
    const s = structuredClone(findScenario('device-private-round-trip')!);
    s.witnesses = [
      {
        name: 'both map one RAM page R/O after the migration back',
        when: [
          { at: 'P:0', pte: 'readonly' },
          { at: 'C:0', pte: 'readonly' },
        ],
      },
      {
        name: 'C maps a device-private entry while P maps RAM',
        when: [
          { at: 'P:0', pte: 'present' },
          { at: 'C:0', pte: 'device-private' },
        ],
      },
    ];
    validateScenario(s);
    for (const kernel of ['5.7', '5.19', '6.2']) {
      const { result } = check(s, kernel, ['cow-isolation', 'pin-coherent', 'refcount-sane', 'rss-consistent', 'zone-device-free-count']);
      expect(`${kernel} ${result.verdict}`).toBe(`${kernel} holds`);
      const found = Object.fromEntries(result.witnesses!.map((w) => [w.name, w.found]));
      expect(found['both map one RAM page R/O after the migration back']).toBe(true);
      // remove_migration_ptes maps the new page in every process: no process keeps the device entry alone.
      expect(found['C maps a device-private entry while P maps RAM']).toBe(false);
    }
  });
});

function scenario2(): ScenarioSpec {
  return structuredClone(findScenario('device-memunmap-in-use')!);
}

describe('device-dax (MEMORY_DEVICE_GENERIC): a long-term pin against the unbind', () => {
  const rows: VerdictRow[] = [
    ['devdax-unbind-pinned', 'pgmap-pinned', '5.7', 'holds', 32],
    ['devdax-unbind-pinned', 'pgmap-pinned', '5.17', 'holds', 32],
    ['devdax-unbind-pinned', 'pgmap-pinned', '5.18', 'violated', 21],
    ['devdax-unbind-pinned', 'pgmap-pinned', '6.15', 'violated', 24],
  ];
  testVerdictRows(rows, ['refcount-sane', 'zone-device-free-count', 'zone-device-never-lru']);

  test('up to 5.17 the unbind sleeps until the unpin; from 5.18 it returns under the pin, and the unpin touches the removed struct page', async () => {
    const old = await mmcheckHere(['check', '-s', 'devdax-unbind-pinned', '-k', '5.17', '-i', 'pgmap-pinned', '--coverage']);
    expect(old.out).toMatch(/found {2}witness: the unbind completes/);
    const r = await mmcheckHere(['check', '-s', 'devdax-unbind-pinned', '-k', '5.18', '-i', 'pgmap-pinned']);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/kill_dev_dax: kill_dax, unmap_mapping_range of the device: no mapping of it is left/);
    expect(r.out).toMatch(/percpu_ref_put_many\(1\): the pgmap's reference is 0/);
    expect(r.out).toMatch(/VIOLATED pgmap-pinned: the pgmap's reference is 0, below its 1 page\(s\) in use \(pfn 2\)/);
    // Past the violation: the unbind completes and the unpin is a use after free of the memmap.
    const m = model('devdax-unbind-pinned', { kernel: '5.18' });
    const o = m.layout.bases.pgmap![0]! + m.layout.fieldOffsets.pgmap!.state!;
    expect(reachable(m, (x) => (x[o]! & PGMAP_GHOST_UAF) !== 0)).toBe(true);
    expect(reachable(model('devdax-unbind-pinned', { kernel: '5.17' }), (x) => (x[o]! & PGMAP_GHOST_UAF) !== 0)).toBe(false);
  });
  test('6.14 maps a devmap PTE with no reference; 6.15 (aed877c2b425) a refcounted PTE; an idle page sits at 1 throughout', () => {
    const s = structuredClone(findScenario('devdax-unbind-pinned')!);
    s.pages = [{ addr: 0, data: 5 }];
    expect([initialView(s, '6.14').pageRef(2), initialView(s, '6.14').pageMapcount(2)]).toEqual([1, 0]);
    expect([initialView(s, '6.15').pageRef(2), initialView(s, '6.15').pageMapcount(2)]).toEqual([2, 1]);
    expect(initialView(findScenario('devdax-unbind-pinned')!, '5.7').pageRef(2)).toBe(1);
  });
  test('refused with one line: a devdax file without a GENERIC device, GUP-fast, break-layouts, a private mapping', () => {
    const cases: [(s: ScenarioSpec) => void, string][] = [
      [(s) => (s.device!.type = 'fsdax'), "needs the scenario's GENERIC device"],
      [(s) => ((s.threads[0]!.menu[1] as { fast?: boolean }).fast = true), 'GUP-fast of a devdax page is not modelled'],
      [(s) => s.threads[1]!.menu.push({ op: 'break-layouts', file: 'dax0.0' }), 'break-layouts is not modelled with device-dax memory'],
      [(s) => (s.vmas[0]!.shared = false), 'an devdax mapping is modelled MAP_SHARED'],
    ];
    for (const [mutate, msg] of cases) {
      const s = structuredClone(findScenario('devdax-unbind-pinned')!);
      mutate(s);
      expect(() => validateScenario(s)).toThrow(msg);
    }
  });
});

describe('coherent device memory (MEMORY_DEVICE_COHERENT, 6.0)', () => {
  const rows: VerdictRow[] = [
    ['device-coherent-cow', 'zone-device-never-lru', '6.0', 'holds', 110],
    ['device-coherent-cow', 'zone-device-never-lru', '6.1', 'holds', 110],
    ['device-coherent-memunmap', 'pgmap-pinned', '6.0', 'violated', 3],
    ['device-coherent-memunmap', 'pgmap-pinned', '6.1', 'holds', 14],
  ];
  testVerdictRows(rows, ['cow-isolation', 'pin-coherent', 'refcount-sane', 'rss-consistent', 'zone-device-free-count']);

  test('a coherent page is an anon page behind a present PTE: at 1 when mapped, free at 1 on 6.0 and at 0 from 6.1', () => {
    const s = structuredClone(findScenario('device-coherent-cow')!);
    s.device!.pages = 2; // pfn 4 mapped, pfn 5 free
    for (const [kernel, free] of [
      ['6.0', 1],
      ['6.1', 0],
    ] as const) {
      const v = initialView(s, kernel);
      expect([v.pageRef(4), v.pageMapcount(4), v.pageRef(5)]).toEqual([1, 1, free]);
    }
    expect(() => model('device-coherent-cow', { kernel: '5.19' })).toThrow('5.19 has no MEMORY_DEVICE_COHERENT');
  });
  test('a long-term pin migrates the device page to RAM within the GUP (b05a79d4377f), and the device page goes back to its driver', async () => {
    for (const kernel of ['6.0', '6.1']) {
      const m = model('device-coherent-cow', { kernel });
      const frames = m.scenario.frames;
      // A GUP step that takes the pin while it moves P's mapping from the device page to a RAM page.
      const migrated = reachableStep(m, (x, n) => {
        const [a, b] = [m.view(x), m.view(n)];
        return a.gup(0) === 0 && b.gup(0) !== 0 && pteTarget(a.pte(0, 0)) > frames && pteTarget(b.pte(0, 0)) <= frames;
      });
      expect(`${kernel} ${migrated}`).toBe(`${kernel} true`);
    }
    const pageout = await mmcheckHere(['check', '-s', 'device-coherent-cow', '-k', '6.1', '-i', 'zone-device-never-lru', '--mutant', 'pageout-zone-device']);
    expect(pageout.code).toBe(1);
    expect(pageout.out).toMatch(/MUTANT: madvise_cold_or_pageout_pte_range isolates device pfn 4 as an LRU page/);
  });
});

/** Whether a state satisfying `p` is reachable (plain BFS over the model, no reductions). */
function reachable(m: ReturnType<typeof model>, p: (x: Int32Array) => boolean): boolean {
  return reachableStep(m, (_x, n) => p(n));
}

/** Whether a transition x -> n satisfying `p` is reachable. */
function reachableStep(m: ReturnType<typeof model>, p: (x: Int32Array, n: Int32Array) => boolean): boolean {
  const seen = new Set<string>();
  const queue: Int32Array[] = [];
  m.initialStates((x) => queue.push(x.slice()));
  while (queue.length) {
    const x = queue.shift()!;
    if (seen.has(String(x))) continue;
    seen.add(String(x));
    let hit = false;
    m.successors(x, (n) => {
      if (p(x, n)) hit = true;
      queue.push(n.slice());
    });
    if (hit) return true;
  }
  return false;
}
