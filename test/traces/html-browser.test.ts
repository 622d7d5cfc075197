/**
 * The HTML trace viewer in a real browser: Debian's Chromium, driven by
 * playwright-core. The page must load from a file with no network and no
 * console errors, stepping must change the drawing, and the screenshot must
 * not be blank. Skipped only where Chromium is missing and not required
 * (.ci/run installs it and sets MMCHECK_REQUIRE_BROWSER=1).
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { describe, expect, test } from 'vitest';
import { findInvariant, toEngineInvariant } from '../../invariants/registry.js';
import { traceToHtml } from '../../traces/html.js';
import { minimize } from '../../traces/minimize.js';
import { buildTrace } from '../../traces/trace.js';
import { browserHere, useBrowser } from '../browser.js';
import { check } from '../helpers.js';

function traceHtmlFile(scenario: string, kernel: string, invariant: string): { file: string; steps: number; message: string } {
  const { result, model } = check(scenario, kernel, [invariant]);
  const v = result.violations[0]!;
  const inv = toEngineInvariant(findInvariant(invariant)!, model.view(new Int32Array(model.stateWords)));
  const best = minimize(model, inv, v.path, false);
  const trace = buildTrace(model, { ...v, path: best.path });
  const file = join(mkdtempSync(join(tmpdir(), 'mmcheck-html-')), `${scenario}.html`);
  writeFileSync(file, traceToHtml(trace, { kernel, scenario, spec: model.scenario, switches: [...model.variant.switches], mutants: [...model.variant.mutants] }));
  return { file, steps: trace.steps.length, message: trace.message };
}

/** Share of the screenshot's pixels that are not the page background, measured in the page itself. */
async function inkRatio(page: Page, png: Buffer): Promise<{ ink: number; colours: number }> {
  // Runs in the page (a string, as this project compiles without the DOM types).
  return page.evaluate(`(async () => {
    const img = new Image();
    img.src = 'data:image/png;base64,${png.toString('base64')}';
    await img.decode();
    const c = document.createElement('canvas');
    c.width = img.width;
    c.height = img.height;
    const g = c.getContext('2d');
    g.drawImage(img, 0, 0);
    const d = g.getImageData(0, 0, c.width, c.height).data;
    const bg = d[0] + ',' + d[1] + ',' + d[2];
    let ink = 0, n = 0;
    const colours = new Set();
    for (let i = 0; i < d.length; i += 4 * 7) {
      const k = d[i] + ',' + d[i + 1] + ',' + d[i + 2];
      colours.add(k);
      n++;
      if (k !== bg) ink++;
    }
    return { ink: ink / n, colours: colours.size };
  })()`);
}

