/**
 * The built-in property `lock-order` (lockdep, exhaustive): the lock
 * dependencies an exploration took (model/lockdep.ts records them on every
 * transition; the engine gathers them from every worker) form a graph of
 * lock classes. A cycle in it is a possible deadlock, reported as lockdep
 * reports one: the chain of dependencies, the CPU0/CPU1 "possible unsafe
 * locking scenario", and a shortest trace to each acquisition of the cycle
 * (a search for the state where that dependency was just taken).
 *
 * The graph is kept in @dagrejs/graphlib (cycles: alg.findCycles for the
 * strongly connected components, alg.dijkstra for a shortest cycle in one);
 * `--lock-graph FILE.dot` writes it for Graphviz.
 */
import { alg, Graph } from '@dagrejs/graphlib';
import type { ExploreOptions, Invariant, PathStep } from '../checker/model.js';
import { exploreParallel } from '../checker/parallel.js';
import { exploreSequential } from '../checker/sequential.js';
import { createModel, mmFactory } from '../model/factory.js';
import { dependency, dependencyFrom, dependencyTo } from '../model/lockdep.js';
import { LOCK_CLASSES, lockClass } from '../model/locks.js';
import type { ScenarioSpec } from '../model/scenario.js';
import type { Variant } from '../model/variants.js';
import type { MMModel } from '../model/world.js';
import { minimize } from '../traces/minimize.js';
import { buildTrace, type Trace } from '../traces/trace.js';

/** One dependency "from -> to": `to` was taken while `from` was held, by these steps. */
export interface LockDependency {
  from: string;
  to: string;
  steps: string[];
}

export interface LockOrderResult {
  dependencies: LockDependency[];
  /** Lock classes of the cycle found, in order (each depends on the next, the last on the first); null: none. */
  cycle: string[] | null;
  /** lockdep's report of the cycle (text). */
  report?: string;
  /** A shortest trace to each acquisition of the cycle, in cycle order. */
  traces: Trace[];
  graph: Graph;
}

const className = (id: number) => lockClass(id).name;
const classId = (name: string) => LOCK_CLASSES.find((c) => c.name === name)!.id;

/** The dependency graph of an exploration's observations ("dependency@step" lines). */
export function lockGraph(observations: readonly string[], model: MMModel): { graph: Graph; dependencies: LockDependency[] } {
  const graph = new Graph({ directed: true });
  const steps = new Map<number, Set<string>>();
  for (const o of observations) {
    if (!/^\d+@\d+$/.test(o)) continue; // another record (model/switch-use.ts)
    const [d, a] = o.split('@').map(Number) as [number, number];
    if (!steps.has(d)) steps.set(d, new Set());
    steps.get(d)!.add(model.actionName(a));
  }
  const dependencies: LockDependency[] = [...steps.keys()]
    .sort((x, y) => x - y)
    .map((d) => ({ from: className(dependencyFrom(d)), to: className(dependencyTo(d)), steps: [...steps.get(d)!].sort() }));
  for (const x of dependencies) {
    graph.setNode(x.from);
    graph.setNode(x.to);
    graph.setEdge(x.from, x.to, x.steps);
  }
  return { graph, dependencies };
}

/**
 * A shortest cycle of the graph, deterministically: in the strongly
 * connected component with the smallest node name, from that node.
 */
export function findLockCycle(graph: Graph): string[] | null {
  const sccs = alg.findCycles(graph).map((c) => [...c].sort());
  if (sccs.length === 0) return null;
  sccs.sort((a, b) => a[0]!.localeCompare(b[0]!));
  const start = sccs[0]![0]!;
  const dist = alg.dijkstra(graph, start);
  // The predecessor of start closing the shortest cycle.
  let best: string | null = null;
  for (const p of (graph.predecessors(start) ?? []).sort()) {
    const d = dist[p]?.distance ?? Infinity;
    if (d === Infinity) continue;
    if (best === null || d < dist[best]!.distance) best = p;
  }
  if (best === null) return null;
  const path: string[] = [];
  for (let v: string | undefined = best; v !== undefined && v !== start; v = dist[v]?.predecessor) path.unshift(v);
  return [start, ...path];
}

