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
];

export function findScenario(name: string): ScenarioSpec | undefined {
  return SCENARIOS.find((s) => s.name === name);
}
