/**
 * No break_layouts waiter sleeps while its FS_DAX page is idle (seed 002,
 * docs/rules.md#zone-device): ext4_break_layouts sleeps in
 * ___wait_var_event until the page's _refcount is the idle count (1 up to
 * 6.14, 0 from 6.15), and the put path that brings the page to that count
 * must wake_up_var it in the same step. A thread asleep on the page's key
 * while the page is idle was skipped by that wake-up (5.18's gup_put_folio,
 * d8ddc099c6b3, until f4f451a16dd1), or by one that fires at another count
 * (the 2020 RFC: at 0, for a waiter waiting for 1). The trace's last step is
 * the put that should have woken it. Its non-vacuity is the scenario's: a
 * witness that the waiter sleeps ({"sleeps": thread}).
 */
import { PG_REF } from '../model/layout.js';
import { keyClass, keyObject, statusWait, WAIT_ASLEEP, WAIT_KEY_MASK, WAITQ_VAR } from '../model/locks.js';
import type { MMInvariant } from './invariant.js';

export const fsdaxIdleWakes: MMInvariant = {
  name: 'fsdax-idle-wakes',
  description: 'no thread sleeps in wait_var_event on an FS_DAX page that is idle (the put that made it idle woke it)',
  reference: 'fs/dax.c:dax_layout_busy_page, fs/ext4/inode.c:ext4_break_layouts; mm/memremap.c, mm/gup.c:gup_put_folio; f4f451a16dd1; seed 002',
  reads: ['frame', 'devframe', 'thread'],
  when: 'always',
  defaultScenario: 'fsdax-unpin-break-layouts',
  check(v) {
    if (v.world.fsdaxIdle < 0) return null;
    for (let t = 0; t < v.threads; t++) {
      const w = statusWait(v.s[v.statusAt[t]!]!);
      if (!(w & WAIT_ASLEEP) || keyClass(w & WAIT_KEY_MASK) !== WAITQ_VAR) continue;
      const pfn = keyObject(w & WAIT_KEY_MASK);
      if (v.pageWord(pfn, PG_REF) === v.world.fsdaxIdle)
        return `${v.world.threadNames[t]} sleeps on ${v.keyName(w & WAIT_KEY_MASK)} while pfn ${pfn} is idle (_refcount ${v.world.fsdaxIdle}): the put that made it idle did not wake_up_var it (a lost wake-up)`;
    }
    return null;
  },
};
