import { chmodSync, chownSync, closeSync, copyFileSync, existsSync, lstatSync, mkdirSync, openSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync, symlinkSync, watch, writeFileSync, writeSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { openEngine } from '../dist/index.js';
import { RecordStore } from '../dist/resource/records.js';
import { PASSWORD, SECRET, tempDir } from './helpers.js';
import { runGatehouse, startServe, type Served } from './serve-process.js';

const SCOPE = 'records:read records:write';
const NOBODY = 65534;
const isRoot = process.getuid?.() === 0;

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const { port } = server.address() as { port: number };
  await new Promise<void>((done) => server.close(() => done()));
  return port;
}

async function post(url: string, form: Record<string, string>): Promise<{ status: number; body: Record<string, string> }> {
  const response = await fetch(url, { method: 'POST', body: new URLSearchParams(form) });
  return { status: response.status, body: (await response.json()) as Record<string, string> };
}

const signIn = (served: Served, username: string) =>
  post(`${served.url}/token`, { grant_type: 'password', client_id: 'tool', client_secret: SECRET, username, password: PASSWORD, scope: SCOPE });

async function api(served: Served, path: string, token: string, json?: unknown): Promise<{ status: number; body: unknown }> {
  const response = await fetch(`${served.resourceUrl}${path}`, {
    method: json === undefined ? 'GET' : 'POST',
    headers: { Authorization: `Bearer ${token}`, ...(json === undefined ? {} : { 'Content-Type': 'application/json' }) },
    ...(json === undefined ? {} : { body: JSON.stringify(json) }),
  });
  const text = await response.text();
  return { status: response.status, body: text === '' ? undefined : JSON.parse(text) };
}

/** `gatehouse ARGS --db DB --json`, expected to succeed; its JSON answer. */
async function json(db: string, args: readonly string[]): Promise<any> {
  const run = await runGatehouse([...args, '--db', db, '--json']);
  expect(run.code, run.stderr).toBe(0);
  return JSON.parse(run.stdout);
}

/** A database with two users and a confidential client, as IT would have set it up. */
async function seeded(dir: string): Promise<string> {
  const db = join(dir, 'g.db');
  const engine = await openEngine({ path: db, hashWorkers: 1 });
  engine.clients.add({ id: 'tool', secret: { value: SECRET }, scope: ['records:read', 'records:write'] });
  for (const username of ['alice', 'bob']) await engine.users.add({ username, password: PASSWORD, scope: ['records:read', 'records:write'] });
  await engine.close();
  return db;
}

/** The seeded database and a records database beside it (one record), backed up to good.db. */
async function backedUp(dir: string): Promise<{ db: string; records: string; good: string }> {
  const db = await seeded(dir);
  const records = join(dir, 'g.data.db');
  const store = await RecordStore.open(records);
  store.create('alice', { title: 'Kept', body: 'in the backup' });
  store.close();
  const good = join(dir, 'good.db');
  expect((await runGatehouse(['backup', good, '--db', db])).code).toBe(0);
  return { db, records, good };
}

/** A file's permission bits and owner. */
function accessOf(path: string): { mode: number; uid: number; gid: number } {
  const { mode, uid, gid } = statSync(path);
  return { mode: mode & 0o7777, uid, gid };
}

/** Every regular file under `dir`, links not followed. */
function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .map((name) => join(dir, name))
    .filter((path) => lstatSync(path).isFile());
}

/** A file only its owner may read (root, when the tests run as root), with bytes to look for. */
function secretFile(): { path: string; bytes: Buffer; before: ReturnType<typeof accessOf> } {
  const path = join(tempDir(), 'secret');
  const bytes = Buffer.from('root-only bytes that must never land in the shared folder\n'.repeat(64));
  writeFileSync(path, bytes, { mode: 0o600 });
  return { path, bytes, before: accessOf(path) };
}

/** What restore leaves of its private folder in `dir`. */
const workspacesIn = (dir: string) => readdirSync(dir).filter((name) => name.startsWith('.gatehouse-restore-'));

async function until(what: string, condition: () => boolean): Promise<void> {
  for (let i = 0; i < 6000 && !condition(); i++) await new Promise((done) => setTimeout(done, 10));
  if (!condition()) throw new Error(`gave up waiting: ${what}`);
}

