// The bundled resource service's HTTP API (records and /api/me) behind its bearer guard, with a
// snapshot of keys and revocations loaded, in a process of its own.
//   BENCH_RESOURCE='{"issuer","audience","key","revocations","records"}' node bench/servers/resource-api.mjs
//   prints {"url": …} once it answers
import { importDist } from '../lib/resource.mjs';
import { reportCpu } from './cpu.mjs';

const config = JSON.parse(process.env.BENCH_RESOURCE);
const { BearerGuard } = await importDist('resource/index.js');
const { startResourceServer } = await importDist('resource/server.js');
const { RecordStore } = await importDist('resource/records.js');

const guard = new BearerGuard({ issuer: config.issuer, audience: config.audience });
guard.loadSnapshot({ issuer: config.issuer, audience: config.audience, keys: [config.key], revocations: config.revocations });
const records = await RecordStore.open(config.records);
const server = await startResourceServer({ port: 0, guard, records, log: (line) => process.stderr.write(`resource: ${line}\n`) });
process.stdout.write(`${JSON.stringify({ url: server.url })}\n`);
const ready = process.cpuUsage();
process.once('SIGTERM', async () => {
  reportCpu(ready);
  await server.close();
  records.close?.();
  process.exit(0);
});
