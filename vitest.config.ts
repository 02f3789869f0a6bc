import { configDefaults, defineConfig } from 'vitest/config';

// Tests exercise the built package in dist/ (what embedding developers import, and what worker
// threads and child processes can load under plain Node): `npm test` builds first.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // The fault suite has its own config and command (npm run test:faults).
    exclude: [...configDefaults.exclude, 'test/faults/**'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: 'forks',
  },
});