describe.skipIf(!browserHere)('HTML trace viewer in headless Chromium', () => {
  const browser = useBrowser();

  /** A page that records console errors and any request that leaves the file. */
  async function open(file: string, width = 1300, hash = ''): Promise<{ page: Page; errors: string[]; requests: string[] }> {
    const page = await browser().newPage({ viewport: { width, height: 900 } });
    const errors: string[] = [];
    const requests: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(m.text());
    });
    page.on('pageerror', (e) => errors.push(String(e)));
    page.on('request', (r) => {
      if (!r.url().startsWith('file:') && !r.url().startsWith('data:')) requests.push(r.url());
    });
    await page.goto(`file://${file}${hash}`);
    return { page, errors, requests };
  }
  const pos = (page: Page) => page.textContent('#pos');
  /** Every box, section and the page itself whose content is wider than it (text running out of its box). */
  const overflowing = (page: Page): Promise<string[]> =>
    page.evaluate(`[...document.querySelectorAll('.box, .row, #step, #lanes, #verdict, #summary, #about, nav, header, #legend, #cols, .col')]
      .filter((e) => e.scrollWidth > e.clientWidth + 1)
      .map((e) => (e.dataset.box || e.dataset.key || e.id || e.className) + ' ' + e.scrollWidth + '>' + e.clientWidth)
      .concat(document.documentElement.scrollWidth > document.documentElement.clientWidth ? ['the page: ' + document.documentElement.scrollWidth] : [])`);
  /** The arrows drawn: kind from -> to. */
  const arrows = (page: Page): Promise<string[]> =>
    page.evaluate(`[...document.querySelectorAll('#arrows path')].map((p) => p.dataset.kind + ' ' + p.dataset.from + ' -> ' + p.dataset.to)`);
  /** Each box's column position (its left edge), by box. */
  const columns = (page: Page): Promise<Record<string, number>> =>
    page.evaluate(`Object.fromEntries([...document.querySelectorAll('.box')].map((b) => [b.dataset.box, Math.round(b.getBoundingClientRect().left)]))`);

  test('opens at the violation: the message on top, the offending PTE, reference and frame outlined; #step=N opens step N', async () => {
    const { file, steps, message } = traceHtmlFile('cow-fork-gup', '5.7', 'cow-isolation');
    const { page, errors, requests } = await open(file);
    expect(await pos(page)).toBe(`step ${steps} / ${steps}`);
    expect(await page.textContent('#verdict')).toBe(`VIOLATED cow-isolation: ${message}`);
    const outlined = await page.evaluate(`[...document.querySelectorAll('.offending')].map((e) => e.dataset.key || e.dataset.box).sort()`);
    expect(outlined).toEqual(['P:0', 'pfn 1', 'ref "pipe"']);
    expect(await arrows(page)).toEqual(expect.arrayContaining(['map P:0 -> pfn 1', 'gup ref "pipe" -> pfn 1', 'through ref "pipe" -> C:0']));
    await page.close();

    const at2 = await open(file, 1300, '#step=2');
    expect(await pos(at2.page)).toBe(`step 2 / ${steps}`);
    expect(await at2.page.locator('.offending').count()).toBe(0);
    await at2.page.keyboard.press('ArrowRight');
    expect(at2.page.url()).toMatch(/#step=3$/);
    await at2.page.close();
    expect([...errors, ...at2.errors]).toEqual([]);
    expect([...requests, ...at2.requests]).toEqual([]);
  }, 60_000);

  test('one step per key press, with the slider focused too; buttons and lane cells step', async () => {
    const { file, steps } = traceHtmlFile('cow-fork-gup', '5.7', 'cow-isolation');
    const { page, errors } = await open(file, 1300, '#step=0');
    expect(await pos(page)).toBe(`step 0 / ${steps}`);
    await page.keyboard.press('ArrowRight');
    expect(await pos(page)).toBe(`step 1 / ${steps}`);
    await page.focus('#slider');
    await page.keyboard.press('ArrowRight');
    expect(await pos(page)).toBe(`step 2 / ${steps}`);
    expect(await page.inputValue('#slider')).toBe('2');
    await page.keyboard.press('ArrowLeft');
    expect(await pos(page)).toBe(`step 1 / ${steps}`);
    await page.click('#next');
    expect(await pos(page)).toBe(`step 2 / ${steps}`);
    await page.click('#prev');
    expect(await pos(page)).toBe(`step 1 / ${steps}`);
    await page.keyboard.press('End');
    expect(await pos(page)).toBe(`step ${steps} / ${steps}`);
    await page.click('#lanes td[data-step="3"].took');
    expect(await pos(page)).toBe(`step 3 / ${steps}`);
    expect(errors).toEqual([]);
    await page.close();
  }, 60_000);

  test('every changed field shows before -> after, the old value struck through', async () => {
    const { file } = traceHtmlFile('cow-fork-gup', '5.7', 'cow-isolation');
    const { page } = await open(file, 1300, '#step=4');
    const before = (await page.textContent('.row[data-key="P:0"]'))!;
    await page.keyboard.press('ArrowRight');
    // Step 5: do_wp_page reuses the page, P:0 becomes writable.
    const row = page.locator('.row[data-key="P:0"]');
    expect(await row.getAttribute('class')).toContain('changed');
    expect(await row.locator('del').textContent()).toBe(before.replace(/^P:0: /, ''));
    expect(await row.locator('ins').textContent()).toBe('present(pfn 1, rw, dirty)');
    expect(await page.locator('#step del').count()).toBeGreaterThan(0);
    // A row that did not change shows its value only.
    expect(await page.locator('.row[data-key="pfn 1 data"]').getAttribute('class')).not.toContain('changed');
    await page.close();
  }, 60_000);

  test('links: each kernel function to the release on elixir, each switch to its commit; the scenario and invariant are on the page', async () => {
    const { file } = traceHtmlFile('cow-swap-gup', '5.17', 'cow-isolation');
    const { page } = await open(file);
    await page.click('#about summary');
    const hrefs: string[] = await page.evaluate(`[...document.querySelectorAll('a[href^="http"]')].map((a) => a.href)`);
    const elixir = hrefs.filter((h) => h.includes('elixir'));
    const commits = hrefs.filter((h) => h.includes('git.kernel.org'));
    expect(elixir.length).toBeGreaterThan(0);
    for (const h of elixir) expect(h).toMatch(/^https:\/\/elixir\.bootlin\.com\/linux\/v5\.17\/A\/ident\/\w+$/);
    expect(commits.length).toBeGreaterThan(5);
    for (const h of commits) expect(h).toMatch(/^https:\/\/git\.kernel\.org\/pub\/scm\/linux\/kernel\/git\/torvalds\/linux\.git\/commit\/\?id=[0-9a-f]{12,40}$/);
    const about = (await page.textContent('#about'))!;
    expect(about).toContain('cow-isolation: ');
    expect(about).toContain('"name": "cow-swap-gup"');
    for (let i = 1; i <= 11; i++) {
      await page.keyboard.press(i === 1 ? 'Home' : 'ArrowRight');
      if (i > 1)
        for (const a of await page.locator('#step a').all()) expect(await a.getAttribute('href')).toMatch(/^https:\/\/elixir\.bootlin\.com\/linux\/v5\.17\/A\/ident\/\w+$/);
    }
    await page.close();
  }, 60_000);

  const REVIEW = [
    ['cow-swap-gup', '5.17', 'cow-isolation', ['swap P:0 -> swap slot 0']],
    ['reclaim-gup-fast', '5.10', 'pin-coherent', ['gup ref "dma" -> pfn 1', 'map P:0 -> pfn 2', 'swapcache pfn 1 -> swap slot 0']],
    ['zap-migrate', '5.17', 'no-stale-migration', ['migration P:0 -> pfn 1', 'migrate-to pfn 1 -> pfn 3', 'cache memfd page cache[1] -> pfn 2']],
  ] as const;
  for (const [scenario, kernel, invariant, relations] of REVIEW)
    test(`${scenario} on ${kernel}: no overflow at 1000-1920 px on any step, columns fixed, relations drawn, screenshots`, async () => {
      const { file, steps } = traceHtmlFile(scenario, kernel, invariant);
      const seen = new Set<string>();
      for (const width of [1000, 1366, 1920]) {
        const { page, errors, requests } = await open(file, width, '#step=0');
        const cols = await columns(page);
        for (let i = 0; i <= steps; i++) {
          if (i > 0) await page.keyboard.press('ArrowRight');
          expect(await pos(page)).toBe(`step ${i} / ${steps}`);
          expect(await overflowing(page), `step ${i} at ${width} px`).toEqual([]);
          expect(await columns(page)).toEqual(cols);
          for (const a of await arrows(page)) seen.add(a);
        }
        const shot = await page.screenshot({ fullPage: true });
        const { ink, colours } = await inkRatio(page, shot);
        expect(ink).toBeGreaterThan(0.02);
        expect(colours).toBeGreaterThan(8);
        writeFileSync(join(tmpdir(), `mmcheck-viewer-${scenario}-${width}.png`), shot); // looked at by hand
        expect(errors).toEqual([]);
        expect(requests).toEqual([]);
        await page.close();
      }
      for (const r of relations) expect([...seen]).toContain(r);
    }, 120_000);
});
