import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { DeriveRequest, DeriveResponse } from './hash-protocol.js';
import type { Argon2Params } from './phc.js';

interface Job {
  request: Omit<DeriveRequest, 'id'>;
  resolve: (hash: Uint8Array) => void;
  reject: (error: Error) => void;
}

interface Slot {
  worker: Worker;
  job: (Job & { id: number }) | undefined;
}

const WORKER_URL = new URL('./hash-worker.js', import.meta.url);

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
  private readonly queue: Job[] = [];
  private nextId = 1;
  private closed = false;
  /** Number of argon2id derivations started, for tests and metrics. */
  evaluations = 0;

  constructor(private readonly size: number = defaultPoolSize()) {
    if (!Number.isInteger(size) || size < 1) throw new RangeError(`hash pool size must be a positive integer, got ${size}`);
  }

  derive(password: string, salt: Uint8Array, params: Argon2Params, length: number): Promise<Uint8Array> {
    if (this.closed) return Promise.reject(new Error('The password hasher is closed.'));
    return new Promise((resolve, reject) => {
      this.queue.push({ request: { password, salt, params, length }, resolve, reject });
      this.dispatch();
    });
  }

  /** Stops every worker; queued and running derivations are rejected. */
  async close(): Promise<void> {
    this.closed = true;
    const error = new Error('The password hasher is closed.');
    for (const job of this.queue.splice(0)) job.reject(error);
    await Promise.all(
      this.slots.splice(0).map(async (slot) => {
        slot.job?.reject(error);
        await slot.worker.terminate();
      }),
    );
  }

  private dispatch(): void {
    while (this.queue.length > 0) {
      let slot = this.slots.find((s) => s.job === undefined);
      if (!slot) {
        if (this.slots.length >= this.size) return;
        slot = this.spawn();
      }
      const job = this.queue.shift()!;
      const id = this.nextId++;
      slot.job = { ...job, id };
      this.evaluations++;
      slot.worker.ref();
      slot.worker.postMessage({ id, ...job.request } satisfies DeriveRequest);
    }
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
