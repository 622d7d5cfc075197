/**
 * The mainline Linux releases mmcheck knows, with the dates of their tags,
 * from v4.4 to the newest it knows. `--kernel` names one of them (or a
 * sublevel or release candidate of one); a version that is not a release, or
 * newer than the newest tag known here, is refused.
 *
 * Source: the dates of the vX.Y tags of torvalds/linux as kernel.org records
 * them (the endoflife.date release data, checked against the tags where the
 * mirror had them); the newest tag known is v7.3-rc6 (4 October 2026).
 * docs/kernel-notes.md says how the list was made.
 */

export const RELEASES: readonly { version: string; date: string }[] = [
  ['4.4', '2016-01-10'],
  ['4.5', '2016-03-14'],
  ['4.6', '2016-05-15'],
  ['4.7', '2016-07-24'],
  ['4.8', '2016-10-02'],
  ['4.9', '2016-12-11'],
  ['4.10', '2017-02-19'],
  ['4.11', '2017-05-01'],
  ['4.12', '2017-07-02'],
  ['4.13', '2017-09-03'],
  ['4.14', '2017-11-12'],
  ['4.15', '2018-01-28'],
  ['4.16', '2018-04-01'],
  ['4.17', '2018-06-03'],
  ['4.18', '2018-08-12'],
  ['4.19', '2018-10-22'],
  ['4.20', '2018-12-23'],
  ['5.0', '2019-03-03'],
  ['5.1', '2019-05-06'],
  ['5.2', '2019-07-07'],
  ['5.3', '2019-09-15'],
  ['5.4', '2019-11-25'],
  ['5.5', '2020-01-27'],
  ['5.6', '2020-03-29'],
  ['5.7', '2020-05-31'],
  ['5.8', '2020-08-02'],
  ['5.9', '2020-10-11'],
  ['5.10', '2020-12-13'],
  ['5.11', '2021-02-14'],
  ['5.12', '2021-04-25'],
  ['5.13', '2021-06-27'],
  ['5.14', '2021-08-29'],
  ['5.15', '2021-10-31'],
  ['5.16', '2022-01-09'],
  ['5.17', '2022-03-20'],
  ['5.18', '2022-05-22'],
  ['5.19', '2022-07-31'],
  ['6.0', '2022-10-02'],
  ['6.1', '2022-12-11'],
  ['6.2', '2023-02-19'],
  ['6.3', '2023-04-23'],
  ['6.4', '2023-06-25'],
  ['6.5', '2023-08-27'],
  ['6.6', '2023-10-30'],
  ['6.7', '2024-01-07'],
  ['6.8', '2024-03-10'],
  ['6.9', '2024-05-12'],
  ['6.10', '2024-07-14'],
  ['6.11', '2024-09-15'],
  ['6.12', '2024-11-17'],
  ['6.13', '2025-01-19'],
  ['6.14', '2025-03-24'],
  ['6.15', '2025-05-25'],
  ['6.16', '2025-07-27'],
  ['6.17', '2025-09-28'],
  ['6.18', '2025-11-30'],
  ['6.19', '2026-02-08'],
  ['7.0', '2026-04-12'],
  ['7.1', '2026-06-14'],
  ['7.2', '2026-08-16'],
].map(([version, date]) => ({ version: version!, date: date! }));

/** The release whose candidates are the newest tags known: 7.3-rc1 .. 7.3-rc6. */
export const NEXT_RELEASE = { version: '7.3', newestRc: 6, date: '2026-10-04' };

export interface Release {
  major: number;
  minor: number;
  /** Stable sublevel (5.10.89 -> 89); 0 for the mainline release. */
  sublevel: number;
  /** Release candidate number, or 0. */
  rc: number;
}

/** "5.18", "v5.18", "5.10.89", "6.2-rc1" as numbers; null when it is not written as a version. */
export function parseRelease(text: string): Release | null {
  const m = /^v?(\d{1,2})\.(\d{1,3})(?:\.(\d{1,4}))?(?:-rc(\d{1,2}))?$/.exec(text.trim());
  if (!m) return null;
  if (m[3] !== undefined && m[4] !== undefined) return null; // a stable release has no release candidates
  return { major: Number(m[1]), minor: Number(m[2]), sublevel: Number(m[3] ?? 0), rc: Number(m[4] ?? 0) };
}

export function compareMainline(a: { major: number; minor: number }, b: { major: number; minor: number }): number {
  return a.major - b.major || a.minor - b.minor;
}

export function mainline(r: { major: number; minor: number }): string {
  return `${r.major}.${r.minor}`;
}

export const NEWEST_RELEASE = RELEASES[RELEASES.length - 1]!;

/** Why `r` names no kernel mmcheck knows of, or null when it does. */
export function unknownRelease(r: Release, text: string): string | null {
  const name = mainline(r);
  if (RELEASES.some((x) => x.version === name)) return null;
  if (name === NEXT_RELEASE.version) {
    if (r.rc >= 1 && r.rc <= NEXT_RELEASE.newestRc) return null;
    return `kernel ${text} is newer than the newest release mmcheck knows (${NEWEST_RELEASE.version}, ${NEWEST_RELEASE.date}; the newest tag it knows is v${NEXT_RELEASE.version}-rc${NEXT_RELEASE.newestRc} of ${NEXT_RELEASE.date})`;
  }
  const newest = parseRelease(NEWEST_RELEASE.version)!;
  if (compareMainline(r, newest) > 0) {
    return `kernel ${text} is newer than the newest release mmcheck knows (${NEWEST_RELEASE.version}, ${NEWEST_RELEASE.date}; the newest tag it knows is v${NEXT_RELEASE.version}-rc${NEXT_RELEASE.newestRc})`;
  }
  const oldest = parseRelease(RELEASES[0]!.version)!;
  if (compareMainline(r, oldest) < 0) return `kernel ${text} is older than ${RELEASES[0]!.version}, the oldest release mmcheck knows`;
  return `there is no Linux release ${name} (after ${r.major}.${lastMinor(r.major)} came ${r.major + 1}.0)`;
}

function lastMinor(major: number): number {
  return Math.max(...RELEASES.filter((x) => x.version.startsWith(`${major}.`)).map((x) => Number(x.version.split('.')[1])));
}
