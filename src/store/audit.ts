import type { Database, Statement } from 'better-sqlite3';
import type { AuditCheckpoint } from '../contracts.js';
import { eventHash, genesisHash, type ChainedEvent } from '../security/audit-chain.js';

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

/** An audit event as stored and exported; `hash` is its chain hash in hex. */
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
  hash: string;
}

/** A stored event with its raw chain hash, as verification reads it. */
export type StoredEvent = ChainedEvent & { hash: Buffer | null };

/** Where the chain starts after retention pruned older events: the last pruned event. */
export interface ChainAnchor {
  id: number;
  hash: Buffer;
}

export interface CheckpointRow {
  id: number;
  at: number;
  last_id: number;
  last_hash: Buffer;
  kid: string;
  token: string;
}

const COLUMNS = 'id, at, type, outcome, username, user_id, client_id, session_id, detail';

/**
 * Append-only, hash-chained log of security events: each event's hash covers the previous hash and
 * its own fields, so `gatehouse audit verify` finds any edited, reordered or deleted event.
 */
export class AuditRepository {
  private readonly insertRow: Statement;
  private readonly lastRow: Statement<[], { id: number; hash: Buffer | null }>;
  private readonly sequence: Statement<[string], number>;
  private readonly page: Statement<[number, number], AuditRow>;
  private readonly rawPageStmt: Statement<[number, number], StoredEvent>;
  private readonly anchorStmt: Statement<[], string>;
  private readonly setAnchorStmt: Statement;
  private readonly hashOf: Statement<[number], Buffer>;
  private readonly cutByAge: Statement<[number], number>;
  private readonly deleteUpTo: Statement;
  private readonly countStmt: Statement<[], number>;
  private readonly insertCheckpointStmt: Statement;
  private readonly checkpointsStmt: Statement<[], CheckpointRow>;
  private readonly checkpointPage: Statement<[number, number], CheckpointRow>;
  private readonly deleteCheckpointsUpTo: Statement;
  private readonly lastCheckpointStmt: Statement<[], number>;
  private readonly genesis: Buffer;

  constructor(
    private readonly db: Database,
    installationId: string,
  ) {
    this.genesis = genesisHash(installationId);
    this.insertRow = db.prepare(`INSERT INTO audit_events (${COLUMNS}, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`);
    this.lastRow = db.prepare('SELECT id, hash FROM audit_events ORDER BY id DESC LIMIT 1');
    this.sequence = db.prepare('SELECT seq FROM sqlite_sequence WHERE name = ?').pluck() as Statement<[string], number>;
    this.page = db.prepare(
      `SELECT ${COLUMNS}, lower(hex(hash)) AS hash FROM audit_events WHERE id > ? ORDER BY id LIMIT ?`,
    );
    this.rawPageStmt = db.prepare(`SELECT ${COLUMNS}, hash FROM audit_events WHERE id > ? ORDER BY id LIMIT ?`);
    this.anchorStmt = db.prepare("SELECT value FROM meta WHERE key = 'audit_anchor'").pluck() as Statement<[], string>;
    this.setAnchorStmt = db.prepare(
      "INSERT INTO meta (key, value) VALUES ('audit_anchor', @value) ON CONFLICT (key) DO UPDATE SET value = @value",
    );
    this.hashOf = db.prepare('SELECT hash FROM audit_events WHERE id = ?').pluck() as Statement<[number], Buffer>;
    this.cutByAge = db.prepare('SELECT max(id) FROM audit_events WHERE at < ?').pluck() as Statement<[number], number>;
    this.deleteUpTo = db.prepare('DELETE FROM audit_events WHERE id <= ?');
    this.countStmt = db.prepare('SELECT count(*) FROM audit_events').pluck() as Statement<[], number>;
    this.insertCheckpointStmt = db.prepare('INSERT INTO audit_checkpoints (at, last_id, last_hash, kid, token) VALUES (?, ?, ?, ?, ?)');
    this.checkpointsStmt = db.prepare('SELECT * FROM audit_checkpoints ORDER BY id');
    this.checkpointPage = db.prepare('SELECT * FROM audit_checkpoints WHERE id > ? ORDER BY id LIMIT ?');
    this.lastCheckpointStmt = db.prepare('SELECT last_id FROM audit_checkpoints ORDER BY id DESC LIMIT 1').pluck() as Statement<[], number>;
    this.deleteCheckpointsUpTo = db.prepare('DELETE FROM audit_checkpoints WHERE last_id <= ?');
  }

