/**
 * GUP references as first-class records: a reference a "device" (pipe
 * buffer, io_uring fixed buffer, RDMA, O_DIRECT) holds on a page, taken
 * through some mm and address. One 32-bit word:
 *   bits 0-1   kind: none | FOLL_GET | FOLL_PIN
 *   bit 2      FOLL_WRITE
 *   bit 3      FOLL_LONGTERM
 *   bit 4      detached: the user unmapped or zapped (mm, addr) since the pin was taken
 *   bit 5      the page was anonymous when the reference was taken
 *   bit 6      pending: GUP-fast took it and has not yet re-checked the PTE
 *   bit 7      FOLL_FORCE (ptrace, /proc/pid/mem: a write through a R/O private mapping)
 *   bits 8-9   owner mm
 *   bits 10-15 address (page index)
 *   bits 16-23 pfn
 */

import type { WordType } from './schema.js';

export const GUP_NONE = 0;
export const GUP_GET = 1;
export const GUP_PIN = 2;

export const GUP_WRITE = 1 << 2;
export const GUP_LONGTERM = 1 << 3;
export const GUP_DETACHED = 1 << 4;
export const GUP_ANON = 1 << 5;
export const GUP_PENDING = 1 << 6;
export const GUP_FORCE = 1 << 7;

/** GUP_PIN_COUNTING_BIAS: a FOLL_PIN on a small page adds this to _refcount (include/linux/mm.h). */
export const GUP_PIN_COUNTING_BIAS = 1024;

export function gupRecord(kind: number, flags: number, mm: number, addr: number, pfn: number): number {
  return kind | flags | (mm << 8) | (addr << 10) | (pfn << 16);
}

export function gupKind(r: number): number {
  return r & 3;
}
export function gupMm(r: number): number {
  return (r >>> 8) & 3;
}
export function gupAddr(r: number): number {
  return (r >>> 10) & 0x3f;
}
export function gupPfn(r: number): number {
  return (r >>> 16) & 0xff;
}

/** The references a record holds on _refcount. */
export function gupRefs(r: number): number {
  const k = r & 3;
  return k === GUP_PIN ? GUP_PIN_COUNTING_BIAS : k === GUP_GET ? 1 : 0;
}

export function formatGupFlags(r: number): string {
  const parts = [(r & 3) === GUP_PIN ? 'FOLL_PIN' : 'FOLL_GET'];
  if (r & GUP_WRITE) parts.push('FOLL_WRITE');
  if (r & GUP_LONGTERM) parts.push('FOLL_LONGTERM');
  if (r & GUP_FORCE) parts.push('FOLL_FORCE');
  return parts.join('|');
}

/** A GUP reference as a word type of the state schema: the mm and address it was taken through, and the frame it holds. */
export const GUP_WORD: WordType = {
  name: 'gup',
  fields: [
    { name: 'kind', shift: 0, bits: 2 },
    { name: 'flags', shift: 2, bits: 6 },
    { name: 'mm', shift: 8, bits: 2, ref: { to: 'mm', bias: 0 } },
    { name: 'addr', shift: 10, bits: 6 },
    { name: 'pfn', shift: 16, bits: 8, ref: { to: 'frame', bias: 0, holds: true }, when: { mask: 3, among: [GUP_GET, GUP_PIN] } },
  ],
};
