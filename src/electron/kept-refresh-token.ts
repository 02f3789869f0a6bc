import { oneLine } from './ipc-errors.js';

/** Keeps one secret string at rest (the app implements it with safeStorage + a file). */
export interface SecretStore {
  load(): Promise<string | null>;
  save(value: string): Promise<void>;
  clear(): Promise<void>;
}

/**
 * The "stay signed in" refresh token at rest. A store that fails is logged, never fatal: the session
 * goes on, it is just not kept (save answers false so the session can say so).
 */
export class KeptRefreshToken {
  /** Store operations run in order: a clear must not overtake the save of a newer session. */
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly store: SecretStore | undefined,
    private readonly log: (line: string) => void,
  ) {}

  get available(): boolean {
    return this.store !== undefined;
  }

  load(): Promise<string | null> {
    return this.inOrder(async (store) => {
      const value = await store.load();
      return typeof value === 'string' && value !== '' ? value : null;
    }, 'reading the kept sign-in', null);
  }

  async save(token: string): Promise<boolean> {
    const saved = await this.inOrder(async (store) => {
      await store.save(token);
      return true;
    }, 'keeping the sign-in', false);
    // A stale token must not stay behind: it would be refused (as reuse) at the next start.
    if (!saved) await this.clear();
    return saved;
  }

  async clear(): Promise<void> {
    await this.inOrder((store) => store.clear(), 'forgetting the kept sign-in', undefined);
  }

  private inOrder<T>(operation: (store: SecretStore) => Promise<T>, what: string, fallback: T): Promise<T> {
    const { store } = this;
    if (!store) return Promise.resolve(fallback);
    const result = this.queue.then(() => operation(store)).catch((error: unknown) => {
      this.log(`gatehouse: ${what} failed: ${oneLine(error)}`);
      return fallback;
    });
    this.queue = result;
    return result;
  }
}
