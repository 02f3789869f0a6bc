import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { dataPathFor } from '../resource/service-config.js';
import { RECORDS_SCHEMA } from '../resource/records-migrations.js';
import { backupSqliteFile, checkCopy, checkIdentity, copyDatabaseFiles, DATABASE_SUFFIXES, removeDatabaseFiles, type CheckedCopy } from '../store/backup.js';
import { runningHosts } from '../store/change-signal.js';
import { AUTH_SCHEMA } from '../store/database.js';
import { StoreError } from '../store/errors.js';
import { PRIVATE_ACCESS, refuseSymbolicLink } from '../store/file-modes.js';
import { openSqliteFile, type SqliteSchema } from '../store/sqlite-file.js';
import type { CommandContext } from './command.js';
import { CliError } from './errors.js';
import { reply } from './output.js';
import { swapInTogether } from './restore-swap.js';
import { withEngine } from './with-engine.js';

/**
 * `gatehouse backup OUT`: the auth database to OUT and, if there is one, the records database
 * (`<name>.data.db`) to OUT's own `.data.db` name, each with SQLite's online backup while the app or
 * serve keeps running, created private to this user, and checked before success is reported.
 */
export async function backup({ io, args, json, db }: CommandContext): Promise<void> {
  const out = args[0]!;
  if (!existsSync(db)) throw new CliError('refused', `No database at ${db}.`);
  const dataSource = dataPathFor(db);
  const dataOut = existsSync(dataSource) ? dataPathFor(out) : undefined;
  for (const path of [out, dataOut]) {
    if (path !== undefined && existsSync(path)) throw new CliError('refused', `${path} already exists; choose a new name (nothing was written).`);
  }
  const database = await refused(backupSqliteFile(db, out, AUTH_SCHEMA));
  let records: CheckedCopy | undefined;
  if (dataOut) {
    records = await backupSqliteFile(dataSource, dataOut, RECORDS_SCHEMA).catch((error: unknown) => {
      removeDatabaseFiles(out); // half a backup is no backup
      throw toCliError(error);
    });
  }
  const text = `Backed up ${db} to ${out}${records ? ` and its records to ${records.path}` : ''} (checked: integrity, application id, schema version ${database.schemaVersion}).`;
  reply(io, json, { database, records: records ?? null }, text);
}

/**
 * `gatehouse restore IN`: replaces the database (and the records database, if IN has one beside it)
 * with a vetted, checked copy of IN, keeping what it replaces as `<file>.before-restore`. Refused
 * while a host has the database open. The restored copy starts over before it goes in place: every
 * session ends (reason `restored`) and every signing key ends, audited.
 */
export async function restore({ io, args, json, db }: CommandContext): Promise<void> {
  const source = args[0]!;
  if (!existsSync(source)) throw new CliError('refused', `No file at ${source}.`);
  await refuseWhileHostsRun(db);
  const dataSource = dataPathFor(source);
  const workspace = privateFolderBeside(db);
  try {
    const auth = stage(source, join(workspace, basename(db)), AUTH_SCHEMA);
    // Opening it as an engine vets it in full (and migrates an older backup); then it starts over.
    const outcome = await withEngine(auth, false, (engine) => engine.startOverAfterRestore()).catch((error: unknown) => {
      throw toCliError(error, auth, source);
    });
    const database = checked(auth, source, AUTH_SCHEMA);
    let records: string | undefined;
    if (existsSync(dataSource)) {
      records = stage(dataSource, join(workspace, basename(dataPathFor(db))), RECORDS_SCHEMA);
      const opened = await openSqliteFile(records, RECORDS_SCHEMA).catch((error: unknown) => {
        throw toCliError(error, records, dataSource);
      });
      await opened.backgroundCheck?.stop();
      opened.db.close();
      checked(records, dataSource, RECORDS_SCHEMA);
    }
    await refuseWhileHostsRun(db); // one may have started meanwhile
    // SQLite itself knows of every connection, also a host of another OS user or one whose signal
    // listener did not start: the database must be free of them all.
    refuseWhileOpenElsewhere(db);
    const [keptDatabase = null, keptRecords = null] = swapInTogether(workspace, [
      { staged: auth, target: db },
      ...(records ? [{ staged: records, target: dataPathFor(db) }] : []),
    ]);
    const kept = { database: keptDatabase, records: keptRecords };
    const text =
      `Restored ${db} from ${source}${records ? ' (with its records)' : ''}: ${outcome.sessionsRevoked} session(s) revoked, ` +
      `${outcome.keysEnded} signing key(s) ended; a new key starts with the app or gatehouse serve.` +
      (kept.database ? ` The replaced database is kept as ${kept.database}.` : '');
    reply(io, json, { restored: db, from: source, schemaVersion: database.schemaVersion, records: records !== undefined, kept, ...outcome }, text);
  } finally {
    rmSync(workspace, { recursive: true, force: true });
  }
}

