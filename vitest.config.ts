import { defineConfig } from 'vitest/config';

// Suites run in forks: the WebGPU (Dawn) and native addon suites hold process-wide GPU state.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    pool: 'forks',
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // The JSON report feeds scripts/test-summary.mjs (the one-line tally CI prints).
    reporters: ['default', ['json', { outputFile: 'test-results/vitest.json' }]],
  },
});
