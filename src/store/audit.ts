import type { Database, Statement } from 'better-sqlite3';

export type AuditOutcome = 'success' | 'failure';

export interface AuditEvent {
  type: string;
  outcome: AuditOutcome;
  username?: string | undefined;
  userId?: string | undefined;
  clientId?: string | undefined;
  sessionId?: string | undefined;
  /** Extra facts; never a password, a secret or a token. */
  detail?: Record<string, string | number | boolean> | undefined;
}

export interface AuditRow {
  id: number;
  at: number;
  type: string;
  outcome: AuditOutcome;
  username: string | null;
  user_id: string | null;
  client_id: string | null;
  session_id: string | null;
  detail: string | null;
}

/** Append-only log of security events. */
export class AuditRepository {
  private readonly insertRow: Statement;
  private readonly all: Statement<[], AuditRow>;

  constructor(db: Database) {
    this.insertRow = db.prepare(
      `INSERT INTO audit_events (at, type, outcome, username, user_id, client_id, session_id, detail)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    this.all = db.prepare('SELECT * FROM audit_events ORDER BY id');
  }

  append(at: number, event: AuditEvent): void {
    this.insertRow.run(
      at,
      event.type,
      event.outcome,
      event.username ?? null,
      event.userId ?? null,
      event.clientId ?? null,
      event.sessionId ?? null,
      event.detail === undefined ? null : JSON.stringify(event.detail),
    );
  }

  list(): AuditRow[] {
    return this.all.all();
  }
}
