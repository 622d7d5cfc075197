/**
 * Process exit: exit_mmap() tears down every mapping with zap_details ==
 * NULL; __mmdrop() then runs check_mm(), which reports any rss counter that
 * is not zero ("BUG: Bad rss-counter state").
 */
import { DISABLED, DONE, SLEEP } from '../kernel.js';
import { int, threadLocals } from '../thread-locals.js';
import { i_mmap_lock_write, i_mmap_unlock_write } from '../kernel/locking.js';
import { free_pgtables } from '../kernel/pgalloc.js';
import { zap_huge_pmd } from '../kernel/huge_memory.js';
import { MM_DROPPED, MM_EXITED, MM_LIVE, MM_STATE, RSS_NAMES, TH_STATUS, TS_EXITED, VMA_PRESENT } from '../layout.js';
import type { ProgramBuilder } from '../program.js';

/**
 * exit_mmap zaps every mapping (unmap_vmas), then free_pgtables unlinks
 * each VMA: from its anon_vma, and a file VMA from the file's i_mmap tree
 * (unlink_file_vma: i_mmap_rwsem for write, one step per file VMA, since it
 * may sleep). Then __mmdrop's check_mm.
 */
export function buildExit(b: ProgramBuilder, m: number, vmaFile: readonly number[]): void {
  const START = b.reserve();
  const unlinks = vmaFile.flatMap((f, v) => (f >= 0 ? [{ v, f, step: b.reserve() }] : []));
  const CHECK = b.reserve();
  const afterZap = unlinks.length ? unlinks[0]!.step : CHECK;
  // The file VMAs mapped when exit_mmap began (a bit each): the ones free_pgtables unlinks.
  const EXIT = threadLocals('exit_mmap', { unlink: int('aux') });
  b.define(START, 'exit_mmap', 'mm/mmap.c:exit_mmap -> unmap_vmas (5.7-6.2)', (k, t) => {
    if (k.mmState(m) !== MM_LIVE || !k.othersIdle(m, t)) return DISABLED;
    if (!(k.world.thpPages > 0 && zap_huge_pmd(k, m)))
      for (let a = 0; a < k.addrs; a++) {
        k.fn.zap_pte(k, m, a);
        k.detachGup(m, a);
      }
    let mapped = 0;
    for (const { v } of unlinks) if (k.s[k.L.vma(m, v)]! & VMA_PRESENT) mapped |= 1 << v;
    EXIT.unlink.set(k, t, mapped);
    for (let v = 0; v < k.L.shape.vmas; v++) k.s[k.L.vma(m, v)] = 0;
    free_pgtables(k, m);
    k.setMmWord(m, MM_STATE, MM_EXITED);
    k.exitThreads(m);
    k.setThreadWord(t, TH_STATUS, 1); // this thread still runs __mmdrop
    return afterZap;
  });
  unlinks.forEach(({ v, f, step }, i) => {
    const next = i + 1 < unlinks.length ? unlinks[i + 1]!.step : CHECK;
    b.define(step, 'free_pgtables: unlink_file_vma', 'mm/mmap.c:exit_mmap -> free_pgtables -> unlink_file_vma (5.7-6.2)', (k, t) => {
      const mapped = EXIT.unlink.get(k, t);
      if (!(mapped & (1 << v))) return next;
      if (!i_mmap_lock_write(k, t, f)) return SLEEP;
      i_mmap_unlock_write(k, f);
      EXIT.unlink.set(k, t, mapped & ~(1 << v));
      if (k.narrate) k.note(`the VMA leaves ${k.world.fileNames[f]}'s i_mmap tree (i_mmap_rwsem for write)`);
      return next;
    });
  });
  b.define(CHECK, 'check_mm', 'kernel/fork.c:__mmdrop -> check_mm (5.7-6.2)', (k, t) => {
    k.setMmWord(m, MM_STATE, MM_DROPPED);
    k.setThreadWord(t, TH_STATUS, TS_EXITED);
    for (let c = 0; c < 4; c++) {
      const v = k.rss(m, c);
      if (v !== 0 && k.narrate) k.note(`BUG: Bad rss-counter state mm:${k.mmName(m)} type:${RSS_NAMES[c]} val:${v}`);
    }
    return DONE;
  });
}
