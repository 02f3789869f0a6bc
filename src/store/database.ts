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
    await vet(path);
  }
  let db: Database;
  try {
    db = new BetterSqlite3(path);
  } catch (error) {
    throw new StoreError('unavailable', `Cannot open the database at ${path}: ${messageOf(error)}`, { cause: error });
  }
  try {
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
  const header = Buffer.alloc(100);
  const fd = openSync(path, 'r');
  try {
    readSync(fd, header, 0, 100, 0);
  } finally {
    closeSync(fd);
  }
  if (header.toString('latin1', 0, 16) !== SQLITE_MAGIC) {
    throw new StoreError('not_a_database', `The file at ${path} is not a SQLite database; it was left untouched.`);
  }
  if (size < 100) {
    throw new StoreError('corrupt', `The database at ${path} is truncated (${size} bytes); it was left untouched.`);
  }
  // The header alone settles most refusals, before SQLite opens the file (and, for a WAL-mode
  // file, makes its -wal and -shm companions). Both fields only ever change one way, so a newer
  // page 1 still in a WAL cannot contradict a refusal made here.
  const applicationId = header.readUInt32BE(68);
  const version = header.readUInt32BE(60);
  if (applicationId !== 0 && applicationId !== APPLICATION_ID) throw foreign(path);
  if (applicationId === APPLICATION_ID && version > SCHEMA_VERSION) throw tooNew(path, version);
}

function foreign(path: string): StoreError {
  return new StoreError('foreign', `The database at ${path} belongs to another application; it was left untouched.`);
}

function tooNew(path: string, version: number): StoreError {
  return new StoreError(
    'too_new',
    `The database at ${path} has schema version ${version}, newer than this Gatehouse knows (${SCHEMA_VERSION}). ` +
      'Upgrade Gatehouse; the file was left untouched.',
  );
}

/**
 * Checks an existing file on read-only connections only, so a refused file's content is left
 * exactly as it was (closing a read-write connection would checkpoint a leftover WAL into it; a
 * read-only one may leave SQLite's empty -wal and its -shm beside a WAL-mode file). Damage in pages
 * that opening never reads would otherwise go unseen until the first write, so an existing database
 * is read in full, in a worker thread: a large file never stalls the thread that opened it.
 */
async function vet(path: string): Promise<void> {
  let fresh: boolean;
  try {
    const readOnly = new BetterSqlite3(path, { readonly: true, fileMustExist: true });
    try {
      fresh = checkIdentity(readOnly, path);
    } finally {
      readOnly.close();
    }
    if (fresh) return;
    const problems = await quickCheck(path);
    if (problems.length !== 1 || problems[0] !== 'ok') {
      throw new StoreError('corrupt', `The database at ${path} is damaged (${problems.join('; ').replace(/\s+/g, ' ')}); it was left untouched.`);
    }
  } catch (error) {
    throw error instanceof StoreError ? error : asStoreError(error, path);
  }
}

/** Refuses foreign and too-new files; true if the file is new (nothing in it yet). */
function checkIdentity(db: Database, path: string): boolean {
  const applicationId = db.pragma('application_id', { simple: true }) as number;
  const version = db.pragma('user_version', { simple: true }) as number;
  const objects = (db.prepare('SELECT count(*) AS n FROM sqlite_master').get() as { n: number }).n;
  const fresh = applicationId === 0 && version === 0 && objects === 0;
  if (!fresh && applicationId !== APPLICATION_ID) throw foreign(path);
  if (version > SCHEMA_VERSION) throw tooNew(path, version);
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
