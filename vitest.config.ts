import { defineConfig } from 'vitest/config';

// "spanring-source" makes package.json "imports" (#spanring/*) resolve to library
// sources, so tests never depend on a prior build.
const sourceConditions = ['spanring-source'];

export default defineConfig({
  resolve: { conditions: sourceConditions },
  ssr: { resolve: { conditions: sourceConditions } },
  test: {
    include: ['libs/**/*.test.ts', 'apps/**/*.test.ts', 'test/**/*.test.ts'],
    pool: 'forks',
    // In CI a JSON report lets .ci/run print one plain "N passed, N failed" line.
    reporters: process.env.CI ? ['default', ['json', { outputFile: '.vitest/results.json' }]] : ['default'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
