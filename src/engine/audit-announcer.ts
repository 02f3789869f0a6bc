import type { AuditCheckpoint } from '../contracts.js';
import { checkpointOf, type AuditRepository, type AuditRow } from '../store/audit.js';

/** Rows read at a time: a backlog of any size is announced one batch per turn of the event loop. */
export const AUDIT_BATCH = 1000;

/** Where the announcer sends what it reads (the engine's `audit` and `checkpoint` events). */
export interface AuditListeners {
  events(rows: AuditRow[]): void;
  checkpoint(checkpoint: AuditCheckpoint): void;
}

/**
 * Tells listeners of every audit event and checkpoint committed to the database — this engine's
 * and every other process's (the CLI, a second engine) — once each, in id order, as stored. It is a
 * cursor over each table: it remembers the highest id announced and, when asked, reads the rows
 * above it in batches and moves past them.
 *
 * Nothing is passed over: SQLite runs one write transaction at a time and an AUTOINCREMENT id is
 * taken inside it (see AuditRepository.append), so once a row with id N is visible every lower id
 * is visible too, or gone for good (rolled back, or pruned by retention before it was read).
 *
 * A cursor starts at the table's highest id when the first listener of its event subscribes:
 * nothing committed before is replayed. Without listeners nothing is read.
 */
export class AuditAnnouncer {
  /** The highest event id announced; undefined while nobody listens for events. */
  private eventCursor: number | undefined;
  /** The highest checkpoint id announced; undefined while nobody listens for checkpoints. */
  private checkpointCursor: number | undefined;
  private scheduled = false;
  private closed = false;

  constructor(
    private readonly auditLog: AuditRepository,
    private readonly listeners: AuditListeners,
  ) {}

  /** Whether anyone listens for `kind` now (a listener was added or removed). */
  follow(kind: 'audit' | 'checkpoint', listening: boolean): void {
    if (this.closed) return;
    if (kind === 'audit') this.eventCursor = listening ? (this.eventCursor ?? this.auditLog.highestIdGiven()) : undefined;
    else this.checkpointCursor = listening ? (this.checkpointCursor ?? this.auditLog.highestCheckpointIdGiven()) : undefined;
  }

  /**
   * Something was committed (or is being: this engine's event, in a transaction still open), so
   * the rows are read on the next turn of the event loop, by when that transaction has ended.
   */
  schedule(): void {
    if (this.scheduled || !this.following()) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      // One batch per turn, so that a long backlog never holds up sign-ins.
      if (this.guarded(() => this.announceBatch())) this.schedule();
    });
  }

  /** Announces everything committed so far, at once (after a checkpoint, and before the database closes). */
  flush(): void {
    while (this.guarded(() => this.announceBatch()));
  }

  /** The last flush before the database closes: nothing is read after it. */
  close(): void {
    this.flush();
    this.closed = true;
    this.eventCursor = undefined;
    this.checkpointCursor = undefined;
  }

  private following(): boolean {
    return this.eventCursor !== undefined || this.checkpointCursor !== undefined;
  }

  /** Announces one batch of events, then the checkpoints they cover; true while more may remain. */
  private announceBatch(): boolean {
    const events = this.eventCursor;
    const checkpoints = this.checkpointCursor;
    // Both read from one snapshot: a checkpoint read with them vouches only for events read too (or
    // before the cursor), unless the batch of events was full and more are left to read.
    const read = this.auditLog.snapshot(() => ({
      rows: events === undefined ? [] : this.auditLog.list(events, AUDIT_BATCH),
      recorded: checkpoints === undefined ? [] : this.auditLog.checkpointsAfter(checkpoints, AUDIT_BATCH),
    }));
    const eventsLeft = read.rows.length === AUDIT_BATCH;
    const covered = eventsLeft ? read.rows.at(-1)!.id : Number.POSITIVE_INFINITY;
    // A checkpoint is announced after the events it vouches for: one beyond this batch waits.
    const beyond = read.recorded.findIndex((row) => row.last_id > covered);
    const due = beyond === -1 ? read.recorded : read.recorded.slice(0, beyond);
    // Cursors move before listeners run, so a listener that stops listening is not followed again.
    if (read.rows.length > 0) this.eventCursor = read.rows.at(-1)!.id;
    if (due.length > 0) this.checkpointCursor = due.at(-1)!.id;
    if (read.rows.length > 0) this.listeners.events(read.rows);
    for (const row of due) this.listeners.checkpoint(checkpointOf(row));
    return eventsLeft || read.recorded.length === AUDIT_BATCH;
  }

  /**
   * Runs `announce` unless closed or unwanted. Reading must never fail the caller (a committed
   * change, a close): a failure is reported, and the rows are read again next time.
   */
  private guarded(announce: () => boolean): boolean {
    if (this.closed || !this.following()) return false;
    try {
      return announce();
    } catch (error) {
      process.emitWarning(`gatehouse: announcing audit events failed: ${(error as Error).message}`);
      return false;
    }
  }
}
