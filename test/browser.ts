/**
 * Debian's Chromium for the browser tests, driven by playwright-core (no
 * browser download). The tests skip only where Chromium is missing and not
 * required: .ci/run installs it and sets MMCHECK_REQUIRE_BROWSER=1.
 */
import { existsSync } from 'node:fs';
import { type Browser, chromium } from 'playwright-core';
import { afterAll, beforeAll } from 'vitest';

const CHROMIUM = '/usr/bin/chromium';
const required = process.env.MMCHECK_REQUIRE_BROWSER === '1';
/** Whether the browser tests run here. */
export const browserHere = existsSync(CHROMIUM);
if (required && !browserHere) throw new Error(`MMCHECK_REQUIRE_BROWSER=1 but ${CHROMIUM} is missing`);

/** One headless Chromium for the describe block it is called in (the flags the machine's closed network needs). */
export function useBrowser(): () => Browser {
  let browser: Browser | undefined;
  beforeAll(async () => {
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
  });
  return () => browser!;
}
