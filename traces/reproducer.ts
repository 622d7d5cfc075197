/**
 * A trace as a C program that performs its order on a real kernel, as the
 * kernel's tools/testing/selftests/mm/cow.c does: one process per modelled
 * process, ordered by handing a token through pipes, a vmsplice() for each
 * R/O FOLL_GET reference, and at the end a read of each reference's pipe:
 * the page as it was when the reference was taken is the fixed behaviour,
 * the page with the other process's later write is the modelled bug.
 *
 * Only traces whose operations user space performs whole and in order are
 * emitted. A trace that switches threads inside one operation (a race in a
 * kernel function), or that needs kswapd, migration, a FOLL_PIN or a file,
 * is refused with the reason.
 */
import type { PathStep } from '../checker/model.js';
import { parseGup, readableState, type ReadableState } from '../model/readable.js';
import type { MenuEntry, ScenarioSpec, VmaSpec } from '../model/scenario.js';
import type { MMModel } from '../model/world.js';

/** One whole operation of the trace, as user space performs it. */
interface Op {
  /** Trace steps it spans (1-based). */
  first: number;
  last: number;
  thread: string;
  entry: MenuEntry;
  label: string;
  kernelFunction: string;
}

/** A pipe that a vmsplice() filled, read at the end. */
interface Observed {
  ref: string;
  holder: string;
  /** The byte the page held when the reference was taken: what the reader must see on a fixed kernel. */
  fixed: number;
  /** The byte the model's kernel lets through (the trace run to the end of its operations). */
  leaked: number;
}

export type Reproducer = { ok: true; c: string; ops: number; observed: Observed[] } | { ok: false; reason: string };

const HPAGE = 2 << 20;

