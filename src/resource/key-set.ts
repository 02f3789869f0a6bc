import type { KeyObject } from 'node:crypto';
import type { PublishedKey } from '../contracts.js';
import { K4_PID } from '../tokens/access-tokens.js';
import { importK4Public } from '../tokens/v4-public-verify.js';

export interface VerificationKey {
  key: KeyObject;
  /** Epoch ms from which it verifies nothing. */
  verifyUntil: number;
}

/** The engine's public keys by k4.pid, each imported once into a node:crypto KeyObject. */
export class KeySet {
  private constructor(private readonly keys: ReadonlyMap<string, VerificationKey & { paserk: string }>) {}

  static readonly empty = new KeySet(new Map());

  /**
   * The set the engine published, reusing this set's imported keys. Throws TypeError, changing
   * nothing, if any entry is not a well-formed key.
   */
  replacedBy(published: readonly PublishedKey[]): KeySet {
    if (!Array.isArray(published as unknown)) throw new TypeError('keys must be an array of published keys.');
    const next = new Map<string, VerificationKey & { paserk: string }>();
    for (const entry of published) {
      const { pid, paserk, verifyUntil } = (entry ?? {}) as Partial<PublishedKey>;
      if (typeof pid !== 'string' || !K4_PID.test(pid) || typeof paserk !== 'string' || typeof verifyUntil !== 'number' || Number.isNaN(verifyUntil)) {
        throw new TypeError('Each key needs a k4.pid, a k4.public and a verifyUntil time.');
      }
      const known = this.keys.get(pid);
      const key = known?.paserk === paserk ? known.key : importK4Public(paserk);
      next.set(pid, { key, verifyUntil, paserk });
    }
    return new KeySet(next);
  }

  /** The key with this id, if it may still verify at `now`. */
  usable(pid: string, now: number): VerificationKey | undefined {
    const entry = this.keys.get(pid);
    return entry && entry.verifyUntil > now ? entry : undefined;
  }
}
