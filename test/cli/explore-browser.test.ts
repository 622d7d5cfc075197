/**
 * mmcheck explore, as a user drives it: the server started as a command, the
 * page in Debian's Chromium (playwright-core), real clicks on the enabled
 * steps: take three, step back, branch off at an earlier step, reach the
 * CVE-2020-29374 violation by hand; Ctrl-C stops the server with exit 0.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { connect } from 'node:net';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { describe, expect, test } from 'vitest';
import { browserHere, useBrowser } from '../browser.js';
import { mmcheck } from '../helpers.js';

const BIN = new URL('../../bin/mmcheck.js', import.meta.url).pathname;

/** Starts `mmcheck explore ARGS --port 0` and waits for the URL it prints. */
function serve(...args: string[]): Promise<{ child: ChildProcess; url: string; output: () => string }> {
  const child = spawn(process.execPath, [BIN, 'explore', ...args, '--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`no URL: ${out}`)), 20_000);
    child.stdout!.on('data', () => {
      const m = /mmcheck explore: (http:\/\/127\.0\.0\.1:\d+\/) \(Ctrl-C stops\)/.exec(out);
      if (m) {
        clearTimeout(t);
        resolve({ child, url: m[1]!, output: () => out });
      }
    });
    child.on('exit', () => reject(new Error(`exited: ${out}`)));
  });
}

function stopped(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => {
    child.on('exit', (code) => resolve(code));
    child.kill('SIGINT');
  });
}

describe.skipIf(!browserHere)('mmcheck explore in headless Chromium', () => {
  const browser = useBrowser();

  const pos = (page: Page) => page.textContent('#pos');
  /** Clicks the enabled step whose text starts with `text` and waits for the path to grow to `steps`. */
  async function take(page: Page, text: string, steps: number): Promise<void> {
    await page.locator('#enabled button', { hasText: text }).first().click();
    await page.waitForFunction(`document.getElementById('pos').textContent === 'step ${steps} / ${steps}'`);
  }
  const verdict = (page: Page, name: string) => page.getAttribute(`#invariants [data-invariant="${name}"]`, 'data-verdict');

  test('take three steps, step back, branch off, reach the violation by hand; Ctrl-C stops the server', async () => {
    const { child, url, output } = await serve('-s', 'cow-fork-gup', '-k', '5.7');
    const page = await browser().newPage({ viewport: { width: 1300, height: 900 } });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(m.text());
    });
    await page.goto(url);
    await page.waitForSelector('#enabled button');
    expect(await pos(page)).toBe('step 0 / 0');
    expect(await page.textContent('#verdict')).toBe('exploring: no invariant is violated at step 0');
    // Every invariant is evaluated on the state shown.
    expect(await page.locator('#invariants .inv').count()).toBeGreaterThan(10);
    expect(await verdict(page, 'cow-isolation')).toBe('holds');
    // At the start only P runs (C is not forked yet): its menu and kswapd's.
    const threads = await page.evaluate(`[...new Set([...document.querySelectorAll('#enabled button')].map((b) => b.dataset.thread))].sort()`);
    expect(threads).toEqual(['P', 'kswapd']);

    await take(page, 'P: fork -> C', 1);
    await take(page, 'C: get_user_pages(FOLL_GET) C:0 as ref "pipe"', 2);
    await take(page, 'C: madvise(MADV_DONTNEED) C:0', 3);
    expect(await page.textContent('.row[data-key="ref \\"pipe\\""]')).toContain('FOLL_GET on pfn 1 via C:0');

    // Step back: the last step is dropped.
    await page.click('#undo');
    await page.waitForFunction(`document.getElementById('pos').textContent === 'step 2 / 2'`);
    expect(await page.textContent('.row[data-key="C:0"]')).toContain('present(pfn 1');

    // Branch off at step 1: view it, take another step there; the path is cut and goes on from it.
    await page.keyboard.press('ArrowLeft');
    await page.waitForFunction(`document.getElementById('where').textContent.includes('at step 1: taking one branches off here')`);
    await take(page, 'C: madvise(MADV_DONTNEED) C:0', 2);
    expect(await page.textContent('.row[data-key="ref \\"pipe\\""]')).toContain('none');

    // Back to the start, and the CVE-2020-29374 order by hand: fork, vmsplice, MADV_DONTNEED, the parent's write.
    await page.click('#restart');
    await page.waitForFunction(`document.getElementById('pos').textContent === 'step 0 / 0'`);
    await take(page, 'P: fork -> C', 1);
    await take(page, 'C: get_user_pages(FOLL_GET) C:0 as ref "pipe"', 2);
    await take(page, 'C: madvise(MADV_DONTNEED) C:0', 3);
    await take(page, 'P: write P:0 := 2', 4);
    expect(await verdict(page, 'cow-isolation')).toBe('holds'); // the store faulted; do_wp_page is next
    await take(page, 'P: write P:0 := 2', 5);
    expect(await verdict(page, 'cow-isolation')).toBe('VIOLATED');
    expect(await page.textContent('#verdict')).toMatch(/^VIOLATED cow-isolation: P:0 maps pfn 1 writable while C holds GUP reference "pipe"/);
    expect(await page.locator('.offending').count()).toBe(3);
    // Search the fields.
    await page.fill('#search', 'FOLL_GET');
    expect(await page.textContent('#hits')).toBe('1 field(s)');
    expect(errors).toEqual([]);
    await page.close();

    expect(await stopped(child)).toBe(0);
    expect(output()).toContain('mmcheck explore: stopped');
  }, 120_000);

  test('--trace starts at the end of a counterexample, the violation shown', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'mmcheck-explore-')), 't.json');
    expect(mmcheck('check', '-s', 'cow-fork-gup', '-i', 'cow-isolation', '-k', '5.7', '--trace-out', file).code).toBe(1);
    const { child, url } = await serve('--trace', file);
    const page = await browser().newPage();
    await page.goto(url);
    await page.waitForFunction(`document.getElementById('pos').textContent === 'step 5 / 5'`);
    expect(await verdict(page, 'cow-isolation')).toBe('VIOLATED');
    await page.close();
    expect(await stopped(child)).toBe(0);
  }, 60_000);
});

