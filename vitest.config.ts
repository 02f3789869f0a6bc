import { configDefaults, defineConfig } from 'vitest/config';

// Tests exercise the built package in dist/ (what embedding developers import, and what worker
// threads and child processes can load under plain Node): `npm test` builds first.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // The fault suite has its own config and command (npm run test:faults).
    exclude: [...configDefaults.exclude, 'test/faults/**'],
    // Generous: some tests run dozens of real CLI processes in turn, slow on a shared, loaded machine.
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
  },
});
