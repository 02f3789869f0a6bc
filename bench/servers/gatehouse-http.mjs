// Gatehouse's loopback HTTP adapter and engine in one process — what `gatehouse serve` runs, minus
// the first-start bootstrap and the CLI change listener (both idle during a benchmark).
//   node bench/servers/gatehouse-http.mjs DB_PATH     prints {"url": …} once it answers
import { openEngine } from '../../dist/index.js';
import { startHttpServer } from '../../dist/http/server.js';
import { reportCpu } from './cpu.mjs';

const [path] = process.argv.slice(2);
const http = await startHttpServer({ port: 0, log: (line) => process.stderr.write(`gatehouse http: ${line}\n`) });
const engine = await openEngine({ path, issuer: http.url });
http.attach(engine);
process.stdout.write(`${JSON.stringify({ url: http.url, issuer: engine.issuer, audience: engine.audience })}\n`);
const ready = process.cpuUsage();
process.once('SIGTERM', async () => {
  reportCpu(ready);
  await http.close();
  await engine.close();
  process.exit(0);
});
