import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    exclude: ['dist/**', 'node_modules/**'],
    testTimeout: 60_000,
    // Vitest's default is one worker fewer than the cores: on a 2-core machine, one file at a time. Most files
    // spend their time in child processes and Chromium, so two at a time roughly halves the wall time.
    maxWorkers: availableParallelism(),
    // Every layout index checked: a step that names an object that does not exist throws (model/layout.ts).
    env: { MMCHECK_ASSERT: '1' },
  },
});
