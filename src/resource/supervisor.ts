import type { ResourceSnapshot } from '../contracts.js';
import type { Engine } from '../engine/engine.js';
import { forkService } from './fork-service.js';
import type { ServiceConfig } from './service-config.js';
import { ServiceInstance, type ServiceProcess } from './service-instance.js';

const HOST = '127.0.0.1';
/** From launch to holding the snapshot (starting Node, opening the records file, binding). */
const START_TIMEOUT_MS = 15_000;
/** How long a service asked to stop may take (requests in flight finish) before it is killed. */
const STOP_GRACE_MS = 3_000;
/** After a crash the service is restarted at once, then after 0.5 s, 1 s, 2 s … at most 30 s apart. */
const FIRST_RETRY_MS = 500;
const MAX_RETRY_MS = 30_000;
/** A run that lasted this long was not part of a crash loop: the next crash restarts at once again. */
const STABLE_MS = 60_000;

export interface ResourceServiceOptions {
  /** TCP port on 127.0.0.1; 0 picks a free one. A restarted service binds the port first bound. */
  port: number;
  /** The records database (SQLite), created if missing. */
  dataPath: string;
  /** Browser origins allowed to call the service (exact `Origin` values); default none. */
  allowedOrigins?: readonly string[] | undefined;
  /** One line per event worth telling (a crash, a restart); default: a process warning. */
  log?: ((line: string) => void) | undefined;
}

/** A running resource service, as its parent sees it. */
export interface ResourceService {
  readonly port: number;
  /** `http://127.0.0.1:PORT`. */
  readonly url: string;
  /**
   * Resolves once the service has applied every revocation and key change the engine announced so
   * far (at once when there is none outstanding, or no service running to apply it), or after 2 s
   * with a log line if a stuck service has not.
   */
  sync(): Promise<void>;
  /** Stops forwarding, asks the service to stop, kills it after a grace period; resolves once it has exited. */
  close(): Promise<void>;
}

/**
 * Starts the bundled resource service as a Node child process and keeps it supplied: resolves once
 * it holds the engine's keys and revocations, rejects (ResourceServiceError, with `code` such as
 * EADDRINUSE) if it cannot start.
 */
export function startResourceService(engine: Engine, options: ResourceServiceOptions): Promise<ResourceService> {
  return superviseResourceService(engine, options, forkService);
}

/**
 * The same with any way of starting the process: what to send and when does not depend on it (the
 * app supplies one that uses Electron's utilityProcess).
 */
/** How long an answer waits for the resource service to apply a change it caused. */
const SYNC_TIMEOUT_MS = 2000;

export async function superviseResourceService(
  engine: Engine,
  options: ResourceServiceOptions,
  launch: (config: ServiceConfig) => ServiceProcess,
): Promise<ResourceService> {
  const { port, dataPath } = options;
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new RangeError('port must be an integer from 0 to 65535.');
  if (typeof dataPath !== 'string' || dataPath === '') throw new TypeError('dataPath must name the records database file.');
  const config: ServiceConfig = {
    port,
    dataPath,
    issuer: engine.issuer,
    audience: engine.audience,
    leewaySeconds: engine.policy.clockLeewaySeconds,
    allowedOrigins: [...(options.allowedOrigins ?? [])],
    // The service's records file needs the same native module as the engine's database.
    ...(engine.sqliteBinding !== undefined && { sqliteBinding: engine.sqliteBinding }),
  };
  const log = options.log ?? ((line: string) => process.emitWarning(`gatehouse: ${line}`));
  const supervisor = new Supervisor(engine, config, launch, log);
  try {
    await supervisor.start();
  } catch (error) {
    await supervisor.close();
    throw error;
  }
  return supervisor;
}

/**
 * Keeps one service process running: forwards the engine's revocation and key events to it as they
 * happen, answers its questions, and restarts it (from a new snapshot, on the same port) if it ends
 * on its own, sooner or later depending on how often it has.
 */
