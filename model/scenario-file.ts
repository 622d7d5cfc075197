/**
 * Scenario files: a scenario (model/scenario.ts) as JSON. The built-in
 * scenarios ship as such files (scenarios/*.json); users pass their own with
 * --scenario ./path.json. A file is checked first against the schema (types,
 * required and unknown fields, ranges) and then for its internal references
 * (validateScenario); every error names the file, the path and the reason.
 */
import { LIMITS } from './limits.js';
import { arr, bool, checkJson, InputError, int, obj, opt, readText, req, type Schema, str } from './json-schema.js';
import { type ScenarioSpec, ScenarioError, validateScenario } from './scenario.js';

const name = (doc: string) => str(doc, { minLength: 1 });
const addr = int('page address (page number in the address space)', 0, LIMITS.addrs.max - 1);
const value = int('a small data value written to the page', 0, 255);
const max = opt(int('how many times this entry may run (default 1)', 1, LIMITS.runs.max));

const HUGE_FAILS = bool('in a THP VMA: the THP allocation fails (no free huge page: fragmentation), so the fault falls back to a PTE table');
const MENU_ENTRY: Schema = {
  kind: 'tagged',
  tag: 'op',
  doc: 'one operation a thread may run',
  variants: {
    read: obj(
      {
        op: req(str()),
        addr: req(addr),
        hugeFails: opt(HUGE_FAILS),
        faultAround: opt(bool('in a file mapping: the read fault runs do_fault_around first (->map_pages maps the cached, unlocked pages around it)')),
        max,
      },
      'read the page at addr (a read fault if needed)',
    ),
    write: obj({ op: req(str()), addr: req(addr), value: req(value), hugeFails: opt(HUGE_FAILS), max }, 'write value to the page at addr (a write fault if needed)'),
    gup: obj(
      {
        op: req(str()),
        ref: req(name('the GUP reference this takes; put / device-write name it')),
        addr: req(addr),
        pin: req(bool('FOLL_PIN (pin_user_pages) rather than FOLL_GET (get_user_pages)')),
        write: opt(bool('FOLL_WRITE')),
        longterm: opt(bool('FOLL_LONGTERM')),
        fast: opt(bool('the GUP-fast path (lockless page-table walk)')),
        force: opt(bool('FOLL_FORCE (ptrace, /proc/pid/mem): a write through a R/O private mapping')),
        max,
      },
      'get_user_pages / pin_user_pages on addr',
    ),
    put: obj({ op: req(str()), ref: req(name('a reference a gup entry takes')), max }, 'put_page / unpin_user_page'),
    'device-write': obj({ op: req(str()), ref: req(name('a reference a gup entry takes')), value: req(value), max }, 'a device writes through the reference (DMA)'),
    fork: obj({ op: req(str()), child: req(name('the process fork creates')), max }, 'fork() (dup_mmap)'),
    mprotect: obj({ op: req(str()), vma: req(name('VMA name')), prot: req(str('new protection', { enum: ['r', 'rw'] })), max }, 'mprotect() of a whole VMA'),
    'mprotect-subpage': obj({ op: req(str()), addr: req(addr), max }, "mprotect(PROT_READ) and back of one page of a THP VMA (cow.c's THP_RUN_PTE): the huge pmd is split"),
    'madv-dontfork': obj(
      { op: req(str()), addr: req(addr), pages: opt(int('pages from addr (default 1)', 1, LIMITS.addrs.max)), max },
      'madvise(MADV_DONTFORK) of a range: fork skips it (VM_DONTCOPY); part of a THP splits its pmd',
    ),
    'madv-dofork': obj(
      { op: req(str()), addr: req(addr), pages: opt(int('pages from addr (default 1)', 1, LIMITS.addrs.max)), max },
      'madvise(MADV_DOFORK) of a range: VM_DONTCOPY cleared',
    ),
    'madv-dontneed': obj(
      { op: req(str()), addr: req(addr), pages: opt(int('pages from addr (default 1)', 1, LIMITS.addrs.max)), max },
      'madvise(MADV_DONTNEED) of a range (default: one page)',
    ),
    munmap: obj({ op: req(str()), vma: req(name('VMA name')), max }, 'munmap() of a whole VMA'),
    reclaim: obj({ op: req(str()), mm: req(name('the process whose page is reclaimed')), addr: req(addr), max }, 'kswapd: shrink_page_list / try_to_unmap of one page'),
    pageout: obj({ op: req(str()), addr: req(addr), max }, 'madvise(MADV_PAGEOUT) of one page'),
    truncate: obj({ op: req(str()), file: req(name('file name')), size: req(int('new i_size in pages', 0, LIMITS.filePages.max)), max }, 'truncate the file'),
    punch: obj(
      { op: req(str()), file: req(name('file name')), start: req(int('first page', 0, LIMITS.filePages.max - 1)), len: req(int('pages', 1, LIMITS.filePages.max)), max },
      'fallocate(FALLOC_FL_PUNCH_HOLE)',
    ),
    migrate: obj(
      {
        op: req(str()),
        file: opt(name('migrate a page-cache page of this file ...')),
        index: opt(int('... at this index', 0, LIMITS.filePages.max - 1)),
        mm: opt(name('or the page a process maps ...')),
        addr: opt(addr),
        max,
      },
      'page migration (migrate_pages) of one page',
      (o) =>
        (o.file !== undefined) === (o.index !== undefined) && (o.mm !== undefined) === (o.addr !== undefined) && (o.file !== undefined) !== (o.mm !== undefined)
          ? null
          : 'give either "file" and "index" or "mm" and "addr"',
    ),
    writeback: obj(
      {
        op: req(str()),
        file: req(name('file name')),
        indices: req(arr(int('a page-cache index', 0, LIMITS.filePages.max - 1), 'the pages written back together, in this order', 1, LIMITS.filePages.max)),
        max,
      },
      'writeback of dirty page-cache pages, ext4 style: lock each page, set PG_writeback, unlock it; then submit the bio, whose completion ends the writeback of all',
    ),
    collapse: obj({ op: req(str()), mm: req(name('the process whose THP VMA is collapsed')), max }, 'khugepaged: collapse_huge_page of the THP VMA (a PTE table into a huge pmd)'),
    memunmap: obj({ op: req(str()), max }, "the device driver's memunmap_pages (then it frees the pgmap); a kernel thread's"),
    'migrate-to-device': obj({ op: req(str()), addr: req(addr), max }, "migrate_vma of the process's anon page to its device-private memory (the driver's ioctl)"),
    'break-layouts': obj(
      { op: req(str()), file: req(name('an fsdax file')), max },
      "ext4_break_layouts (dax_break_layout_inode from 6.15): unmap the file's DAX mappings, then wait until no page is busy (a GUP reference)",
    ),
    'oom-reaper': obj({ op: req(str()), max }, 'the OOM reaper kernel thread of 4.6: reaps an OOM victim (needs "reclaim": "oom")'),
    exit: obj({ op: req(str()), max }, 'exit_mmap and check_mm'),
  },
};

