// Runs one figure module in this (fresh) process and sends its results to bench/run.mjs.
import { loadavg } from 'node:os';
import { round } from './lib/stats.mjs';

const [file, json] = process.argv.slice(2);
const options = JSON.parse(json);
const module = await import(`./${file}`);
let message;
try {
  const reason = module.unavailable?.();
  if (reason) message = { skipped: reason };
  else {
    // The machine is shared: each figure records how busy it was (1-minute load average).
    const before = loadavg()[0];
    const results = await module.measure(options);
    const after = loadavg()[0];
    for (const result of Object.values(results)) result.loadavg_1m = { before: round(before, 2), after: round(after, 2) };
    message = { results };
  }
} catch (error) {
  message = { error: error instanceof Error ? `${error.name}: ${error.message}` : String(error) };
  console.error(error);
}
process.send(message, () => process.exit(0));
