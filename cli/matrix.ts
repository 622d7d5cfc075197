/**
 * mmcheck matrix: one scenario's verdict on every release of a range, per
 * invariant (and, with --patch/--revert/--mutant, a second strip with those
 * changes on every release), as text, Markdown, JSON and a self-contained
 * HTML page. Releases share runs (cli/history.ts).
 */
import { writeFileSync } from 'node:fs';
import { findSwitch } from '../model/variants.js';
import { type Cell, checkChangeNames, type HistoryOptions, History, shardReleases, type KernelSpec, pool, type RunRecord, releaseRange } from './history.js';
import { checkOutputFile, interruptedCode } from './check.js';
import { EXIT_HOLDS, EXIT_INCOMPLETE, EXIT_OUTPUT_LOST, UsageError } from './usage.js';
import { thousands } from './format.js';

export interface MatrixRequest extends Omit<HistoryOptions, 'invariant'> {
  invariants: string[];
  kernels?: string;
  patch: string[];
  revert: string[];
  mutants: string[];
  jobs: number;
  format: 'text' | 'markdown' | 'json';
  html?: string;
  /** Only this share of the releases (their runs go to the cache). */
  shard?: { i: number; n: number };
}

export interface Strip {
  invariant: string;
  /** The changes made to every release ('' for none). */
  change: string;
  cells: Cell[];
}

export interface MatrixResult {
  releases: string[];
  strips: Strip[];
  /** Distinct runs, in order of first use. */
  runs: RunRecord[];
  ran: number;
  cached: number;
  cacheError?: string;
}

/** The verdicts, computed: each strip's releases in order, --jobs at a time. */
export async function computeMatrix(req: MatrixRequest): Promise<MatrixResult> {
  const all = releaseRange(req.kernels);
  checkChangeNames(req);
  const releases = req.shard ? shardReleases(all, req.shard) : all;
  const changed = req.patch.length + req.revert.length + req.mutants.length > 0;
  const variants: { change: string; spec: (r: string) => KernelSpec }[] = [{ change: '', spec: (r) => ({ kernel: r, patch: [], revert: [], mutants: [] }) }];
  if (changed) {
    const change = [...req.patch.map((p) => `+${p}`), ...req.revert.map((p) => `-${p}`), ...req.mutants.map((m) => `MUTANT ${m}`)].join(' ');
    variants.push({ change, spec: (r) => ({ kernel: r, patch: req.patch, revert: req.revert, mutants: req.mutants }) });
  }
  const histories = req.invariants.map((invariant) => new History({ ...req, invariant }));
  const tasks = histories.flatMap((h) => variants.map((v) => ({ h, v })));
  const strips: Strip[] = [];
  for (const { h, v } of tasks) {
    const cells = await pool(releases, req.jobs, (r) => h.cell(v.spec(r), r));
    strips.push({ invariant: h.opts.invariant, change: v.change, cells });
  }
  const runs: RunRecord[] = [];
  for (const s of strips) for (const c of s.cells) if (c.run && !runs.includes(c.run)) runs.push(c.run);
  const cached = new Set(strips.flatMap((s) => s.cells.filter((c) => c.served === 'cached').map((c) => c.run)));
  const cacheError = histories.find((h) => h.cacheError)?.cacheError;
  return { releases, strips, runs, ran: histories.reduce((a, h) => a + h.ran, 0), cached: cached.size, ...(cacheError ? { cacheError } : {}) };
}

export function verdictWord(c: Cell): string {
  switch (c.verdict) {
    case 'holds':
      return 'holds';
    case 'violated':
      return 'VIOLATED';
    case 'deadlock':
      return 'DEADLOCK';
    case 'incomplete':
      return 'INCOMPLETE';
    case 'vacuous':
      return 'VACUOUS';
    case 'not-applicable':
      return 'not applicable';
    default:
      return 'not modelled';
  }
}

/** Consecutive releases with the same outcome (the same run, or the same reason for none). */
export function ranges(cells: readonly Cell[]): Cell[][] {
  const out: Cell[][] = [];
  for (const c of cells) {
    const last = out[out.length - 1];
    const prev = last?.[last.length - 1];
    if (prev && (prev.run ? prev.run === c.run : !c.run && prev.verdict === c.verdict && prev.reason === c.reason)) last!.push(c);
    else out.push([c]);
  }
  return out;
}