describe('explore: the API refuses what is not a path of this model, 400, and never fails', () => {
  test.each([
    ['path=0,,1', /bad path "0,,1"/],
    ['path=0x1', /bad path "0x1"/],
    ['path=0&at=-1', /bad path "0" or step "-1"/],
    ['path=0&at=5', /step 5 is past the path's end \(0\)/],
    ['path=0,99999', /step 1: action "action 99999" is not enabled/],
  ])(
    '%s',
    async (query, msg) => {
      const { child, url } = await serve('-s', 'cow-fork-gup', '-k', '5.7');
      const r = await fetch(`${url}api/explore?${query}`);
      expect(r.status).toBe(400);
      expect(((await r.json()) as { error: string }).error).toMatch(msg);
      expect(await stopped(child)).toBe(0);
    },
    30_000,
  );

  test('a request target that is not a URL', async () => {
    const { child, url } = await serve('-s', 'cow-fork-gup', '-k', '5.7');
    const { port } = new URL(url);
    const reply = await new Promise<string>((resolve) => {
      const sock = connect(Number(port), '127.0.0.1', () => sock.write('GET //[ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'));
      let got = '';
      sock.on('data', (d) => (got += d));
      sock.on('end', () => resolve(got));
    });
    expect(reply).toMatch(/^HTTP\/1\.1 400/);
    expect(await stopped(child)).toBe(0);
  }, 30_000);
});

describe('explore: bad input is one line, exit 2', () => {
  test.each([
    [['explore'], 'explore needs --scenario'],
    [['explore', '-s', 'no-such'], 'no-such'],
    [['explore', '-s', 'cow-fork-gup', '--port', '70000'], '--port'],
    [['explore', '--trace', '/nonexistent.json', '-s', 'cow-fork-gup'], 'takes its scenario and kernel from the trace file'],
  ])('%j', (args, msg) => {
    const r = mmcheck(...args);
    expect([r.code, r.err.trim().split('\n').length]).toEqual([2, 1]);
    expect(r.err).toContain(msg);
  });
});