/** The graph for Graphviz: one node per lock class, one edge per dependency, the cycle in red. */
export function lockGraphDot(graph: Graph, cycle: string[] | null): string {
  const inCycle = new Set(cycle ? cycle.map((c, i) => `${c}\u0000${cycle[(i + 1) % cycle.length]}`) : []);
  const q = (s: string) => JSON.stringify(s);
  const lines = ['digraph lock_order {', '  // An edge A -> B: B was taken while A was held (labels: the steps that did it).'];
  for (const n of [...graph.nodes()].sort()) lines.push(`  ${q(n)};`);
  for (const e of [...graph.edges()].sort((a, b) => `${a.v} ${a.w}`.localeCompare(`${b.v} ${b.w}`))) {
    const steps = graph.edge(e) as string[];
    const red = inCycle.has(`${e.v}\u0000${e.w}`) ? ', color=red, fontcolor=red' : '';
    lines.push(`  ${q(e.v)} -> ${q(e.w)} [label=${q(steps.join('\n'))}${red}];`);
  }
  lines.push('}');
  return `${lines.join('\n')}\n`;
}

/**
 * lockdep's "possible circular locking dependency" report for a cycle
 * c0 -> c1 -> ... -> c0 (each taken while the one before it was held).
 */
export function lockdepReport(cycle: string[], dependencies: readonly LockDependency[]): string {
  const dep = (a: string, b: string) => dependencies.find((d) => d.from === a && d.to === b)!;
  const n = cycle.length;
  const held = cycle[n - 1]!;
  const wanted = cycle[0]!;
  const closing = dep(held, wanted);
  const lines = [
    'WARNING: possible circular locking dependency detected',
    `${closing.steps[0]} is trying to acquire lock ${wanted}`,
    `but it already holds lock ${held}`,
    'which lock already depends on the new lock.',
    '',
    'the existing dependency chain (in reverse order) is:',
  ];
  for (let i = n - 1; i >= 0; i--) {
    const from = cycle[(i + n - 1) % n]!;
    const to = cycle[i]!;
    lines.push(`-> #${i} (${to}) taken while holding ${from}: ${dep(from, to).steps.join('; ')}`);
  }
  lines.push('');
  if (n > 2) lines.push(`Chain exists of: ${[...cycle, cycle[0]!].join(' --> ')}`, '');
  // CPU0 holds the last class and wants the first; CPU1 takes the first, then wants the last (through the chain).
  const pad = (s: string) => s.padEnd(32);
  lines.push(' Possible unsafe locking scenario:', '', `       ${pad('CPU0')}CPU1`, `       ${pad('----')}----`);
  lines.push(`  ${pad(`lock(${held});`)}`);
  lines.push(`  ${pad('')}lock(${wanted});`);
  lines.push(`  ${pad('')}lock(${held});`);
  lines.push(`  lock(${wanted});`, '', ' *** DEADLOCK ***');
  return lines.join('\n');
}

/**
 * Checks the lock order over an exploration's observations: the graph, a
 * cycle, and for each dependency of the cycle a shortest trace to a state
 * where it was just taken (a BFS with the same options, looking for it).
 */
export async function checkLockOrder(observations: readonly string[], model: MMModel, scenario: ScenarioSpec, variant: Variant, opts: ExploreOptions): Promise<LockOrderResult> {
  const { graph, dependencies } = lockGraph(observations, model);
  const cycle = findLockCycle(graph);
  if (!cycle) return { dependencies, cycle, traces: [], graph };
  const traces: Trace[] = [];
  for (let i = 0; i < cycle.length; i++) {
    const from = cycle[(i + cycle.length - 1) % cycle.length]!;
    const to = cycle[i]!;
    const d = dependency(classId(from), classId(to));
    const factory = mmFactory(scenario, variant, [], d);
    const witness = createModel(factory.args);
    const search = { ...opts, strategy: 'bfs' as const, stopAtFirst: true, onProgress: undefined };
    const r = (opts.workers ?? 1) > 0 ? await exploreParallel(factory, search) : await exploreSequential(factory, witness.model.actionCount, search);
    const v = r.violations[0];
    if (!v) throw new Error(`lock-order: the dependency ${from} -> ${to} was seen, but a search for it did not find it again`);
    const inv = witness.invariants[0] as Invariant;
    const m = minimize(witness.model, inv, v.path as PathStep[], false);
    const last = m.path[m.path.length - 1]!.state;
    const trace = buildTrace(witness.model, { invariant: 'lock-order', message: inv.check(last) ?? v.message, path: m.path }, m.optimal);
    trace.part = `lock-order-${i + 1}`;
    trace.lockDependency = `${from} -> ${to}`;
    traces.push(trace);
  }
  return { dependencies, cycle, report: lockdepReport(cycle, dependencies), traces, graph };
}
