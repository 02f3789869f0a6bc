import type { Database, Statement } from 'better-sqlite3';

export interface ThrottleRow {
  name_hash: string;
  account: number;
  failures: number;
  delayed_until: number;
  locked_until: number | null;
  updated_at: number;
}

/** Throttle state per submitted username (by hash), whether or not it names an account. */
export class ThrottleRepository {
  private readonly byKey: Statement<[string], ThrottleRow>;
  private readonly upsert: Statement;
  private readonly deleteRow: Statement;
  private readonly pruneStmt: Statement;

  constructor(db: Database) {
    this.byKey = db.prepare('SELECT * FROM throttle WHERE name_hash = ?');
    this.upsert = db.prepare(
      `INSERT INTO throttle (name_hash, account, failures, delayed_until, locked_until, updated_at)
       VALUES (@name_hash, @account, @failures, @delayed_until, @locked_until, @updated_at)
       ON CONFLICT (name_hash) DO UPDATE SET account = excluded.account, failures = excluded.failures,
         delayed_until = excluded.delayed_until, locked_until = excluded.locked_until, updated_at = excluded.updated_at`,
    );
    this.deleteRow = db.prepare('DELETE FROM throttle WHERE name_hash = ?');
    // Names that are no account, beyond the newest `?` of them.
    this.pruneStmt = db.prepare(
      `DELETE FROM throttle WHERE name_hash IN (
         SELECT name_hash FROM throttle WHERE account = 0 ORDER BY updated_at DESC LIMIT -1 OFFSET ?)`,
    );
  }

  find(nameHash: string): ThrottleRow | undefined {
    return this.byKey.get(nameHash);
  }

  save(row: ThrottleRow): void {
    this.upsert.run(row);
  }

  /** True if there was state to clear. */
  clear(nameHash: string): boolean {
    return this.deleteRow.run(nameHash).changes > 0;
  }

  /** Keeps the state of at most `keep` names that are not accounts (the most recently failed). */
  pruneUnknown(keep: number): number {
    return this.pruneStmt.run(keep).changes;
  }
}
