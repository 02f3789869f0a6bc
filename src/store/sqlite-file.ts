import { closeSync, openSync, readSync, statSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import type { Database } from 'better-sqlite3';
import { outsideAsar } from '../outside-asar.js';
import { StoreError } from './errors.js';
import { createDatabaseFile, prepareFolder } from './file-modes.js';
import { connect } from './sqlite-binding.js';

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
  /**
   * The schema has a `meta (key, value)` table, where `markClosedCleanly` records a clean close:
   * the next open of that same file skips the whole-file integrity check.
   */
  marksCleanClose?: boolean | undefined;
}

const CLEAN_CLOSE_KEY = 'closed_cleanly';

/** A database opened, and the integrity check still running on it, if the open did not wait for one. */
export interface OpenedSqliteFile {
  db: Database;
  backgroundCheck: BackgroundCheck | undefined;
}

/**
 * The whole-file integrity check of a file opened on its clean-close mark, which runs after the
 * open instead of before it (on a read-only connection in a worker thread at low priority).
 */
export interface BackgroundCheck {
  /** Rejects with a StoreError: `corrupt` if the file is damaged. Resolves if not, or once stopped. */
  readonly outcome: Promise<void>;
  /** The outcome's error, once it has failed: an opener still opening can refuse the file. */
  failure: StoreError | undefined;
  /** True once the check has read the whole file and found it intact (false if stopped before). */
  intact: boolean;
  /** Ends the check (before the database closes). */
  stop(): Promise<void>;
}

const SQLITE_MAGIC = 'SQLite format 3\0';
const BUSY_TIMEOUT_MS = 5000;

/**
 * Opens (creating if needed) a Gatehouse SQLite file of the given schema. A file that is not SQLite,
 * is damaged, belongs to another application (or is another kind of Gatehouse file) or has a newer
 * schema than this build knows is refused with a StoreError before anything is written to it. A
 * file its last connection closed cleanly is opened at once, its whole-file check running after.
 * Every connection, the integrity check's in its worker included, loads SQLite's native module
 * from `binding` when one is given (see checkSqliteBinding).
 */
export async function openSqliteFile(path: string, schema: SqliteSchema, binding?: string): Promise<OpenedSqliteFile> {
  let trusted = false;
  if (path !== ':memory:') {
    try {
      prepareFile(path, schema);
    } catch (error) {
      throw asStoreError(error, path);
    }
    trusted = await vet(path, schema, binding);
  }
  let db: Database;
  try {
    db = connect(path, {}, binding);
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
    if (!trusted) return { db, backgroundCheck: undefined };
    // The mark vouches for the file as it was closed: from now on this run may change it.
    forgetCleanClose(db);
    return { db, backgroundCheck: checkInBackground(path, binding) };
  } catch (error) {
    db.close();
    throw asStoreError(error, path);
  }
}

/**
 * New files follow their folder (see file-modes.ts): private to this OS user, or shared with the
 * folder's group in a folder IT prepared for it; a folder anyone may replace files in is refused.
 */