const AT = str('a process and an address, e.g. "P:0"', { minLength: 3 });
const CONDITION: Schema = {
  kind: 'oneOf',
  doc: "one condition; all of a witness's conditions must hold in one state",
  options: [
    obj({ at: req(AT), data: req(value) }, 'the page mapped at "at" holds this value (the zeropage holds 0)'),
    obj(
      {
        at: req(AT),
        pte: req(
          str('the kind of entry (huge: mapped by a huge pmd; thp-pte: a PTE maps a page of a THP)', {
            enum: ['none', 'present', 'writable', 'readonly', 'zeropage', 'swap', 'migration', 'huge', 'thp-pte', 'device-private', 'device'],
          }),
        ),
      },
      'the entry at "at" is of this kind',
    ),
    obj({ ref: req(name('a reference a gup entry takes')), held: req(bool('held (true) or not (false)')) }, 'a GUP reference is held, or not'),
    obj({ mm: req(name('process name')), state: req(str('its state', { enum: ['unused', 'live', 'exited', 'freed'] })) }, 'a process is in this state'),
    obj(
      {
        cache: req(str('"file:index"', { minLength: 3 })),
        data: req(value),
        thp: opt(bool('the page is (true) or is not (false) a page of a THP')),
      },
      "the file's page-cache page at that index holds this value",
    ),
    obj({ retracted: req(name('process name')) }, "retract_page_tables took the process's PTE table (at some point before)"),
    obj({ sleeps: req(name('thread name')) }, 'the thread sleeps (registered on a wait key, asleep)'),
  ],
};
export const WITNESS: Schema = {
  kind: 'oneOf',
  doc: 'what must be reachable for a HOLDS to mean something',
  options: [
    obj({ name: req(str('what it shows', { minLength: 1 })), when: req(arr(CONDITION, 'conditions that hold together in one state', 1)) }, 'a state that must be reachable'),
    obj(
      {
        name: req(str('what it shows', { minLength: 1 })),
        completes: req(
          obj(
            {
              thread: req(name('thread name')),
              entry: opt(int('index of the menu entry', 0, 31)),
              op: opt(str('the op of the entry (when the thread has one of it)', { minLength: 1 })),
            },
            'a menu entry',
            (o) => (o.entry === undefined && o.op === undefined ? 'give "entry" or "op"' : null),
          ),
        ),
      },
      'an operation that must complete on some path',
    ),
  ],
};

