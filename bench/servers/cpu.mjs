/** On stop, a server prints the CPU time (all its threads) it used since it was ready: one JSON line. */
export function reportCpu(since) {
  const used = process.cpuUsage(since);
  process.stdout.write(`${JSON.stringify({ cpuMs: (used.user + used.system) / 1000 })}\n`);
}