const span = (g: readonly Cell[]): string => (g.length === 1 ? g[0]!.kernel : `${g[0]!.kernel} .. ${g[g.length - 1]!.kernel}`);

function runLine(g: readonly Cell[], runs: readonly RunRecord[]): string {
  const c = g[0]!;
  if (!c.run) return c.reason ?? '';
  const n = runs.indexOf(c.run) + 1;
  const how = g.some((x) => x.served === 'ran') ? 'ran' : g[0]!.served === 'cached' ? 'from the cache' : 'shared';
  return `run #${n} (${how}; on ${c.run.ranOn}: ${thousands(c.run.states)} states, ${c.run.seconds.toFixed(2)} s)`;
}

function summary(m: MatrixResult): string {
  const cells = m.strips.reduce((a, s) => a + s.cells.length, 0);
  const checked = m.strips.reduce((a, s) => a + s.cells.filter((c) => c.run).length, 0);
  return (
    `${cells} kernel${cells === 1 ? '' : 's'} (${m.releases.length} releases x ${m.strips.length} strip${m.strips.length === 1 ? '' : 's'}), ${checked} checked: ` +
    `${m.runs.length} distinct run${m.runs.length === 1 ? '' : 's'} (${m.ran} ran now, ${m.cached} from the cache), ${checked - m.runs.length} shared a run`
  );
}

export function matrixText(req: MatrixRequest, m: MatrixResult): string {
  const lines = [
    `mmcheck matrix: scenario ${req.scenario}, kernels ${m.releases[0]} .. ${m.releases[m.releases.length - 1]}${req.depth !== undefined ? `, depth <= ${req.depth}` : ''}`,
  ];
  for (const s of m.strips) {
    lines.push('', `${s.invariant}${s.change ? ` with ${s.change}` : ''}:`);
    for (const g of ranges(s.cells)) lines.push(`  ${span(g).padEnd(14)} ${verdictWord(g[0]!).padEnd(14)} ${runLine(g, m.runs)}`);
  }
  lines.push('', summary(m));
  for (const s of m.strips) for (const g of ranges(s.cells)) if (g[0]!.run?.message) lines.push(`  run #${m.runs.indexOf(g[0]!.run) + 1}: ${g[0]!.run.message}`);
  return [...new Set(lines)].join('\n');
}

export function matrixMarkdown(req: MatrixRequest, m: MatrixResult): string {
  const lines = [`### mmcheck matrix: ${req.scenario}`, ''];
  for (const s of m.strips) {
    lines.push(`**${s.invariant}${s.change ? ` with ${s.change}` : ''}**`, '', '| releases | verdict | run |', '|---|---|---|');
    for (const g of ranges(s.cells)) lines.push(`| ${span(g)} | ${verdictWord(g[0]!)} | ${runLine(g, m.runs).replace(/\|/g, '\\|')} |`);
    lines.push('');
  }
  lines.push(summary(m));
  return lines.join('\n');
}

export function matrixJson(req: MatrixRequest, m: MatrixResult) {
  return {
    scenario: req.scenario,
    releases: m.releases,
    depth: req.depth ?? null,
    strips: m.strips.map((s) => ({
      invariant: s.invariant,
      change: s.change,
      cells: s.cells.map((c) => ({
        kernel: c.kernel,
        verdict: c.verdict,
        ...(c.reason ? { reason: c.reason } : {}),
        ...(c.run ? { run: m.runs.indexOf(c.run) + 1, served: c.served } : {}),
      })),
    })),
    runs: m.runs.map((r, i) => ({ run: i + 1, ...r, trace: undefined })),
    distinctRuns: m.runs.length,
    ran: m.ran,
    fromCache: m.cached,
  };
}

const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const COLOR: Record<string, string> = { holds: '#2e7d32', violated: '#c62828', deadlock: '#6a1b9a', incomplete: '#ef6c00', vacuous: '#9e9d24' };

