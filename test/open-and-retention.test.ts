import { randomBytes, randomUUID } from 'node:crypto';
import { closeSync, existsSync, openSync, rmSync, statSync, writeSync } from 'node:fs';
import { setTimeout } from 'node:timers/promises';
import Database from 'better-sqlite3';
import { describe, expect, it, vi } from 'vitest';
import { EngineClosedError, openEngine, StoreError, type Engine } from '../dist/index.js';
import { FakeClock, inspect, PASSWORD, seeded } from './helpers.js';

const DAY_MS = 86_400_000;

const metaValue = (path: string, key: string) =>
  inspect(path, (db) => db.prepare('SELECT value FROM meta WHERE key = ?').pluck().get(key) as string | undefined);

/** A seeded database with a signed-in session, closed cleanly. */
async function closedCleanly(): Promise<{ path: string; clock: FakeClock }> {
  const { engine, path, clock } = await seeded();
  await engine.token({ grant_type: 'password', client_id: 'desktop', username: 'Alice', password: PASSWORD });
  await engine.close();
  return { path, clock };
}

/** Overwrites one page of the file in place (same inode), keeping the rest. */
function damagePageInPlace(path: string, table: string): void {
  const { root, pageSize } = inspect(path, (db) => ({
    root: db.prepare("SELECT rootpage FROM sqlite_master WHERE type = 'table' AND name = ?").pluck().get(table) as number,
    pageSize: db.pragma('page_size', { simple: true }) as number,
  }));
  expect(root).toBeGreaterThan(1);
  const fd = openSync(path, 'r+');
  try {
    writeSync(fd, randomBytes(pageSize), 0, pageSize, (root - 1) * pageSize);
  } finally {
    closeSync(fd);
  }
}

function damagedEvent(engine: Engine): Promise<StoreError> {
  return new Promise((resolve) => engine.on('damaged', resolve));
}

describe('opening a file its last connection closed cleanly', () => {
  it('finds the mark of that same file, and the open that trusts it removes it', async () => {
    const { path, clock } = await closedCleanly();
    const { dev, ino } = statSync(path, { bigint: true });
    expect(metaValue(path, 'closed_cleanly')).toBe(`${dev}:${ino}`);
    const engine = await openEngine({ path, clock, hashWorkers: 1 });
    expect(metaValue(path, 'closed_cleanly')).toBeUndefined();
    await engine.close();
    expect(metaValue(path, 'closed_cleanly')).toBe(`${dev}:${ino}`);
  });

  it('closes without error, and leaves no mark, when its file was deleted while it was open', async () => {
    const { engine, path } = await seeded();
    rmSync(path);
    await expect(engine.close()).resolves.toBeUndefined();
    expect(existsSync(path)).toBe(false);
  });

  it('checks the whole file after opening it, and closes the engine if it is damaged', async () => {
    const { path, clock } = await closedCleanly();
    damagePageInPlace(path, 'users');
    const engine = await openEngine({ path, clock, hashWorkers: 1 });
    const error = await damagedEvent(engine);
    expect(error).toBeInstanceOf(StoreError);
    expect(error.code).toBe('corrupt');
    expect(error.message).toMatch(new RegExp(`^The database at ${path} is damaged \\(.+\\); found after it was opened; stop using it and restore a backup\\.$`));
    await engine.close();
    expect(() => engine.users.list()).toThrow(EngineClosedError);
    // Nothing vouches for the damaged file: the next open checks it first, and refuses it.
    expect(metaValue(path, 'closed_cleanly')).toBeUndefined();
    await expect(openEngine({ path, clock, hashWorkers: 1 })).rejects.toMatchObject({ name: 'StoreError', code: 'corrupt' });
  });

  it('refuses the file from openEngine when the check finds damage before the engine has started', async () => {
    const { path, clock } = await closedCleanly();
    damagePageInPlace(path, 'users');
    // Slow enough for the check of this small file to end while the engine makes its signing key.
    const slowProtector = {
      protect: async (secret: Uint8Array) => {
        await setTimeout(2000);
        return secret;
      },
      unprotect: async (blob: Uint8Array) => blob,
    };
    await expect(openEngine({ path, clock, hashWorkers: 1, keyProtector: slowProtector })).rejects.toMatchObject({
      name: 'StoreError',
      code: 'corrupt',
      message: expect.stringMatching(/is damaged \(.+\); found after it was opened/),
    });
    expect(metaValue(path, 'closed_cleanly')).toBeUndefined();
  });

  it('checks before opening when another connection left frames in the WAL', async () => {
    const { path, clock } = await closedCleanly();
    damagePageInPlace(path, 'users');
    // A connection still open with a write in its WAL: the file is not as it was closed.
    const other = new Database(path);
    try {
      other.pragma('wal_autocheckpoint = 0');
      other.prepare("INSERT INTO meta (key, value) VALUES ('other', 'x')").run();
      expect(statSync(`${path}-wal`).size).toBeGreaterThan(0);
      await expect(openEngine({ path, clock, hashWorkers: 1 })).rejects.toMatchObject({ name: 'StoreError', code: 'corrupt' });
    } finally {
      other.close();
    }
  });
});

