/**
 * The HTML trace viewer in a real browser: Debian's Chromium, driven by
 * playwright-core. The page must load from a file with no network and no
 * console errors, stepping must change the drawing, and the screenshot must
 * not be blank. Skipped only where Chromium is missing and not required
 * (.ci/run installs it and sets MMCHECK_REQUIRE_BROWSER=1).
 */
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { findInvariant, toEngineInvariant } from '../../invariants/registry.js';
import { traceToHtml } from '../../traces/html.js';
import { minimize } from '../../traces/minimize.js';
import { buildTrace } from '../../traces/trace.js';
import { check } from '../helpers.js';

const CHROMIUM = '/usr/bin/chromium';
const required = process.env.MMCHECK_REQUIRE_BROWSER === '1';
const have = existsSync(CHROMIUM);
if (required && !have) throw new Error(`MMCHECK_REQUIRE_BROWSER=1 but ${CHROMIUM} is missing`);

function traceHtmlFile(scenario: string, kernel: string, invariant: string): { file: string; steps: number } {
  const { result, model } = check(scenario, kernel, [invariant]);
  const v = result.violations[0]!;
  const inv = toEngineInvariant(findInvariant(invariant)!, model.view(new Int32Array(model.stateWords)));
  const best = minimize(model, inv, v.path, false);
  const trace = buildTrace(model, { ...v, path: best.path });
  const file = join(mkdtempSync(join(tmpdir(), 'mmcheck-html-')), `${scenario}.html`);
  writeFileSync(file, traceToHtml(trace, { kernel, scenario }));
  return { file, steps: trace.steps.length };
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

describe.skipIf(!have && !required)('HTML trace viewer in headless Chromium', () => {
  let browser: Browser;
  beforeAll(async () => {
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
  });

  test('loads offline with no console errors; arrow keys and the slider step; the violation shows at the end', async () => {
    const { file, steps } = traceHtmlFile('cow-fork-gup', '5.7', 'cow-isolation');
    const page = await browser.newPage({ viewport: { width: 1300, height: 900 } });
    const errors: string[] = [];
    const requests: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(m.text());
    });
    page.on('pageerror', (e) => errors.push(String(e)));
    page.on('request', (r) => {
      if (!r.url().startsWith('file:') && !r.url().startsWith('data:')) requests.push(r.url());
    });
    await page.goto(`file://${file}`);

    const drawing = (): Promise<string> => page.evaluate(`document.getElementById('stage').innerText + '|' + document.getElementById('arrows').dataset.arrows`);
    expect(await page.textContent('#pos')).toMatch(new RegExp(`0 / ${steps}`));
    expect(await page.isVisible('#violation')).toBe(false);
    expect(Number(await page.getAttribute('#arrows', 'data-arrows'))).toBe(1); // P:0 -> its page
    const at0 = await drawing();
    const shot0 = await page.screenshot({ fullPage: true });

    await page.keyboard.press('ArrowRight');
    expect(await page.textContent('#pos')).toMatch(new RegExp(`1 / ${steps}`));
    const at1 = await drawing();
    expect(at1).not.toBe(at0);
    expect(await page.locator('.changed').count()).toBeGreaterThan(0);
    // The first step is fork: the child's page table appears, with an arrow to the shared frame.
    expect(at1).toMatch(/process C/);
    expect(Number(await page.getAttribute('#arrows', 'data-arrows'))).toBe(2); // P:0 and C:0 -> the same frame

    await page.keyboard.press('ArrowLeft');
    expect(await drawing()).toBe(at0);

    await page.locator('#slider').fill(String(steps));
    expect(await page.textContent('#pos')).toMatch(new RegExp(`${steps} / ${steps}`));
    expect(await page.isVisible('#violation')).toBe(true);
    expect(await page.textContent('#violation')).toMatch(/VIOLATED cow-isolation: P:0 maps pfn \d+ writable while C holds GUP reference "pipe"/);
    const shotEnd = await page.screenshot({ fullPage: true });

    for (const png of [shot0, shotEnd]) {
      const { ink, colours } = await inkRatio(page, png);
      expect(ink).toBeGreaterThan(0.02);
      expect(colours).toBeGreaterThan(8);
    }
    expect(shotEnd.equals(shot0)).toBe(false);
    writeFileSync(join(tmpdir(), 'mmcheck-viewer-last-step.png'), shotEnd); // to look at by hand
    expect(errors).toEqual([]);
    expect(requests).toEqual([]);
    await page.close();
  }, 60_000);

  test('a file-backed trace (page cache, migration entries) draws without errors too', async () => {
    const { file, steps } = traceHtmlFile('zap-migrate', '5.17', 'no-stale-migration');
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(m.text());
    });
    await page.goto(`file://${file}`);
    for (let i = 0; i < steps; i++) await page.keyboard.press('ArrowRight');
    expect(await page.textContent('#pos')).toMatch(new RegExp(`${steps} / ${steps}`));
    expect(await page.textContent('#other')).toMatch(/page cache/);
    expect(await page.isVisible('#violation')).toBe(true);
    expect(errors).toEqual([]);
    await page.close();
  }, 60_000);
});
