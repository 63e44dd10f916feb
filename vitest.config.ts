import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['tests/**/*.test.ts'],
    // The multi-process fault test has its own run: npm run test:topology.
    exclude: ['tests/topology/**', '**/node_modules/**'],
    globalSetup: ['tests/helpers/global-setup.ts'],
    // Each file gets its own database cloned from the migrated template, so files run in parallel.
    pool: 'forks',
    // One module graph per worker, not per file: importing the app (Fastify, tRPC, zod,
    // the AWS SDK, OpenTelemetry) cost ~4 s per file, half the suite's time. Files still
    // share nothing that matters: each builds its own app on its own database, and
    // module-level state (the metrics registry) is only ever compared before/after.
    isolate: false,
    testTimeout: 30_000,
    hookTimeout: 60_000,
    reporters: process.env.CI ? ['default'] : ['default'],
  },
});
