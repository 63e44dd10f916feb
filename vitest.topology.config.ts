import { defineConfig } from 'vitest/config';

/** `npm run test:topology`: the multi-process fault test, run by CI after `npm test`. */
export default defineConfig({
  test: {
    include: ['tests/topology/**/*.test.ts'],
    globalSetup: ['tests/helpers/global-setup.ts'],
    pool: 'forks',
    fileParallelism: false,
    testTimeout: 180_000,
    hookTimeout: 120_000,
  },
});
