import type { Database } from 'better-sqlite3';
import type { SqliteSchema } from '../store/sqlite-file.js';

/** PRAGMA application_id of the resource service's records database ("GHRD"), not the auth one's. */
export const RECORDS_APPLICATION_ID = 0x47485244;

/** Forward-only migrations of the records database (see SqliteSchema). Never edit a shipped one. */
export const recordsMigrations: ReadonlyArray<(db: Database) => void> = [
  // 1: the initial schema.
  (db) => {
    db.exec(`
      CREATE TABLE records (
        -- insertion order, for paging: ids are random, and timestamps can tie
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        id TEXT NOT NULL UNIQUE,
        -- the token subject (user id) that created it
        owner TEXT NOT NULL,
        title TEXT NOT NULL,
        body TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL
      ) STRICT;
      CREATE INDEX records_owner ON records(owner, seq);
    `);
  },
];

/** The records database's kind, for opening, backing up and restoring it. */
export const RECORDS_SCHEMA: SqliteSchema = { applicationId: RECORDS_APPLICATION_ID, migrations: recordsMigrations };
