/**
 * A private mapping is the process's own copy (Dirty COW, CVE-2016-5195): a
 * write through a MAP_PRIVATE mapping of a file never reaches the file's
 * page cache (and so its disk). No PTE of a private file mapping maps a
 * page-cache page writable, and no FOLL_WRITE GUP reference taken through
 * one (ptrace, /proc/pid/mem: FOLL_FORCE) holds a page-cache page: the
 * write through it would land in the file. Up to 4.8 GUP dropped FOLL_WRITE
 * after its COW fault and took whatever the PTE mapped at the retry; after a
 * racing MADV_DONTNEED, the page-cache page (19be0eaffa3a, 4.9). The same
 * for the zero page and the huge zero page, which every process reads: up
 * to 4.14 a read GUP's touch_pmd dirtied the huge zero page's pmd and
 * FOLL_COW's pmd_dirty test let a forced write through to it
 * (CVE-2017-1000405, a8f97366452e in 4.15).
 */
import { formatGupFlags, GUP_NONE, GUP_PENDING, GUP_WRITE, gupAddr, gupKind, gupMm, gupPfn } from '../model/gup.js';
import { isWritable, mapsNormalPage, pteTarget, ZERO_PFN } from '../model/pte.js';
import type { MMInvariant } from './invariant.js';

export const privateMappingIsolated: MMInvariant = {
  name: 'private-mapping-isolated',
  description:
    'a write through a private mapping never reaches a page others read: no writable PTE of a private file mapping maps a page-cache page, no FOLL_WRITE reference taken through a private mapping holds a page-cache page or the (huge) zero page',
  reference: 'CVE-2016-5195 (Dirty COW), CVE-2017-1000405; mm/gup.c:__get_user_pages, can_follow_write_pte; 19be0eaffa3a (4.9), a8f97366452e (4.15), 5535be309971 (6.0)',
  reads: ['mm', 'frame', 'gup', 'file', 'pmd'],
  when: 'always',
  defaultScenario: 'dirty-cow',
  check(v) {
    for (let m = 0; m < v.mms; m++)
      for (let a = 0; a < v.addrs; a++) {
        if (v.fileOf(a) < 0 || v.isSharedMapping(a)) continue;
        const e = v.pte(m, a);
        if (isWritable(e) && mapsNormalPage(e) && v.inPageCache(pteTarget(e)))
          return `${v.addrName(m, a)} maps pfn ${pteTarget(e)}, a page-cache page of ${v.world.fileNames[v.fileOf(a)]}, writable through a private mapping: its writes reach the file`;
      }
    for (let g = 0; g < v.gupSlots; g++) {
      const r = v.gup(g);
      if (gupKind(r) === GUP_NONE || r & GUP_PENDING || !(r & GUP_WRITE)) continue;
      const a = gupAddr(r);
      if (v.isSharedMapping(a)) continue;
      if (gupPfn(r) === ZERO_PFN)
        return `GUP reference "${v.world.gupNames[g]}" (${formatGupFlags(r)}), taken through ${v.mmName(gupMm(r))}'s private mapping, holds the ${v.hugePmds > 0 && v.hugePmd(gupMm(r)) ? 'huge ' : ''}zero page: the write through it lands in the page every process reads as zeroes (CVE-2017-1000405)`;
      if (v.fileOf(a) < 0 || !v.inPageCache(gupPfn(r))) continue;
      return (
        `GUP reference "${v.world.gupNames[g]}" (${formatGupFlags(r)}), taken through ${v.mmName(gupMm(r))}'s private mapping of ${v.world.fileNames[v.fileOf(a)]}, ` +
        `holds pfn ${gupPfn(r)}, the file's page-cache page: the write through it lands in the file (CVE-2016-5195)`
      );
    }
    return null;
  },
};
