import { randomBytes } from 'node:crypto';
import Database from 'better-sqlite3';

/** The peer's database: its schema, created on first use, under Gatehouse's pragmas. */
export function openPeerDatabase(file) {
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.pragma('foreign_keys = ON');
  db.pragma('busy_timeout = 5000');
  db.exec(`
    CREATE TABLE IF NOT EXISTS clients (id TEXT PRIMARY KEY, grants TEXT NOT NULL) STRICT;
    CREATE TABLE IF NOT EXISTS users (id TEXT PRIMARY KEY, username TEXT NOT NULL UNIQUE) STRICT;
    CREATE TABLE IF NOT EXISTS access_tokens (
      token TEXT PRIMARY KEY, expires_at INTEGER NOT NULL, scope TEXT NOT NULL,
      client_id TEXT NOT NULL REFERENCES clients(id), user_id TEXT NOT NULL REFERENCES users(id)) STRICT;
    CREATE TABLE IF NOT EXISTS refresh_tokens (
      token TEXT PRIMARY KEY, expires_at INTEGER NOT NULL, scope TEXT NOT NULL,
      client_id TEXT NOT NULL REFERENCES clients(id), user_id TEXT NOT NULL REFERENCES users(id)) STRICT;
  `);
  return db;
}

/** A client and users for the peer, and `count` refresh tokens spread over them; returns the tokens. */
export function seedPeer(file, { clientId, users, count, scope }) {
  const db = openPeerDatabase(file);
  try {
    const tokens = [];
    db.transaction(() => {
      db.prepare('INSERT OR IGNORE INTO clients (id, grants) VALUES (?, ?)').run(clientId, 'password refresh_token');
      const user = db.prepare('INSERT OR IGNORE INTO users (id, username) VALUES (?, ?)');
      for (let i = 0; i < users; i++) user.run(`peer-user-${i}`, `member${i}`);
      const insert = db.prepare('INSERT INTO refresh_tokens (token, expires_at, scope, client_id, user_id) VALUES (?, ?, ?, ?, ?)');
      const expires = Date.now() + 7 * 86_400_000;
      for (let i = 0; i < count; i++) {
        // The library's own generator: 32 random bytes as 64 hex characters.
        const token = randomBytes(32).toString('hex');
        insert.run(token, expires, scope, clientId, `peer-user-${i % users}`);
        tokens.push(token);
      }
    }).immediate();
    db.pragma('wal_checkpoint(TRUNCATE)');
    return tokens;
  } finally {
    db.close();
  }
}
