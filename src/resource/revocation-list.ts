import type { Revocation } from '../contracts.js';

/**
 * Revoked sessions (sid) and single tokens (jti), each until its expiresAt: after that no token it
 * covers can still be valid, so it is dropped.
 */
export class RevocationList {
  private readonly byKind = { sid: new Map<string, number>(), jti: new Map<string, number>() };

  /** A list of these revocations; throws TypeError if any is malformed. */
  static of(revocations: readonly Revocation[], now: number): RevocationList {
    const list = new RevocationList();
    list.add(revocations, now);
    return list;
  }

  /** Adds revocations (all or, if one is malformed, none: TypeError) and drops the expired ones. */
  add(revocations: readonly Revocation[], now: number): void {
    if (!Array.isArray(revocations as unknown)) throw new TypeError('revocations must be an array.');
    for (const entry of revocations) {
      const { kind, value, expiresAt } = (entry ?? {}) as Partial<Revocation>;
      if ((kind !== 'sid' && kind !== 'jti') || typeof value !== 'string' || typeof expiresAt !== 'number' || Number.isNaN(expiresAt)) {
        throw new TypeError('Each revocation needs a kind (sid or jti), a value and an expiresAt time.');
      }
    }
    for (const { kind, value, expiresAt } of revocations) {
      const map = this.byKind[kind];
      map.set(value, Math.max(map.get(value) ?? expiresAt, expiresAt));
    }
    for (const map of Object.values(this.byKind)) {
      for (const [value, expiresAt] of map) if (expiresAt <= now) map.delete(value);
    }
  }

  /** Whether the token's session or the token itself is revoked at `now`. */
  covers(sid: string, jti: string, now: number): boolean {
    return (this.byKind.sid.get(sid) ?? -Infinity) > now || (this.byKind.jti.get(jti) ?? -Infinity) > now;
  }
}
