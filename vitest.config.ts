import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['tests/**/*.test.ts'],
    // The multi-process fault test has its own run: npm run test:topology.
    exclude: ['tests/topology/**', '**/node_modules/**'],
    globalSetup: ['tests/helpers/global-setup.ts'],
    // Each file gets its own database cloned from the migrated template, so files run in parallel.
    pool: 'forks',
    testTimeout: 30_000,
    hookTimeout: 60_000,
    reporters: process.env.CI ? ['default'] : ['default'],
  },
});
