import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openEngine, StoreError } from '../../dist/index.js';
import { RecordStore } from '../../dist/resource/records.js';
import { PASSWORD } from '../helpers.js';
import { fileTempDir, runGatehouse, startServe, type LaunchOptions } from '../serve-process.js';
import {
  APP_CLIENT,
  integrityCheck,
  postForm,
  prepareDatabase,
  query,
  readAnswer,
  report,
  scaled,
  SEED,
  seededRandom,
  snapshotDir,
} from './fault-kit.js';

// Bad files under `gatehouse serve` and the CLI: truncated, corrupted, foreign and too-new
// databases, a read-only directory and a full disk. Each is refused with a clear one-line error,
// leaving every file as it was, or (a full disk while serving) refuses the writes it cannot make and
// loses none it acknowledged.

const PAGE = 4096;
const RANDOM_DAMAGE = scaled(100);

/** A populated auth database and records file, closed cleanly (no -wal beside them). */
let good: { auth: Buffer; data: Buffer };
const figures: Record<string, number | string> = {};

beforeAll(async () => {
  const dir = fileTempDir();
  const db = join(dir, 'auth.db');
  await prepareDatabase(db, ['ada', 'bob']);
  const served = await startServe(['--db', db, '--port', '0']);
  const issued = await postForm(`${served.url}/token`, { grant_type: 'password', client_id: APP_CLIENT, username: 'ada', password: PASSWORD });
  for (let n = 0; n < 20; n++) {
    await fetch(`${served.resourceUrl}/api/records`, {
      method: 'POST',
      headers: { authorization: `Bearer ${issued.body.access_token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ title: `record ${n}`, body: 'r'.repeat(3000) }),
    });
  }
  expect(await served.stop('SIGTERM')).toEqual({ code: 0, signal: null });
  expect(existsSync(`${db}-wal`) || existsSync(join(dir, 'auth.data.db-wal'))).toBe(false);
  good = { auth: readFileSync(db), data: readFileSync(join(dir, 'auth.data.db')) };
});

afterAll(() => report('bad-files', figures));

/** A new directory holding these files. */
function directoryWith(files: Record<string, Buffer>): string {
  const dir = join(fileTempDir(), 'case');
  mkdirSync(dir);
  for (const [name, bytes] of Object.entries(files)) writeFileSync(join(dir, name), bytes, { mode: 0o600 });
  return dir;
}

/**
 * `serve` and `users list` on the directory's auth.db both exit 1 with one line on stderr matching
 * `reason`, and leave every file byte for byte as it was (SQLite's read-only check may add an empty
 * -wal and its -shm beside a WAL-mode file; nothing else may appear).
 */
async function expectRefused(dir: string, reason: RegExp, options: LaunchOptions = {}): Promise<void> {
  const before = snapshotDir(dir);
  const db = join(dir, 'auth.db');
  for (const args of [['serve', '--db', db, '--port', '0', '--resource-port', '0'], ['users', 'list', '--db', db]]) {
    const run = await runGatehouse(args, options);
    expect({ code: run.code, stdout: run.stdout }, run.stderr).toEqual({ code: 1, stdout: '' });
    expect(run.stderr).toMatch(/^gatehouse: [^\n]+\n$/);
    expect(run.stderr).toMatch(reason);
  }
  const after = snapshotDir(dir);
  for (const [name, hash] of Object.entries(before)) expect(after[name], `${name} is unchanged`).toBe(hash);
  for (const name of Object.keys(after).filter((n) => !(n in before))) {
    expect(name, 'only SQLite companions may appear').toMatch(/-(wal|shm)$/);
    if (name.endsWith('-wal')) expect(statSync(join(dir, name)).size).toBe(0);
  }
}

function withPage(bytes: Buffer, page: number, damage: (page: Buffer) => void): Buffer {
  const copy = Buffer.from(bytes);
  damage(copy.subarray(page * PAGE, (page + 1) * PAGE));
  return copy;
}

describe('bad database files', () => {
  it('refuses truncated databases, leaving them untouched', async () => {
    const random = seededRandom(SEED);
    const pages = good.auth.length / PAGE;
    const cuts = [50, 150, PAGE + 10, good.auth.length - PAGE, ...Array.from({ length: 4 }, () => PAGE * (1 + Math.floor(random() * (pages - 2))))];
    for (const cut of cuts) {
      await expectRefused(directoryWith({ 'auth.db': good.auth.subarray(0, cut), 'auth.data.db': good.data }), /truncated|damaged/);
    }
    figures.truncations = cuts.length;
  });

  it('refuses databases with damaged pages or header, leaving them untouched', async () => {
    const random = seededRandom(SEED + 1);
    const pages = good.auth.length / PAGE;
    const damaged: Buffer[] = [
      // The page size in the header made impossible.
      Buffer.concat([good.auth.subarray(0, 16), Buffer.from([0x00, 0x03]), good.auth.subarray(18)]),
    ];
    for (let n = 0; n < 5; n++) {
      // A b-tree page's header overwritten: its type byte and cell counts are nonsense.
      damaged.push(withPage(good.auth, 1 + Math.floor(random() * (pages - 1)), (page) => page.fill(0xff, 0, 12)));
    }
    for (const auth of damaged) await expectRefused(directoryWith({ 'auth.db': auth, 'auth.data.db': good.data }), /damaged/);
    // A damaged records file stops serve too, leaving both files untouched.
    const dir = directoryWith({ 'auth.db': good.auth, 'auth.data.db': withPage(good.data, 1, (page) => page.fill(0xff, 0, 12)) });
    const before = snapshotDir(dir);
    const run = await runGatehouse(['serve', '--db', join(dir, 'auth.db'), '--port', '0', '--resource-port', '0']);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/damaged/);
    expect(snapshotDir(dir)['auth.data.db']).toBe(before['auth.data.db']);
    expect(integrityCheck(join(dir, 'auth.db'))).toBe('ok');
    figures.damagedPages = damaged.length + 1;
  });

  it(`opens or refuses ${RANDOM_DAMAGE} randomly damaged databases and records files with a StoreError only, a refused one untouched (seed ${SEED})`, async () => {
    const random = seededRandom(SEED + 2);
    const outcomes = { opened: 0, refused: 0 };
    const kinds = [
      { original: good.auth, open: async (path: string) => (await openEngine({ path, hashWorkers: 1 })).close() },
      { original: good.data, open: async (path: string) => (await RecordStore.open(path)).close() },
    ];
    for (let n = 0; n < RANDOM_DAMAGE; n++) {
      const { original, open } = kinds[n % 2]!;
      const bytes = Buffer.from(original);
      // Half the time in the schema's own text: page 1's cell content area, from the offset its header gives.
      const schemaText = bytes.readUInt16BE(100 + 5);
      const at = random() < 0.5 ? schemaText + Math.floor(random() * (PAGE - schemaText)) : Math.floor(random() * bytes.length);
      for (let i = at; i < Math.min(bytes.length, at + 1 + Math.floor(random() * 64)); i++) bytes[i] = Math.floor(random() * 256);
      const path = join(directoryWith({ 'damaged.db': bytes }), 'damaged.db');
      try {
        await open(path);
        outcomes.opened++;
      } catch (error) {
        expect(error, String(error)).toBeInstanceOf(StoreError);
        expect(readFileSync(path).equals(bytes), 'a refused file is untouched').toBe(true);
        outcomes.refused++;
      }
    }
    figures.randomDamage = RANDOM_DAMAGE;
    figures.randomDamageOpened = outcomes.opened;
    figures.randomDamageRefused = outcomes.refused;
  });

  it('refuses files that are not SQLite, foreign SQLite files and newer schemas, leaving them untouched', async () => {
    const foreign = join(fileTempDir(), 'foreign.db');
    const other = new Database(foreign);
    other.exec('CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT); INSERT INTO notes (text) VALUES (\'mine\');');
    other.pragma('application_id = 1234');
    other.close();
    const tooNew = join(fileTempDir(), 'new.db');
    writeFileSync(tooNew, good.auth);
    const newer = new Database(tooNew);
    newer.pragma('user_version = 99');
    newer.close();
    const cases: Array<[Buffer, RegExp]> = [
      [Buffer.from('name,password\nada,secret\n'.repeat(50)), /not a SQLite database/],
      [readFileSync(foreign), /belongs to another application/],
      [good.data, /belongs to another application/], // the records file given as the auth database
      [readFileSync(tooNew), /schema version 99, newer than this Gatehouse knows/],
    ];
    for (const [auth, reason] of cases) await expectRefused(directoryWith({ 'auth.db': auth }), reason);
    figures.foreignOrNewer = cases.length;
  });
});

/**
 * A directory this test's children cannot write to, by a mechanism that binds the current user:
 * chmod for an ordinary user; for root (whom chmod does not stop) a read-only bind mount, or else
 * running the children as `nobody`. Returns what to launch them with and how to undo it.
 */
function readOnly(dir: string): { mechanism: string; launch: LaunchOptions; undo(): void } {
  if (process.getuid!() !== 0) {
    chmodSync(dir, 0o500);
    return { mechanism: 'chmod 0500 (not root)', launch: {}, undo: () => chmodSync(dir, 0o700) };
  }
  const bind = spawnSync('mount', ['--bind', dir, dir]);
  if (bind.status === 0) {
    const remount = spawnSync('mount', ['-o', 'remount,ro,bind', dir]);
    if (remount.status === 0) return { mechanism: 'read-only bind mount (root)', launch: {}, undo: () => void spawnSync('umount', [dir]) };
    spawnSync('umount', [dir]);
  }
  // Root without mount: the children run as nobody, who may read the files but not write there.
  for (let path = dir; path !== '/'; path = join(path, '..')) chmodSync(path, statSync(path).mode | 0o055);
  for (const name of ['auth.db', 'auth.data.db']) if (existsSync(join(dir, name))) chmodSync(join(dir, name), 0o644);
  const probe = spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', 'true']);
  if (probe.status !== 0) throw new Error('No way to make a directory read-only for root here: mount and setpriv both failed.');
  return { mechanism: 'children run as nobody (root without mount)', launch: { prefix: ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups'] }, undo: () => {} };
}

describe('a read-only directory', () => {
  it('refuses an existing database and a new one with a clear error, writing nothing', async () => {
    const dir = directoryWith({ 'auth.db': good.auth, 'auth.data.db': good.data });
    const guard = readOnly(dir);
    try {
      await expectRefused(dir, /Cannot (use|open) the database at .*auth\.db/, guard.launch);
      const fresh = await runGatehouse(['serve', '--db', join(dir, 'new.db'), '--port', '0', '--resource-port', '0'], guard.launch);
      expect(fresh.code).toBe(1);
      expect(fresh.stderr).toMatch(/^gatehouse: [^\n]*new\.db[^\n]*\n$/);
      expect(existsSync(join(dir, 'new.db'))).toBe(false);
      figures.readOnly = guard.mechanism;
    } finally {
      guard.undo();
    }
  });
});

describe('a full disk (RLIMIT_FSIZE: writes past the limit fail with EFBIG)', () => {
  it('refuses the writes it cannot make, keeps serving, and loses nothing it acknowledged', async () => {
    const dir = directoryWith({ 'auth.db': good.auth, 'auth.data.db': good.data });
    const db = join(dir, 'auth.db');
    const dataDb = join(dir, 'auth.data.db');
    // Room for SQLite's 32 KiB -shm and a little growth of the auth database; a few records at most.
    const limitKiB = Math.ceil(good.auth.length / 1024) + 64;
    const limited: LaunchOptions = { prefix: ['bash', '-c', 'trap "" XFSZ; ulimit -f "$0"; exec "$@"', String(limitKiB)] };
    const served = await startServe(['--db', db, '--port', '0'], limited);
    const signIn = await postForm(`${served.url}/token`, { grant_type: 'password', client_id: APP_CLIENT, username: 'bob', password: PASSWORD });
    expect(signIn.status).toBe(200);
    let { refresh_token: refresh, access_token: access } = signIn.body as { refresh_token: string; access_token: string };

    const acknowledged: Array<{ id: string; title: string; body: string }> = [];
    const counts = { recordsRefused: 0, refreshesAcknowledged: 0, refreshesRefused: 0 };
    for (let n = 0; n < 30 && counts.recordsRefused < 5; n++) {
      const write = { title: `full ${n}`, body: String(n).repeat(60 * 1024).slice(0, 60 * 1024) };
      const answer = await readAnswer(
        await fetch(`${served.resourceUrl}/api/records`, {
          method: 'POST',
          headers: { authorization: `Bearer ${access}`, 'content-type': 'application/json' },
          body: JSON.stringify(write),
        }),
      );
      if (answer.status === 201) acknowledged.push({ ...write, id: answer.body.id });
      else {
        expect({ status: answer.status, error: answer.body.error }).toEqual({ status: 500, error: 'server_error' });
        counts.recordsRefused++;
      }
    }
    for (let n = 0; n < 400 && counts.refreshesRefused < 5; n++) {
      const answer = await postForm(`${served.url}/token`, { grant_type: 'refresh_token', client_id: APP_CLIENT, refresh_token: refresh });
      if (answer.status === 200) {
        ({ refresh_token: refresh, access_token: access } = answer.body);
        counts.refreshesAcknowledged++;
      } else {
        // A refresh the disk refused changed nothing: the same refresh token is still the current one.
        expect({ status: answer.status, error: answer.body.error }).toEqual({ status: 500, error: 'server_error' });
        counts.refreshesRefused++;
      }
    }
    expect(counts.recordsRefused, 'the limit was reached by the records').toBeGreaterThan(0);
    expect(counts.refreshesRefused, 'the limit was reached by the auth database').toBeGreaterThan(0);
    // Still serving what needs no write.
    expect((await fetch(`${served.url}/keys`)).status).toBe(200);
    expect((await fetch(`${served.resourceUrl}/api/me`, { headers: { authorization: `Bearer ${access}` } })).status).toBe(200);
    // Stopping makes a last write too: it exits 0, or 1 naming the failed write (and still stops).
    const stopped = await served.stop('SIGTERM');
    if (stopped.code !== 0) expect({ code: stopped.code, last: served.stderr().trimEnd().split('\n').at(-1) }).toEqual({ code: 1, last: 'gatehouse: disk I/O error' });

    // Restarted without the limit: intact, everything acknowledged there, nothing refused there.
    expect(integrityCheck(db)).toBe('ok');
    expect(integrityCheck(dataDb)).toBe('ok');
    const again = await startServe(['--db', db, '--port', '0']);
    try {
      const stored = query<{ title: string; body: string }>(dataDb, "SELECT title, body FROM records WHERE title LIKE 'full %'");
      expect(stored.map((r) => r.title).sort()).toEqual(acknowledged.map((r) => r.title).sort());
      for (const record of acknowledged) expect(stored.find((r) => r.title === record.title)!.body).toBe(record.body);
      const halfRotated = query(
        db,
        `SELECT s.id FROM sessions s LEFT JOIN refresh_tokens t ON t.session_id = s.id
         WHERE s.revoked_at IS NULL GROUP BY s.id HAVING coalesce(sum(t.used_at IS NULL), 0) <> 1`,
      );
      expect(halfRotated).toEqual([]);
      const refreshed = await postForm(`${again.url}/token`, { grant_type: 'refresh_token', client_id: APP_CLIENT, refresh_token: refresh });
      expect(refreshed.status, 'the last acknowledged refresh token still works').toBe(200);
    } finally {
      expect(await again.stop('SIGTERM')).toEqual({ code: 0, signal: null });
    }
    Object.assign(figures, {
      fullDiskLimitKiB: limitKiB,
      recordsAcknowledged: acknowledged.length,
      ...counts,
      fullDiskServeExit: stopped.code ?? String(stopped.signal),
    });
  });
});
