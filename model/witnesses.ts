/**
 * Reachability witnesses of a run (stateright's "sometimes"): what must
 * happen on some explored path for a HOLDS to mean something. Three kinds:
 * each thread finishes (it exits, or runs its whole menu); the scenario's own
 * witnesses (a state, or an operation that completes); and the checked
 * invariants' witnesses (what the invariant is about happens). State
 * witnesses are checked by the engine on every new state until found;
 * completed operations are read from the coverage of the steps' outcomes.
 */
import type { Witness } from '../checker/model.js';
import type { MMInvariant } from '../invariants/invariant.js';
import { GUP_NONE, GUP_PENDING, gupKind } from './gup.js';
import type { StateView } from './kernel.js';
import { MM_FLAGS, MMF_GHOST_RETRACTED, PG_DATA, PG_THP } from './layout.js';
import { isPresent, PTE_DEVMAP, PTE_DEVPRIV, PTE_MIGRATION, PTE_PRESENT, PTE_SPECIAL, PTE_SWAP, PTE_WRITE, pteKind, pteTarget } from './pte.js';
import { statusWait, WAIT_ASLEEP } from './locks.js';
import { completedEntry, parseAt, parseCacheAt, type ScenarioSpec, type WitnessCondition } from './scenario.js';
import type { MMModel } from './world.js';

export type WitnessKind = 'thread' | 'scenario' | 'invariant';

export interface WitnessInfo {
  kind: WitnessKind;
  name: string;
  /** For a completed-operation witness: the menu entry. */
  completes?: { thread: number; entry: number };
}

/** The witnesses of a run, in the order they are reported. */
export function witnessPlan(sc: ScenarioSpec, invariants: readonly MMInvariant[]): WitnessInfo[] {
  const out: WitnessInfo[] = sc.threads.map((t) => ({ kind: 'thread', name: `thread ${t.name} finishes` }));
  (sc.witnesses ?? []).forEach((w, i) => {
    out.push('completes' in w ? { kind: 'scenario', name: w.name, completes: completedEntry(sc, w.completes, `witnesses[${i}].completes`) } : { kind: 'scenario', name: w.name });
  });
  for (const inv of invariants) for (const w of inv.witnesses ?? []) out.push({ kind: 'invariant', name: `${inv.name}: ${w.name}` });
  return out;
}

/** The state witnesses of the plan (those the engine checks), in plan order. */
export function stateWitnesses(model: MMModel, invariants: readonly MMInvariant[], view: StateView): Witness[] {
  const sc = model.scenario;
  const out: Witness[] = sc.threads.map((t, ti) => ({ name: `thread ${t.name} finishes`, check: (s: Int32Array) => model.threadFinished(s, ti) }));
  for (const w of sc.witnesses ?? []) {
    if (!('when' in w)) continue;
    const conds = w.when.map((c) => condition(sc, c));
    out.push({ name: w.name, check: (s) => conds.every((c) => c(view.bind(s))) });
  }
  for (const inv of invariants) {
    for (const w of inv.witnesses ?? []) {
      out.push({
        name: `${inv.name}: ${w.name}`,
        check: (s) => {
          view.bind(s);
          view.forgetReadable(); // a witness may read v.readable: not the last state's
          return w.check(view);
        },
      });
    }
  }
  return out;
}

export interface WitnessOutcome extends WitnessInfo {
  found: boolean;
  /** Depth of the first state found (-1: not found, or a completed operation). */
  depth: number;
}

/** Found or not, per witness of the plan: state witnesses from the engine, operations from the coverage. */
export function witnessOutcomes(plan: readonly WitnessInfo[], engine: readonly { found: boolean; depth: number }[], model: MMModel, coverage: Float64Array): WitnessOutcome[] {
  let k = 0;
  return plan.map((w) => {
    if (w.completes) return { ...w, found: model.completed(coverage, w.completes.thread, w.completes.entry), depth: -1 };
    // A search stopped before it could report (terminated at a deadline) found none.
    const e = engine[k++] ?? { found: false, depth: -1 };
    return { ...w, found: e.found, depth: e.depth };
  });
}

