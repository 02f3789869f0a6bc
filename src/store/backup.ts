import { closeSync, openSync, readSync, rmSync, statSync, writeSync } from 'node:fs';
import BetterSqlite3 from 'better-sqlite3';
import { StoreError } from './errors.js';
import { applyAccess, createExclusive, openRegularFile, type FileAccess } from './file-modes.js';
import { asStoreError, forgetCleanClose, isSqliteHeader, readHeader, type SqliteSchema } from './sqlite-file.js';

/** What a checked copy holds. */
export interface CheckedCopy {
  path: string;
  bytes: number;
  schemaVersion: number;
}

/** Every remaining page in one step: one read transaction, so no other writer can restart the copy. */
const ALL_PAGES = 0x7fffffff;

/**
 * Copies the database at `source` to `out` with SQLite's online backup API: a consistent snapshot
 * even while other processes keep writing (the remaining pages are copied in one step, inside one
 * read transaction, so a writer elsewhere can neither tear nor keep restarting it). `out` is
 * created private to this OS user and refused if it exists; the copy is made self-contained
 * (rollback journal, no -wal) and checked before this returns. A failed copy leaves nothing behind.
 */
export async function backupSqliteFile(source: string, out: string, schema: SqliteSchema): Promise<CheckedCopy> {
  checkIdentity(source, schema);
  try {
    closeSync(openSync(out, 'wx', 0o600));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') throw new StoreError('unavailable', `${out} already exists; choose a new name (nothing was written).`);
    throw new StoreError('unavailable', `Cannot create ${out}: ${(error as Error).message}`, { cause: error });
  }
  try {
    const db = new BetterSqlite3(source, { readonly: true, fileMustExist: true });
    try {
      await db.backup(out, { progress: () => ALL_PAGES });
    } finally {
      db.close();
    }
    return checkCopy(out, schema);
  } catch (error) {
    removeDatabaseFiles(out);
    throw error instanceof StoreError ? error : new StoreError('unavailable', `The backup of ${source} failed: ${(error as Error).message}`, { cause: error });
  }
}

/**
 * Makes `path` a self-contained file (rollback journal: nothing in a -wal beside it) and checks it
 * in full: PRAGMA integrity_check, the application id and a schema version this build knows.
 */
export function checkCopy(path: string, schema: SqliteSchema): CheckedCopy {
  const schemaVersion = checkPages(path, schema);
  return { path, bytes: statSync(path).size, schemaVersion };
}

function checkPages(path: string, schema: SqliteSchema): number {
  const db = new BetterSqlite3(path, { fileMustExist: true });
  try {
    db.pragma('journal_mode = DELETE');
    // A copy is checked in full wherever it is opened, whatever the file it was copied from said.
    if (schema.marksCleanClose) forgetCleanClose(db);
    const problems = db.pragma('integrity_check', { simple: false }) as Array<{ integrity_check: string }>;
    if (problems.length !== 1 || problems[0]!.integrity_check !== 'ok') {
      throw new StoreError('corrupt', `${path} failed its integrity check: ${problems.map((p) => p.integrity_check).join('; ')}`);
    }
    const applicationId = db.pragma('application_id', { simple: true }) as number;
    const schemaVersion = db.pragma('user_version', { simple: true }) as number;
    if (applicationId !== schema.applicationId) throw new StoreError('foreign', `${path} is not a Gatehouse database of this kind.`);
    if (schemaVersion < 1 || schemaVersion > schema.migrations.length) {
      throw new StoreError('too_new', `${path} has schema version ${schemaVersion}; this Gatehouse knows 1 to ${schema.migrations.length}.`);
    }
    return schemaVersion;
  } finally {
    db.close();
  }
}

/**
 * Refuses a file that is not a non-empty SQLite database of this schema's application (SQLite would
 * take an empty file, or a blank database, for a new one). The header settles "is it SQLite"; the
 * application id is read through SQLite, which also sees a page 1 still in the file's WAL.
 */
export function checkIdentity(path: string, schema: SqliteSchema): void {
  let size: number;
  try {
    size = statSync(path).size;
  } catch (error) {
    throw new StoreError('unavailable', `Cannot read ${path}: ${(error as Error).message}`, { cause: error });
  }
  if (size < 100 || !isSqliteHeader(readHeader(path))) throw new StoreError('not_a_database', `${path} is not a SQLite database.`);
  let applicationId: number;
  try {
    const db = new BetterSqlite3(path, { readonly: true, fileMustExist: true });
    try {
      applicationId = db.pragma('application_id', { simple: true }) as number;
    } finally {
      db.close();
    }
  } catch (error) {
    throw asStoreError(error, path);
  }
  if (applicationId !== schema.applicationId) throw new StoreError('foreign', `${path} is not a Gatehouse database of this kind.`);
}

/** What SQLite appends to a database file's name for the files that go with it ('' is the file itself). */
export const DATABASE_SUFFIXES = ['', '-wal', '-shm', '-journal'] as const;

/** A database file with its -wal, -shm and -journal companions, if any. */
export function removeDatabaseFiles(path: string): void {
  for (const suffix of DATABASE_SUFFIXES) rmSync(`${path}${suffix}`, { force: true });
}

/**
 * Copies a database file, and its -wal when that holds anything, to new files at `to` (refused if
 * anything is there), giving the copies `access` (see applyAccess). Nothing is followed: a symbolic
 * link in place of either file, a -wal that is not a regular file, or one with content that is not
 * of the main file's owner (in a shared folder another member may have put it there) is refused,
 * and what was copied goes.
 */
export function copyDatabaseFiles(from: string, to: string, access: FileAccess): void {
  const main = openRegularFile(from);
  if (!main) throw new StoreError('unavailable', `Cannot read ${from}: there is no file.`);
  const copied: string[] = [];
  try {
    copyOpenFile(main.fd, to, access, copied);
    const wal = openRegularFile(`${from}-wal`);
    if (!wal) return;
    try {
      if (wal.stats.size === 0) return;
      if (wal.stats.uid !== main.stats.uid) {
        throw new StoreError(
          'unavailable',
          `${from}-wal belongs to another OS user than ${from} (uid ${wal.stats.uid}, not ${main.stats.uid}); it was left as it is. ` +
            'If it is the database\'s own, start and stop the app or gatehouse serve once (which moves its changes into the database), then try again.',
        );
      }
      copyOpenFile(wal.fd, `${to}-wal`, access, copied);
    } finally {
      closeSync(wal.fd);
    }
  } catch (error) {
    for (const path of copied) rmSync(path, { force: true });
    throw error;
  } finally {
    closeSync(main.fd);
  }
}

const CHUNK = 1 << 20;

/** Copies what `source` holds to a new file at `to`, by descriptor, and gives it `access`. */
function copyOpenFile(source: number, to: string, access: FileAccess, copied: string[]): void {
  const out = createExclusive(to);
  copied.push(to);
  try {
    const buffer = Buffer.allocUnsafe(CHUNK);
    for (let position = 0, read; (read = readSync(source, buffer, 0, CHUNK, position)) > 0; position += read) {
      for (let written = 0; written < read; ) written += writeSync(out, buffer, written, read - written);
    }
    applyAccess(out, access);
  } finally {
    closeSync(out);
  }
}
