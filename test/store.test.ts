import { createHash, randomBytes } from 'node:crypto';
import { closeSync, openSync, readdirSync, readFileSync, readlinkSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { openEngine, StoreError, TokenError, type Engine, type StoreErrorCode } from '../dist/index.js';
import { migrations, SCHEMA_VERSION } from '../dist/store/migrations.js';
import { FakeClock, inspect, newEngine, PASSWORD, seeded, SECRET, tempDir } from './helpers.js';

/** "GHSE": the PRAGMA application_id every Gatehouse database carries. */
const GATEHOUSE_APPLICATION_ID = 0x47485345;
const SQLITE_MAGIC = Buffer.from('SQLite format 3\0', 'latin1');

function sha256(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

function listing(path: string): string[] {
  return readdirSync(dirname(path)).sort();
}

/**
 * The files beside `path`, less what SQLite's read-only connections may leave next to a WAL-mode
 * database they read: its -shm (the shared-memory index) and an empty -wal. Neither holds data.
 */
function listingBesidesCompanions(path: string): string[] {
  return listing(path).filter((name) => {
    const full = join(dirname(path), name);
    if (full === `${path}-shm`) return false;
    if (full === `${path}-wal`) return statSync(full).size !== 0;
    return true;
  });
}

/** A real Gatehouse database (user, clients, a session, audit rows), closed and fully checkpointed. */
async function gatehouseDb(): Promise<string> {
  const { engine, path } = await seeded();
  await engine.token({ grant_type: 'password', client_id: 'desktop', username: 'Alice', password: PASSWORD });
  await engine.close();
  expect(listing(path)).toEqual([basename(path)]);
  return path;
}

/** Copies a file's bytes to a new file in its own temp dir. */
function copyTo(bytes: Buffer, name = 'auth.db'): string {
  const path = join(tempDir(), name);
  writeFileSync(path, bytes, { mode: 0o600 });
  return path;
}

/**
 * openEngine must refuse the file with a StoreError of this code and a message naming the file and
 * the reason, leaving its bytes exactly as they were and nothing beside it that holds data.
 */
async function expectRefused(path: string, code: StoreErrorCode, reason: RegExp): Promise<StoreError> {
  const before = sha256(path);
  const files = listingBesidesCompanions(path);
  let engine: Engine | undefined;
  let error: unknown;
  try {
    engine = await openEngine({ path, clock: new FakeClock(), hashWorkers: 1 });
  } catch (caught) {
    error = caught;
  }
  await engine?.close();
  expect(engine, `${basename(path)} should have been refused with ${code}`).toBeUndefined();
  expect(error).toBeInstanceOf(StoreError);
  const storeError = error as StoreError;
  expect(storeError.name).toBe('StoreError');
  expect(storeError.code).toBe(code);
  expect(storeError.message).toContain(path);
  expect(storeError.message).toMatch(reason);
  expect(storeError.message).toMatch(/left untouched/);
  expect(storeError.message).not.toMatch(/\n/);
  expect(sha256(path)).toBe(before);
  expect(listingBesidesCompanions(path)).toEqual(files);
  return storeError;
}

function footerKid(token: string): string {
  const footer = token.split('.')[3];
  expect(footer).toBeDefined();
  return (JSON.parse(Buffer.from(footer!, 'base64url').toString('utf8')) as { kid: string }).kid;
}

describe('opening files that are not a usable Gatehouse database', () => {
  it('refuses a file of random bytes as not_a_database', async () => {
    const path = copyTo(randomBytes(16 * 1024));
    await expectRefused(path, 'not_a_database', /not a SQLite database/);
  });

  it('refuses a Gatehouse database with garbage in its pages as corrupt', async () => {
    const original = readFileSync(await gatehouseDb());
    const pageSize = original.readUInt16BE(16);
    expect(original.length % pageSize).toBe(0);
    const roots = inspect(copyTo(original, 'probe.db'), (db) =>
      Object.fromEntries(
        (db.prepare("SELECT name, rootpage FROM sqlite_master WHERE type = 'table'").all() as Array<{ name: string; rootpage: number }>).map(
          (row) => [row.name, row.rootpage],
        ),
      ),
    );
    const variants: Array<{ label: string; pages: number[] }> = [
      // Page 1 after the 100-byte header: the schema itself.
      { label: 'schema page', pages: [1] },
      // Pages that opening does not need to read: table rows only a later query would touch.
      { label: 'users and sessions pages', pages: [roots.users!, roots.sessions!] },
      { label: 'audit page', pages: [roots.audit_events!] },
      { label: 'every page', pages: Array.from({ length: original.length / pageSize }, (_, i) => i + 1) },
    ];
    for (const { label, pages } of variants) {
      const damaged = Buffer.from(original);
      for (const page of pages) {
        expect(page).toBeGreaterThanOrEqual(1);
        const start = page === 1 ? 100 : (page - 1) * pageSize;
        randomBytes(page * pageSize - start).copy(damaged, start);
      }
      // The header still says this is a SQLite file (and a WAL one, as Gatehouse leaves it).
      expect(damaged.subarray(0, 16).equals(SQLITE_MAGIC)).toBe(true);
      expect(damaged.subarray(0, 100).equals(original.subarray(0, 100))).toBe(true);
      const path = copyTo(damaged);
      const error = await expectRefused(path, 'corrupt', /damaged/);
      expect(error.message, label).toMatch(/^The database at .* is damaged/);
    }
  });

  it('refuses a Gatehouse database whose tables do not match its schema version as corrupt, untouched', async () => {
    // Damage the fault suite's random writes found: a table's definition changed in the schema text,
    // which SQLite's own check accepts; preparing the engine's statements then failed with a raw SqliteError.
    const path = copyTo(readFileSync(await gatehouseDb()));
    const db = new Database(path);
    db.unsafeMode(true); // lifts better-sqlite3's defensive mode, which forbids writing the schema
    db.pragma('writable_schema = ON');
    db.prepare("UPDATE sqlite_master SET sql = replace(sql, 'locked_until', 'locked_till') WHERE name = 'throttle'").run();
    db.close();
    const error = await expectRefused(path, 'corrupt', /damaged/);
    expect(error.message).toMatch(/^The database at .* is damaged \(SQLITE_ERROR: .*locked_until.*\)/);
  });

  it('refuses a truncated file that begins with the SQLite magic as corrupt', async () => {
    const original = readFileSync(await gatehouseDb());
    for (const size of [16, 50, 99]) {
      const path = copyTo(original.subarray(0, size));
      expect(statSync(path).size).toBe(size);
      await expectRefused(path, 'corrupt', new RegExp(`truncated \\(${size} bytes\\)`));
    }
  });

  it("refuses another application's SQLite database as foreign", async () => {
    const dir = tempDir();
    const plain = join(dir, 'notes.db');
    const withVersion = join(dir, 'inventory.db');
    const wal = join(dir, 'wal.db');
    for (const [path, setup] of [
      [plain, ''],
      // Other apps use user_version too: that must not make it look like a newer Gatehouse.
      [withVersion, `PRAGMA user_version = ${SCHEMA_VERSION + 5};`],
      [wal, 'PRAGMA journal_mode = WAL;'],
    ] as const) {
      const db = new Database(path);
      db.exec(`${setup}
        CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT NOT NULL);
        CREATE TABLE users (name TEXT PRIMARY KEY);
        INSERT INTO notes (text) VALUES ('buy milk'), ('call Bob');`);
      expect(db.pragma('application_id', { simple: true })).toBe(0);
      db.close();
    }
    for (const path of [plain, withVersion, wal]) {
      await expectRefused(path, 'foreign', /belongs to another application/);
      expect(inspect(path, (db) => db.prepare('SELECT count(*) AS n FROM notes').get())).toEqual({ n: 2 });
    }
  });

  it('refuses a Gatehouse database whose schema is newer than this build as too_new', async () => {
    const path = await gatehouseDb();
    const newer = SCHEMA_VERSION + 1;
    const db = new Database(path);
    db.pragma(`user_version = ${newer}`);
    db.close();
    expect(listing(path)).toEqual([basename(path)]);
    const error = await expectRefused(path, 'too_new', /newer than this Gatehouse knows/);
    expect(error.message).toContain(`schema version ${newer}`);
    expect(error.message).toContain(`(${SCHEMA_VERSION})`);
    expect(inspect(path, (d) => d.pragma('user_version', { simple: true }))).toBe(newer);
  });

  /**
   * A WAL-mode database left by a process that died: the main file plus a -wal holding commits not
   * yet copied into it. `change` runs on the live connection after the last checkpoint.
   */
  function crashedCopy(setUp: (db: Database.Database) => void, change: (db: Database.Database) => void): string {
    const live = join(tempDir(), 'live.db');
    const db = new Database(live);
    setUp(db);
    db.pragma('journal_mode = WAL');
    db.pragma('wal_checkpoint(TRUNCATE)');
    change(db);
    const crashed = join(tempDir(), 'auth.db');
    for (const suffix of ['', '-wal', '-shm']) writeFileSync(`${crashed}${suffix}`, readFileSync(`${live}${suffix}`));
    db.close();
    return crashed;
  }

  it('leaves a crashed foreign database\'s pending WAL where it was', async () => {
    const path = crashedCopy(
      (db) => db.exec('CREATE TABLE notes (body TEXT)'),
      (db) => db.prepare("INSERT INTO notes VALUES ('not yet checkpointed')").run(),
    );
    const wal = sha256(`${path}-wal`);
    expect(statSync(`${path}-wal`).size).toBeGreaterThan(0);
    await expectRefused(path, 'foreign', /another application/);
    expect(sha256(`${path}-wal`)).toBe(wal);
  });

  it('finds a newer schema committed only to the WAL, and leaves both files as they were', async () => {
    const source = await gatehouseDb();
    const live = new Database(source);
    live.pragma('wal_checkpoint(TRUNCATE)');
    live.pragma(`user_version = ${SCHEMA_VERSION + 1}`); // a newer build's migration, not yet checkpointed
    const crashed = join(tempDir(), 'auth.db');
    for (const suffix of ['', '-wal', '-shm']) writeFileSync(`${crashed}${suffix}`, readFileSync(`${source}${suffix}`));
    live.close();
    expect(readFileSync(crashed).readUInt32BE(60)).toBe(SCHEMA_VERSION); // the main file's header says "current"
    const wal = sha256(`${crashed}-wal`);
    await expectRefused(crashed, 'too_new', /newer than this Gatehouse knows/);
    expect(sha256(`${crashed}-wal`)).toBe(wal);
  });
});

describe('close and reopen', () => {
  it('loses nothing: accounts, clients, sessions, refresh and access tokens, identity', async () => {
    const { engine, path, clock } = await seeded();
    await engine.users.add({ username: 'Bob', password: `${PASSWORD} two`, scope: ['records:read'], displayName: 'Bob B.' });
    const signIn = await engine.token({ grant_type: 'password', client_id: 'desktop', username: 'alice', password: PASSWORD });
    expect(signIn.refresh_token).toBeDefined();
    const firstKid = footerKid(signIn.access_token);
    const before = {
      users: engine.users.list(),
      clients: engine.clients.list(),
      sessions: engine.sessions.list(),
      audit: engine.auditLog(),
      installationId: engine.installationId,
      issuer: engine.issuer,
      audience: engine.audience,
    };
    expect(before.users.map((u) => u.username).sort()).toEqual(['Alice', 'Bob']);
    expect(before.sessions).toHaveLength(1);
    expect(engine.publishedKeys().map((k) => k.pid)).toEqual([firstKid]);
    await engine.close();

    clock.advance(60);
    const { engine: reopened } = await newEngine({ path, clock });
    expect(reopened.installationId).toBe(before.installationId);
    expect(reopened.issuer).toBe(before.issuer);
    expect(reopened.issuer).toBe(`urn:gatehouse:${before.installationId}`);
    expect(reopened.audience).toBe(before.audience);
    expect(reopened.users.list()).toEqual(before.users);
    expect(reopened.clients.list()).toEqual(before.clients);
    expect(reopened.sessions.list()).toEqual(before.sessions);
    // The log goes on where it was: the reopened engine only adds (its new signing key, a checkpoint at close).
    expect(reopened.auditLog().slice(0, before.audit.length)).toEqual(before.audit);
    expect(reopened.auditLog().slice(before.audit.length).map((e) => e.type)).toEqual(['key.started']);

    // A new signing key at each start; the previous one's public half still verifies its tokens.
    const keys = reopened.publishedKeys().map((k) => k.pid);
    expect(keys).toHaveLength(2);
    expect(keys).toContain(firstKid);
    const claims = await reopened.verifyAccessToken(signIn.access_token);
    expect(claims).toMatchObject({ username: 'Alice', client_id: 'desktop', sid: before.sessions[0]!.id, iss: before.issuer });

    // The confidential client's secret survived (introspection needs it), and so did the refresh token.
    const introspected = await reopened.introspect({ token: signIn.access_token, client_id: 'tool', client_secret: SECRET });
    expect(introspected).toMatchObject({ active: true, token_use: 'access_token', token_type: 'Bearer', username: 'Alice', sid: before.sessions[0]!.id });
    const refreshed = await reopened.token({ grant_type: 'refresh_token', client_id: 'desktop', refresh_token: signIn.refresh_token! });
    expect(refreshed.refresh_token).toBeDefined();
    expect(refreshed.refresh_token).not.toBe(signIn.refresh_token);
    const newKid = footerKid(refreshed.access_token);
    expect(newKid).not.toBe(firstKid);
    expect(keys).toContain(newKid);
    expect(await reopened.verifyAccessToken(refreshed.access_token)).toMatchObject({ sid: before.sessions[0]!.id });

    // Until it expires: past the access token lifetime and leeway, the old token is refused.
    clock.advance(reopened.policy.accessTokenTtlSeconds + reopened.policy.clockLeewaySeconds);
    await expect(reopened.verifyAccessToken(signIn.access_token)).rejects.toBeInstanceOf(TokenError);
  });

  it('reopens a database several times without migrating it again or changing its identity', async () => {
    const { engine, path, clock } = await newEngine();
    const id = engine.installationId;
    await engine.close();
    for (let i = 0; i < 3; i++) {
      clock.advance(1);
      const again = await openEngine({ path, clock, hashWorkers: 1 });
      expect(again.installationId).toBe(id);
      await again.close();
    }
    inspect(path, (db) => {
      expect(db.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
      expect(db.prepare("SELECT value FROM meta WHERE key = 'installation_id'").all()).toEqual([{ value: id }]);
      expect(db.prepare('SELECT count(*) AS n FROM signing_keys').get()).toEqual({ n: 4 });
    });
  });
});

describe('closing when the last write fails', () => {
  it('rejects with the write\'s error and still lets go of the database file', async () => {
    // Not newEngine: its clean-up would close the engine again and see the same rejection.
    const path = join(tempDir(), 'auth.db');
    const engine = await openEngine({ path, hashWorkers: 1 });
    // The last write close() makes (the time mark) fails, as on a full disk (found by the fault suite).
    const other = new Database(path);
    other.exec(`CREATE TRIGGER refuse_time_mark BEFORE UPDATE ON meta BEGIN SELECT RAISE(ABORT, 'no space left'); END;
                CREATE TRIGGER refuse_time_mark_insert BEFORE INSERT ON meta BEGIN SELECT RAISE(ABORT, 'no space left'); END;`);
    other.close();
    const opened = () => readdirSync('/proc/self/fd').filter((fd) => {
      try {
        return readlinkSync(`/proc/self/fd/${fd}`) === path;
      } catch {
        return false;
      }
    }).length;
    expect(opened()).toBeGreaterThan(0);
    await expect(engine.close()).rejects.toThrow('no space left');
    expect(opened()).toBe(0);
  });
});

describe('a new database file', () => {
  it('is private to this OS user, in WAL mode, with foreign keys enforced', async () => {
    const dir = join(tempDir(), 'not', 'yet');
    const path = join(dir, 'auth.db');
    const { engine } = await seeded({ path });
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    // SQLite gives the -wal and -shm files the main file's mode.
    expect(listing(path)).toEqual(['auth.db', 'auth.db-shm', 'auth.db-wal']);
    expect(statSync(`${path}-wal`).mode & 0o777).toBe(0o600);
    expect(statSync(`${path}-shm`).mode & 0o777).toBe(0o600);

    inspect(path, (db) => {
      expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
      expect(db.prepare('SELECT count(*) AS n FROM users').get()).toEqual({ n: 1 });
    });

    // foreign_keys is per connection, so look at its effect: removing a user must cascade to the
    // user's sessions and refresh tokens (with foreign keys off they would be left orphaned).
    await engine.token({ grant_type: 'password', client_id: 'desktop', username: 'Alice', password: PASSWORD });
    const counts = () =>
      inspect(path, (db) => ({
        sessions: (db.prepare('SELECT count(*) AS n FROM sessions').get() as { n: number }).n,
        tokens: (db.prepare('SELECT count(*) AS n FROM refresh_tokens').get() as { n: number }).n,
      }));
    expect(counts()).toEqual({ sessions: 1, tokens: 1 });
    engine.users.remove('Alice');
    expect(counts()).toEqual({ sessions: 0, tokens: 0 });
    inspect(path, (db) => expect(db.pragma('foreign_key_check')).toEqual([]));

    await engine.close();
    // Closed cleanly: everything is in the main file, which stays in WAL mode.
    expect(listing(path)).toEqual(['auth.db']);
    const header = readFileSync(path).subarray(0, 100);
    expect(header.subarray(0, 16).equals(SQLITE_MAGIC)).toBe(true);
    expect([header[18], header[19]]).toEqual([2, 2]);
  });

  it('gets the current schema version and the Gatehouse application_id', async () => {
    const { engine, path } = await newEngine();
    expect(SCHEMA_VERSION).toBe(migrations.length);
    expect(SCHEMA_VERSION).toBeGreaterThanOrEqual(1);
    inspect(path, (db) => {
      expect(db.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
      expect(db.pragma('application_id', { simple: true })).toBe(GATEHOUSE_APPLICATION_ID);
      const tables = (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name").all() as Array<{ name: string }>).map(
        (row) => row.name,
      );
      expect(tables).toEqual([
        'audit_checkpoints', 'audit_events', 'clients', 'meta', 'provisioned_items', 'provisioning', 'refresh_tokens', 'revocations', 'sessions',
        'signing_keys', 'throttle', 'users',
      ]);
      expect(db.prepare("SELECT value FROM meta WHERE key = 'installation_id'").get()).toEqual({ value: engine.installationId });
    });
    expect(engine.installationId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });

  it('initialises an existing empty file as a new database', async () => {
    const path = join(tempDir(), 'auth.db');
    closeSync(openSync(path, 'wx', 0o600));
    const { engine } = await newEngine({ path });
    inspect(path, (db) => {
      expect(db.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
      expect(db.pragma('application_id', { simple: true })).toBe(GATEHOUSE_APPLICATION_ID);
    });
    expect(engine.installationId).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('refuses a zero-filled file of SQLite size as not a database, untouched', async () => {
    const path = join(tempDir(), 'auth.db');
    const fd = openSync(path, 'wx', 0o600);
    writeSync(fd, Buffer.alloc(4096));
    closeSync(fd);
    await expectRefused(path, 'not_a_database', /not a SQLite database/);
  });
});
