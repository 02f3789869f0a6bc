import { createHash } from 'node:crypto';
import type { LockoutRules } from '../engine/policy.js';
import type { ThrottleRepository, ThrottleRow } from '../store/throttle.js';

/** Whether a password check may run now for a name. */
export type ThrottleVerdict =
  | { allowed: true }
  | { allowed: false; locked: true }
  | { allowed: false; locked: false; retryAfter: number };

/** What one more checked failure did. */
export type FailureOutcome = { failures: number; delaySeconds?: number; locked: boolean };

/**
 * Brute-force protection per submitted username, the same for accounts and unknown names (design
 * notes, "Errors and throttling"): after `freeFailures` checked failures each further one starts a
 * delay (30 s doubling to 1 h by default) during which attempts are refused unchecked and uncounted;
 * `maxFailures` consecutive checked failures lock the name until `lockSeconds` pass or an
 * administrator unlocks it; a success clears everything. Times come from the monotonic clock.
 */
export class Throttle {
  constructor(
    private readonly repository: ThrottleRepository,
    /** Read at each use: provisioning may change the rules while the engine runs. */
    private readonly rules: () => LockoutRules,
    private readonly installationId: string,
  ) {}

  /** `key` is always a username key (NFKC, case-folded); only its hash is stored. */
  check(key: string, now: number): ThrottleVerdict {
    const row = this.current(key, now);
    if (!row) return { allowed: true };
    if (row.locked_until !== null) return { allowed: false, locked: true };
    if (row.delayed_until > now) return { allowed: false, locked: false, retryAfter: Math.ceil((row.delayed_until - now) / 1000) };
    return { allowed: true };
  }

  /** Counts a checked failure (call inside a write transaction). */
  failure(key: string, now: number): FailureOutcome {
    const row = this.current(key, now);
    const failures = (row?.failures ?? 0) + 1;
    const { freeFailures, initialDelaySeconds, maxDelaySeconds, maxFailures, lockSeconds } = this.rules();
    const locked = failures >= maxFailures;
    const delaySeconds =
      !locked && failures >= freeFailures ? Math.min(initialDelaySeconds * 2 ** (failures - freeFailures), maxDelaySeconds) : undefined;
    this.repository.save({
      name_hash: this.hashOf(key),
      failures,
      delayed_until: delaySeconds === undefined ? 0 : now + delaySeconds * 1000,
      locked_until: locked ? now + lockSeconds * 1000 : null,
      updated_at: now,
    });
    return delaySeconds === undefined ? { failures, locked } : { failures, locked, delaySeconds };
  }

  /** A right password, or an administrator's unlock: the count, the delay and the lock go. */
  clear(key: string): boolean {
    return this.repository.clear(this.hashOf(key));
  }

  /** The failure count and any delay or lock in force for a name. */
  state(key: string, now: number): { failures: number; delayedUntil: number | null; lockedUntil: number | null } {
    const row = this.current(key, now);
    return {
      failures: row?.failures ?? 0,
      delayedUntil: row && row.delayed_until > now ? row.delayed_until : null,
      lockedUntil: row?.locked_until ?? null,
    };
  }

  /** Daily maintenance: bounds the table (see ThrottleRepository.pruneIdle). */
  prune(now: number): void {
    this.repository.pruneIdle(this.rules().maxUnknownNames, now);
  }

  /** The stored state, unless a lock on it has run out (which starts the count afresh). */
  private current(key: string, now: number): ThrottleRow | undefined {
    const row = this.repository.find(this.hashOf(key));
    if (row?.locked_until != null && row.locked_until <= now) return undefined;
    return row;
  }

  /**
   * What the table holds instead of the name: a name that is no account may be a password typed
   * into the wrong field, so it is never stored as it was typed.
   */
  private hashOf(key: string): string {
    return createHash('sha256').update(`gatehouse throttle\0${this.installationId}\0${key}`).digest('hex');
  }
}
