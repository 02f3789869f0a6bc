/**
 * The bundled resource service as a process of its own (a child process under `gatehouse serve`, a
 * utilityProcess in the app). Its parent starts it with a ServiceConfig on the command line and then
 * talks to it over the parent link (contracts.ts: ToResourceService / FromResourceService):
 *
 *   service                          parent
 *   listening {port}  ───────────►                 (answering 503 until the snapshot)
 *                     ◄───────────  snapshot, then keys / revocations as they happen
 *   ready             ───────────►
 *                     ◄───────────  sync {seq}     (answered once everything before it is applied)
 *   ack {seq}         ───────────►
 *   introspect        ───────────►                 (fallback for a key it has not been sent)
 *                     ◄───────────  introspection
 *                     ◄───────────  shutdown
 *
 * It exits when the parent goes away, so no orphan keeps the port or the records file.
 */
import type { ToResourceService } from '../contracts.js';
import { BearerGuard } from './guard.js';
import { readToService } from './messages.js';
import { ParentIntrospection } from './parent-introspection.js';
import { connectToParent, type ParentLink } from './parent-link.js';
import { RecordStore } from './records.js';
import { startResourceServer } from './server.js';
import { parseServiceArgs } from './service-config.js';

/** Closing the listener lets requests in flight finish; past this, the process exits regardless. */
const STOP_DEADLINE_MS = 5000;

const log = (line: string) => process.stderr.write(`gatehouse: resource service: ${line}\n`);

const link = connectToParent();
if (link) await run(link);
else {
  log('it is started by gatehouse serve or the app, over an IPC link; there is none.');
  process.exitCode = 2;
}

async function run(link: ParentLink): Promise<void> {
  let server: Awaited<ReturnType<typeof startResourceServer>> | undefined;
  let records: RecordStore | undefined;
  let stopping: Promise<void> | undefined;
  const stop = (code: number) => {
    stopping ??= (async () => {
      setTimeout(() => process.exit(code || 1), STOP_DEADLINE_MS).unref();
      introspection.failAll('The resource service is stopping.');
      await server?.close();
      records?.close();
      process.exit(code);
    })();
    return stopping;
  };
  const introspection = new ParentIntrospection(link);

  link.onGone(() => void stop(0));
  process.on('SIGTERM', () => void stop(0));
  // Ctrl-C in a terminal signals the whole process group: the parent decides when this one stops.
  process.on('SIGINT', () => undefined);

  let config;
  try {
    config = parseServiceArgs(process.argv.slice(2));
  } catch (error) {
    await link.send({ type: 'failed', message: (error as Error).message });
    return stop(1);
  }
  const guard = new BearerGuard({
    issuer: config.issuer,
    audience: config.audience,
    leewaySeconds: config.leewaySeconds,
    introspect: (token) => introspection.ask(token),
  });

  // Registered before listening: the parent sends nothing until it has heard `listening`.
  link.onMessage((message) => {
    const checked = readToService(message, log);
    if (!checked) return;
    try {
      apply(checked);
    } catch (error) {
      log(`could not apply a "${checked.type}" message: ${(error as Error).message}`);
    }
  });

  /** Each message is applied at once and in order, so an `ack` follows everything sent before its `sync`. */
  function apply(message: ToResourceService): void {
    switch (message.type) {
      case 'snapshot':
        guard.loadSnapshot(message.snapshot);
        void link.send({ type: 'ready' });
        return;
      case 'keys':
        return guard.updateKeys(message.keys);
      case 'revocations':
        return guard.addRevocations(message.revocations);
      case 'sync':
        void link.send({ type: 'ack', seq: message.seq });
        return;
      case 'introspection':
        return introspection.answer(message.id, message.result);
      case 'shutdown':
        void stop(0);
        return;
    }
  }

  try {
    records = await RecordStore.open(config.dataPath, { sqliteBinding: config.sqliteBinding });
    server = await startResourceServer({ port: config.port, guard, records, allowedOrigins: config.allowedOrigins, log });
  } catch (error) {
    const { message, code } = error as NodeJS.ErrnoException;
    await link.send({ type: 'failed', message: message.split('\n')[0]!, ...(typeof code === 'string' ? { code } : {}) });
    return stop(1);
  }
  if (!stopping) void link.send({ type: 'listening', port: server.port });
}
