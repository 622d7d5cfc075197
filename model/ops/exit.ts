/**
 * Process exit: exit_mmap() tears down every mapping with zap_details ==
 * NULL; __mmdrop() then runs check_mm(), which reports any rss counter that
 * is not zero ("BUG: Bad rss-counter state").
 */
import { DISABLED, DONE } from '../kernel.js';
import { MM_DROPPED, MM_EXITED, MM_LIVE, MM_STATE, RSS_NAMES, TH_STATUS, TS_EXITED } from '../layout.js';
import type { ProgramBuilder } from '../program.js';

export function buildExit(b: ProgramBuilder, m: number): void {
  const START = b.reserve();
  const CHECK = b.reserve();
  b.define(START, 'exit_mmap', 'mm/mmap.c:exit_mmap -> unmap_vmas (5.7-6.2)', (k, t) => {
    if (k.mmState(m) !== MM_LIVE || !k.othersIdle(m, t)) return DISABLED;
    for (let a = 0; a < k.addrs; a++) {
      k.fn.zap_pte(k, m, a);
      k.detachGup(m, a);
    }
    for (let v = 0; v < k.L.shape.vmas; v++) k.s[k.L.vma(m, v)] = 0;
    k.setMmWord(m, MM_STATE, MM_EXITED);
    k.exitThreads(m);
    k.setThreadWord(t, TH_STATUS, 1); // this thread still runs __mmdrop
    return CHECK;
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
