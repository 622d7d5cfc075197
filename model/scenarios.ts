/**
 * The built-in scenarios: small worlds for the COW/GUP cases of
 * MM-SEMANTICS 1.4. Each description says what the scenario is for and which
 * verdicts the kernel rules predict, and why.
 */
import type { ScenarioSpec } from './scenario.js';

export const SCENARIOS: readonly ScenarioSpec[] = [
  {
    name: 'cow-fork-gup',
    title: 'fork, then GUP and writes on both sides of the COW',
    reference: 'MM-SEMANTICS 1.4 (a) and (e); CVE-2020-29374',
    description:
      'P has written its secret (1) into an anon page. P may fork C, write, take an io_uring-style R/W long-term ' +
      'pin, release it and exit; C may vmsplice the page (R/O FOLL_GET), pin it R/O (O_DIRECT-style FOLL_PIN), ' +
      'MADV_DONTNEED it, read, write, release and exit; kswapd may swap the page out. cow-isolation: on 5.7 the ' +
      'CVE-2020-29374 interleaving (fork; C vmsplice; C MADV_DONTNEED; P write reuses by mapcount) breaks it; on ' +
      '5.9-5.17 the same leak goes through swap-in (do_swap_page still uses reuse_swap_page); from 5.18 it holds. ' +
      'pin-coherent: up to 5.18 a R/O pin of the still-shared page goes stale when C writes; from 5.19 the pin ' +
      'unshares first (FAULT_FLAG_UNSHARE) and it holds. anon-exclusive holds on 5.19+.',
    processes: ['P', 'C'],
    vmas: [{ name: 'heap', start: 0, pages: 1, prot: 'rw' }],
    pages: [{ addr: 0, data: 1 }],
    frames: 3,
    swapSlots: 1,
    threads: [
      {
        name: 'P',
        mm: 'P',
        menu: [
          { op: 'fork', child: 'C' },
          { op: 'write', addr: 0, value: 2 },
          { op: 'gup', ref: 'fixed-buffer', addr: 0, pin: true, write: true, longterm: true },
          { op: 'put', ref: 'fixed-buffer' },
          { op: 'exit' },
        ],
      },
      {
        name: 'C',
        mm: 'C',
        menu: [
          { op: 'gup', ref: 'pipe', addr: 0, pin: false },
          { op: 'gup', ref: 'dio', addr: 0, pin: true },
          { op: 'madv-dontneed', addr: 0 },
          { op: 'read', addr: 0 },
          { op: 'write', addr: 0, value: 3 },
          { op: 'put', ref: 'pipe' },
          { op: 'put', ref: 'dio' },
          { op: 'exit' },
        ],
      },
      {
        name: 'kswapd',
        mm: null,
        menu: [{ op: 'reclaim', mm: 'P', addr: 0 }],
      },
    ],
  },
  {
    name: 'iouring-ro-remap',
    title: 'io_uring fixed buffer, then R/O remap and write',
    reference: 'MM-SEMANTICS 1.4 (b); cow.c "R/O-mapping a page registered as iouring fixed buffer"',
    description:
      'P pins its anon page R/W long-term (io_uring fixed buffer), may mprotect it PROT_READ and back, write it, ' +
      'let the device write through the pin and unpin. On 5.9-5.18 the write fault after the R/O remap sees ' +
      'page_count > 1 and copies, so the pin and the page table diverge (pin-coherent violated); from 5.19 the ' +
      'page is PageAnonExclusive and is reused (6.0+: mprotect even restores the write bit). 5.7 and 5.8 reuse ' +
      'by mapcount, so this case holds there (their bug is the missed COW instead).',
    processes: ['P'],
    vmas: [{ name: 'buf', start: 0, pages: 1, prot: 'rw' }],
    pages: [{ addr: 0, data: 1 }],
    frames: 2,
    swapSlots: 0,
    threads: [
      {
        name: 'P',
        mm: 'P',
        menu: [
          { op: 'gup', ref: 'fixed-buffer', addr: 0, pin: true, write: true, longterm: true },
          { op: 'mprotect', vma: 'buf', prot: 'r' },
          { op: 'mprotect', vma: 'buf', prot: 'rw' },
          { op: 'write', addr: 0, value: 2 },
          { op: 'device-write', ref: 'fixed-buffer', value: 3 },
          { op: 'put', ref: 'fixed-buffer' },
        ],
      },
    ],
  },
  {
    name: 'fork-pinned',
    title: 'fork with a pinned page (io_uring fixed buffer)',
    reference: 'MM-SEMANTICS 1.4 (e); cow.c "fork() with an iouring fixed buffer"',
    description:
      'P pins its page R/W long-term, forks, and writes; C reads, writes and exits. Up to 5.8 fork shares the ' +
      'pinned page R/O and the parent\'s write fault copies it away from the pin (pin-coherent violated); from 5.9 ' +
      'fork gives the child its own copy of a maybe-pinned page (70e806e4e645) and the parent keeps its PTE.',
    processes: ['P', 'C'],
    vmas: [{ name: 'buf', start: 0, pages: 1, prot: 'rw' }],
    pages: [{ addr: 0, data: 1 }],
    frames: 3,
    swapSlots: 0,
    threads: [
      {
        name: 'P',
        mm: 'P',
        menu: [
          { op: 'gup', ref: 'fixed-buffer', addr: 0, pin: true, write: true, longterm: true },
          { op: 'fork', child: 'C' },
          { op: 'write', addr: 0, value: 2 },
          { op: 'put', ref: 'fixed-buffer' },
        ],
      },
      {
        name: 'C',
        mm: 'C',
        menu: [
          { op: 'read', addr: 0 },
          { op: 'write', addr: 0, value: 3 },
          { op: 'exit' },
        ],
      },
    ],
  },
  {
    name: 'cow-swap-gup',
    title: 'CVE-2020-29374 through swap: fork of a swapped-out page, vmsplice in the child',
    reference: 'MM-SEMANTICS 1.4 (a), swap variant; c145e0b47c77',
    description:
      "P's page is swapped out when P forks C. C vmsplices it (R/O FOLL_GET: swap-in into the swap cache, mapped " +
      'R/O in C), MADV_DONTNEEDs it and may release the reference; both may exit. Up to 5.17 P\'s write fault goes ' +
      'through do_swap_page, where reuse_swap_page counts mapcount 0 + swapcount 1 and reuses the page C still ' +
      'holds (cow-isolation violated, also on 5.9-5.17 where do_wp_page was already fixed); 5.18 decides on ' +
      'page_count and copies. A kswapd thread may swap the page out again.',
    processes: ['P', 'C'],
    vmas: [{ name: 'heap', start: 0, pages: 1, prot: 'rw' }],
    pages: [{ addr: 0, data: 1, state: 'swapped' }],
    frames: 3,
    swapSlots: 1,
    threads: [
      {
        name: 'P',
        mm: 'P',
        menu: [
          { op: 'fork', child: 'C' },
          { op: 'write', addr: 0, value: 2 },
          { op: 'exit' },
        ],
      },
      {
        name: 'C',
        mm: 'C',
        menu: [
          { op: 'gup', ref: 'pipe', addr: 0, pin: false },
          { op: 'madv-dontneed', addr: 0 },
          { op: 'put', ref: 'pipe' },
          { op: 'exit' },
        ],
      },
      {
        name: 'kswapd',
        mm: null,
        menu: [{ op: 'reclaim', mm: 'P', addr: 0 }],
      },
    ],
  },
  {
    name: 'truncate-private-swap',
    title: 'ftruncate of a memfd with a swapped-out private COW page (the 5abfd71d936a reproducer)',
    reference: 'MM-SEMANTICS 4.5 (a); seed 003; 5abfd71d936a',
    description:
      'A 2-page memfd mapped MAP_PRIVATE. The program writes page 1 (do_cow_fault: a private anon copy), ' +
      'MADV_PAGEOUTs it (a swap entry), shrinks the file to 1 page, grows it back to 2 and reads page 1. ' +
      'Up to 5.17 zap_pte_range with zap_details leaves the swap entry in place ("we leave swap entries"), so the ' +
      'COW page survives truncation and the read sees the old data (truncate-complete violated); from 5.18 it is zapped.',
    processes: ['P'],
    files: [{ name: 'memfd', kind: 'shmem', size: 2 }],
    vmas: [{ name: 'buf', start: 0, pages: 2, prot: 'rw', file: 'memfd' }],
    pages: [],
    frames: 3,
    swapSlots: 1,
    threads: [
      {
        name: 'P',
        mm: 'P',
        mode: 'program',
        menu: [
          { op: 'write', addr: 1, value: 1 },
          { op: 'pageout', addr: 1 },
          { op: 'truncate', file: 'memfd', size: 1 },
          { op: 'truncate', file: 'memfd', size: 2 },
          { op: 'read', addr: 1 },
        ],
      },
    ],
  },
  {
    name: 'zap-migrate',
    title: 'hole punch racing with migration of a shared shmem page (seed 003, zap-migrate.c)',
    reference: 'MM-SEMANTICS 4.5 (b); seed 003; 5abfd71d936a',
    description:
      'Two memfd pages mapped MAP_SHARED and written. kcompactd migrates them while the evictor punches a hole ' +
      'over each in turn (as zap-migrate.c does); the main thread may read, write and exit. Up to 5.17 the unlocked pre-unmap skips the migration entry ' +
      '("if (details) continue"), so a migration entry is still mapped when it returns (no-stale-migration ' +
      'violated, the WARN_ON_ONCE of the seed); shmem_truncate_range then waits for the page lock and zaps the ' +
      'migrated page, so rss and the end state are right on both sides (rss-consistent holds). The migrating thread ' +
      'is kcompactd rather than move_pages so that migration can also overlap exit_mmap.',
    processes: ['P'],
    files: [{ name: 'memfd', kind: 'shmem', size: 2 }],
    vmas: [{ name: 'buf', start: 0, pages: 2, prot: 'rw', file: 'memfd', shared: true }],
    pages: [
      { addr: 0, data: 0 },
      { addr: 1, data: 1 },
    ],
    frames: 4,
    swapSlots: 0,
    threads: [
      {
        name: 'evictor',
        mm: 'P',
        mode: 'program',
        menu: [
          { op: 'punch', file: 'memfd', start: 0, len: 1 },
          { op: 'punch', file: 'memfd', start: 1, len: 1 },
        ],
      },
      {
        name: 'main',
        mm: 'P',
        menu: [
          { op: 'read', addr: 0 },
          { op: 'write', addr: 1, value: 2 },
          { op: 'exit' },
        ],
      },
      {
        name: 'kcompactd',
        mm: null,
        menu: [
          { op: 'migrate', file: 'memfd', index: 0 },
          { op: 'migrate', file: 'memfd', index: 1 },
        ],
      },
    ],
  },
  {
    name: 'punch-private-cow',
    title: 'hole punch of a memfd mapped both shared and private, with private COW copies',
    reference: 'MM-SEMANTICS 4.2, 4.4 D2; seed 003 (Hugh: "hole-punching on a file had no right to delete private user data")',
    description:
      'A 2-page memfd mapped MAP_SHARED at 0-1 and MAP_PRIVATE at 2-3. P has written through both: the shared ' +
      'pages are the file\'s, the private ones are COW copies, one of them swapped out. The evictor punches the ' +
      'whole file while P reads and writes. The punch must remove the file\'s pages from the shared mapping and leave ' +
      'the private COW copies and their swap entry alone (even_cows=0), on every kernel (punch-keeps-cow holds); a ' +
      'kernel that unmapped with even_cows would delete private data.',
    processes: ['P'],
    files: [{ name: 'memfd', kind: 'shmem', size: 2, cached: [{ index: 0, data: 0 }, { index: 1, data: 0 }] }],
    vmas: [
      { name: 'shared', start: 0, pages: 2, prot: 'rw', file: 'memfd', shared: true },
      { name: 'private', start: 2, pages: 2, prot: 'rw', file: 'memfd' },
    ],
    pages: [
      { addr: 0, data: 1 },
      { addr: 2, data: 2 },
      { addr: 3, data: 3, state: 'swapped' },
    ],
    frames: 5,
    swapSlots: 1,
    threads: [
      { name: 'evictor', mm: 'P', menu: [{ op: 'punch', file: 'memfd', start: 0, len: 2 }] },
      {
        name: 'main',
        mm: 'P',
        menu: [
          { op: 'read', addr: 1 },
          { op: 'write', addr: 2, value: 4 },
          { op: 'read', addr: 3 },
        ],
      },
    ],
  },
  {
    name: 'fork-gup-fast',
    title: 'fork racing with a GUP-fast pin in another thread (57efa1fe5957)',
    reference: 'MM-SEMANTICS 1.4 (d); 57efa1fe5957 (5.11)',
    description:
      'Thread G of P pins its anon page with pin_user_pages_fast(FOLL_WRITE|FOLL_LONGTERM) while thread P forks ' +
      'and then writes. On 5.9 and 5.10 copy_present_pte can find the page unpinned and share it while GUP-fast ' +
      'pins it from the still-writable PTE; the parent\'s write then copies the page away from the pin ' +
      '(pin-coherent violated). From 5.11 fork holds write_protect_seq odd and GUP-fast backs off to the slow ' +
      'path. Up to 5.8 fork shares pinned pages anyway.',
    processes: ['P', 'C'],
    vmas: [{ name: 'buf', start: 0, pages: 1, prot: 'rw' }],
    pages: [{ addr: 0, data: 1 }],
    frames: 3,
    swapSlots: 0,
    threads: [
      {
        name: 'P',
        mm: 'P',
        menu: [
          { op: 'fork', child: 'C' },
          { op: 'write', addr: 0, value: 2 },
        ],
      },
      { name: 'G', mm: 'P', menu: [{ op: 'gup', ref: 'dma', addr: 0, pin: true, write: true, longterm: true, fast: true }] },
      { name: 'C', mm: 'C', menu: [{ op: 'exit' }] },
    ],
  },
  {
    name: 'reclaim-gup-fast',
    title: 'reclaim racing with a GUP-fast pin (MM-SEMANTICS 1.4 (c))',
    reference: 'MM-SEMANTICS 1.4 (c); feb889fb40fa (5.11), 6c287605fd56 (5.19)',
    description:
      'kswapd reclaims P\'s anon page while thread G pins it with pin_user_pages_fast(FOLL_WRITE) and thread T ' +
      'reads and writes it. Before 5.19, a pin taken after the page entered the swap cache (past the vmscan ' +
      'page_maybe_dma_pinned check) does not stop try_to_unmap_one; T\'s swap-in maps the page R/O and its write ' +
      'fault copies it away from the pin (pin-coherent violated). From 5.19 try_to_unmap_one clears the PTE, then ' +
      'page_try_share_anon_rmap sees the pin and backs off, while GUP-fast that pinned first sees the PTE change.',
    processes: ['P'],
    vmas: [{ name: 'buf', start: 0, pages: 1, prot: 'rw' }],
    pages: [{ addr: 0, data: 1 }],
    frames: 3,
    swapSlots: 1,
    threads: [
      { name: 'kswapd', mm: null, menu: [{ op: 'reclaim', mm: 'P', addr: 0 }] },
      { name: 'G', mm: 'P', menu: [{ op: 'gup', ref: 'dma', addr: 0, pin: true, write: true, longterm: true, fast: true }] },
      {
        name: 'T',
        mm: 'P',
        menu: [
          { op: 'read', addr: 0 },
          { op: 'write', addr: 0, value: 2 },
        ],
      },
    ],
  },
  ...(['zeropage', 'memfd', 'tmpfile'] as const).flatMap((kind) =>
    [false, true].map((fast): ScenarioSpec => roLongtermPin(kind, fast)),
  ),
];

