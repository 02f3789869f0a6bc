import { closeSync, mkdirSync, openSync, readSync, statSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { dirname } from 'node:path';
import { Worker } from 'node:worker_threads';
import BetterSqlite3, { type Database } from 'better-sqlite3';
import { StoreError } from './errors.js';
import { migrations, SCHEMA_VERSION } from './migrations.js';

/** PRAGMA application_id of a Gatehouse database ("GHSE"): tells our files from anyone else's. */
export const APPLICATION_ID = 0x47485345;
const SQLITE_MAGIC = 'SQLite format 3\0';
const BUSY_TIMEOUT_MS = 5000;

export interface OpenedDatabase {
  db: Database;
  installationId: string;
}

/**
 * Opens (creating if needed) the auth database. A file that is not SQLite, is damaged, belongs to
 * another application or has a newer schema than this build knows is refused with a StoreError
 * before anything is written to it.
 */
export async function openDatabase(path: string): Promise<OpenedDatabase> {
  if (path !== ':memory:') {
    try {
      prepareFile(path);
    } catch (error) {
      if (error instanceof StoreError) throw error;
      throw new StoreError('unavailable', `Cannot use the database at ${path}: ${messageOf(error)}`, { cause: error });
    }
  }
  let db: Database;
  try {
    db = new BetterSqlite3(path);
  } catch (error) {
    throw new StoreError('unavailable', `Cannot open the database at ${path}: ${messageOf(error)}`, { cause: error });
  }
  try {
    const fresh = checkIdentity(db, path);
    // Damage in a page that opening never reads (a table's rows, an index) would otherwise go
    // unseen until the first write. The full read runs in a worker, so a large file never stalls
    // the thread that opened it (in the app, the window's).
    if (!fresh && path !== ':memory:') {
      const problems = await quickCheck(path);
      if (problems.length !== 1 || problems[0] !== 'ok') {
        throw new StoreError('corrupt', `The database at ${path} is damaged (${problems.join('; ').replace(/\s+/g, ' ')}); it was left untouched.`);
      }
    }
    db.pragma('journal_mode = WAL');
    // Every write in this file decides who may sign in: make each commit durable.
    db.pragma('synchronous = FULL');
    db.pragma('foreign_keys = ON');
    db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
    migrate(db);
    const row = db.prepare("SELECT value FROM meta WHERE key = 'installation_id'").get() as { value: string } | undefined;
    if (!row) throw new StoreError('corrupt', `The database at ${path} has no installation id.`);
    return { db, installationId: row.value };
  } catch (error) {
    db.close();
    if (error instanceof StoreError) throw error;
    throw asStoreError(error, path);
  }
}

/** New files are created private to this OS user (SQLite gives -wal and -shm the same mode). */
function prepareFile(path: string): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  let size: number;
  try {
    size = statSync(path).size;
  } catch {
    try {
      closeSync(openSync(path, 'wx', 0o600));
    } catch (error) {
      // Another process created it first: carry on with its (new, empty or initialised) file.
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    return;
  }
  if (size === 0) return;
  const header = Buffer.alloc(16);
  const fd = openSync(path, 'r');
  try {
    readSync(fd, header, 0, 16, 0);
  } finally {
    closeSync(fd);
  }
  if (header.toString('latin1') !== SQLITE_MAGIC) {
    throw new StoreError('not_a_database', `The file at ${path} is not a SQLite database; it was left untouched.`);
  }
  if (size < 100) {
    throw new StoreError('corrupt', `The database at ${path} is truncated (${size} bytes); it was left untouched.`);
  }
}

/** Refuses foreign and too-new files; true if the file is new (nothing in it yet). */
function checkIdentity(db: Database, path: string): boolean {
  const applicationId = db.pragma('application_id', { simple: true }) as number;
  const version = db.pragma('user_version', { simple: true }) as number;
  const objects = (db.prepare('SELECT count(*) AS n FROM sqlite_master').get() as { n: number }).n;
  const fresh = applicationId === 0 && version === 0 && objects === 0;
  if (!fresh && applicationId !== APPLICATION_ID) {
    throw new StoreError('foreign', `The database at ${path} belongs to another application; it was left untouched.`);
  }
  if (version > SCHEMA_VERSION) {
    throw new StoreError(
      'too_new',
      `The database at ${path} has schema version ${version}, newer than this Gatehouse knows (${SCHEMA_VERSION}). ` +
        'Upgrade Gatehouse; the file was left untouched.',
    );
  }
  return fresh;
}

/** PRAGMA quick_check on a read-only connection in a worker thread: reads every page, writes nothing. */
function quickCheck(path: string): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(new URL('./quick-check-worker.js', import.meta.url), { workerData: { path } });
    worker.once('message', (result: { problems: string[] } | { error: string; code: string | undefined }) => {
      if ('problems' in result) resolve(result.problems);
      else reject(Object.assign(new Error(result.error), { code: result.code }));
    });
    worker.once('error', reject);
    worker.once('exit', (code) => reject(new Error(`the integrity check stopped (exit code ${code})`)));
  });
}

function migrate(db: Database): void {
  for (let target = 1; target <= SCHEMA_VERSION; target++) {
    const step = db.transaction(() => {
      // Re-read inside the write lock: another process may have migrated meanwhile.
      const current = db.pragma('user_version', { simple: true }) as number;
      if (current >= target) return;
      migrations[target - 1]!(db);
      if (target === 1) {
        db.pragma(`application_id = ${APPLICATION_ID}`);
        db.prepare("INSERT INTO meta (key, value) VALUES ('installation_id', ?)").run(randomUUID());
      }
      db.pragma(`user_version = ${target}`);
    });
    step.immediate();
  }
}

function asStoreError(error: unknown, path: string): StoreError {
  const code = (error as { code?: string }).code ?? '';
  if (code === 'SQLITE_NOTADB' || code.startsWith('SQLITE_CORRUPT')) {
    return new StoreError('corrupt', `The database at ${path} is damaged (${code}); it was left untouched.`, { cause: error });
  }
  return new StoreError('unavailable', `Cannot use the database at ${path}: ${messageOf(error)}`, { cause: error });
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