export const SCENARIO_SCHEMA: Schema = obj(
  {
    name: req(str('the scenario name', { minLength: 1 })),
    title: req(str('one line')),
    description: req(str('what the scenario is for and the verdicts expected, with reasons')),
    reference: opt(str('where the kernel rules come from')),
    processes: req(arr(name('process name'), 'processes; the first exists at the start, the others are created by fork', 1, 4)),
    files: opt(
      arr(
        obj({
          name: req(name('file name')),
          kind: req(str('shmem: memfd / tmpfs; disk: a file on a disk filesystem', { enum: ['shmem', 'disk'] })),
          size: req(int('i_size in pages', 0, LIMITS.filePages.max)),
          maxSize: opt(int('the largest size the file may reach', 0, LIMITS.filePages.max)),
          cached: opt(arr(obj({ index: req(int('page index', 0, LIMITS.filePages.max - 1)), data: req(value) }), 'pages in the page cache at the start')),
          disk: opt(arr(value, 'what each page holds on disk')),
          dax: opt(bool('a DAX file (ext4 -o dax, 4.4-4.6): data in persistent memory, page-cache pages only for holes (cached)')),
          huge: opt(bool('shmem mounted huge=always (4.8 on): a fault allocates a THP for a range with no page cached; mapped by a THP VMA ("thp": true)')),
          fsdax: opt(bool("a file on a DAX filesystem over the scenario's FS_DAX device (5.7 on): page i is device page i, mapped by devmap PTEs")),
          devdax: opt(
            bool(
              "a device-dax character device (/dev/daxX.Y) over the scenario's GENERIC device (5.7 on): page i is device page i, mapped MAP_SHARED by devmap PTEs (6.15: refcounted PTEs)",
            ),
          ),
        }),
        'files',
        0,
        3,
      ),
    ),
    device: opt(
      obj(
        {
          type: req(
            str(
              'the pgmap type: fsdax (MEMORY_DEVICE_FS_DAX, persistent memory under a DAX filesystem), private (MEMORY_DEVICE_PRIVATE), coherent (MEMORY_DEVICE_COHERENT, 6.0 on: mapped by ordinary PTEs) or generic (MEMORY_DEVICE_GENERIC: a device-dax)',
              {
                enum: ['fsdax', 'private', 'coherent', 'generic'],
              },
            ),
          ),
          pages: req(int('its pages (device frames, after the RAM frames)', 1, LIMITS.devPages.max)),
        },
        'ZONE_DEVICE memory: one pgmap and its pages',
      ),
    ),
    vmas: req(
      arr(
        obj({
          name: req(name('VMA name')),
          start: req(int('first page address', 0, LIMITS.addrs.max - 1)),
          pages: req(int('length in pages', 1, LIMITS.addrs.max)),
          prot: req(str('protection', { enum: ['r', 'rw'] })),
          file: opt(name('a file mapping of this file (default: private anonymous memory)')),
          pgoff: opt(int('file page mapped at start', 0, LIMITS.filePages.max - 1)),
          shared: opt(bool('MAP_SHARED (default MAP_PRIVATE)')),
          thp: opt(bool('transparent huge pages (MADV_HUGEPAGE): a fault on a none pmd maps a THP of the whole range (needs pageTables)')),
        }),
        'VMAs, the same in every process',
      ),
    ),
    pages: req(
      arr(
        obj({
          addr: req(addr),
          data: req(value),
          state: opt(
            str('present (default): written by the process; swapped: in a swap slot; device: migrated to the device-private memory', {
              enum: ['present', 'swapped', 'device'],
            }),
          ),
        }),
        "the first process's pages at the start",
      ),
    ),
    frames: req(int('page frames (pfn 0 is the shared zeropage)', 1, LIMITS.frames.max)),
    swapSlots: req(int('swap slots', 0, LIMITS.swapSlots.max)),
    pageTables: opt(
      obj(
        { tables: req(int('PTE tables in the pool the processes allocate from', 1, LIMITS.pgtables.max)) },
        'model the PMD level: each process has one pmd entry, none until a fault allocates its PTE table (absent: every process has its table from the start, as before)',
      ),
    ),
    reclaim: opt(
      str(
        'memcg-v1: the processes are in a legacy (cgroup v1) memory cgroup at its limit; an allocation charged to it (a page table) reclaims and waits on PG_writeback. oom: memory is exhausted beyond the PTE-table pool; a page-table allocation that finds none invokes the OOM killer (4.4-4.5). direct: free memory is short; a page-table allocation enters direct reclaim, which trylocks a mapped page-cache page and walks its rmap under i_mmap_rwsem for read',
        { enum: ['memcg-v1', 'oom', 'direct'] },
      ),
    ),
    witnesses: opt(arr(WITNESS, 'states or completed operations that must be reachable for a HOLDS to mean something')),
    threads: req(
      arr(
        obj({
          name: req(name('thread name')),
          mm: req({ kind: 'oneOf', options: [name('the process it runs in'), { kind: 'null' }] }),
          mode: opt(str('menu (default): any enabled entry next; program: the entries in order', { enum: ['menu', 'program'] })),
          menu: req(arr(MENU_ENTRY, 'operations', 1, 32)),
        }),
        'threads',
        1,
        8,
      ),
    ),
  },
  'an mmcheck scenario',
);

export class ScenarioFileError extends Error {}

/** Where a scenario is named, a path (it has a "/" or ends in .json) means a scenario file, anything else a built-in. */
export function isScenarioFile(nameOrPath: string): boolean {
  return /[/\\]|\.json$/.test(nameOrPath);
}

/** A scenario from JSON text; `source` names it in errors (a file name). */
export function parseScenario(text: string, source: string): ScenarioSpec {
  let json: unknown;
  try {
    json = checkJson(text, source, SCENARIO_SCHEMA);
  } catch (e) {
    if (e instanceof InputError) throw new ScenarioFileError(e.message);
    throw e;
  }
  const { $schema: _, ...spec } = json as ScenarioSpec & { $schema?: string };
  try {
    validateScenario(spec);
  } catch (e) {
    if (e instanceof ScenarioError) throw new ScenarioFileError(`${source}: ${e.message.replace(/^scenario [^:]+: /, '')}`);
    throw e;
  }
  return spec;
}

export function loadScenarioFile(file: string): ScenarioSpec {
  let text: string;
  try {
    text = readText(file, 'scenario file');
  } catch (e) {
    if (e instanceof InputError) throw new ScenarioFileError(e.message);
    throw e;
  }
  return parseScenario(text, file);
}
