import type { Database, Statement } from 'better-sqlite3';
import type { SessionEndReason, SessionInfo } from '../contracts.js';
import { SESSION_ENDED_AT, SESSION_ENDED_BY_REFRESH_AT as ENDED_BY_REFRESH_AT } from './migrations.js';
import { splitList } from './space-list.js';

export interface SessionRow {
  id: string;
  user_id: string;
  client_id: string;
  scope: string;
  created_at: number;
  last_used_at: number;
  expires_at: number;
  access_expires_at: number;
  revoked_at: number | null;
  revoked_reason: SessionEndReason | null;
}

/** A refresh token's row joined with its session. */
export interface RefreshTokenRow extends SessionRow {
  used_at: number | null;
  token_created_at: number;
}

type SessionListRow = SessionRow & { username: string };

/** Sign-in sessions (refresh families) and the hashes of their refresh tokens. */
export class SessionRepository {
  private readonly insertSession: Statement;
  private readonly insertToken: Statement;
  private readonly tokenByHash: Statement<[Buffer], RefreshTokenRow>;
  private readonly markUsedStmt: Statement;
  private readonly touchStmt: Statement;
  private readonly byId: Statement<[string], SessionRow>;
  private readonly revokeStmt: Statement;
  private readonly liveOfUser: Statement<[string, number], SessionRow>;
  private readonly liveOfClient: Statement<[string, number], SessionRow>;
  private readonly liveIdsStmt: Statement<[number], string>;
  private readonly listAll: Statement<[], SessionListRow>;
  private readonly listOfUser: Statement<[string], SessionListRow>;
  private readonly tokensPrunedFrom: Statement<[], number>;
  private readonly setTokensPrunedFrom: Statement;
  private readonly endedAtOffset: Statement<[number, number, number], number>;
  private readonly pruneTokens: Statement;
  private readonly pruneSessions: Statement;