/** One self-contained page: a strip per invariant, a cell per release linking to its run's trace. */
export function matrixHtml(req: MatrixRequest, m: MatrixResult): string {
  const strips = m.strips
    .map((s) => {
      const cells = s.cells
        .map((c) => {
          const n = c.run ? m.runs.indexOf(c.run) + 1 : 0;
          const title = `${c.kernel}: ${verdictWord(c)}${c.reason ? ` (${c.reason})` : ''}${n ? `, run #${n}` : ''}`;
          const style = `background:${COLOR[c.verdict] ?? '#bdbdbd'}`;
          return n
            ? `<a class="cell" style="${style}" href="#run-${n}" title="${esc(title)}">${esc(c.kernel)}</a>`
            : `<span class="cell" style="${style}" title="${esc(title)}">${esc(c.kernel)}</span>`;
        })
        .join('');
      return `<h2>${esc(s.invariant)}${s.change ? ` with ${esc(s.change)}` : ''}</h2><div class="strip">${cells}</div>`;
    })
    .join('\n');
  const runs = m.runs
    .map((r, i) => {
      const sw = r.used
        .map((u) => {
          const info = findSwitch(u);
          return `${r.on.includes(u) ? '+' : '-'}${esc(u)}${info ? ` (${esc(info.commit)})` : ''}`;
        })
        .join(', ');
      return (
        `<section id="run-${i + 1}"><h3>run #${i + 1}: ${esc(r.verdict)} on ${esc(r.ranOn)}</h3>` +
        `<p>${thousands(r.states)} states, ${thousands(r.transitions)} transitions, ${r.seconds.toFixed(2)} s. Switches it consulted: ${sw || 'none'}.</p>` +
        (r.message ? `<p><b>${esc(r.message)}</b></p>` : '') +
        (r.trace ? `<pre>${esc(r.trace)}</pre>` : '') +
        '</section>'
      );
    })
    .join('\n');
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>mmcheck matrix: ${esc(req.scenario)}</title>
<style>body{font:14px system-ui,sans-serif;margin:1.5em;max-width:1400px}.strip{display:flex;flex-wrap:wrap;gap:2px}
.cell{display:inline-block;min-width:3.2em;padding:.3em .2em;text-align:center;color:#fff;text-decoration:none;font-size:12px;border-radius:2px}
pre{background:#f5f5f5;padding:.8em;overflow-x:auto;white-space:pre-wrap}</style></head><body>
<h1>mmcheck matrix: scenario ${esc(req.scenario)}</h1><p>${esc(summary(m))}</p>
${strips}
<h2>Runs</h2>
${runs}
</body></html>
`;
}

/** Runs `matrix`: the exit code and the text to print. */
export async function matrix(req: MatrixRequest): Promise<{ code: number; out: string }> {
  if (req.html !== undefined) checkOutputFile('--html', req.html);
  if (req.shard && req.cacheDir === null) throw new UsageError('--shard fills the cache that an unsharded run then reads: it needs the cache (drop --no-cache)');
  const m = await computeMatrix(req);
  const notes: string[] = [];
  if (req.shard)
    notes.push(
      `shard ${req.shard.i}/${req.shard.n}: ${m.releases.length} release(s) of the range checked, their runs in the cache ${req.cacheDir}; run matrix without --shard on the same cache for the whole matrix`,
    );
  let lost = false;
  if (req.html !== undefined) {
    try {
      writeFileSync(req.html, matrixHtml(req, m));
      notes.push(`wrote the matrix page to ${req.html}`);
    } catch (e) {
      lost = true;
      notes.push(`error: could not write ${req.html}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
  }
  if (m.cacheError) {
    lost = true;
    notes.push(`error: ${m.cacheError}`);
  }
  const incomplete = m.strips.some((s) => s.cells.some((c) => c.verdict === 'incomplete'));
  const code = interruptedCode(req.signal) ?? (lost ? EXIT_OUTPUT_LOST : incomplete ? EXIT_INCOMPLETE : EXIT_HOLDS);
  if (req.format === 'json') return { code, out: JSON.stringify({ ...matrixJson(req, m), ...(notes.length ? { notes } : {}) }, null, 2) };
  const body = req.format === 'markdown' ? matrixMarkdown(req, m) : matrixText(req, m);
  return { code, out: [body, ...notes].join('\n') };
}
