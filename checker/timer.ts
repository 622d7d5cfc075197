/**
 * A timeout of any length: setTimeout takes at most 2^31 - 1 ms (about 24.8
 * days) and fires at once for more, so a longer one is waited for in steps.
 * Returns the function that cancels it.
 */
const MAX_DELAY = 0x7fffffff;

export function timeoutAfter(ms: number, fn: () => void): () => void {
  let timer: NodeJS.Timeout | undefined;
  const due = performance.now() + ms;
  const arm = (): void => {
    const left = due - performance.now();
    if (left <= MAX_DELAY) timer = setTimeout(fn, Math.max(0, left));
    else timer = setTimeout(arm, MAX_DELAY);
  };
  if (Number.isFinite(ms)) arm();
  return () => clearTimeout(timer);
}
