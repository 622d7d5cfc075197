import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    exclude: ['dist/**', 'node_modules/**'],
    testTimeout: 60_000,
    // Every layout index checked: a step that names an object that does not exist throws (model/layout.ts).
    env: { MMCHECK_ASSERT: '1' },
  },
});