describe('gatehouse backup and restore', () => {
  it('a backup taken while serve keeps signing people in restores whole, and every earlier session is revoked', async () => {
    const dir = tempDir();
    const db = await seeded(dir);
    const out = join(dir, 'backup.db');
    // A fixed issuer, so that after the restart only the restore can explain a refused token.
    const serveArgs = ['--db', db, '--issuer', 'urn:test:gatehouse'];
    const served = await startServe([...serveArgs, '--port', String(await freePort())]);

    const before = await signIn(served, 'alice');
    expect(before.status).toBe(200);
    const record = await api(served, '/api/records', before.body.access_token!, { title: 'Kept', body: 'in the backup' });
    expect(record.status).toBe(201);

    // A client keeps signing in over HTTP while the backup runs.
    let stop = false;
    let signIns = 0;
    let latest: Record<string, string> = {};
    const failures: unknown[] = [];
    const loop = (async () => {
      for (let i = 0; !stop; i++) {
        const answer = await signIn(served, i % 2 ? 'alice' : 'bob');
        if (answer.status === 200) {
          signIns++;
          latest = answer.body;
        }
        else failures.push(answer.body);
      }
    })();
    await until('sign-ins before the backup', () => signIns >= 3);
    const backedUp = await runGatehouse(['backup', out, '--db', db, '--json']);
    const atBackup = signIns;
    await until('sign-ins after the backup', () => signIns >= atBackup + 3);
    stop = true;
    await loop;
    expect(failures).toEqual([]);

    expect(backedUp.code, backedUp.stderr).toBe(0);
    const report = JSON.parse(backedUp.stdout);
    expect(report).toMatchObject({ database: { path: out, schemaVersion: expect.any(Number) }, records: { path: join(dir, 'backup.data.db') } });
    for (const file of [out, join(dir, 'backup.data.db')]) expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(existsSync(`${out}-wal`)).toBe(false);

    // Not while serve has the database open.
    const refused = await runGatehouse(['restore', out, '--db', db]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/running host\(s\) .* have .*g\.db open; stop them, then restore/);
    await served.stop();
    const replacedAudit = await json(db, ['audit']);

    const restored = await json(db, ['restore', out]);
    expect(restored).toMatchObject({ restored: db, from: out, records: true, kept: { database: `${db}.before-restore`, records: join(dir, 'g.data.db.before-restore') } });
    expect(restored.sessionsRevoked).toBeGreaterThanOrEqual(4);
    expect(restored.keysEnded).toBeGreaterThanOrEqual(1);
    // The replaced files are kept whole: their audit log is the one serve left.
    expect((await json(`${db}.before-restore`, ['audit'])).events).toEqual(replacedAudit.events);

    // Everything the backup held is there: users, clients, and the audit log, as a prefix of the
    // replaced one (same ids, same chain hashes), then the restore's own events; and it verifies.
    expect((await json(db, ['users', 'list'])).map((u: { username: string }) => u.username).sort()).toEqual(['alice', 'bob']);
    expect((await json(db, ['clients', 'list'])).map((c: { id: string }) => c.id)).toContain('tool');
    const audit = await json(db, ['audit']);
    const fromBackup = audit.events.filter((e: { id: number }) => e.id <= replacedAudit.events.length);
    const backupEvents = fromBackup.findLastIndex((e: { type: string }) => e.type !== 'session.revoked' && e.type !== 'database.restored') + 1;
    expect(backupEvents).toBeGreaterThanOrEqual(2 + 1 + 1 + 3); // users, client, key, sign-ins before the backup
    expect(audit.events.slice(0, backupEvents)).toEqual(replacedAudit.events.slice(0, backupEvents));
    const restoreEvents = audit.events.slice(backupEvents);
    expect(restoreEvents.at(-1)).toMatchObject({ type: 'database.restored', detail: JSON.stringify({ sessionsRevoked: restored.sessionsRevoked, keysEnded: restored.keysEnded }) });
    expect(restoreEvents.filter((e: { type: string }) => e.type === 'session.revoked')).toHaveLength(restored.sessionsRevoked);
    expect(await json(db, ['audit', 'verify'])).toMatchObject({ ok: true, problems: [] });
    const sessions = await json(db, ['sessions', 'list']);
    expect(sessions.length).toBe(restored.sessionsRevoked);
    expect(sessions.every((s: { revokedReason: string }) => s.revokedReason === 'restored')).toBe(true);

    // Serve again on the restored file: the earlier session's tokens are refused, a new sign-in works,
    // and the record made before the backup is there.
    const again = await startServe([...serveArgs, '--port', String(await freePort())]);
    // Sessions started after the backup are not in the restored file at all: refused just the same.
    for (const tokens of [before.body, latest]) {
      const refresh = await post(`${again.url}/token`, { grant_type: 'refresh_token', client_id: 'tool', client_secret: SECRET, refresh_token: tokens.refresh_token! });
      expect([refresh.status, refresh.body.error]).toEqual([400, 'invalid_grant']);
      expect((await api(again, '/api/me', tokens.access_token!)).status).toBe(401);
    }
    const after = await signIn(again, 'alice');
    expect(after.status).toBe(200);
    const records = await api(again, '/api/records', after.body.access_token!);
    expect(records.status).toBe(200);
    expect(JSON.stringify(records.body)).toContain('in the backup');
    await again.stop();
    const restarted = await json(db, ['audit']);
    expect(restarted.events.map((e: { type: string }) => e.type)).toContain('key.started');
  });

  it('restore refuses a file that is not a Gatehouse database, and leaves the database as it was', async () => {
    const dir = tempDir();
    const db = await seeded(dir);
    const good = join(dir, 'good.db');
    expect((await runGatehouse(['backup', good, '--db', db])).code).toBe(0);
    const original = readFileSync(db);

    const text = join(dir, 'notes.txt');
    writeFileSync(text, 'not a database at all, just some words that are long enough to fill a header of one hundred bytes or so.');
    const empty = join(dir, 'empty.db');
    writeFileSync(empty, '');
    const foreign = join(dir, 'foreign.db');
    const other = new BetterSqlite3(foreign);
    other.exec('CREATE TABLE t (x); INSERT INTO t VALUES (1)');
    other.close();
    const corrupt = join(dir, 'corrupt.db');
    copyFileSync(good, corrupt);
    const fd = openSync(corrupt, 'r+');
    writeSync(fd, Buffer.alloc(3 * 4096, 0xa5), 0, 3 * 4096, 2 * 4096);
    closeSync(fd);

    const cases: Array<[string, RegExp]> = [
      [text, /Cannot restore: .*notes\.txt is not a SQLite database/],
      [empty, /Cannot restore: .*empty\.db is not a SQLite database/],
      [foreign, /Cannot restore: .*foreign\.db is not a Gatehouse database/],
      [join(dir, 'g.data.db.missing'), /No file at/],
      [corrupt, /Cannot restore: .*corrupt\.db.* damaged/],
    ];
    for (const [file, message] of cases) {
      const run = await runGatehouse(['restore', file, '--db', db]);
      expect([run.code, run.stderr], file).toEqual([1, expect.stringMatching(message)]);
    }
    // The records database is a Gatehouse file, but not an auth database.
    writeFileSync(join(dir, 'records.db'), readFileSync(good));
    const records = new BetterSqlite3(join(dir, 'records.db'));
    records.pragma('application_id = 1195922004'); // "GHRD", the records database's
    records.close();
    const wrongKind = await runGatehouse(['restore', join(dir, 'records.db'), '--db', db]);
    expect([wrongKind.code, wrongKind.stderr]).toEqual([1, expect.stringMatching(/not a Gatehouse database of this kind/)]);

    expect(readFileSync(db).equals(original)).toBe(true);
    expect(existsSync(`${db}.before-restore`)).toBe(false);
    expect(readFileSync(dir + '/notes.txt', 'utf8')).toMatch(/^not a database/);
    // Nothing staged is left behind.
    expect(workspacesIn(dir)).toEqual([]);
  });

  it('restore refuses while any other process has the database open, signal listener or not', async () => {
    const dir = tempDir();
    const db = await seeded(dir);
    const good = join(dir, 'good.db');
    expect((await runGatehouse(['backup', good, '--db', db])).code).toBe(0);
    // A plain SQLite connection (as a host of another OS user would hold): no change signal to find it by.
    const holder = new BetterSqlite3(db, { fileMustExist: true });
    holder.prepare('SELECT count(*) FROM users').get();
    try {
      const refused = await runGatehouse(['restore', good, '--db', db]);
      expect([refused.code, refused.stderr]).toEqual([1, expect.stringMatching(/is open in another process .*; stop it, then restore/)]);
      expect(existsSync(`${db}.before-restore`)).toBe(false);
      expect(workspacesIn(dir)).toEqual([]);
    } finally {
      holder.close();
    }
    expect((await runGatehouse(['restore', good, '--db', db])).code).toBe(0);
  });

  it('restored files and the kept copies take the mode and owner (as root) of the files they replace; with none there, their folder decides', async () => {
    const dir = tempDir();
    const { db, records, good } = await backedUp(dir);
    // As IT may have set them: readable by a group, owned by another account (only root can give a file away).
    const replaced = { mode: 0o640, ...(isRoot ? { uid: NOBODY, gid: NOBODY } : { uid: process.getuid!(), gid: process.getgid!() }) };
    for (const file of [db, records]) {
      chmodSync(file, replaced.mode);
      if (isRoot) chownSync(file, NOBODY, NOBODY);
    }

    const restored = await json(db, ['restore', good]);
    expect(restored.kept).toEqual({ database: `${db}.before-restore`, records: `${records}.before-restore` });
    for (const file of [db, records, `${db}.before-restore`, `${records}.before-restore`]) expect(accessOf(file), file).toEqual(replaced);
    expect((await json(db, ['users', 'list'])).map((u: { username: string }) => u.username).sort()).toEqual(['alice', 'bob']);

    // Nothing to replace: the restored files are new files of their folder, shared in a shared folder.
    const shared = join(dir, 'shared');
    mkdirSync(shared);
    chmodSync(shared, 0o2770);
    const fresh = join(shared, 'g.db');
    expect((await json(fresh, ['restore', good])).kept).toEqual({ database: null, records: null });
    for (const file of [fresh, join(shared, 'g.data.db')]) expect(accessOf(file).mode, file).toBe(0o660);
  });

  it('if the records database cannot be put in place, the auth database is put back as it was and the restore fails', async () => {
    const dir = tempDir();
    const { db, records, good } = await backedUp(dir);
    // Since the backup: a third user, and the records database's name taken by a folder with a file
    // in it, so that renaming the restored records file onto it fails for real (EISDIR).
    const engine = await openEngine({ path: db, hashWorkers: 1 });
    await engine.users.add({ username: 'carol', password: PASSWORD, scope: [] });
    await engine.close();
    rmSync(records);
    mkdirSync(records);
    writeFileSync(join(records, 'notes.txt'), 'not a database');
    const before = readFileSync(db);

    const run = await runGatehouse(['restore', good, '--db', db]);
    expect([run.code, run.stdout]).toEqual([1, '']);
    expect(run.stderr).toMatch(/^gatehouse: Cannot restore: putting the restored copy in place of .*g\.data\.db failed \(EISDIR: [^\n]*\); nothing was restored \(.*g\.db is back as it was\)\.\n$/);
    // The pair is never mixed: the auth database is the one it replaced, byte for byte, and the records' place as it was.
    expect(readFileSync(db).equals(before)).toBe(true);
    expect(readdirSync(records)).toEqual(['notes.txt']);
    expect(readdirSync(dir).filter((name) => name.includes('before-restore') || name.includes('gatehouse-restore'))).toEqual([]);
    expect((await json(db, ['users', 'list'])).map((u: { username: string }) => u.username).sort()).toEqual(['alice', 'bob', 'carol']);
    expect(await json(db, ['audit', 'verify'])).toMatchObject({ ok: true });
  });

  it('restore refuses a -wal beside the database that is a symbolic link (to a file only root may read), and copies nothing of what it points to', async () => {
    const dir = tempDir();
    const { db, good } = await backedUp(dir);
    const secret = secretFile();
    rmSync(`${db}-wal`, { force: true }); // the empty one SQLite may leave
    symlinkSync(secret.path, `${db}-wal`);
    const before = readFileSync(db);

    const run = await runGatehouse(['restore', good, '--db', db]);
    expect([run.code, run.stdout]).toEqual([1, '']);
    expect(run.stderr).toBe(
      `gatehouse: Cannot restore: ${db}-wal is a symbolic link, which is not followed (in a shared folder another member may have put it there); it was left as it is. Nothing was changed.\n`,
    );
    expect(readFileSync(db).equals(before)).toBe(true);
    expect(readlinkSync(`${db}-wal`)).toBe(secret.path);
    expect([accessOf(secret.path), readFileSync(secret.path).equals(secret.bytes)]).toEqual([secret.before, true]);
    const leaked = filesUnder(dir).filter((path) => readFileSync(path).includes(secret.bytes.subarray(0, 58)));
    expect(leaked).toEqual([]);
    expect(workspacesIn(dir)).toEqual([]);
  });

  it('a symbolic link planted at <database>.before-restore is never followed: the kept copy takes the next free name', async () => {
    const dir = tempDir();
    const { db, records, good } = await backedUp(dir);
    const secret = secretFile();
    symlinkSync(secret.path, `${db}.before-restore`);
    // A dangling link counts as taken too.
    symlinkSync(join(dir, 'nowhere'), `${records}.before-restore-wal`);
    const replaced = readFileSync(db);

    const restored = await json(db, ['restore', good]);
    expect(restored.kept).toEqual({ database: `${db}.before-restore.2`, records: `${records}.before-restore.2` });
    expect(readFileSync(`${db}.before-restore.2`).equals(replaced)).toBe(true);
    expect([readlinkSync(`${db}.before-restore`), readlinkSync(`${records}.before-restore-wal`)]).toEqual([secret.path, join(dir, 'nowhere')]);
    expect([accessOf(secret.path), readFileSync(secret.path).equals(secret.bytes)]).toEqual([secret.before, true]);
    expect(existsSync(join(dir, 'nowhere'))).toBe(false);
    expect((await json(db, ['users', 'list'])).map((u: { username: string }) => u.username).sort()).toEqual(['alice', 'bob']);
  });

  it('restore stages its copies in a private folder (0700) of its own, never in the database folder itself, and removes it after success and failure', async () => {
    const dir = tempDir();
    const { db, records, good } = await backedUp(dir);
    const seen = new Set<string>();
    const workspaceModes: number[] = [];
    const watcher = watch(dir, (_event, name) => {
      if (name === null) return;
      seen.add(name);
      if (!name.startsWith('.gatehouse-restore-')) return;
      const stats = statSync(join(dir, name), { throwIfNoEntry: false });
      if (stats) workspaceModes.push(stats.mode & 0o7777);
    });
    try {
      const restored = await json(db, ['restore', good]);
      expect(restored.kept).toEqual({ database: `${db}.before-restore`, records: `${records}.before-restore` });
      // A failing restore (the records' name taken by a folder: the rename fails) cleans up too.
      rmSync(records);
      mkdirSync(records);
      const failed = await runGatehouse(['restore', good, '--db', db]);
      expect([failed.code, failed.stderr]).toEqual([1, expect.stringMatching(/putting the restored copy in place of .*g\.data\.db failed \(EISDIR/)]);
    } finally {
      watcher.close();
    }
    const workspaces = [...seen].filter((name) => name.startsWith('.gatehouse-restore-'));
    // Two restores, two private folders; nothing else appeared but the databases' own names.
    expect(workspaces).toHaveLength(2);
    expect(workspaceModes.length).toBeGreaterThan(0);
    expect(workspaceModes.every((mode) => mode === 0o700)).toBe(true);
    const own = new Set(['g.db', 'g.data.db', 'g.db.before-restore', 'g.data.db.before-restore'].flatMap((name) => ['', '-wal', '-shm', '-journal'].map((suffix) => `${name}${suffix}`)));
    expect([...seen].filter((name) => !own.has(name) && !workspaces.includes(name))).toEqual([]);
    expect(workspacesIn(dir)).toEqual([]);
  });

  it('backup refuses an OUT that exists, and a missing database; --json reports what was written', async () => {
    const dir = tempDir();
    const db = await seeded(dir);
    const out = join(dir, 'taken.db');
    writeFileSync(out, 'keep me');
    const taken = await runGatehouse(['backup', out, '--db', db, '--json']);
    expect([taken.code, taken.stdout, taken.stderr]).toEqual([1, '', `gatehouse: ${out} already exists; choose a new name (nothing was written).\n`]);
    expect(readFileSync(out, 'utf8')).toBe('keep me');

    const missing = await runGatehouse(['backup', join(dir, 'b.db'), '--db', join(dir, 'nothing.db')]);
    expect([missing.code, missing.stderr]).toEqual([1, `gatehouse: No database at ${join(dir, 'nothing.db')}.\n`]);
    expect(existsSync(join(dir, 'b.db'))).toBe(false);

    // Without a records database beside it, only the auth database is copied.
    const copy = join(dir, 'copy.db');
    const report = await json(db, ['backup', copy]);
    expect(report).toEqual({ database: { path: copy, bytes: statSync(copy).size, schemaVersion: expect.any(Number) }, records: null });
    expect(await json(copy, ['audit', 'verify'])).toMatchObject({ ok: true });
    const text = await runGatehouse(['backup', join(dir, 'copy2.db'), '--db', db]);
    expect(text.stdout).toMatch(/^Backed up .*g\.db to .*copy2\.db \(checked: integrity, application id, schema version \d+\)\.\n$/);
  });
});
