import type { Database, Statement } from 'better-sqlite3';

export interface ThrottleRow {
  username_key: string;
  failures: number;
  delayed_until: number;
  locked_until: number | null;
  updated_at: number;
}

/** Throttle state per submitted username (normalised), whether or not it names an account. */
export class ThrottleRepository {
  private readonly byKey: Statement<[string], ThrottleRow>;
  private readonly upsert: Statement;
  private readonly deleteRow: Statement;
  private readonly pruneStmt: Statement;

  constructor(db: Database) {
    this.byKey = db.prepare('SELECT * FROM throttle WHERE username_key = ?');
    this.upsert = db.prepare(
      `INSERT INTO throttle (username_key, failures, delayed_until, locked_until, updated_at)
       VALUES (@username_key, @failures, @delayed_until, @locked_until, @updated_at)
       ON CONFLICT (username_key) DO UPDATE SET failures = excluded.failures, delayed_until = excluded.delayed_until,
         locked_until = excluded.locked_until, updated_at = excluded.updated_at`,
    );
    this.deleteRow = db.prepare('DELETE FROM throttle WHERE username_key = ?');
    // Names that are no account, beyond the newest `?` of them.
    this.pruneStmt = db.prepare(
      `DELETE FROM throttle WHERE username_key IN (
         SELECT t.username_key FROM throttle t
         WHERE NOT EXISTS (SELECT 1 FROM users u WHERE u.username_key = t.username_key)
         ORDER BY t.updated_at DESC LIMIT -1 OFFSET ?)`,
    );
  }

  find(usernameKey: string): ThrottleRow | undefined {
    return this.byKey.get(usernameKey);
  }

  save(row: ThrottleRow): void {
    this.upsert.run(row);
  }

  /** True if there was state to clear. */
  clear(usernameKey: string): boolean {
    return this.deleteRow.run(usernameKey).changes > 0;
  }

  /** Keeps the state of at most `keep` names that are not accounts (the most recently failed). */
  pruneUnknown(keep: number): number {
    return this.pruneStmt.run(keep).changes;
  }
}
