import { defineConfig } from 'vitest/config';

// Tests exercise the built package in dist/ (what embedding developers import, and what worker
// threads and child processes can load under plain Node): `npm test` builds first.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Generous: some tests run dozens of real CLI processes in turn, slow on a shared, loaded machine.
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
  },
});
