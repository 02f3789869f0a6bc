import { forwardAudit } from '../engine/audit-forwarding.js';
import { openEngine, type Engine } from '../engine/engine.js';
import { bootstrapAdmin, ensureFirstPartyClient } from '../engine/first-run.js';
import { startHttpServer, type HttpServer } from '../http/server.js';
import { dataPathFor } from '../resource/service-config.js';
import { startResourceService, type ResourceService } from '../resource/supervisor.js';
import { OsLogForwarder } from '../security/os-log-forwarder.js';
import { listenForChanges, type ChangeListener } from '../store/change-signal.js';
import { StoreError } from '../store/errors.js';
import type { CommandContext } from './command.js';
import { CliError } from './errors.js';

/** The ports `gatehouse serve` binds on 127.0.0.1 unless --port and --resource-port say otherwise. */
const DEFAULT_PORT = 8470;
const DEFAULT_RESOURCE_PORT = 8471;
const MAX_ISSUER_LENGTH = 512;

/**
 * `gatehouse serve`: the engine and its loopback HTTP adapter in one process, and the resource
 * service as its child process. Prints one JSON line on stdout once both answer requests, logs one
 * line per event on stderr, and stops cleanly on SIGTERM or SIGINT (requests in flight finish, then
 * the resource service stops, then the engine closes). With --forward-audit, every audit event and
 * checkpoint is also written to the OS log (see OsLogForwarder).
 */
export async function serve({ io, values, db }: CommandContext): Promise<void> {
  const forwardToOsLog = values['forward-audit'] === true;
  const port = parsePort(values.port, 'port', DEFAULT_PORT);
  const resourcePort = parsePort(values['resource-port'], 'resource-port', DEFAULT_RESOURCE_PORT);
  const issuer = parseIssuer(values.issuer);
  const log = (line: string) => io.stderr.write(`gatehouse: ${line}\n`);
  const stop = stopSignal();
  let http: HttpServer | undefined;
  let engine: Engine | undefined;
  let resource: ResourceService | undefined;
  let changes: ChangeListener | undefined;
  let osLog: OsLogForwarder | undefined;
  try {
    // A revocation a request caused reaches the resource service before its answer reaches the client.
    const beforeReply = () => resource?.sync() ?? Promise.resolve();
    http = await startHttpServer({ port, log, beforeReply }).catch(portTaken('Port', port));
    // Bound first, so that the tokens' issuer is the URL actually served (with --port 0 too).
    engine = await openEngine({ path: db, issuer: issuer ?? http.url });
    // Damage the integrity check finds after the open closes the engine: serve stops, and says why.
    const opened = engine;
    const damage = new Promise<StoreError>((resolve) => opened.on('damaged', resolve));
    if (forwardToOsLog) {
      osLog = new OsLogForwarder({ log });
      forwardAudit(engine, osLog);
    }
    ensureFirstPartyClient(engine);
    const passwordFile = await bootstrapAdmin(engine, db);
    if (passwordFile) log(`created user "admin"; its one-time password is in ${passwordFile} and must be changed at first sign-in`);
    http.attach(engine);
    resource = await startResourceService(engine, { port: resourcePort, dataPath: dataPathFor(db), log }).catch(
      portTaken('Resource port', resourcePort),
    );
    const served = resource;
    // The CLI nudges us after each change it makes and waits for the answer: by then the engine has
    // looked, and the resource service has applied what it found, so the very next request sees it.
    changes = await listenForChanges(
      db,
      async () => {
        opened.checkForChanges();
        await served.sync();
      },
      log,
    );
    if (!stop.signalled()) io.stdout.write(`${JSON.stringify({ issuer: engine.issuer, resource: resource.url })}\n`);
    const ended = await Promise.race([stop.promise, damage]);
    stop.dispose(); // a second signal now ends the process at once (its default action), should closing hang
    const stopping = http.close(); // refuses new connections at once
    log(ended instanceof StoreError ? `stopping: ${ended.message}` : `stopping on ${ended}`);
    await stopping;
    if (ended instanceof StoreError) throw new CliError('refused', ended.message);
  } finally {
    stop.dispose();
    await changes?.close();
    await http?.close();
    await resource?.close();
    await engine?.close();
    // After the engine: its closing checkpoint is forwarded too.
    await osLog?.close();
    if (osLog && osLog.dropped > 0) log(`${osLog.dropped} audit line(s) could not be written to the OS log`);
  }
}

function portTaken(what: string, port: number): (error: NodeJS.ErrnoException) => never {
  return (error) => {
    if (error.code === 'EADDRINUSE') throw new CliError('refused', `${what} ${port} on 127.0.0.1 is already in use.`);
    throw error;
  };
}

function parsePort(value: unknown, option: string, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'string' || !/^\d{1,5}$/.test(value) || Number(value) > 65535) {
    throw new CliError('usage', `--${option} must be a whole number from 0 to 65535 (0 picks a free port).`);
  }
  return Number(value);
}

function parseIssuer(value: unknown): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value.trim() === '' || value.length > MAX_ISSUER_LENGTH) {
    throw new CliError('usage', `--issuer must be a non-empty identifier of at most ${MAX_ISSUER_LENGTH} characters.`);
  }
  return value;
}

/** Resolves on the first SIGTERM or SIGINT; installed before start-up, so a signal then stops cleanly too. */
function stopSignal(): { promise: Promise<NodeJS.Signals>; signalled(): boolean; dispose(): void } {
  let received = false;
  let onSignal!: (signal: NodeJS.Signals) => void;
  const promise = new Promise<NodeJS.Signals>((resolve) => {
    onSignal = (signal) => {
      received = true;
      resolve(signal);
    };
  });
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  return {
    promise,
    signalled: () => received,
    dispose: () => {
      process.off('SIGTERM', onSignal);
      process.off('SIGINT', onSignal);
    },
  };
}
