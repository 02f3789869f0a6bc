import type { Database, Statement } from 'better-sqlite3';

export interface ThrottleRow {
  name_hash: string;
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
      `INSERT INTO throttle (name_hash, failures, delayed_until, locked_until, updated_at)
       VALUES (@name_hash, @failures, @delayed_until, @locked_until, @updated_at)
       ON CONFLICT (name_hash) DO UPDATE SET failures = excluded.failures,
         delayed_until = excluded.delayed_until, locked_until = excluded.locked_until, updated_at = excluded.updated_at`,
    );
    this.deleteRow = db.prepare('DELETE FROM throttle WHERE name_hash = ?');
    // Idle names (no delay or lock in force) beyond the most recent @keep of them. Accounts and
    // unknown names alike: treating them differently would let a flood of names tell them apart.
    this.pruneStmt = db.prepare(
      `DELETE FROM throttle WHERE name_hash IN (
         SELECT name_hash FROM throttle
         WHERE delayed_until <= @now AND (locked_until IS NULL OR locked_until <= @now)
         ORDER BY updated_at DESC LIMIT -1 OFFSET @keep)`,
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

  /** Keeps at most `keep` idle names' state (the most recently failed); delays and locks in force stay. */
  pruneIdle(keep: number, now: number): number {
    return this.pruneStmt.run({ keep, now }).changes;
  }
}
