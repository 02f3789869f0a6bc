import Database from 'better-sqlite3';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { Durability } from '../dist/store/durability.js';
import { tempDir } from './helpers.js';

function walDatabase() {
  const path = join(tempDir(), 'd.db');
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.exec('CREATE TABLE t (v BLOB)');
  return { db, path };
}

describe('durable commits without fsync on the calling thread', () => {
  it('commits with synchronous=NORMAL and no automatic checkpoints on the calling connection', async () => {
    const { db, path } = walDatabase();
    const durability = new Durability(db, path, (m) => {
      throw new Error(m);
    });
    try {
      expect(db.pragma('synchronous', { simple: true })).toBe(1);
      expect(db.pragma('wal_autocheckpoint', { simple: true })).toBe(0);
      const before = durability.changes();
      db.prepare('INSERT INTO t VALUES (?)').run(Buffer.alloc(10));
      expect(durability.changes()).toBe(before + 1);
      // Administration commits with FULL (on disk when it returns), then the connection goes back to NORMAL.
      expect(durability.fullySynced(() => db.pragma('synchronous', { simple: true }))).toBe(2);
      expect(db.pragma('synchronous', { simple: true })).toBe(1);
      // Concurrent flushes share work and all settle.
      await Promise.all(Array.from({ length: 20 }, () => durability.flush()));
    } finally {
      await durability.close();
      db.close();
    }
  });

  it('moves what the WAL holds into the database file from its worker thread', async () => {
    const { db, path } = walDatabase();
    const durability = new Durability(db, path, (m) => {
      throw new Error(m);
    });
    try {
      const insert = db.prepare('INSERT INTO t VALUES (?)');
      db.transaction(() => {
        for (let i = 0; i < 64; i++) insert.run(Buffer.alloc(32 * 1024, i));
      })();
      await durability.flush();
      const databaseBytes = () => statSync(path).size;
      expect(databaseBytes()).toBeLessThan(64 * 1024);
      // The worker looks every second; wait for it rather than checkpointing here.
      await vi.waitFor(() => expect(databaseBytes()).toBeGreaterThan(2 * 1024 * 1024), { timeout: 10_000, interval: 100 });
    } finally {
      await durability.close();
      db.close();
    }
  });
});
