import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { HashPool, HashPriority } from './hash-pool.js';
import { checkParams, formatPhc, HASH_BYTES, isWeaker, parsePhc, SALT_BYTES, type Argon2Params } from './phc.js';

export interface VerifyResult {
  ok: boolean;
  /** The password was right but its stored hash is weaker than current parameters. */
  needsRehash: boolean;
}

/**
 * Hashes and verifies people's passwords with argon2id in a worker pool. Passwords are NFKC-normalised
 * first (NIST SP 800-63B-4), so the same characters typed on any keyboard verify alike.
 */
export class PasswordHasher {
  private readonly dummy: string;

  constructor(
    readonly params: Argon2Params,
    private readonly pool: HashPool,
  ) {
    checkParams(params);
    // Stands in for a missing account so every sign-in path costs exactly one derivation.
    this.dummy = formatPhc({ params, salt: randomBytes(SALT_BYTES), hash: randomBytes(HASH_BYTES) });
  }

  /** Derivations started so far (one per hash or verify). */
  get evaluations(): number {
    return this.pool.evaluations;
  }

  async hash(password: string, priority: HashPriority = 'other'): Promise<string> {
    const salt = randomBytes(SALT_BYTES);
    const hash = await this.pool.derive(password.normalize('NFKC'), salt, this.params, HASH_BYTES, priority);
    return formatPhc({ params: this.params, salt, hash });
  }

  /**
   * Verifies a password against a stored PHC string, or against a dummy when there is none (unknown
   * user), always evaluating argon2id exactly once. An unparsable stored hash never verifies.
   */
  async verify(storedPhc: string | undefined, password: string, priority: HashPriority = 'other'): Promise<VerifyResult> {
    const parsed = parsePhc(storedPhc ?? this.dummy);
    const target = parsed ?? parsePhc(this.dummy)!;
    const derived = await this.pool.derive(password.normalize('NFKC'), target.salt, target.params, target.hash.length, priority);
    const equal = derived.length === target.hash.length && timingSafeEqual(derived, target.hash);
    const ok = equal && parsed !== undefined && storedPhc !== undefined;
    return { ok, needsRehash: ok && isWeaker(target, this.params) };
  }

  close(): Promise<void> {
    return this.pool.close();
  }
}
