import { randomUUID } from 'node:crypto';
import type { Database, Statement } from 'better-sqlite3';
import { systemClock, type Clock } from '../clock.js';
import type { RecordItem, RecordPage } from '../contracts.js';
import { asStoreError, openSqliteFile } from '../store/sqlite-file.js';
import { RECORDS_SCHEMA } from './records-migrations.js';

interface RecordRow {
  seq: number;
  id: string;
  owner: string;
  title: string;
  body: string;
  created_at: number;
  updated_at: number;
}

export interface RecordInput {
  title: string;
  body: string;
}

export interface RecordStoreOptions {
  /** Source of createdAt/updatedAt (tests inject a fake one). */
  clock?: Clock | undefined;
  /** SQLite's native module, when not better-sqlite3's own (see checkSqliteBinding). */
  sqliteBinding?: string | undefined;
}

/** A `cursor` this store did not hand out (or one that was altered). */
export class InvalidCursorError extends Error {
  override readonly name = 'InvalidCursorError';
  constructor() {
    super('The cursor is not one this service gave out.');
  }
}

/**
 * The resource service's records, in their own SQLite file (never the auth database: the service
 * runs as its own process and needs nothing of the engine's). Every operation is scoped to an owner,
 * so a record of someone else is indistinguishable from one that does not exist. Pages run newest
 * first, by insertion order.
 */
export class RecordStore {
  private readonly insertRow: Statement<[string, string, string, string, number, number]>;
  private readonly findRow: Statement<[string, string], RecordRow>;
  private readonly pageRows: Statement<[string, number, number], RecordRow>;
  private readonly updateRow: Statement<[string | null, string | null, number, string, string]>;
  private readonly deleteRow: Statement<[string, string]>;

  private constructor(
    private readonly db: Database,
    private readonly clock: Clock,
  ) {
    this.insertRow = db.prepare('INSERT INTO records (id, owner, title, body, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)');
    this.findRow = db.prepare('SELECT * FROM records WHERE id = ? AND owner = ?');
    this.pageRows = db.prepare('SELECT * FROM records WHERE owner = ? AND seq < ? ORDER BY seq DESC LIMIT ?');
    this.updateRow = db.prepare(
      'UPDATE records SET title = coalesce(?, title), body = coalesce(?, body), updated_at = ? WHERE id = ? AND owner = ?',
    );
    this.deleteRow = db.prepare('DELETE FROM records WHERE id = ? AND owner = ?');
  }

  /** Opens (creating it as its folder says, if needed) the records file; refuses files that are not one (StoreError). */
  static async open(path: string, options: RecordStoreOptions = {}): Promise<RecordStore> {
    const { db } = await openSqliteFile(path, RECORDS_SCHEMA, options.sqliteBinding);
    try {
      return new RecordStore(db, options.clock ?? systemClock);
    } catch (error) {
      // Its statements cannot be prepared: tables unlike the schema version's, a damaged file.
      db.close();
      throw asStoreError(error, path);
    }
  }

  close(): void {
    this.db.close();
  }

  create(owner: string, input: RecordInput): RecordItem {
    const id = randomUUID();
    const now = this.clock.now();
    this.insertRow.run(id, owner, input.title, input.body, now, now);
    return { id, title: input.title, body: input.body, owner, createdAt: now, updatedAt: now };
  }

  /** One page of the owner's records, newest first; `cursor` is a previous page's `next` (InvalidCursorError if not). */
  list(owner: string, cursor: string | undefined, limit: number): RecordPage {
    const after = cursor === undefined ? Number.MAX_SAFE_INTEGER : decodeCursor(cursor);
    // One row more than asked says whether another page follows.
    const rows = this.pageRows.all(owner, after, limit + 1);
    const items = rows.slice(0, limit);
    const next = rows.length > limit ? encodeCursor(items[items.length - 1]!.seq) : null;
    return { items: items.map(toItem), next };
  }

  get(owner: string, id: string): RecordItem | undefined {
    const row = this.findRow.get(id, owner);
    return row && toItem(row);
  }

  /** Changes what is given; undefined if the owner has no such record. */
  update(owner: string, id: string, changes: { title?: string | undefined; body?: string | undefined }): RecordItem | undefined {
    const { changes: count } = this.updateRow.run(changes.title ?? null, changes.body ?? null, this.clock.now(), id, owner);
    return count === 0 ? undefined : this.get(owner, id);
  }

  /** False if the owner has no such record. */
  delete(owner: string, id: string): boolean {
    return this.deleteRow.run(id, owner).changes > 0;
  }
}

function toItem(row: RecordRow): RecordItem {
  return { id: row.id, title: row.title, body: row.body, owner: row.owner, createdAt: row.created_at, updatedAt: row.updated_at };
}

/** Opaque to callers; it only ever narrows a query already scoped to the caller's own records. */
function encodeCursor(seq: number): string {
  return Buffer.from(`after:${seq}`).toString('base64url');
}

function decodeCursor(cursor: string): number {
  const text = /^[A-Za-z0-9_-]{1,32}$/.test(cursor) ? Buffer.from(cursor, 'base64url').toString('latin1') : '';
  const match = /^after:([1-9][0-9]{0,15})$/.exec(text);
  const seq = match ? Number(match[1]) : Number.NaN;
  // Only the exact encoding this store gives out, so one cursor has one spelling.
  if (!Number.isSafeInteger(seq) || encodeCursor(seq) !== cursor) throw new InvalidCursorError();
  return seq;
}