/**
 * cow.c "R/O longterm GUP(-fast) pin ... with shared zeropage / memfd / tmpfile"
 * (97713a3abe33): map private, read (the zeropage or the page-cache page is
 * mapped R/O), take a R/O FOLL_LONGTERM pin, write, and the pin must see the write.
 */
function roLongtermPin(kind: 'zeropage' | 'memfd' | 'tmpfile', fast: boolean): ScenarioSpec {
  const file = kind === 'memfd' ? { name: 'memfd', kind: 'shmem' as const, size: 1, cached: [{ index: 0, data: 0 }] } : kind === 'tmpfile' ? { name: 'tmpfile', kind: 'disk' as const, size: 1, disk: [0] } : undefined;
  return {
    name: `ro-longterm-pin-${kind}${fast ? '-fast' : ''}`,
    title: `R/O long-term GUP${fast ? '-fast' : ''} pin of ${kind === 'zeropage' ? 'the shared zeropage' : `a ${kind} page`} in a private mapping (cow.c)`,
    reference: 'seed 001; MM-SEMANTICS 2; 84209e87c696, 8d6a0ac09a16 (6.2)',
    description:
      `MAP_PRIVATE of ${kind === 'zeropage' ? 'anonymous memory' : `a ${kind === 'memfd' ? 'memfd (shmem)' : 'file on a disk filesystem'}`}: ` +
      `read, pin_user_pages${fast ? '_fast' : ''}(FOLL_LONGTERM) without FOLL_WRITE, then write. Up to 6.1 the pin takes ` +
      `the ${kind === 'zeropage' ? 'zeropage' : 'page-cache page'} as it is (gup_must_unshare only looks at anon pages) and the ` +
      'write fault replaces it with a private copy: the pin no longer sees the memory (pin-coherent violated). From 6.2 ' +
      `the R/O long-term pin in a COW mapping unshares first (FAULT_FLAG_UNSHARE copies into an exclusive anon page)` +
      `${fast ? '; GUP-fast has no vma and falls back to the slow path' : ''}.`,
    processes: ['P'],
    files: file ? [file] : [],
    vmas: [{ name: 'buf', start: 0, pages: 1, prot: 'rw', ...(file ? { file: file.name } : {}) }],
    pages: [],
    frames: 3,
    swapSlots: 0,
    threads: [
      {
        name: 'P',
        mm: 'P',
        mode: 'program',
        menu: [
          { op: 'read', addr: 0 },
          { op: 'gup', ref: 'pin', addr: 0, pin: true, longterm: true, fast },
          { op: 'write', addr: 0, value: 1 },
          { op: 'put', ref: 'pin' },
        ],
      },
    ],
  };
}

export function findScenario(name: string): ScenarioSpec | undefined {
  return SCENARIOS.find((s) => s.name === name);
}
