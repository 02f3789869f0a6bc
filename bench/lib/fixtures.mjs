import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { argon2id } from '@noble/hashes/argon2.js';
import Database from 'better-sqlite3';
import { DEFAULT_POLICY, openEngine } from '../../dist/index.js';
import { formatPhc } from '../../dist/passwords/phc.js';

/** The password of every bench account (the blocklist refuses weak ones; this one passes). */
export const PASSWORD = 'correct horse battery staple';
export const WRONG_PASSWORD = 'correct horse battery stapler';
export const CLIENT_ID = 'bench-app';
export const SCOPE = ['records:read', 'records:write'];

const dirs = [];
process.on('exit', () => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

/**
 * A new directory for databases, removed when the process exits. BENCH_TMPDIR chooses the file
 * system (the default is the OS temp dir); fsync cost, and so every write, depends on it.
 */
export function scratchDir(name) {
  const dir = mkdtempSync(join(process.env.BENCH_TMPDIR ?? tmpdir(), `gatehouse-bench-${name}-`));
  dirs.push(dir);
  return dir;
}

/** One argon2id run at the default policy's parameters, on this thread, as a PHC string. */
export function phcHash(password = PASSWORD, params = DEFAULT_POLICY.argon2) {
  const salt = randomBytes(16);
  const hash = argon2id(password.normalize('NFKC'), salt, { ...params, dkLen: 32 });
  return formatPhc({ params, salt, hash });
}

/** Opens an engine on a new file with the bench's public first-party client registered. */
export async function benchEngine(path, options = {}) {
  const engine = await openEngine({ path, ...options });
  if (!engine.clients.list().some((c) => c.id === CLIENT_ID)) {
    engine.clients.add({ id: CLIENT_ID, secret: 'none', scope: SCOPE });
  }
  return engine;
}

/** Adds accounts through the engine's API with a precomputed hash (no argon2id run per account). */
export async function addUsers(engine, usernames, passwordHash) {
  const ids = [];
  for (const username of usernames) {
    const info = await engine.users.add({ username, passwordHash, scope: SCOPE });
    ids.push(info.id);
  }
  return ids;
}

/**
 * Live sign-in sessions written straight into an engine's database, each with one unused refresh
 * token, exactly as a password grant leaves them (minus its audit event): for pools of fresh refresh
 * tokens without an argon2id run each. Returns the tokens.
 */
export function insertSessions(path, { userIds, count, clientId = CLIENT_ID, scope = SCOPE.join(' '), now = Date.now() }) {
  const db = new Database(path);
  db.pragma('busy_timeout = 5000');
  try {
    const session = db.prepare(
      `INSERT INTO sessions (id, user_id, client_id, scope, created_at, last_used_at, expires_at, access_expires_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    const token = db.prepare('INSERT INTO refresh_tokens (hash, session_id, created_at) VALUES (?, ?, ?)');
    const tokens = [];
    db.transaction(() => {
      for (let i = 0; i < count; i++) {
        const id = randomUUID();
        const refresh = randomBytes(32).toString('base64url');
        session.run(id, userIds[i % userIds.length], clientId, scope, now, now, now + 7 * 86_400_000, now + 300_000);
        token.run(sha256(refresh), id, now);
        tokens.push(refresh);
      }
    }).immediate();
    return tokens;
  } finally {
    db.close();
  }
}

export function sha256(text) {
  return createHash('sha256').update(text, 'utf8').digest();
}

/** Size in bytes of a database file with its -wal (0 for a missing file). */
export function fileBytes(path) {
  let total = 0;
  for (const file of [path, `${path}-wal`]) {
    try {
      total += statSync(file).size;
    } catch {
      // not there
    }
  }
  return total;
}

/** Row counts of the given tables, on a read-only connection. */
export function rowCounts(path, tables) {
  const db = new Database(path, { readonly: true, fileMustExist: true });
  try {
    return Object.fromEntries(tables.map((t) => [t, db.prepare(`SELECT count(*) FROM ${t}`).pluck().get()]));
  } finally {
    db.close();
  }
}
