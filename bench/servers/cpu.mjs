/** On stop, a server prints the CPU time (all its threads) it used since it was ready: one JSON line. */
export function reportCpu(since) {
  const used = process.cpuUsage(since);
  process.stdout.write(`${JSON.stringify({ cpuMs: (used.user + used.system) / 1000 })}\n`);
}

/**
 * Serves a bare node:http server on a free loopback port: prints `{url}` once listening, and on
 * SIGTERM reports its CPU since then, closes (then runs `onClosed`) and exits.
 */
export function serveUntilStopped(server, onClosed = () => {}) {
  let ready;
  server.listen(0, '127.0.0.1', () => {
    process.stdout.write(`${JSON.stringify({ url: `http://127.0.0.1:${server.address().port}` })}\n`);
    ready = process.cpuUsage();
  });
  process.once('SIGTERM', () => {
    reportCpu(ready);
    server.close(() => {
      onClosed();
      process.exit(0);
    });
    server.closeAllConnections();
  });
}