  constructor(db: Database) {
    this.insertSession = db.prepare(
      `INSERT INTO sessions (id, user_id, client_id, scope, created_at, last_used_at, expires_at, access_expires_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    this.insertToken = db.prepare('INSERT INTO refresh_tokens (hash, session_id, created_at) VALUES (?, ?, ?)');
    this.tokenByHash = db.prepare(
      `SELECT s.*, t.used_at, t.created_at AS token_created_at FROM refresh_tokens t JOIN sessions s ON s.id = t.session_id WHERE t.hash = ?`,
    );
    this.markUsedStmt = db.prepare('UPDATE refresh_tokens SET used_at = ? WHERE hash = ? AND used_at IS NULL');
    this.touchStmt = db.prepare(
      'UPDATE sessions SET last_used_at = ?, access_expires_at = max(access_expires_at, ?) WHERE id = ?',
    );
    this.byId = db.prepare('SELECT * FROM sessions WHERE id = ?');
    this.revokeStmt = db.prepare(
      'UPDATE sessions SET revoked_at = ?, revoked_reason = ? WHERE id = ? AND revoked_at IS NULL',
    );
    // Live: not ended by hand, and either still refreshable or holding an access token still valid.
    const live = 'revoked_at IS NULL AND max(expires_at, access_expires_at) > ?';
    this.liveOfUser = db.prepare(`SELECT * FROM sessions WHERE user_id = ? AND ${live}`);
    this.liveOfClient = db.prepare(`SELECT * FROM sessions WHERE client_id = ? AND ${live}`);
    this.liveIdsStmt = db.prepare(`SELECT id FROM sessions WHERE ${live}`).pluck() as Statement<[number], string>;
    const list = `SELECT s.*, u.username FROM sessions s JOIN users u ON u.id = s.user_id`;
    this.listAll = db.prepare(`${list} ORDER BY s.created_at DESC`);
    this.listOfUser = db.prepare(`${list} WHERE s.user_id = ? ORDER BY s.created_at DESC`);
    // Ended sessions keep their rows (for listing and audit) but need no token hashes any more. A
    // prune goes through the sessions in the order of the index on when they ended, near enough,
    // from where the last one stopped (less an access token's lifetime, the most the index can be
    // early by). A session's entry never moves before a prune that saw it live: revoking sets it to
    // now, and an expiry still to come is later than now.
    this.tokensPrunedFrom = db
      .prepare("SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'tokens_pruned_from'")
      .pluck() as Statement<[], number>;
    this.setTokensPrunedFrom = db.prepare(
      "INSERT INTO meta (key, value) VALUES ('tokens_pruned_from', @ms) ON CONFLICT (key) DO UPDATE SET value = @ms",
    );
    this.endedAtOffset = db
      .prepare(`SELECT ${ENDED_BY_REFRESH_AT} AS ended FROM sessions WHERE ended BETWEEN ? AND ? ORDER BY ended LIMIT 1 OFFSET ?`)
      .pluck() as Statement<[number, number, number], number>;
    this.pruneTokens = db.prepare(
      `DELETE FROM refresh_tokens WHERE session_id IN
         (SELECT id FROM sessions WHERE ${ENDED_BY_REFRESH_AT} BETWEEN ? AND ? AND ${SESSION_ENDED_AT} <= ?)`,
    );
    this.pruneSessions = db.prepare(`DELETE FROM sessions WHERE ${ENDED_BY_REFRESH_AT} <= @before AND ${SESSION_ENDED_AT} <= @before`);
  }

  create(session: {
    id: string;
    userId: string;
    clientId: string;
    scope: string;
    now: number;
    expiresAt: number;
    accessExpiresAt: number;
  }): void {
    this.insertSession.run(
      session.id,
      session.userId,
      session.clientId,
      session.scope,
      session.now,
      session.now,
      session.expiresAt,
      session.accessExpiresAt,
    );
  }

  addRefreshToken(hash: Buffer, sessionId: string, now: number): void {
    this.insertToken.run(hash, sessionId, now);
  }

  findRefreshToken(hash: Buffer): RefreshTokenRow | undefined {
    return this.tokenByHash.get(hash);
  }

  /** Marks a refresh token used (the caller holds the write lock and saw it unused). */
  markUsed(hash: Buffer, now: number): void {
    this.markUsedStmt.run(now, hash);
  }

  /** Records a use of the session and the expiry of the access token it was used for. */
  touch(sessionId: string, now: number, accessExpiresAt: number): void {
    this.touchStmt.run(now, accessExpiresAt, sessionId);
  }

  find(sessionId: string): SessionRow | undefined {
    return this.byId.get(sessionId);
  }

  /** Ends a session; false if it had already ended. */
  revoke(sessionId: string, now: number, reason: SessionEndReason): boolean {
    return this.revokeStmt.run(now, reason, sessionId).changes === 1;
  }

  liveSessionsOf(userId: string, now: number): SessionRow[] {
    return this.liveOfUser.all(userId, now);
  }

  /** The ids of every live session (whose tokens may still be accepted at `now`). */
  liveIds(now: number): string[] {
    return this.liveIdsStmt.all(now);
  }

  liveSessionsOfClient(clientId: string, now: number): SessionRow[] {
    return this.liveOfClient.all(clientId, now);
  }

  list(userId?: string): SessionInfo[] {
    const rows = userId === undefined ? this.listAll.all() : this.listOfUser.all(userId);
    return rows.map((row) => ({
      id: row.id,
      userId: row.user_id,
      username: row.username,
      clientId: row.client_id,
      scope: splitList(row.scope),
      createdAt: row.created_at,
      lastUsedAt: row.last_used_at,
      expiresAt: row.expires_at,
      revokedAt: row.revoked_at,
      revokedReason: row.revoked_reason,
    }));
  }

  /** Drops sessions that ended before `endedBefore` (their token hashes with them). */
  pruneSessionsEndedBefore(endedBefore: number): void {
    this.pruneSessions.run({ before: endedBefore });
  }

  /**
   * Drops the token hashes of sessions that ended by `now`, about `batch` sessions at a time (more
   * only when several share a millisecond). Starts where the last prune stopped, less
   * `accessTokenMaxMs` (the longest an access token may outlive its session's refresh token), or
   * `from` (what the previous batch of this prune returned). Returns where the next batch starts,
   * or undefined once done. The caller runs it in a write transaction.
   */
  pruneEndedTokens(now: number, batch: number, accessTokenMaxMs: number, from?: number): number | undefined {
    const start = from ?? (this.tokensPrunedFrom.get() ?? 0) - accessTokenMaxMs;
    const batchEnd = this.endedAtOffset.get(start, now, batch);
    const to = batchEnd ?? now;
    this.pruneTokens.run(start, to, now);
    // When done, the next prune starts back from now: a session may still end in this millisecond.
    const next = batchEnd === undefined ? now : to + 1;
    this.setTokensPrunedFrom.run({ ms: String(next) });
    return batchEnd === undefined ? undefined : next;
  }
}
