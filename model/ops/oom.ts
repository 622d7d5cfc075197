/**
 * The OOM reaper of 4.6 (mm/oom_kill.c:oom_reaper, aac453635549), a kernel
 * thread: woken for a victim by oom_kill_process (wake_oom_reaper), it
 * takes the victim's mmap_lock with down_read_trylock and unmaps its
 * anonymous and private memory (unmap_page_range with check_swap_entries
 * and ignore_dirty), then clears the victim's TIF_MEMDIE (exit_oom_victim)
 * and sets its oom_score_adj to OOM_SCORE_ADJ_MIN, so the OOM killer stops
 * waiting for it and never chooses it again. It works while the victim
 * sleeps in an uninterruptible lock_page: that is what it is for.
 * Simplification: a failed trylock is retried until it succeeds (4.6 gives
 * up after MAX_OOM_REAP_RETRIES = 10 tries 100 ms apart); a reaper that can
 * never take the lock shows as a thread that cannot move.
 * Read in mm/oom_kill.c of linux-4.6.2 (__oom_reap_task, oom_reap_task).
 */
import { BLOCKED, DISABLED, DONE } from '../kernel.js';
import { mmap_read_trylock, mmap_read_unlock } from '../kernel/locking.js';
import { MM_FLAGS, MM_LIVE, MMF_OOM_MEMDIE, MMF_OOM_REAPED, MMF_OOM_VICTIM } from '../layout.js';
import { LOCK_MMAP, waitKey } from '../locks.js';
import type { ProgramBuilder } from '../program.js';

export function buildOomReaper(b: ProgramBuilder): void {
  b.step('oom_reaper: __oom_reap_task', 'mm/oom_kill.c:oom_reaper -> oom_reap_task -> __oom_reap_task (4.6)', (k, t) => {
    // wait_event_freezable(oom_reaper_wait, oom_reaper_list != NULL): a victim not reaped yet.
    let victim = -1;
    for (let m = 0; m < k.world.mmNames.length && victim < 0; m++)
      if ((k.mmWord(m, MM_FLAGS) & (MMF_OOM_VICTIM | MMF_OOM_REAPED)) === MMF_OOM_VICTIM && k.mmState(m) === MM_LIVE) victim = m;
    if (victim < 0) return DISABLED;
    if (!mmap_read_trylock(k, t, victim)) {
      k.waitKey = waitKey(LOCK_MMAP, victim); // schedule_timeout_idle(HZ/10), then the trylock again
      return BLOCKED;
    }
    for (let a = 0; a < k.addrs; a++) {
      if (!k.vmaPresent(victim, a) || k.isSharedMapping(a)) continue; // vma_is_anonymous(vma) || !(vma->vm_flags & VM_SHARED)
      k.fn.zap_pte(k, victim, a);
    }
    mmap_read_unlock(k, t, victim);
    k.setMmWord(victim, MM_FLAGS, (k.mmWord(victim, MM_FLAGS) | MMF_OOM_REAPED) & ~MMF_OOM_MEMDIE);
    if (k.narrate) k.note(`oom_reaper: reaped ${k.mmName(victim)}: its private memory unmapped; exit_oom_victim (TIF_MEMDIE cleared), oom_score_adj = OOM_SCORE_ADJ_MIN`);
    return DONE;
  });
}
