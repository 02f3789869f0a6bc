import { randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, openSync } from 'node:fs';
import Database from 'better-sqlite3';
import { sha256 } from './fixtures.mjs';

const DAY = 86_400_000;

/**
 * Fills a database the engine created (schema, client) straight through SQLite, in the shape the
 * engine's own retention keeps in the steady state, so opening it prunes nothing:
 *   - `users` accounts sharing one precomputed PHC hash (no argon2id run per account);
 *   - `liveSessions` live sessions, each with `tokensPerSession` refresh-token rows (all used but the
 *     newest: the used ones stay for reuse detection while the session lives);
 *   - `endedSessions` sessions signed out within the retention window, whose token rows the engine
 *     has already pruned (and the mark in `meta` saying how far its token prune has got).
 * Returns the plaintext current refresh tokens of the first `keep` live sessions (and their users).
 */
export function fillAuthDatabase(path, { users, liveSessions, tokensPerSession, endedSessions, clientId, scope, passwordHash, keep, now = Date.now() }) {
  const db = new Database(path);
  // Bulk load: no fsync, a big cache, no FK checks (the rows are consistent by construction).
  db.pragma('journal_mode = DELETE');
  db.pragma('synchronous = OFF');
  db.pragma('cache_size = -1000000');
  db.pragma('foreign_keys = OFF');
  const userIds = [];
  const kept = [];
  try {
    const insertUser = db.prepare(
      `INSERT INTO users (id, username, username_key, password_hash, scope, created_at, updated_at, password_changed_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    const insertSession = db.prepare(
      `INSERT INTO sessions (id, user_id, client_id, scope, created_at, last_used_at, expires_at, access_expires_at, revoked_at, revoked_reason)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    const insertToken = db.prepare('INSERT INTO refresh_tokens (hash, session_id, created_at, used_at) VALUES (?, ?, ?, ?)');
    const rand = (ms) => Math.floor(Math.random() * ms);
    // Rows go in in key order (ids and filler token hashes are counters in UUID and 32-byte shape,
    // which index and look up like random ones), with the secondary indexes dropped and rebuilt
    // afterwards by the schema's own CREATE INDEX statements: minutes become seconds.
    const uuid = (kind, i) => `${kind}0000000-0000-4000-8000-${i.toString(16).padStart(12, '0')}`;
    const filler = (i) => {
      const hash = Buffer.alloc(32);
      hash.writeUInt32BE(i, 28);
      return hash;
    };
    const users_ = [];
    for (let i = 0; i < users; i++) {
      const created = now - 90 * DAY + rand(30 * DAY);
      users_.push([uuid('a', i), `user${i}`, `user${i}`, passwordHash, scope, created, created, created]);
      userIds.push(users_[i][0]);
    }
    const sessions = [];
    const tokens = [];
    const keptTokens = [];
    for (let i = 0; i < liveSessions; i++) {
      const id = uuid('b', i);
      const userId = userIds[i % users];
      const created = now - rand(6 * DAY);
      const lastUsed = now - rand(3_600_000);
      sessions.push([id, userId, clientId, scope, created, lastUsed, created + 7 * DAY, lastUsed + 300_000, null, null]);
      for (let t = 0; t < tokensPerSession; t++) {
        const current = t === tokensPerSession - 1;
        const at = created + Math.floor(((lastUsed - created) * t) / tokensPerSession);
        const row = [undefined, id, at, current ? null : at + 300_000];
        if (current && kept.length < keep) {
          const token = randomBytes(32).toString('base64url');
          kept.push({ token, userId, username: `user${i % users}` });
          row[0] = sha256(token);
          keptTokens.push(row);
        } else {
          row[0] = filler(tokens.length);
          tokens.push(row);
        }
      }
    }
    for (let i = 0; i < endedSessions; i++) {
      const created = now - 29 * DAY + rand(28 * DAY);
      const ended = created + rand(DAY);
      sessions.push([uuid('c', i), userIds[i % users], clientId, scope, created, ended, created + 7 * DAY, ended + 300_000, ended, 'signed_out']);
    }
    const indexes = db
      .prepare("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL AND tbl_name IN ('users', 'sessions', 'refresh_tokens')")
      .all();
    db.transaction(() => {
      for (const { name } of indexes) db.exec(`DROP INDEX ${name}`);
      for (const row of users_) insertUser.run(...row);
      for (const row of sessions) insertSession.run(...row);
      for (const row of tokens) insertToken.run(...row);
      for (const row of keptTokens) insertToken.run(...row);
      for (const { sql } of indexes) db.exec(sql);
      // Where the engine's token prune has got to: every session that ended before now.
      db.prepare("INSERT INTO meta (key, value) VALUES ('tokens_pruned_from', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value").run(
        String(now),
      );
    })();
    db.pragma('journal_mode = WAL');
  } finally {
    db.close();
  }
  // Written without fsync: flush it now, so that the kernel's write-back of half a gigabyte does
  // not slow the fsyncs of what is measured next.
  const fd = openSync(path, 'r+');
  fsyncSync(fd);
  closeSync(fd);
  return { userIds, kept };
}
