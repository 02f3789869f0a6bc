import type { Database } from 'better-sqlite3';
import { eventHash, genesisHash, type ChainedEvent } from '../security/audit-chain.js';

/**
 * When a session ended, or will: signed out (revoked_at), or else once neither its refresh token
 * (expires_at) nor the last access token issued in it (access_expires_at) can be used.
 */
export const SESSION_ENDED_AT = 'coalesce(revoked_at, max(expires_at, access_expires_at))';
/**
 * The same without the access token, as migration 3 indexes it (statements must spell it exactly so
 * for SQLite to use the index): never later than SESSION_ENDED_AT, earlier by at most an access
 * token's lifetime. Unlike access_expires_at, neither column changes when a session is refreshed,
 * so refreshes never rewrite the index.
 */
export const SESSION_ENDED_BY_REFRESH_AT = 'coalesce(revoked_at, expires_at)';

/**
 * Forward-only schema migrations. Migration N takes the schema from user_version N-1 to N; each runs
 * in its own write transaction together with the user_version bump. Never edit a shipped one.
 */
export const migrations: ReadonlyArray<(db: Database) => void> = [
  // 1: the initial schema.
  (db) => {
    db.exec(`
      CREATE TABLE meta (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL
      ) STRICT;

      CREATE TABLE users (
        id TEXT PRIMARY KEY,
        username TEXT NOT NULL,
        username_key TEXT NOT NULL UNIQUE,
        display_name TEXT,
        password_hash TEXT NOT NULL,
        scope TEXT NOT NULL DEFAULT '',
        must_change_password INTEGER NOT NULL DEFAULT 0,
        disabled INTEGER NOT NULL DEFAULT 0,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL,
        password_changed_at INTEGER NOT NULL
      ) STRICT;

      CREATE TABLE clients (
        id TEXT PRIMARY KEY,
        secret_hash BLOB,
        scope TEXT NOT NULL DEFAULT '',
        grants TEXT NOT NULL,
        created_at INTEGER NOT NULL
      ) STRICT;

      CREATE TABLE signing_keys (
        pid TEXT PRIMARY KEY,
        paserk TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        active_until INTEGER NOT NULL,
        verify_until INTEGER NOT NULL,
        protected_secret BLOB
      ) STRICT;
      CREATE INDEX signing_keys_verify_until ON signing_keys(verify_until);

      CREATE TABLE sessions (
        id TEXT PRIMARY KEY,
        user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        client_id TEXT NOT NULL REFERENCES clients(id) ON DELETE CASCADE,
        scope TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        last_used_at INTEGER NOT NULL,
        expires_at INTEGER NOT NULL,
        -- the latest exp of any access token issued in this session: revocations must outlive it
        access_expires_at INTEGER NOT NULL,
        revoked_at INTEGER,
        revoked_reason TEXT
      ) STRICT;
      CREATE INDEX sessions_user ON sessions(user_id);
      CREATE INDEX sessions_expires ON sessions(expires_at);

      CREATE TABLE refresh_tokens (
        hash BLOB PRIMARY KEY,
        session_id TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
        created_at INTEGER NOT NULL,
        used_at INTEGER
      ) STRICT;
      CREATE INDEX refresh_tokens_session ON refresh_tokens(session_id);

      CREATE TABLE revocations (
        kind TEXT NOT NULL CHECK (kind IN ('sid', 'jti')),
        value TEXT NOT NULL,
        revoked_at INTEGER NOT NULL,
        expires_at INTEGER NOT NULL,
        PRIMARY KEY (kind, value)
      ) STRICT;
      CREATE INDEX revocations_expires ON revocations(expires_at);

      CREATE TABLE audit_events (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        at INTEGER NOT NULL,
        type TEXT NOT NULL,
        outcome TEXT NOT NULL,
        username TEXT,
        user_id TEXT,
        client_id TEXT,
        session_id TEXT,
        detail TEXT
      ) STRICT;
    `);
  },
  // 2: account security: throttle state, a monotonic time mark, the audit hash chain and checkpoints.
  (db) => {
    db.exec(`
      -- One row per submitted username, account or not, keyed by a hash of the normalised name
      -- (a name that is no account may be a password typed into the wrong field).
      CREATE TABLE throttle (
        name_hash TEXT PRIMARY KEY,
        -- consecutive failures whose password was checked
        failures INTEGER NOT NULL,
        -- no attempt is checked before this time (epoch ms)
        delayed_until INTEGER NOT NULL DEFAULT 0,
        locked_until INTEGER,
        updated_at INTEGER NOT NULL
      ) STRICT;
      CREATE INDEX throttle_updated ON throttle(updated_at);

      ALTER TABLE audit_events ADD COLUMN hash BLOB;
      CREATE INDEX audit_events_at ON audit_events(at);

      CREATE TABLE audit_checkpoints (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        at INTEGER NOT NULL,
        last_id INTEGER NOT NULL,
        last_hash BLOB NOT NULL,
        -- the k4.pid of the signing key; signing_keys keeps that key's public half as long as this row
        kid TEXT NOT NULL,
        -- a v4.public PASETO over the same facts, signed by the engine's signing key
        token TEXT NOT NULL
      ) STRICT;
    `);
    // Chain the events a version 1 database already holds.
    const installation = db.prepare("SELECT value FROM meta WHERE key = 'installation_id'").pluck().get() as string;
    const setHash = db.prepare('UPDATE audit_events SET hash = ? WHERE id = ?');
    let previous: Uint8Array = genesisHash(installation);
    for (const event of db.prepare('SELECT * FROM audit_events ORDER BY id').all() as ChainedEvent[]) {
      previous = eventHash(previous, event);
      setHash.run(previous, event.id);
    }
  },
  // 3: retention by index: when each session ended, near enough, so that pruning reads only the
  // sessions it deletes (and those whose last access token is still valid).
  (db) => {
    db.exec(`CREATE INDEX sessions_ended ON sessions(${SESSION_ENDED_BY_REFRESH_AT});`);
  },
  // 4: provisioning: what the last provisioning file applied, and the engine policy it set.
  (db) => {
    db.exec(`
      -- At most one row: the provisioning file applied last.
      CREATE TABLE provisioning (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        version INTEGER NOT NULL,
        -- SHA-256 (hex) of the file's content, canonical JSON
        content_hash TEXT NOT NULL,
        -- the provisioned engine policy (PolicyOptions as JSON): under every engine's own options
        policy TEXT NOT NULL,
        -- the provisioned app settings (JSON), for the app to merge under machine policy
        app_settings TEXT NOT NULL,
        -- the installation's known scopes (space separated)
        scopes TEXT NOT NULL,
        applied_at INTEGER NOT NULL
      ) STRICT;

      -- One row per user or client the file provisions, with hashes of what it provisioned, so a
      -- newer file changes only what it changes (a password chosen since is kept).
      CREATE TABLE provisioned_items (
        kind TEXT NOT NULL CHECK (kind IN ('user', 'client')),
        -- a username key, or a client id
        name TEXT NOT NULL,
        -- SHA-256 (hex) of the provisioned fields other than the password
        fields_hash TEXT NOT NULL,
        -- SHA-256 (hex) of the provisioned password entry (users only)
        password_hash TEXT,
        PRIMARY KEY (kind, name)
      ) STRICT;
    `);
  },
];

export const SCHEMA_VERSION = migrations.length;
