// An invariant file for mmcheck: `mmcheck check --invariants-file examples/invariants/no-longterm-zeropage-pin.mjs`.
//
// A long-term pin (FOLL_LONGTERM, e.g. an RDMA or io_uring buffer) must never
// hold the shared zeropage: the process's next write replaces the zeropage by a
// private page, and the device would go on reading zeros. Up to 6.1 a R/O
// long-term pin of a never-written private page takes the zeropage as it is;
// 6.2 unshares first (84209e87c696).
import { defineInvariants, parseGup, parsePte } from 'mmcheck';

export const invariants = defineInvariants([
  {
    name: 'no-longterm-zeropage-pin',
    description: 'no FOLL_LONGTERM pin holds the shared zeropage',
    reference: 'mm/gup.c:check_and_migrate_movable_pages, 84209e87c696 (6.2)',
    when: 'always',
    defaultScenario: 'ro-longterm-pin-zeropage',
    // v.readable is the state as a trace file shows it (typed: ReadableState).
    check(v) {
      const s = v.readable;
      for (const [ref, text] of Object.entries(s.gup)) {
        const g = parseGup(text);
        if (g && g.pin && g.longterm && g.pfn === 0) {
          const pte = parsePte(s.mms[g.mm]?.ptes[g.addr] ?? 'none');
          const now = pte.kind === 'present' ? (pte.zeropage ? 'the zeropage' : `pfn ${pte.pfn}`) : `a ${pte.kind} entry`;
          return `long-term pin "${ref}" holds the zeropage; ${g.mm}:${g.addr}, which it was taken through, maps ${now}`;
        }
      }
      return null;
    },
    // What a HOLDS relies on: a long-term pin was taken at all (check --strict fails without it).
    witnesses: [{ name: 'a long-term pin is held', check: (v) => Object.values(v.readable.gup).some((t) => parseGup(t)?.longterm === true) }],
  },
]);
