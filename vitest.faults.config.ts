import { defineConfig } from 'vitest/config';

// The fault suite (`npm run test:faults`): crash, race, fuzz, hostile-caller and bad-file runs against
// the built dist/ and real `gatehouse serve` processes. Kept out of `npm test`; one file at a time, so
// that its memory figures and kill timings are its own on a machine with few cores.
// One seed for the whole run, shared by every file (the workers inherit the environment), printed
// here and in each file's figures; GATEHOUSE_FAULT_SEED=N replays a run.
process.env.GATEHOUSE_FAULT_SEED ||= String(Math.floor(Math.random() * 2 ** 31));
console.log(`fault suite seed: GATEHOUSE_FAULT_SEED=${process.env.GATEHOUSE_FAULT_SEED}`);

export default defineConfig({
  test: {
    include: ['test/faults/**/*.test.ts'],
    testTimeout: 600_000,
    hookTimeout: 60_000,
    pool: 'forks',
    fileParallelism: false,
  },
});
