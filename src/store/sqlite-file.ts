import { closeSync, mkdirSync, openSync, readSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { Worker } from 'node:worker_threads';
import BetterSqlite3, { type Database } from 'better-sqlite3';
import { StoreError } from './errors.js';

/** What tells one kind of Gatehouse SQLite file from another, and how to bring it up to date. */
export interface SqliteSchema {
  /** PRAGMA application_id of this kind of file. */
  applicationId: number;
  /**
   * Forward-only migrations: migration N takes the schema from user_version N-1 to N, in its own
   * write transaction together with the user_version bump. Never edit a shipped one.
   */
  migrations: ReadonlyArray<(db: Database) => void>;
  /** Runs once, in migration 1's transaction, after it: what a new file must hold from the start. */
  initialise?: ((db: Database) => void) | undefined;
}

const SQLITE_MAGIC = 'SQLite format 3\0';
const BUSY_TIMEOUT_MS = 5000;

/**
 * Opens (creating if needed) a Gatehouse SQLite file of the given schema. A file that is not SQLite,
 * is damaged, belongs to another application (or is another kind of Gatehouse file) or has a newer
 * schema than this build knows is refused with a StoreError before anything is written to it.
 */
export async function openSqliteFile(path: string, schema: SqliteSchema): Promise<Database> {
  if (path !== ':memory:') {
    try {
      prepareFile(path, schema);
    } catch (error) {
      throw asStoreError(error, path);
    }
    await vet(path, schema);
  }
  let db: Database;
  try {
    db = new BetterSqlite3(path);
  } catch (error) {
    throw new StoreError('unavailable', `Cannot open the database at ${path}: ${messageOf(error)}`, { cause: error });
  }
  try {
    db.pragma('journal_mode = WAL');
    // Every write decides who may sign in, or is someone's data: make each commit durable.
    db.pragma('synchronous = FULL');
    db.pragma('foreign_keys = ON');
    db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
    migrate(db, schema);
    return db;
  } catch (error) {
    db.close();
    throw asStoreError(error, path);
  }
}

/** New files are created private to this OS user (SQLite gives -wal and -shm the same mode). */
function prepareFile(path: string, schema: SqliteSchema): void {
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
  if (applicationId !== 0 && applicationId !== schema.applicationId) throw foreign(path);
  if (applicationId === schema.applicationId && version > schema.migrations.length) throw tooNew(path, version, schema);
}

function foreign(path: string): StoreError {
  return new StoreError('foreign', `The database at ${path} belongs to another application; it was left untouched.`);
}

function tooNew(path: string, version: number, schema: SqliteSchema): StoreError {
  return new StoreError(
    'too_new',
    `The database at ${path} has schema version ${version}, newer than this Gatehouse knows (${schema.migrations.length}). ` +
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
async function vet(path: string, schema: SqliteSchema): Promise<void> {
  let fresh: boolean;
  try {
    const readOnly = new BetterSqlite3(path, { readonly: true, fileMustExist: true });
    try {
      fresh = checkIdentity(readOnly, path, schema);
    } finally {
      readOnly.close();
    }
    if (fresh) return;
    const problems = await quickCheck(path);
    if (problems.length !== 1 || problems[0] !== 'ok') {
      throw new StoreError('corrupt', `The database at ${path} is damaged (${problems.join('; ').replace(/\s+/g, ' ')}); it was left untouched.`);
    }
  } catch (error) {
    throw asStoreError(error, path);
  }
}

/** Refuses foreign and too-new files; true if the file is new (nothing in it yet). */
function checkIdentity(db: Database, path: string, schema: SqliteSchema): boolean {
  const applicationId = db.pragma('application_id', { simple: true }) as number;
  const version = db.pragma('user_version', { simple: true }) as number;
  const objects = (db.prepare('SELECT count(*) AS n FROM sqlite_master').get() as { n: number }).n;
  const fresh = applicationId === 0 && version === 0 && objects === 0;
  if (!fresh && applicationId !== schema.applicationId) throw foreign(path);
  if (version > schema.migrations.length) throw tooNew(path, version, schema);
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

function migrate(db: Database, schema: SqliteSchema): void {
  for (let target = 1; target <= schema.migrations.length; target++) {
    const step = db.transaction(() => {
      // Re-read inside the write lock: another process may have migrated meanwhile.
      const current = db.pragma('user_version', { simple: true }) as number;
      if (current >= target) return;
      schema.migrations[target - 1]!(db);
      if (target === 1) {
        db.pragma(`application_id = ${schema.applicationId}`);
        schema.initialise?.(db);
      }
      db.pragma(`user_version = ${target}`);
    });
    step.immediate();
  }
}

/** A StoreError as it is; anything else thrown while opening, as the StoreError that says what happened. */
export function asStoreError(error: unknown, path: string): StoreError {
  if (error instanceof StoreError) return error;
  const code = (error as { code?: string }).code ?? '';
  if (code === 'SQLITE_NOTADB' || code.startsWith('SQLITE_CORRUPT')) {
    return new StoreError('corrupt', `The database at ${path} is damaged (${code}); it was left untouched.`, { cause: error });
  }
  // While opening, a statement SQLite cannot run (no such table or column) means tables unlike the
  // ones the schema version promises: the file's schema was damaged in a way its own check accepts.
  if (code === 'SQLITE_ERROR') {
    return new StoreError('corrupt', `The database at ${path} is damaged (${code}: ${messageOf(error)}); it was left untouched.`, { cause: error });
  }
  return new StoreError('unavailable', `Cannot use the database at ${path}: ${messageOf(error)}`, { cause: error });
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
