import type { IntrospectionResponse } from '../contracts.js';
import type { ParentLink } from './parent-link.js';

/** How long a request may wait for the engine's answer before the guard is told it failed. */
const INTROSPECTION_TIMEOUT_MS = 3000;

interface Pending {
  resolve(result: IntrospectionResponse): void;
  reject(error: Error): void;
  timer: NodeJS.Timeout;
}

/**
 * The guard's fallback (a token signed by a key the service has not been sent yet): ask the engine
 * over the parent link, one numbered question per token, each answered or failed within a timeout,
 * so a request never hangs on a parent that is busy or gone.
 */
export class ParentIntrospection {
  private nextId = 1;
  private readonly waiting = new Map<number, Pending>();

  constructor(
    private readonly link: ParentLink,
    private readonly timeoutMs = INTROSPECTION_TIMEOUT_MS,
  ) {}

  ask(token: string): Promise<IntrospectionResponse> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => this.fail(id, 'The engine did not answer in time.'), this.timeoutMs);
      this.waiting.set(id, { resolve, reject, timer });
      this.link.send({ type: 'introspect', id, token });
    });
  }

  /** The parent's answer to question `id` (a late or unknown one is dropped). */
  answer(id: number, result: IntrospectionResponse): void {
    this.take(id)?.resolve(result);
  }

  /** Fails every question still open (the parent is gone, the service is stopping). */
  failAll(reason: string): void {
    for (const id of [...this.waiting.keys()]) this.fail(id, reason);
  }

  private fail(id: number, reason: string): void {
    this.take(id)?.reject(new Error(reason));
  }

  private take(id: number): Pending | undefined {
    const entry = this.waiting.get(id);
    if (!entry) return undefined;
    this.waiting.delete(id);
    clearTimeout(entry.timer);
    return entry;
  }
}