  /** Appends one event, chained to the last (call inside a write transaction). */
  append(at: number, event: AuditEvent): void {
    const last = this.lastRow.get();
    const previous = last?.hash ?? this.anchor()?.hash ?? this.genesis;
    // AUTOINCREMENT never reuses an id; the hash covers the id, so it is chosen here.
    const id = Math.max(this.highestIdGiven(), last?.id ?? 0) + 1;
    const row: ChainedEvent = {
      id,
      at,
      type: event.type,
      outcome: event.outcome,
      username: event.username ?? null,
      user_id: event.userId ?? null,
      client_id: event.clientId ?? null,
      session_id: event.sessionId ?? null,
      detail: event.detail === undefined ? null : JSON.stringify(event.detail),
    };
    const hash = eventHash(previous, row);
    this.insertRow.run(row.id, row.at, row.type, row.outcome, row.username, row.user_id, row.client_id, row.session_id, row.detail, hash);
  }

  /** Events after `afterId`, oldest first, at most `limit`. */
  list(afterId = 0, limit = -1): AuditRow[] {
    return this.page.all(afterId, limit);
  }

  /** Stored events with their raw hashes after `afterId`, oldest first (for verification). */
  rawPage(afterId: number, limit: number): StoredEvent[] {
    return this.rawPageStmt.all(afterId, limit);
  }

  count(): number {
    return this.countStmt.get() ?? 0;
  }

  /** The chain head: the last event's id and hash (or the anchor's, or genesis at id 0). */
  head(): { id: number; hash: Buffer } {
    const last = this.lastRow.get();
    if (last?.hash) return { id: last.id, hash: last.hash };
    return this.anchor() ?? { id: 0, hash: this.genesis };
  }

  get genesisHash(): Buffer {
    return this.genesis;
  }

  /** The highest event id ever given (AUTOINCREMENT's record), even if events were deleted since. */
  highestIdGiven(): number {
    return this.sequence.get('audit_events') ?? 0;
  }

  /** The highest checkpoint id ever given, as highestIdGiven() for events. */
  highestCheckpointIdGiven(): number {
    return this.sequence.get('audit_checkpoints') ?? 0;
  }

  /** Runs `read` in one read transaction: all it reads comes from one state of the file. */
  snapshot<T>(read: () => T): T {
    return this.db.transaction(read)();
  }

  anchor(): ChainAnchor | undefined {
    const value = this.anchorStmt.get();
    if (value === undefined) return undefined;
    const parsed = JSON.parse(value) as { id: number; hash: string };
    return { id: parsed.id, hash: Buffer.from(parsed.hash, 'hex') };
  }

  /**
   * Retention (inside a write transaction): drops events older than `olderThan` and all but the
   * newest `keep`, remembering the last dropped event's hash so the rest still verifies.
   */
  prune(olderThan: number, keep: number): { events: number; anchor: ChainAnchor } | undefined {
    const head = this.lastRow.get();
    if (!head) return undefined;
    const cut = Math.max(this.cutByAge.get(olderThan) ?? 0, head.id - keep);
    const hash = cut > 0 ? this.hashOf.get(cut) : undefined;
    if (!hash) return undefined;
    this.setAnchorStmt.run({ value: JSON.stringify({ id: cut, hash: hash.toString('hex') }) });
    this.deleteCheckpointsUpTo.run(cut);
    return { events: this.deleteUpTo.run(cut).changes, anchor: { id: cut, hash } };
  }

  addCheckpoint(at: number, lastId: number, lastHash: Buffer, kid: string, token: string): void {
    this.insertCheckpointStmt.run(at, lastId, lastHash, kid, token);
  }

  /** The last event the newest checkpoint vouches for (0 if none). */
  lastCheckpointedId(): number {
    return this.lastCheckpointStmt.get() ?? 0;
  }

  checkpoints(): CheckpointRow[] {
    return this.checkpointsStmt.all();
  }

  /** Checkpoints recorded after the one with id `afterId`, oldest first, at most `limit`. */
  checkpointsAfter(afterId: number, limit: number): CheckpointRow[] {
    return this.checkpointPage.all(afterId, limit);
  }
}

/** A recorded checkpoint as the API gives it (and `audit verify --checkpoint` takes it). */
export function checkpointOf(row: CheckpointRow): AuditCheckpoint {
  return { lastId: row.last_id, lastHash: row.last_hash.toString('hex'), at: row.at, token: row.token };
}