function prepareFile(path: string, schema: SqliteSchema): void {
  prepareFolder(path);
  let size: number;
  try {
    size = statSync(path).size;
  } catch {
    // If another process creates it first, carry on with its (new, empty or initialised) file.
    createDatabaseFile(path);
    return;
  }
  if (size === 0) return;
  const header = readHeader(path);
  if (!isSqliteHeader(header)) {
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

/** The first 100 bytes of a file: a SQLite database's header (zeros past the end of a shorter file). */
export function readHeader(path: string): Buffer {
  const header = Buffer.alloc(100);
  const fd = openSync(path, 'r');
  try {
    readSync(fd, header, 0, 100, 0);
  } finally {
    closeSync(fd);
  }
  return header;
}

export function isSqliteHeader(header: Buffer): boolean {
  return header.toString('latin1', 0, 16) === SQLITE_MAGIC;
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
 * is read in full, in a worker thread (a large file never stalls the thread that opened it) —
 * unless its last connection closed it cleanly (see `markClosedCleanly`), which `true` says.
 */
async function vet(path: string, schema: SqliteSchema, binding: string | undefined): Promise<boolean> {
  try {
    // Read before SQLite opens the file: a read-only connection may leave an empty -wal behind.
    const walEmpty = (statSync(`${path}-wal`, { throwIfNoEntry: false })?.size ?? 0) === 0;
    let fresh: boolean;
    let marked = false;
    const readOnly = connect(path, { readonly: true, fileMustExist: true }, binding);
    try {
      fresh = checkIdentity(readOnly, path, schema);
      if (!fresh && schema.marksCleanClose) {
        const identity = fileIdentity(path);
        marked = identity !== undefined && readCleanCloseMark(readOnly) === identity;
      }
    } finally {
      readOnly.close();
    }
    if (fresh) return false;
    if (marked && walEmpty) return true;
    const problems = await startQuickCheck(path, false, binding).problems;
    if (!intact(problems)) throw damaged(path, problems, 'it was left untouched');
    return false;
  } catch (error) {
    throw asStoreError(error, path);
  }
}

/**
 * Records, as the last write before the connection closes, that the file was closed cleanly: the
 * next open skips the whole-file integrity check if it finds the mark in the same file (device and
 * inode: a copy or a restored file is checked) with no WAL beside it (a WAL with frames means some
 * connection did not close cleanly after this one). The open that trusts the mark deletes it.
 */
export function markClosedCleanly(db: Database, path: string): void {
  const identity = fileIdentity(path);
  // A file deleted or moved away while open has no identity to vouch for: no mark, no error.
  if (identity === undefined) return;
  db.prepare('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value').run(CLEAN_CLOSE_KEY, identity);
}

/** Removes a clean-close mark (a copy must be checked in full wherever it lands). */
export function forgetCleanClose(db: Database): void {
  db.prepare('DELETE FROM meta WHERE key = ?').run(CLEAN_CLOSE_KEY);
}

function readCleanCloseMark(db: Database): string | undefined {
  return db.prepare('SELECT value FROM meta WHERE key = ?').pluck().get(CLEAN_CLOSE_KEY) as string | undefined;
}

/** Device and inode, or undefined when nothing is at `path` any more. */
function fileIdentity(path: string): string | undefined {
  const stats = statSync(path, { bigint: true, throwIfNoEntry: false });
  return stats && `${stats.dev}:${stats.ino}`;
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

/**
 * PRAGMA quick_check on a read-only connection in a worker thread: reads every page, writes
 * nothing. In the background the thread runs at low priority and does not keep the process alive.
 */
function startQuickCheck(path: string, background: boolean, binding: string | undefined): { problems: Promise<string[]>; stop(): Promise<void> } {
  const worker = new Worker(outsideAsar(new URL('./quick-check-worker.js', import.meta.url)), { workerData: { path, background, binding } });
  if (background) worker.unref();
  const problems = new Promise<string[]>((resolve, reject) => {
    worker.once('message', (result: { problems: string[] } | { error: string; code: string | undefined }) => {
      if ('problems' in result) resolve(result.problems);
      else reject(Object.assign(new Error(result.error), { code: result.code }));
    });
    worker.once('error', reject);
    worker.once('exit', (code) => reject(new Error(`the integrity check stopped (exit code ${code})`)));
  });
  return { problems, stop: async () => void (await worker.terminate()) };
}

function checkInBackground(path: string, binding: string | undefined): BackgroundCheck {
  const check = startQuickCheck(path, true, binding);
  let stopped = false;
  const outcome = check.problems.then(
    (problems) => {
      if (!intact(problems)) throw damaged(path, problems, 'found after it was opened; stop using it and restore a backup');
      background.intact = true;
    },
    (error: unknown) => {
      if (!stopped) throw asStoreError(error, path);
    },
  );
  const background: BackgroundCheck = {
    outcome,
    failure: undefined,
    intact: false,
    stop: async () => {
      stopped = true;
      await check.stop();
    },
  };
  // Also makes the outcome handled from the start: the opener watches it only once it is open.
  outcome.catch((error: StoreError) => {
    background.failure = error;
  });
  return background;
}

function intact(problems: string[]): boolean {
  return problems.length === 1 && problems[0] === 'ok';
}

function damaged(path: string, problems: string[], outcome: string): StoreError {
  return new StoreError('corrupt', `The database at ${path} is damaged (${problems.join('; ').replace(/\s+/g, ' ')}); ${outcome}.`);
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