export function reproducer(model: MMModel, spec: ScenarioSpec, path: PathStep[], meta: { kernel: string; invariant: string; message: string; source: string }): Reproducer {
  const refuse = (reason: string): Reproducer => ({ ok: false, reason });
  // Whole operations, in order: a step of another thread inside one is a race user space cannot order.
  const ops: Op[] = [];
  const open = new Map<string, Op>();
  // A step starts an operation when its thread was idle before it (a step 0 may also be a retry, as the store after a fault).
  const readable = path.map((p) => readableState(model, p.state));
  const busy = (i: number, thread: string) => readable[i]!.threads[thread]?.startsWith('in ') ?? false;
  for (let i = 1; i < path.length; i++) {
    const a = model.actions[path[i]!.action]!;
    const t = spec.threads[a.thread]!;
    if (!busy(i - 1, a.threadName)) {
      const op: Op = { first: i, last: i, thread: a.threadName, entry: t.menu[a.entry]!, label: a.op, kernelFunction: a.where };
      ops.push(op);
      open.set(a.threadName, op);
    } else {
      const op = open.get(a.threadName)!;
      const later = ops.indexOf(op) + 1;
      if (later < ops.length)
        return refuse(
          `step ${i} (${a.threadName}: ${a.label}) continues "${op.label}" after step ${ops[later]!.first} (${ops[later]!.thread}: ${ops[later]!.label}) began: a race inside ${a.label}, which user space cannot order`,
        );
      op.last = i;
    }
  }
  // An operation still under way when another begins, and not continued in the trace, would run whole in its slot
  // in the program: allowed only when what is left is the user's store or load retried after a fault.
  for (const [k, op] of ops.entries()) {
    const next = ops[k + 1];
    if (!next || next.thread === op.thread || op.last !== ops.filter((o) => o.thread === op.thread).at(-1)!.last) continue;
    const left = readable[next.first - 1]!.threads[op.thread] ?? '';
    if (left.startsWith('in ') && !/, next (store|load)\b/.test(left))
      return refuse(`"${op.label}" is still under way (${left}) when ${next.thread} begins "${next.label}" at step ${next.first}: a race user space cannot order`);
  }
  // A step the model narrates as a fault the program would take for real (SIGSEGV, EFAULT, SIGBUS): not emitted.
  for (let i = 1; i < path.length; i++) {
    const notes = model.narrate(path[i - 1]!.state, path[i]!.action)?.notes ?? [];
    const fault = notes.find((n) => /SIGSEGV|SIGBUS|EFAULT/.test(n));
    if (fault) return refuse(`step ${i} faults (${fault}): a program that takes the fault is not emitted`);
  }
  const procOf = new Map<string, string>();
  for (const name of new Set(ops.map((o) => o.thread))) {
    const t = spec.threads.find((x) => x.name === name)!;
    if (t.mm === null) return refuse(`thread ${t.name} is a kernel thread (${t.menu.map((e) => e.op).join(', ')}): user space cannot order when it runs`);
    if ([...procOf.values()].includes(t.mm)) return refuse(`process ${t.mm} has two threads: only one thread per process is emitted`);
    procOf.set(t.name, t.mm);
  }
  if (spec.files?.length || spec.device) return refuse('the scenario has files or device memory: only private anonymous memory is emitted');
  for (const v of spec.vmas) {
    if (v.file !== undefined || v.shared) return refuse(`VMA ${v.name} is a file or shared mapping: only private anonymous memory is emitted`);
    if (v.thp && v.pages !== 1) return refuse(`VMA ${v.name} is a THP of ${v.pages} model pages: which of its 512 subpages each stands for is not emitted`);
  }
  for (const pg of spec.pages) {
    const state = pg.state ?? 'present';
    const v = spec.vmas.find((x) => pg.addr >= x.start && pg.addr < x.start + x.pages);
    if (state === 'device') return refuse(`page ${pg.addr} starts in device memory: putting it there needs a device driver; not emitted`);
    if (state === 'swapped' && v?.thp) return refuse(`page ${pg.addr} starts swapped in a THP VMA: not emitted`);
  }
  const root = spec.processes[0]!;
  const forked = new Set([root]);
  for (const op of ops) {
    const proc = procOf.get(op.thread)!;
    const e = op.entry;
    const why = unsupported(e);
    if (why) return refuse(`${op.thread}: ${op.label}: ${why}`);
    if (!forked.has(proc)) return refuse(`${op.thread}: ${op.label} runs before ${proc} is forked`);
    if (e.op === 'fork') {
      if (proc !== root) return refuse(`${proc} forks ${e.child}: only the first process forks in an emitted program`);
      forked.add(e.child);
    }
    if (e.op === 'exit' && proc === root) return refuse(`${root} exits: the first process must stay to read the pipes at the end`);
  }

  // The model's outcome of this order: the trace with its last operations run to their end.
  const end = completed(model, path);
  const taken = new Map<string, { holder: string; fixed: number; op: Op }>();
  for (const op of ops) {
    const e = op.entry;
    if (e.op === 'gup') {
      const state = op.last === path.length - 1 ? end : readable[op.last]!;
      const fixed = refData(state, e.ref);
      if (fixed === null) return refuse(`${op.label}: the reference "${e.ref}" holds no page once taken`);
      taken.set(e.ref, { holder: procOf.get(op.thread)!, fixed, op });
    }
    if (e.op === 'put') taken.delete(e.ref);
  }
  const observed: Observed[] = [];
  for (const [ref, r] of taken) {
    const leaked = refData(end, ref);
    if (leaked === null || leaked === r.fixed) continue;
    observed.push({ ref, holder: r.holder, fixed: r.fixed, leaked });
  }
  if (observed.length === 0) return refuse(`no vmsplice()d page ends with data other than it had when taken: the ${meta.invariant} violation has no consequence a pipe read shows`);
  return { ok: true, c: emit(spec, ops, procOf, observed, meta), ops: ops.length, observed };
}

function unsupported(e: MenuEntry): string | null {
  switch (e.op) {
    case 'gup':
      if (e.pin) return 'a FOLL_PIN reference needs io_uring fixed buffers or the gup_test module: not emitted';
      if (e.write || e.force) return 'a FOLL_WRITE reference (a /proc/pid/mem or ptrace write): not emitted';
      return null;
    case 'write':
    case 'read':
    case 'put':
    case 'fork':
    case 'exit':
    case 'madv-dontneed':
    case 'madv-dontfork':
    case 'madv-dofork':
    case 'mprotect':
    case 'munmap':
      return null;
    case 'reclaim':
    case 'pageout':
      return 'reclaim runs when memory pressure says: user space cannot order it';
    case 'migrate':
      return 'migration runs when compaction or NUMA balancing says: user space cannot order it';
    default:
      return `"${e.op}" is not emitted`;
  }
}

/** The data of the page a GUP reference holds, or null (the readable state's own parser, model/readable.ts). */
function refData(s: ReadableState, ref: string): number | null {
  const g = parseGup(s.gup[ref] ?? 'none');
  const page = g ? s.pages[String(g.pfn)] : undefined;
  return page ? Number(page.data) : null;
}

