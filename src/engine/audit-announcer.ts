import type { AuditRepository, AuditRow } from '../store/audit.js';

/**
 * Tells listeners of the audit events this engine appended, once committed. An event is appended
 * inside a synchronous better-sqlite3 transaction, so by the next turn of the event loop it is
 * committed or gone: the ids noted are read back then, and only the rows that exist are announced,
 * as stored (with their chain hashes), oldest first.
 */
export class AuditAnnouncer {
  private pending: number[] = [];
  private scheduled = false;

  constructor(
    private readonly auditLog: AuditRepository,
    /** Whether anyone listens: without listeners nothing is noted or read. */
    private readonly wanted: () => boolean,
    private readonly announce: (rows: AuditRow[]) => void,
  ) {}

  /** An event was appended (maybe in a transaction still open). */
  noted(id: number): void {
    if (!this.wanted()) return;
    this.pending.push(id);
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => this.flush());
  }

  /** Announces every committed event noted so far (before a checkpoint, and before the database closes). */
  flush(): void {
    this.scheduled = false;
    if (this.pending.length === 0) return;
    const ids = new Set(this.pending);
    this.pending = [];
    const first = Math.min(...ids);
    const last = Math.max(...ids);
    // Ids are unique, so at most last - first + 1 rows lie in [first, last]; other processes' are skipped.
    const rows = this.auditLog.list(first - 1, last - first + 1).filter((row) => ids.has(row.id));
    if (rows.length > 0) this.announce(rows);
  }
}
