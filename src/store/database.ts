import { randomUUID } from 'node:crypto';
import { StoreError } from './errors.js';
import { migrations } from './migrations.js';
import { asStoreError, openSqliteFile, type OpenedSqliteFile, type SqliteSchema } from './sqlite-file.js';

/** PRAGMA application_id of a Gatehouse auth database ("GHSE"): tells our files from anyone else's. */
export const APPLICATION_ID = 0x47485345;

/** The auth database's kind: its application id, migrations and first contents. */
export const AUTH_SCHEMA: SqliteSchema = {
  applicationId: APPLICATION_ID,
  migrations,
  marksCleanClose: true,
  initialise: (db) => {
    db.prepare("INSERT INTO meta (key, value) VALUES ('installation_id', ?)").run(randomUUID());
  },
};

export interface OpenedDatabase extends OpenedSqliteFile {
  installationId: string;
}

/**
 * Opens (creating if needed) the auth database. A file that is not SQLite, is damaged, belongs to
 * another application or has a newer schema than this build knows is refused with a StoreError
 * before anything is written to it. One its last connection closed cleanly opens at once, its
 * whole-file check running in `backgroundCheck`. `binding`: see checkSqliteBinding.
 */
export async function openDatabase(path: string, binding?: string): Promise<OpenedDatabase> {
  const { db, backgroundCheck } = await openSqliteFile(path, AUTH_SCHEMA, binding);
  try {
    const row = db.prepare("SELECT value FROM meta WHERE key = 'installation_id'").get() as { value: string } | undefined;
    if (!row) throw new StoreError('corrupt', `The database at ${path} has no installation id.`);
    return { db, backgroundCheck, installationId: row.value };
  } catch (error) {
    await backgroundCheck?.stop();
    db.close();
    throw asStoreError(error, path);
  }
}
