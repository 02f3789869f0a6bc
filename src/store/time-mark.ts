import type { Database, Statement } from 'better-sqlite3';

/** The high-water mark of time, in the meta table, shared by every process on the file. */
export class TimeMarkRepository {
  private readonly readStmt: Statement<[], number>;
  private readonly raiseStmt: Statement;

  constructor(db: Database) {
    this.readStmt = db.prepare("SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'time_mark'").pluck() as Statement<[], number>;
    this.raiseStmt = db.prepare(
      `INSERT INTO meta (key, value) VALUES ('time_mark', @ms)
       ON CONFLICT (key) DO UPDATE SET value = @ms WHERE CAST(value AS INTEGER) < CAST(@ms AS INTEGER)`,
    );
  }

  read(): number {
    return this.readStmt.get() ?? 0;
  }

  /** Raises the stored mark to `ms` (never lowers it). */
  raise(ms: number): void {
    this.raiseStmt.run({ ms: String(ms) });
  }
}
