import type { Database, Statement } from 'better-sqlite3';
import type { Revocation } from '../contracts.js';

interface RevocationRow {
  kind: Revocation['kind'];
  value: string;
  revoked_at: number;
  expires_at: number;
}

/**
 * Revoked access-token families (sid) and single access tokens (jti), kept until no token they cover
 * can still be valid; this is the list resource services hold in memory.
 */
export class RevocationRepository {
  private readonly insertRow: Statement;
  private readonly findRow: Statement<[string, string, number], { one: number }>;
  private readonly live: Statement<[number], RevocationRow>;
  private readonly pruneRows: Statement;

  constructor(db: Database) {
    this.insertRow = db.prepare(
      `INSERT INTO revocations (kind, value, revoked_at, expires_at) VALUES (?, ?, ?, ?)
       ON CONFLICT (kind, value) DO UPDATE SET expires_at = max(expires_at, excluded.expires_at)`,
    );
    this.findRow = db.prepare('SELECT 1 AS one FROM revocations WHERE kind = ? AND value = ? AND expires_at > ?');
    this.live = db.prepare('SELECT * FROM revocations WHERE expires_at > ? ORDER BY revoked_at');
    this.pruneRows = db.prepare('DELETE FROM revocations WHERE expires_at <= ?');
  }

  add(revocation: Revocation): void {
    this.insertRow.run(revocation.kind, revocation.value, revocation.revokedAt, revocation.expiresAt);
  }

  isRevoked(kind: Revocation['kind'], value: string, now: number): boolean {
    return this.findRow.get(kind, value, now) !== undefined;
  }

  list(now: number): Revocation[] {
    return this.live.all(now).map((row) => ({
      kind: row.kind,
      value: row.value,
      revokedAt: row.revoked_at,
      expiresAt: row.expires_at,
    }));
  }

  prune(now: number): void {
    this.pruneRows.run(now);
  }
}
