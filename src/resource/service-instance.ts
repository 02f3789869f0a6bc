import type { IntrospectionResponse, ResourceSnapshot, ToResourceService } from '../contracts.js';
import { readFromService } from './messages.js';

/**
 * The parent's handle on one started service process, whatever started it (Node's fork, Electron's
 * utilityProcess): how to talk to it and how to end it. Nothing else depends on the transport.
 */
export interface ServiceProcess {
  send(message: ToResourceService): void;
  /** Every message it sends, unchecked. */
  onMessage(handler: (message: unknown) => void): void;
  /** Called once, when it has ended or could not be started; `how` is for a log line ("exited with code 1"). */
  onExit(handler: (how: string) => void): void;
  /** Ends it at once. */
  kill(): void;
}

/** The service could not start; `code` is the system error behind it, if any (`EADDRINUSE`). */
export class ResourceServiceError extends Error {
  override readonly name = 'ResourceServiceError';
  constructor(
    message: string,
    readonly code: string | undefined = undefined,
  ) {
    super(message);
  }
}

export interface InstanceOptions {
  /** Read when the service is listening, so it includes every change committed before. */
  snapshot: () => ResourceSnapshot;
  /** The engine's answer for a token the service could not judge alone. */
  introspect: (token: string) => Promise<IntrospectionResponse>;
  /** How long it may take from launch to holding its snapshot. */
  startTimeoutMs: number;
  log: (line: string) => void;
}

/**
 * One run of the service process, from the parent's side: it sends the snapshot once the service
 * listens, forwards changes after it, answers its introspection questions, and keeps count of what
 * was forwarded so that `sync` can wait until all of it has been applied.
 */
export class ServiceInstance {
  /** Resolves with the port once the service holds its snapshot; rejects if it fails first. */
  readonly ready: Promise<number>;
  /** Resolves (with how it ended) once the process has ended. */
  readonly exited: Promise<string>;
  private loaded = false;
  private gone = false;
  /** State messages forwarded after the snapshot; `sync {seq}` asks for the first `seq` of them. */
  private forwarded = 0;
  private requested = 0;
  private applied = 0;
  private waiters: Array<{ upTo: number; resolve: () => void }> = [];

  constructor(
    private readonly child: ServiceProcess,
    private readonly options: InstanceOptions,
  ) {
    let markReady!: (port: number) => void;
    let refuse!: (error: Error) => void;
    this.ready = new Promise((resolve, reject) => {
      markReady = resolve;
      refuse = reject;
    });
    const startTimer = setTimeout(() => {
      refuse(new ResourceServiceError(`The resource service did not start within ${options.startTimeoutMs / 1000} s.`));
      child.kill();
    }, options.startTimeoutMs);
    void this.ready.then(
      () => clearTimeout(startTimer),
      () => clearTimeout(startTimer),
    );
    let port = 0;

    child.onMessage((raw) => {
      const message = readFromService(raw, options.log);
      switch (message?.type) {
        case 'listening':
          port = message.port;
          try {
            child.send({ type: 'snapshot', snapshot: options.snapshot() });
          } catch (error) {
            // The engine could not be read (it is closing): this run cannot become ready.
            refuse(new ResourceServiceError(`The resource service's snapshot could not be read: ${(error as Error).message}`));
            return child.kill();
          }
          this.loaded = true;
          return;
        case 'ready':
          return markReady(port);
        case 'failed':
          return refuse(new ResourceServiceError(message.message, message.code));
        case 'ack':
          this.applied = Math.max(this.applied, message.seq);
          return this.release();
        case 'introspect':
          return this.answer(message.id, message.token);
      }
    });
    this.exited = new Promise((resolve) =>
      child.onExit((how) => {
        this.gone = true;
        refuse(new ResourceServiceError(`The resource service ${how} before it was ready.`));
        // Nothing it was sent matters any more: a replacement starts from a new snapshot.
        this.applied = Infinity;
        this.release();
        resolve(how);
      }),
    );
  }

  /** Sends a change; before the snapshot it is left out, since the snapshot is read later and has it. */
  forward(message: Extract<ToResourceService, { type: 'keys' | 'revocations' }>): void {
    if (!this.loaded || this.gone) return;
    this.child.send(message);
    this.forwarded++;
  }

  /** Resolves once every change forwarded so far has been applied (or this run has ended). */
  sync(): Promise<void> {
    const upTo = this.forwarded;
    if (this.applied >= upTo) return Promise.resolve();
    if (this.requested < upTo) {
      this.requested = upTo;
      this.child.send({ type: 'sync', seq: upTo });
    }
    return new Promise((resolve) => this.waiters.push({ upTo, resolve }));
  }

  /** Asks it to stop, and ends it if it has not within `graceMs`; resolves once it has ended. */
  async stop(graceMs: number): Promise<void> {
    if (!this.gone) {
      this.child.send({ type: 'shutdown' });
      const timer = setTimeout(() => this.child.kill(), graceMs);
      await this.exited;
      clearTimeout(timer);
    }
  }

  private release(): void {
    const waiting = this.waiters;
    this.waiters = waiting.filter((waiter) => waiter.upTo > this.applied);
    for (const waiter of waiting) if (waiter.upTo <= this.applied) waiter.resolve();
  }

  private answer(id: number, token: string): void {
    this.options.introspect(token).then(
      (result) => {
        if (!this.gone) this.child.send({ type: 'introspection', id, result });
      },
      // Left unanswered: the service's own timeout fails that one request, and nothing is remembered
      // of it, whereas an `active: false` answer would be believed for a while.
      (error: Error) => this.options.log(`could not introspect a token for the resource service: ${error.message}`),
    );
  }
}