/** The last state with every operation still under way run to its end, one thread after another. */
function completed(model: MMModel, path: PathStep[]): ReadableState {
  let s = path[path.length - 1]!.state;
  const threads = model.world.threadNames;
  for (let guard = 0; guard < 10_000; guard++) {
    const r = readableState(model, s);
    const busy = new Set(threads.flatMap((name, i) => (r.threads[name]?.startsWith('in ') ? [i] : [])));
    let next: Int32Array | null = null;
    model.successors(s, (n, action) => {
      if (next === null && busy.has(model.actions[action]!.thread)) next = n.slice();
    });
    if (next === null) return r;
    s = next;
  }
  return readableState(model, s);
}

/** The C program. */
function emit(
  spec: ScenarioSpec,
  ops: Op[],
  procOf: Map<string, string>,
  observed: Observed[],
  meta: { kernel: string; invariant: string; message: string; source: string },
): string {
  const procs = spec.processes;
  const P = (name: string) => `PROC_${procs.indexOf(name)}`;
  const refs = [...new Set(ops.flatMap((o) => (o.entry.op === 'gup' || o.entry.op === 'put' ? [o.entry.ref] : [])))];
  const R = (ref: string) => refs.indexOf(ref);
  const vmaOf = (addr: number): { v: VmaSpec; i: number } => {
    const i = spec.vmas.findIndex((v) => addr >= v.start && addr < v.start + v.pages);
    return { v: spec.vmas[i]!, i };
  };
  /** The address and length in bytes of model pages [addr, addr + pages). */
  const range = (addr: number, pages = 1): [string, string] => {
    const { v, i } = vmaOf(addr);
    if (v.thp) return [`vma[${i}]`, 'HPAGE'];
    return [`vma[${i}] + ${addr - v.start} * PAGE`, `${pages} * PAGE`];
  };
  const vmaIndex = (name: string) => spec.vmas.findIndex((v) => v.name === name);
  const prot = (p: string) => (p === 'rw' ? 'PROT_READ | PROT_WRITE' : p === 'r' ? 'PROT_READ' : 'PROT_NONE');
  const L: string[] = [];
  const line = (s = '') => L.push(s);
  const comment = (s: string) => s.replace(/\*\//g, '* /');
  line(`/*`);
  line(` * Generated by mmcheck from a counterexample: ${comment(meta.invariant)} on scenario ${comment(meta.source)}, kernel ${meta.kernel}.`);
  line(` * The model: ${comment(meta.message)}`);
  line(` *`);
  line(` * This program performs the trace's operations in the trace's order, one`);
  line(` * process per modelled process, handing a token through pipes (as`);
  line(` * tools/testing/selftests/mm/cow.c orders parent and child), then reads each`);
  line(` * vmsplice()d pipe. It prints the kernel it ran on and one verdict line:`);
  line(` *   "fixed": the pipe holds the page as it was when vmsplice() took it;`);
  line(` *   "bug":   the pipe holds another process's later write (the model's verdict);`);
  line(` *   "skip":  the kernel lacks what the program needs (exit 4, as kselftest).`);
  line(` * Exit status: 0 fixed, 1 bug, 2 an unexpected error, 4 skip.`);
  line(` * Build: gcc -O2 -Wall -o repro repro.c`);
  line(` */`);
  line('#define _GNU_SOURCE');
  for (const h of [
    'errno.h',
    'fcntl.h',
    'stdio.h',
    'stdlib.h',
    'string.h',
    'unistd.h',
    'sys/mman.h',
    'sys/uio.h',
    'sys/utsname.h',
    'sys/wait.h',
    'sys/ioctl.h',
    'signal.h',
    'sys/prctl.h',
  ])
    line(`#include <${h}>`);
  line();
  line('#define PAGE 4096UL');
  line(`#define HPAGE ${HPAGE}UL`);
  procs.forEach((p, i) => line(`#define ${P(p)} ${i} /* process ${p} */`));
  line(`#define NPROC ${procs.length}`);
  line(`#define NREF ${Math.max(1, refs.length)}`);
  line(`#define NVMA ${spec.vmas.length}`);
  line('/* Build with -DREPRO_MAP=MAP_SHARED to see the check report a leak: the page is then shared on purpose. */');
  line('#ifndef REPRO_MAP');
  line('#define REPRO_MAP MAP_PRIVATE');
  line('#endif');
  line();
  line('static int me; /* the process this copy of the program is */');
  line('static pid_t pid_of[NPROC];');
  line('static int token[NPROC][2]; /* the pipe each process waits on for its turn */');
  line('static int ref_pipe[NREF][2]; /* one pipe per GUP reference: vmsplice() fills it */');
  line('static char *vma[NVMA];');
  line();
  line('static pid_t root_pid; /* the first process: it forks the others, reads the pipes, and ends the run */');
  line('/* The first process ends the run: every other process is killed first, so that none waits forever. */');
  line('static void end_run(int code) {');
  line('  for (int i = 0; i < NPROC; i++) if (pid_of[i] > 0 && pid_of[i] != root_pid) { kill(pid_of[i], SIGKILL); waitpid(pid_of[i], NULL, 0); }');
  line('  exit(code);');
  line('}');
  line('/* Another process failed (SIGUSR1) or skipped (SIGUSR2): it said why; the first process ends the run. */');
  line('static void child_failed(int sig) { end_run(sig == SIGUSR2 ? 4 : 2); }');
  line('/* An error or a skip in any process ends the whole run, from the first process. */');
  line('static void stop(int code) {');
  line('  if (getpid() != root_pid) { kill(root_pid, code == 4 ? SIGUSR2 : SIGUSR1); _exit(code); }');
  line('  end_run(code);');
  line('}');
  line('static void die(const char *what) { fprintf(stderr, "error: %s: %s\\n", what, strerror(errno)); stop(2); }');
  line('static void __attribute__((unused)) skip(const char *why) { printf("skip: %s\\n", why); stop(4); }');
  line('/* Waits for step `step`: the previous step is done. */');
  line('static void turn(int step) {');
  line('  int got;');
  line('  if (read(token[me][0], &got, sizeof got) != sizeof got) die("read token");');
  line('  if (got != step) { fprintf(stderr, "error: process %d got the token of step %d, waiting for %d\\n", me, got, step); exit(2); }');
  line('}');
  line('/* Gives step `step` to process `to`. */');
  line('static void hand(int to, int step) { if (write(token[to][1], &step, sizeof step) != sizeof step) die("write token"); }');
  line();
  line("/* Reads what a reference's pipe holds, whichever process vmsplice()d it; returns the bytes read. */");
  line('static size_t drain(int ref, unsigned char *to) {');
  line('  int n;');
  line('  if (ioctl(ref_pipe[ref][0], FIONREAD, &n)) die("ioctl(FIONREAD)");');
  line('  for (int done = 0; done < n;) { ssize_t r = read(ref_pipe[ref][0], to + done, (size_t)(n - done)); if (r <= 0) die("read pipe"); done += (int)r; }');
  line('  return (size_t)n;');
  line('}');
  line('static unsigned char buf[HPAGE];');
  if (spec.vmas.some((v) => v.thp)) emitThpHelpers(line);
  const swapped = spec.pages.filter((pg) => pg.state === 'swapped');
  if (swapped.length) emitSwapHelpers(line);
  line();
  line('int main(void) {');
  line('  struct utsname u;');
  line('  if (uname(&u)) die("uname");');
  line('  setvbuf(stdout, NULL, _IONBF, 0);');
  line('  printf("kernel %s %s\\n", u.sysname, u.release);');
  line('  root_pid = getpid();');
  line('  signal(SIGUSR1, child_failed);');
  line('  signal(SIGUSR2, child_failed);');
  line('  for (int i = 0; i < NPROC; i++) if (pipe(token[i])) die("pipe");');
  line('  for (int i = 0; i < NREF; i++) if (pipe(ref_pipe[i])) die("pipe");');
  line(`  me = ${P(procs[0]!)};`);
  line(`  pid_of[me] = getpid();`);
  spec.vmas.forEach((v, i) => {
    line(`  /* VMA ${v.name}: ${v.pages} page(s) at model address ${v.start}, ${v.prot}${v.thp ? ', a THP' : ''} */`);
    if (v.thp) {
      line(`  vma[${i}] = map_thp();`);
    } else {
      line(`  vma[${i}] = mmap(NULL, ${v.pages} * PAGE, PROT_READ | PROT_WRITE, REPRO_MAP | MAP_ANONYMOUS, -1, 0);`);
      line(`  if (vma[${i}] == MAP_FAILED) die("mmap");`);
    }
  });
  for (const pg of spec.pages) {
    const [a, n] = range(pg.addr);
    line(`  memset(${a}, ${pg.data}, ${n}); /* page ${pg.addr} holds ${pg.data} */`);
  }
  if (swapped.length) line('  need_swap();');
  for (const pg of swapped) {
    const [a] = range(pg.addr);
    line(`  /* page ${pg.addr} starts swapped out: MADV_PAGEOUT reclaims it to swap (5.4 on) */`);
    line(`  if (madvise(${a}, PAGE, MADV_PAGEOUT)) skip("madvise(MADV_PAGEOUT) failed: the kernel lacks it (5.4 on)");`);
    line(`  if (!swapped_out(${a})) skip("MADV_PAGEOUT left page ${pg.addr} in memory");`);
  }
  spec.vmas.forEach((v, i) => {
    if (v.thp && spec.pages.some((pg) => vmaOf(pg.addr).i === i)) line(`  if (!thp_backed(vma[${i}], HPAGE)) skip("the kernel did not back VMA ${v.name} with a THP");`);
    // Filled while writable; now the protection the scenario gives it.
    if (v.prot !== 'rw') line(`  if (mprotect(vma[${i}], ${v.thp ? 'HPAGE' : `${v.pages} * PAGE`}, ${prot(v.prot)})) die("mprotect");`);
  });
  const owner = (k: number) => (k < ops.length ? P(procOf.get(ops[k]!.thread)!) : P(procs[0]!));
  line(`  hand(${owner(0)}, 1);`);
  line();
  const thpChecked = new Set<number>();
  ops.forEach((op, k) => {
    const step = k + 1;
    const e = op.entry;
    const proc = procOf.get(op.thread)!;
    line(
      `  /* ${step}. ${comment(op.thread)}: ${comment(op.label)} (trace step${op.first === op.last ? ` ${op.first}` : `s ${op.first}-${op.last}`}; ${comment(op.kernelFunction)}) */`,
    );
    line(`  if (me == ${P(proc)}) {`);
    line(`    turn(${step});`);
    line(`    printf("${step}. ${op.thread}: ${op.label.replace(/["\\]/g, '')}\\n");`);
    const next = `    hand(${owner(step)}, ${step + 1});`;
    switch (e.op) {
      case 'write': {
        const [a, n] = range(e.addr);
        line(`    memset(${a}, ${e.value}, ${n});`);
        const { v, i } = vmaOf(e.addr);
        if (v.thp && !thpChecked.has(i)) {
          thpChecked.add(i);
          line(`    if (!thp_backed(vma[${i}], HPAGE)) skip("the kernel did not back VMA ${v.name} with a THP");`);
        }
        line(next);
        break;
      }
      case 'read': {
        const [a] = range(e.addr);
        line(`    (void)*(volatile char *)(${a});`);
        line(next);
        break;
      }
      case 'gup': {
        const [a, n] = range(e.addr);
        line(`    /* R/O FOLL_GET: vmsplice() takes a reference on the page and keeps it in the pipe. */`);
        line(`    struct iovec iov = { .iov_base = ${a}, .iov_len = ${n} };`);
        line(`    if (vmsplice(ref_pipe[${R(e.ref)}][1], &iov, 1, 0) <= 0) die("vmsplice");`);
        line(next);
        break;
      }
      case 'put': {
        line(`    drain(${R(e.ref)}, buf); /* drop the reference: read the pipe empty */`);
        line(next);
        break;
      }
      case 'fork':
        line(`    pid_t pid = fork();`);
        line(`    if (pid < 0) die("fork");`);
        line(`    if (pid == 0) {`);
        line(`      me = ${P(e.child)};`);
        line(`      prctl(PR_SET_PDEATHSIG, SIGKILL); /* the first process gone: so is this one */`);
        line(`      if (getppid() != root_pid) _exit(2);`);
        line(`    } else {`);
        line(`      pid_of[${P(e.child)}] = pid;`);
        line(`  ${next}`);
        line(`    }`);
        break;
      case 'exit':
        line(`    _exit(0); /* ${procs[0]} waits for it and hands on the next step */`);
        break;
      case 'madv-dontneed':
      case 'madv-dontfork':
      case 'madv-dofork': {
        const [a, n] = range(e.addr, e.pages ?? 1);
        const advice = { 'madv-dontneed': 'MADV_DONTNEED', 'madv-dontfork': 'MADV_DONTFORK', 'madv-dofork': 'MADV_DOFORK' }[e.op];
        line(`    if (madvise(${a}, ${n}, ${advice})) die("madvise(${advice})");`);
        line(next);
        break;
      }
      case 'mprotect': {
        const i = vmaIndex(e.vma);
        line(`    if (mprotect(vma[${i}], ${spec.vmas[i]!.thp ? 'HPAGE' : `${spec.vmas[i]!.pages} * PAGE`}, ${prot(e.prot)})) die("mprotect");`);
        line(next);
        break;
      }
      case 'munmap': {
        const i = vmaIndex(e.vma);
        line(`    if (munmap(vma[${i}], ${spec.vmas[i]!.thp ? 'HPAGE' : `${spec.vmas[i]!.pages} * PAGE`})) die("munmap");`);
        line(next);
        break;
      }
    }
    line('  }');
    if (e.op === 'exit' && proc !== procs[0]) {
      line(`  if (me == ${P(procs[0]!)}) {`);
      line(`    if (waitpid(pid_of[${P(proc)}], NULL, 0) < 0) die("waitpid");`);
      line(`    pid_of[${P(proc)}] = 0;`);
      line(`    hand(${owner(step)}, ${step + 1});`);
      line('  }');
    }
  });
  line();
  line(`  /* The end: ${procs[0]} reads the pipes; every other process waits to be told to exit. */`);
  line(`  if (me != ${P(procs[0]!)}) {`);
  line(`    turn(-1);`);
  line(`    _exit(0);`);
  line('  }');
  line(`  turn(${ops.length + 1});`);
  line('  int bug = 0, fixed = 0;');
  for (const o of observed) {
    const r = R(o.ref);
    line(`  { /* reference "${o.ref}" of ${o.holder}: fixed if it reads ${o.fixed}, the modelled bug if ${o.leaked} */`);
    line(`    size_t n = drain(${r}, buf), same = 0, leaked = 0;`);
    line(`    if (n == 0) { printf("error: pipe \\"${o.ref}\\" is empty: vmsplice() took nothing\\n"); end_run(2); }`);
    line(`    for (size_t i = 0; i < n; i++) { same += buf[i] == ${o.fixed}; leaked += buf[i] == ${o.leaked}; }`);
    line(
      `    printf("pipe \\"${o.ref}\\" (vmsplice by ${o.holder}): %zu byte(s) read, %zu as when taken (${o.fixed}), %zu from the later write (${o.leaked})\\n", n, same, leaked);`,
    );
    line(`    if (leaked) bug = 1; else if (same == n) fixed++;`);
    line('  }');
  }
  line('  for (int i = 0; i < NPROC; i++)');
  line(`    if (i != ${P(procs[0]!)} && pid_of[i] > 0) { hand(i, -1); waitpid(pid_of[i], NULL, 0); }`);
  line(`  if (bug) { printf("bug: the kernel behaves as mmcheck's model of ${meta.kernel}: ${comment(meta.invariant).replace(/"/g, '')} is broken\\n"); return 1; }`);
  line(`  if (fixed == ${observed.length}) { printf("fixed: every pipe holds the page as it was when vmsplice() took it\\n"); return 0; }`);
  line('  printf("error: a pipe holds data that is neither\\n");');
  line('  end_run(2);');
  line('  return 2;');
  line('}');
  return `${L.join('\n')}\n`;
}

/** Finding a THP as cow.c does: the mode in sysfs, a 2 MiB-aligned MADV_HUGEPAGE range, AnonHugePages in smaps. */
function emitThpHelpers(line: (s?: string) => void): void {
  line('/* Is [p, p + len) backed by a THP (AnonHugePages in /proc/self/smaps)? */');
  line('static int thp_backed(char *p, size_t len) {');
  line('  FILE *f = fopen("/proc/self/smaps", "r");');
  line('  char l[256];');
  line('  int in = 0, ok = 0;');
  line('  if (!f) return 0;');
  line('  while (fgets(l, sizeof l, f)) {');
  line('    unsigned long lo, hi, kb;');
  line("    if (sscanf(l, \"%lx-%lx \", &lo, &hi) == 2 && strchr(l, '-') < strchr(l, ' ')) in = lo <= (unsigned long)p && (unsigned long)p < hi;");
  line('    else if (in && sscanf(l, "AnonHugePages: %lu kB", &kb) == 1) ok = kb * 1024 >= len;');
  line('  }');
  line('  fclose(f);');
  line('  return ok;');
  line('}');
  line();
  line('static char *map_thp(void) {');
  line('  FILE *f = fopen("/sys/kernel/mm/transparent_hugepage/enabled", "r");');
  line('  char mode[128] = "";');
  line('  if (!f || !fgets(mode, sizeof mode, f)) skip("no /sys/kernel/mm/transparent_hugepage/enabled: THP not available");');
  line('  fclose(f);');
  line('  if (strstr(mode, "[never]")) skip("transparent_hugepage/enabled is never");');
  line('  char *raw = mmap(NULL, 2 * HPAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);');
  line('  if (raw == MAP_FAILED) die("mmap");');
  line('  char *p = (char *)(((unsigned long)raw + HPAGE - 1) & ~(HPAGE - 1));');
  line('  if (madvise(p, HPAGE, MADV_HUGEPAGE)) die("madvise(MADV_HUGEPAGE)");');
  line('  return p;');
  line('}');
}

/**
 * Putting a page in swap as the trace's initial state needs swap space: with
 * none, a root program adds a swap file for its own run (removed at exit),
 * as cow.c's callers would; otherwise it skips with the reason.
 */
function emitSwapHelpers(line: (s?: string) => void): void {
  line('#ifndef MADV_PAGEOUT');
  line('#define MADV_PAGEOUT 21');
  line('#endif');
  line('#include <sys/swap.h>');
  line('static char swapfile[64];');
  line('/* Only the first process removes the swap file (atexit handlers are inherited by fork; the others _exit). */');
  line('static void drop_swap(void) { if (swapfile[0] && getpid() == root_pid) { swapoff(swapfile); unlink(swapfile); } }');
  line('static int have_swap(void) {');
  line('  FILE *f = fopen("/proc/swaps", "r");');
  line('  char l[256];');
  line('  int lines = 0;');
  line('  if (!f) return 0;');
  line('  while (fgets(l, sizeof l, f)) lines++;');
  line('  fclose(f);');
  line('  return lines > 1;');
  line('}');
  line('/* A 16 MiB swap file: zeros (no holes), then the header mkswap writes (version 1, last page, "SWAPSPACE2"). */');
  line('static void need_swap(void) {');
  line('  if (have_swap()) return;');
  line('  if (geteuid() != 0) skip("no swap space, and not root to add a swap file");');
  line('  snprintf(swapfile, sizeof swapfile, "/var/tmp/mmcheck-repro-swap-%d", (int)getpid());');
  line('  int fd = open(swapfile, O_CREAT | O_RDWR | O_TRUNC, 0600);');
  line('  if (fd < 0) skip("cannot create a swap file in /var/tmp");');
  line('  static char zero[PAGE];');
  line('  unsigned pages = 4096;');
  line('  for (unsigned i = 0; i < pages; i++) if (write(fd, zero, PAGE) != (ssize_t)PAGE) die("write swap file");');
  line('  unsigned head[3] = { 1, pages - 1, 0 };');
  line('  if (pwrite(fd, head, sizeof head, 1024) != (ssize_t)sizeof head || pwrite(fd, "SWAPSPACE2", 10, PAGE - 10) != 10 || fsync(fd)) die("write swap header");');
  line('  close(fd);');
  line('  atexit(drop_swap);');
  line('  if (swapon(swapfile, 0)) { printf("skip: swapon(%s): %s\\n", swapfile, strerror(errno)); unlink(swapfile); swapfile[0] = 0; exit(4); }');
  line('  printf("added swap file %s for this run\\n", swapfile);');
  line('}');
  line('/* Is the page at p swapped out (bit 62 of its /proc/self/pagemap entry)? */');
  line('static int swapped_out(char *p) {');
  line('  unsigned long long e = 0;');
  line('  int fd = open("/proc/self/pagemap", O_RDONLY);');
  line('  if (fd < 0 || pread(fd, &e, sizeof e, (off_t)((unsigned long)p / PAGE) * 8) != sizeof e) skip("cannot read /proc/self/pagemap");');
  line('  close(fd);');
  line('  return (int)((e >> 62) & 1);');
  line('}');
}
