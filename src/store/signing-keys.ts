import type { Database, Statement } from 'better-sqlite3';

export interface SigningKeyRow {
  pid: `k4.pid.${string}`;
  paserk: `k4.public.${string}`;
  created_at: number;
  active_until: number;
  verify_until: number;
  protected_secret: Buffer | null;
}

/** Public halves of signing keys with their validity windows (and, only with a key protector, the protected secret). */
export class SigningKeyRepository {
  private readonly insertRow: Statement;
  private readonly byPid: Statement<[string], SigningKeyRow>;
  private readonly verifiable: Statement<[number], SigningKeyRow>;
  private readonly reusable: Statement<[number], SigningKeyRow>;
  private readonly pruneRows: Statement;
  private readonly retireRow: Statement;
  private readonly extendRow: Statement;
  private readonly endAllRows: Statement;

  constructor(db: Database) {
    this.insertRow = db.prepare(
      `INSERT INTO signing_keys (pid, paserk, created_at, active_until, verify_until, protected_secret)
       VALUES (@pid, @paserk, @created_at, @active_until, @verify_until, @protected_secret)`,
    );
    this.byPid = db.prepare('SELECT * FROM signing_keys WHERE pid = ?');
    this.verifiable = db.prepare('SELECT * FROM signing_keys WHERE verify_until > ? ORDER BY created_at DESC, rowid DESC');
    this.reusable = db.prepare(
      `SELECT * FROM signing_keys WHERE protected_secret IS NOT NULL AND active_until > ?
       ORDER BY created_at DESC, rowid DESC LIMIT 1`,
    );
    // A key that signed an audit checkpoint stays on record as long as the checkpoint does.
    this.pruneRows = db.prepare(
      'DELETE FROM signing_keys WHERE verify_until <= ? AND pid NOT IN (SELECT kid FROM audit_checkpoints)',
    );
    this.retireRow = db.prepare(
      `UPDATE signing_keys SET active_until = min(active_until, @now), verify_until = min(verify_until, @verifyUntil)
       WHERE pid = @pid`,
    );
    this.extendRow = db.prepare('UPDATE signing_keys SET verify_until = max(verify_until, @verifyUntil) WHERE pid = @pid');
    this.endAllRows = db.prepare(
      'UPDATE signing_keys SET active_until = min(active_until, @now), verify_until = min(verify_until, @now) WHERE verify_until > @now',
    );
  }

  /** Ends every key's signing and verifying windows now (after a restore); returns how many were still in use. */
  endAll(now: number): number {
    return this.endAllRows.run({ now }).changes;
  }

  insert(row: SigningKeyRow): void {
    this.insertRow.run(row);
  }

  find(pid: string): SigningKeyRow | undefined {
    return this.byPid.get(pid);
  }

  listVerifiable(now: number): SigningKeyRow[] {
    return this.verifiable.all(now);
  }

  /** The newest persisted key still within its signing window, for deployments with a key protector. */
  findReusable(now: number): SigningKeyRow | undefined {
    return this.reusable.get(now);
  }

  /** Lets a key's tokens verify until at least `verifyUntil` (a longer token lifetime came into force). */
  extendVerification(pid: string, verifyUntil: number): void {
    this.extendRow.run({ pid, verifyUntil });
  }

  /** Ends a key's signing window now; its tokens keep verifying until `verifyUntil`. */
  retire(pid: string, now: number, verifyUntil: number): void {
    this.retireRow.run({ pid, now, verifyUntil });
  }

  prune(now: number): void {
    this.pruneRows.run(now);
  }
}