describe('retention through the index on when sessions ended', () => {
  it('drops token hashes of ended sessions, a backlog in batches after open, and sessions past retention', async () => {
    const { path, clock } = await closedCleanly();
    const now = clock.now();
    const db = new Database(path);
    try {
      const { userId, liveSession } = db
        .prepare("SELECT user_id AS userId, id AS liveSession FROM sessions WHERE revoked_at IS NULL")
        .get() as { userId: string; liveSession: string };
      const addSession = db.prepare(
        `INSERT INTO sessions (id, user_id, client_id, scope, created_at, last_used_at, expires_at, access_expires_at, revoked_at, revoked_reason)
         VALUES (?, ?, 'desktop', '', ?, ?, ?, ?, ?, 'signed_out')`,
      );
      const addToken = db.prepare('INSERT INTO refresh_tokens (hash, session_id, created_at) VALUES (?, ?, ?)');
      db.transaction(() => {
        // 2500 signed out within retention (more than one batch), 10 longer ago than retention.
        for (let i = 0; i < 2510; i++) {
          const ended = i < 2500 ? now - DAY_MS + i : now - 31 * DAY_MS;
          const id = randomUUID();
          addSession.run(id, userId, ended - 1000, ended, ended + 7 * DAY_MS, ended + 300_000, ended);
          addToken.run(randomBytes(32), id, ended - 1000);
        }
        // As a database from before the index: no prune has been recorded.
        db.prepare("DELETE FROM meta WHERE key = 'tokens_pruned_from'").run();
      })();
      expect(db.prepare('SELECT count(*) FROM refresh_tokens').pluck().get()).toBe(2511);
      const engine = await openEngine({ path, clock, hashWorkers: 1 });
      try {
        // At open: sessions past retention, with their tokens.
        expect(db.prepare('SELECT count(*) FROM sessions').pluck().get()).toBe(2501);
        // After open, batch by batch: every ended session's tokens; the live session keeps its own.
        await vi.waitFor(() => expect(db.prepare('SELECT session_id FROM refresh_tokens').pluck().all()).toEqual([liveSession]), {
          timeout: 10_000,
        });
        expect(db.prepare("SELECT value FROM meta WHERE key = 'tokens_pruned_from'").pluck().get()).toBe(String(now));
        expect(db.prepare('SELECT count(*) FROM sessions').pluck().get()).toBe(2501);

        // A session past its refresh deadline whose last access token is still valid has not ended:
        // its tokens stay until that token expires, though the prune has passed its deadline.
        const lingering = randomUUID();
        db.prepare(
          `INSERT INTO sessions (id, user_id, client_id, scope, created_at, last_used_at, expires_at, access_expires_at)
           VALUES (?, ?, 'desktop', '', ?, ?, ?, ?)`,
        ).run(lingering, userId, now - DAY_MS, now - 600_000, now - 600_000, now + 1_200_000);
        addToken.run(randomBytes(32), lingering, now - 600_000);
        clock.advance(60);
        await engine.rotateSigningKey();
        expect(db.prepare('SELECT count(*) FROM refresh_tokens WHERE session_id = ?').pluck().get(lingering)).toBe(1);
        clock.advance(1200);
        await engine.rotateSigningKey();
        await vi.waitFor(() => expect(db.prepare('SELECT count(*) FROM refresh_tokens WHERE session_id = ?').pluck().get(lingering)).toBe(0));
        expect(db.prepare('SELECT count(*) FROM refresh_tokens WHERE session_id = ?').pluck().get(liveSession)).toBe(1);
        // The live session still refreshes.
        const signIn = await engine.token({ grant_type: 'password', client_id: 'desktop', username: 'Alice', password: PASSWORD });
        await expect(engine.token({ grant_type: 'refresh_token', client_id: 'desktop', refresh_token: signIn.refresh_token! })).resolves.toHaveProperty('access_token');
      } finally {
        await engine.close();
      }
    } finally {
      db.close();
    }
  });
});