class Supervisor implements ResourceService {
  private current: ServiceInstance | undefined;
  private started = false;
  private closing: Promise<void> | undefined;
  private restarts = 0;
  private restartTimer: NodeJS.Timeout | undefined;
  private stableTimer: NodeJS.Timeout | undefined;
  private readonly unsubscribe: Array<() => void>;

  constructor(
    private readonly engine: Engine,
    private config: ServiceConfig,
    private readonly launch: (config: ServiceConfig) => ServiceProcess,
    private readonly log: (line: string) => void,
  ) {
    // Events arrive after each commit; while no service holds a snapshot they are left out, as the
    // next snapshot is read from the database and has them.
    this.unsubscribe = [
      engine.on('revocation', (revocations) => this.current?.forward({ type: 'revocations', revocations })),
      engine.on('keys', (keys) => this.current?.forward({ type: 'keys', keys })),
    ];
  }

  get port(): number {
    return this.config.port;
  }

  get url(): string {
    return `http://${HOST}:${this.config.port}`;
  }

  async start(): Promise<void> {
    await this.run();
    this.started = true;
  }

  sync(): Promise<void> {
    const applied = this.current?.sync();
    if (!applied) return Promise.resolve();
    // A service that is alive but stuck must not hold every answer of the auth server: wait a
    // bounded time, then answer anyway (the service still gets the change when it recovers).
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<void>((resolve) => {
      timer = setTimeout(() => {
        this.log(`resource service: a change was not applied within ${SYNC_TIMEOUT_MS / 1000} s; answering without waiting`);
        resolve();
      }, SYNC_TIMEOUT_MS);
    });
    return Promise.race([applied, late]).finally(() => clearTimeout(timer));
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      for (const off of this.unsubscribe) off();
      clearTimeout(this.restartTimer);
      clearTimeout(this.stableTimer);
      await this.current?.stop(STOP_GRACE_MS);
    })();
    return this.closing;
  }

  /** Launches a service process and waits until it holds its snapshot. */
  private async run(): Promise<void> {
    const instance = new ServiceInstance(this.launch(this.config), {
      snapshot: () => this.snapshot(),
      introspect: (token) => this.engine.introspectAccessToken(token),
      startTimeoutMs: START_TIMEOUT_MS,
      log: (line) => this.log(`resource service: ${line}`),
    });
    this.current = instance;
    void instance.exited.then((how) => this.ended(instance, how));
    // From now on a restart binds the same port, so the URL handed out stays right.
    this.config = { ...this.config, port: await instance.ready };
    clearTimeout(this.stableTimer);
    this.stableTimer = setTimeout(() => (this.restarts = 0), STABLE_MS).unref();
  }

  private snapshot(): ResourceSnapshot {
    const { engine } = this;
    return { issuer: engine.issuer, audience: engine.audience, keys: engine.publishedKeys(), revocations: engine.revocations() };
  }

  /** A run ended. Unless it was asked to (or never started), start another. */
  private ended(instance: ServiceInstance, how: string): void {
    if (!this.started || this.closing || instance !== this.current) return;
    this.current = undefined;
    clearTimeout(this.stableTimer);
    const delay = this.restarts === 0 ? 0 : Math.min(MAX_RETRY_MS, FIRST_RETRY_MS * 2 ** (this.restarts - 1));
    this.restarts++;
    this.log(`resource service ${how}; restarting it${delay > 0 ? ` in ${delay / 1000} s` : ''}`);
    this.restartTimer = setTimeout(() => void this.restart(), delay);
  }

  private async restart(): Promise<void> {
    try {
      await this.run();
      if (!this.closing) this.log('resource service restarted');
    } catch (error) {
      // Its exit, which follows, schedules the next attempt.
      if (!this.closing) this.log(`resource service could not restart: ${(error as Error).message}`);
    }
  }
}
