import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { outsideAsar } from '../outside-asar.js';
import type { DeriveRequest, DeriveResponse } from './hash-protocol.js';
import type { Argon2Params } from './phc.js';

/**
 * Who waits for a derivation: the app's own window (and local administration) goes ahead of every
 * other caller, which may also occupy at most all workers but one and queue only so many checks.
 */
export type HashPriority = 'app' | 'other';

/** Too many password checks from other callers are already waiting. */
export class HashBusyError extends Error {
  override readonly name = 'HashBusyError';
}

interface Job {
  request: Omit<DeriveRequest, 'id'>;
  priority: HashPriority;
  resolve: (hash: Uint8Array) => void;
  reject: (error: Error) => void;
}

interface Slot {
  worker: Worker;
  job: (Job & { id: number }) | undefined;
}

const WORKER_URL = outsideAsar(new URL('./hash-worker.js', import.meta.url));

/** Default pool size: every core, at most 4 (each derivation holds m KiB of memory). */
export function defaultPoolSize(): number {
  return Math.max(1, Math.min(4, availableParallelism()));
}

/**
 * A pool of worker threads running argon2id, so the calling thread only posts a message and waits.
 * Workers start on first use and are unref'd while idle, so an idle pool never keeps a process alive.
 */
export class HashPool {
  private readonly slots: Slot[] = [];
  private readonly queues: Record<HashPriority, Job[]> = { app: [], other: [] };
  private nextId = 1;
  private closed = false;
  /** Number of argon2id derivations started, for tests and metrics. */
  evaluations = 0;

  constructor(
    private readonly size: number = defaultPoolSize(),
    /** Derivations for `other` callers that may wait; more are refused with HashBusyError. */
    private readonly maxQueuedOther = 32,
  ) {
    if (!Number.isInteger(size) || size < 1) throw new RangeError(`hash pool size must be a positive integer, got ${size}`);
  }

  derive(password: string, salt: Uint8Array, params: Argon2Params, length: number, priority: HashPriority = 'other'): Promise<Uint8Array> {
    if (this.closed) return Promise.reject(new Error('The password hasher is closed.'));
    if (priority === 'other' && this.queues.other.length >= this.maxQueuedOther) {
      return Promise.reject(new HashBusyError('Too many password checks are waiting.'));
    }
    return new Promise((resolve, reject) => {
      this.queues[priority].push({ request: { password, salt, params, length }, priority, resolve, reject });
      this.dispatch();
    });
  }

  /** Stops every worker; queued and running derivations are rejected. */
  async close(): Promise<void> {
    this.closed = true;
    const error = new Error('The password hasher is closed.');
    for (const job of [...this.queues.app.splice(0), ...this.queues.other.splice(0)]) job.reject(error);
    await Promise.all(
      this.slots.splice(0).map(async (slot) => {
        slot.job?.reject(error);
        await slot.worker.terminate();
      }),
    );
  }

  private dispatch(): void {
    for (;;) {
      const job = this.nextJob();
      if (!job) return;
      let slot = this.slots.find((s) => s.job === undefined);
      if (!slot) {
        if (this.slots.length >= this.size) return;
        slot = this.spawn();
      }
      this.queues[job.priority].shift();
      const id = this.nextId++;
      slot.job = { ...job, id };
      this.evaluations++;
      slot.worker.ref();
      slot.worker.postMessage({ id, ...job.request } satisfies DeriveRequest);
    }
  }

  /** The job to start next, if a worker may take it: the app's first; others leave one worker free. */
  private nextJob(): Job | undefined {
    if (this.queues.app.length > 0) return this.queues.app[0];
    const busyWithOther = this.slots.filter((s) => s.job?.priority === 'other').length;
    if (busyWithOther >= Math.max(1, this.size - 1)) return undefined;
    return this.queues.other[0];
  }

  private spawn(): Slot {
    const worker = new Worker(WORKER_URL, { resourceLimits: { maxOldGenerationSizeMb: 64 } });
    const slot: Slot = { worker, job: undefined };
    worker.on('message', (response: DeriveResponse) => {
      const job = slot.job;
      if (!job || job.id !== response.id) return;
      slot.job = undefined;
      worker.unref();
      if ('hash' in response) job.resolve(response.hash);
      else job.reject(new Error(`argon2id failed: ${response.error}`));
      this.dispatch();
    });
    // A dead worker fails its job and is replaced on the next dispatch.
    const fail = (error: Error) => {
      const index = this.slots.indexOf(slot);
      if (index >= 0) this.slots.splice(index, 1);
      slot.job?.reject(error);
      slot.job = undefined;
      if (!this.closed) this.dispatch();
    };
    worker.on('error', fail);
    worker.on('exit', (code) => fail(new Error(`hash worker exited with code ${code}`)));
    this.slots.push(slot);
    return slot;
  }
}