/**
 * A new folder beside `db`, private to this process's OS user (mkdtemp makes it 0700), where the
 * restore stages its copies: in a shared folder, the other members of its group may create, rename
 * and delete files, but not in there. On the database's own file system, so renames out of it stay
 * atomic.
 */
function privateFolderBeside(db: string): string {
  try {
    return mkdtempSync(join(dirname(db), '.gatehouse-restore-'));
  } catch (error) {
    throw new CliError('refused', `Cannot restore: cannot create a private folder in ${dirname(db)} (${(error as Error).message}); nothing was changed.`);
  }
}

async function refuseWhileHostsRun(db: string): Promise<void> {
  const hosts = await runningHosts(db);
  if (hosts > 0) {
    throw new CliError('refused', `${hosts} running host(s) (the app or gatehouse serve) have ${db} open; stop them, then restore.`);
  }
}

/**
 * Refuses while any other connection has `db` open: taking SQLite's exclusive lock fails then
 * (SQLITE_BUSY), whoever holds it. A database too damaged to lock is no reason to refuse a restore.
 */
function refuseWhileOpenElsewhere(db: string): void {
  // SQLite follows links, also to its -wal, -shm and -journal: none is opened through one.
  try {
    for (const suffix of DATABASE_SUFFIXES) refuseSymbolicLink(`${db}${suffix}`);
  } catch (error) {
    throw new CliError('refused', `Cannot restore: ${(error as Error).message} Nothing was changed.`);
  }
  if (!existsSync(db)) return;
  let probe: BetterSqlite3.Database | undefined;
  try {
    probe = new BetterSqlite3(db, { fileMustExist: true, timeout: 0 });
    probe.pragma('locking_mode = EXCLUSIVE');
    probe.exec('BEGIN EXCLUSIVE; COMMIT');
  } catch (error) {
    const code = (error as { code?: string }).code ?? '';
    if (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED')) {
      throw new CliError('refused', `${db} is open in another process (the app or gatehouse serve, perhaps of another user); stop it, then restore.`);
    }
  } finally {
    probe?.close();
  }
}

/**
 * A copy of `source` (and its -wal) at `copy`, in the restore's private folder, for the rename that
 * puts it in place (which gives it the access of the file it replaces: see swapInTogether).
 */
function stage(source: string, copy: string, schema: SqliteSchema): string {
  try {
    copyDatabaseFiles(source, copy, PRIVATE_ACCESS);
    checkIdentity(copy, schema);
  } catch (error) {
    throw toCliError(error, copy, source);
  }
  return copy;
}

function checked(copy: string, source: string, schema: SqliteSchema): CheckedCopy {
  try {
    return checkCopy(copy, schema);
  } catch (error) {
    throw toCliError(error, copy, source);
  }
}

function refused<T>(promise: Promise<T>): Promise<T> {
  return promise.catch((error: unknown) => {
    throw toCliError(error);
  });
}

/** A StoreError as a refusal naming the file the user gave, not the staged copy. */
function toCliError(error: unknown, copy?: string, source?: string): unknown {
  if (error instanceof CliError && copy && source) return new CliError(error.kind, `Cannot restore: ${error.message.replaceAll(copy, source)}`);
  if (!(error instanceof StoreError)) return error;
  const message = copy && source ? error.message.replaceAll(copy, source) : error.message;
  return new CliError('refused', copy ? `Cannot restore: ${message}` : message);
}
