/**
 * Kernel releases: sublevels and the stable backports a switch names, and
 * switches that require others (--patch adds, --revert removes them).
 */
import { describe, expect, test } from 'vitest';
import { kernelFunctions } from '../../model/kernel/functions.js';
import { do_wp_page_5_18, do_wp_page_5_19, do_wp_page_5_7, do_wp_page_5_9, do_wp_page_6_2 } from '../../model/kernel/memory.js';
import { parseVersion, resolveVariant, SWITCHES } from '../../model/variants.js';

const on = (kernel: string) => resolveVariant({ kernel }).switches;

describe('releases and switches', () => {
  test('a stable release has the backports of its series from their first sublevel', () => {
    expect(on('5.7').has('gup-cow-break')).toBe(false);
    expect(on('5.7.2').has('gup-cow-break')).toBe(false);
    expect(on('5.7.3').has('gup-cow-break')).toBe(true);
    expect(on('5.7.14').has('gup-cow-break')).toBe(true);
    expect(on('5.10.3').has('gup-fast-seqcount')).toBe(false);
    expect(on('5.10.4').has('gup-fast-seqcount')).toBe(true);
    expect(on('5.10.8').has('vmscan-skip-pinned')).toBe(false);
    expect(on('5.10.89').has('vmscan-skip-pinned')).toBe(true);
    expect(on('5.10.111').has('zap-details-fix')).toBe(true);
    expect(on('5.15.33').has('zap-details-fix')).toBe(false);
    expect(on('5.17.2').has('zap-details-fix')).toBe(true);
    expect(on('5.17.2').has('i-mmap-shared')).toBe(false); // not backported
    expect(resolveVariant({ kernel: '5.10.89' }).version).toBe('5.10.89');
  });

  test('every switch requires only switches that exist and that are no newer', () => {
    for (const s of SWITCHES) {
      for (const r of 'requires' in s ? s.requires : []) {
        const req = SWITCHES.find((x) => x.name === r);
        expect(req, `${s.name} requires ${r}`).toBeDefined();
        const [a, b] = [parseVersion(req!.since)!, parseVersion(s.since)!];
        expect(a[0] * 100 + a[1]).toBeLessThanOrEqual(b[0] * 100 + b[1]);
      }
    }
  });

  test('--revert removes what requires the switch, --patch adds what it requires', () => {
    const r = resolveVariant({ kernel: '6.2', revert: ['cow-page-count'] });
    for (const s of ['cow-page-count', 'anon-exclusive', 'swp-exclusive', 'unshare-cow-mapping', 'mprotect-exclusive-write', 'mprotect-clean-anon-write'])
      expect(r.switches.has(s as never)).toBe(false);
    expect(r.notes![0]).toMatch(/--revert cow-page-count also turns off what requires it: anon-exclusive/);
    const p = resolveVariant({ kernel: '5.8', patch: ['anon-exclusive'] });
    for (const s of ['anon-exclusive', 'cow-page-count', 'wp-page-count']) expect(p.switches.has(s as never)).toBe(true);
  });

  test('do_wp_page: one implementation per period, chosen by the release', () => {
    const pick = (kernel: string) => kernelFunctions(on(kernel), new Set()).do_wp_page;
    expect(pick('5.7')).toBe(do_wp_page_5_7);
    expect(pick('5.8')).toBe(do_wp_page_5_7);
    expect(pick('5.9')).toBe(do_wp_page_5_9);
    expect(pick('5.17')).toBe(do_wp_page_5_9);
    expect(pick('5.18')).toBe(do_wp_page_5_18);
    expect(pick('6.1')).toBe(do_wp_page_5_19);
    expect(pick('6.2')).toBe(do_wp_page_6_2);
  });

  test('a mutant replaces one implementation', () => {
    const base = kernelFunctions(on('6.2'), new Set());
    const m = kernelFunctions(on('6.2'), new Set(['wp-reuse-mapcount']));
    expect(m.do_wp_page).not.toBe(base.do_wp_page);
    for (const k of Object.keys(base) as (keyof typeof base)[]) if (k !== 'do_wp_page') expect(m[k]).toBe(base[k]);
  });
});
