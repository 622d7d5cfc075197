/**
 * Where a command's output goes. `mmcheck` (run() in main.ts) writes to the
 * process's streams as it goes; outcome() (main.ts) keeps the same text in
 * strings, so that a test can run a command in its own process. Every line a
 * command prints goes through one of these, never to process.stdout or
 * process.stderr directly.
 */
export interface Io {
  /** Writes to standard output. */
  out(text: string): void;
  /** Writes to standard error (progress lines, and the one line of bad usage). */
  err(text: string): void;
  /** Whether standard output is a terminal (colour). */
  outTTY: boolean;
  /** Whether standard error is a terminal (progress lines by default, and drawn over each other). */
  errTTY: boolean;
  /** The environment the command reads (NO_COLOR, GITHUB_STEP_SUMMARY, MMCHECK_CACHE, XDG_CACHE_HOME). */
  env: NodeJS.ProcessEnv;
}

/** The process's own streams and environment. */
export const PROCESS_IO: Io = {
  out: (text) => void process.stdout.write(text),
  err: (text) => void process.stderr.write(text),
  get outTTY() {
    return process.stdout.isTTY === true;
  },
  get errTTY() {
    return process.stderr.isTTY === true;
  },
  get env() {
    return process.env;
  },
};
