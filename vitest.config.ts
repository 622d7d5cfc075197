import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    exclude: ['dist/**', 'node_modules/**'],
    testTimeout: 60_000,
    // Vitest's default is one worker fewer than the cores: on 2 cores, one file at a time. Most files spend much of
    // their time waiting on child processes, Chromium and worker threads: two at a time took 361 s against 527 s.
    // The tests that stop a run at a moment wait for the run's CPU time too, not only the wall clock (trust.test.ts).
    maxWorkers: availableParallelism(),
    // Every layout index checked: a step that names an object that does not exist throws (model/layout.ts).
    env: { MMCHECK_ASSERT: '1' },
  },
});