const MM_STATES = ['unused', 'live', 'exited', 'freed'];

/** Present to the MMU: a present PTE, or a DAX devmap one (which no page count follows). */
const present = (e: number): boolean => isPresent(e) || pteKind(e) === PTE_DEVMAP;

function condition(sc: ScenarioSpec, c: WitnessCondition): (v: StateView) => boolean {
  if ('ref' in c) {
    const g = refSlot(sc, c.ref);
    return (v) => {
      const r = v.gup(g);
      return (gupKind(r) !== GUP_NONE && !(r & GUP_PENDING)) === c.held;
    };
  }
  if ('mm' in c) {
    const m = sc.processes.indexOf(c.mm);
    const want = MM_STATES.indexOf(c.state);
    return (v) => v.mmState(m) === want;
  }
  if ('sleeps' in c) {
    const t = sc.threads.findIndex((x) => x.name === c.sleeps);
    return (v) => (statusWait(v.s[v.statusAt[t]!]!) & WAIT_ASLEEP) !== 0;
  }
  if ('retracted' in c) {
    const m = sc.processes.indexOf(c.retracted);
    return (v) => (v.mmWord(m, MM_FLAGS) & MMF_GHOST_RETRACTED) !== 0;
  }
  if ('cache' in c) {
    const { file, index } = parseCacheAt(sc, c.cache)!;
    return (v) => {
      const p = v.cachePage(file, index);
      return p !== 0 && v.pageWord(p, PG_DATA) === c.data && (c.thp === undefined || v.pageTest(v.folioHead(p), PG_THP) === c.thp);
    };
  }
  const { mm, addr } = parseAt(sc, c.at)!;
  if ('data' in c) {
    return (v) => {
      const e = v.mapped(mm, addr);
      if (!present(e)) return false;
      return (e & PTE_SPECIAL ? 0 : v.pageWord(pteTarget(e), PG_DATA)) === c.data;
    };
  }
  switch (c.pte) {
    // As the MMU sees the address: a huge pmd maps it too (StateView.mapped).
    case 'none':
      return (v) => v.mapped(mm, addr) === 0;
    case 'present':
      return (v) => present(v.mapped(mm, addr));
    case 'writable':
      return (v) => present(v.mapped(mm, addr)) && (v.mapped(mm, addr) & PTE_WRITE) !== 0;
    case 'readonly':
      return (v) => present(v.mapped(mm, addr)) && (v.mapped(mm, addr) & PTE_WRITE) === 0;
    case 'zeropage':
      return (v) => isPresent(v.mapped(mm, addr)) && (v.mapped(mm, addr) & PTE_SPECIAL) !== 0;
    case 'swap':
      return (v) => pteKind(v.pte(mm, addr)) === PTE_SWAP;
    case 'migration':
      // A PTE migration entry, or a PMD migration entry over the address.
      return (v) => pteKind(v.mapped(mm, addr)) === PTE_MIGRATION;
    case 'huge':
      return (v) => v.hugePmds > 0 && v.hugePmd(mm);
    case 'device-private':
      return (v) => pteKind(v.pte(mm, addr)) === PTE_DEVPRIV;
    case 'device':
      // A present (coherent memory, 6.15's DAX) or devmap PTE of a device page.
      return (v) => {
        const e = v.pte(mm, addr);
        return (pteKind(e) === PTE_PRESENT || pteKind(e) === PTE_DEVMAP) && pteTarget(e) > v.frames;
      };
    case 'thp-pte':
      // A PTE (not a huge pmd) maps a page of a THP: a PTE-mapped THP.
      return (v) => {
        const e = v.pte(mm, addr);
        return isPresent(e) && !(e & PTE_SPECIAL) && v.pageTest(v.folioHead(pteTarget(e)), PG_THP);
      };
  }
}

/** The GUP slot of a reference: slots are numbered in the order the scenario's gup entries take them. */
function refSlot(sc: ScenarioSpec, ref: string): number {
  const refs: string[] = [];
  for (const t of sc.threads) for (const e of t.menu) if (e.op === 'gup') refs.push(e.ref);
  return refs.indexOf(ref);
}
