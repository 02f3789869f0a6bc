import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach } from 'vitest';
import { openEngine, type Clock, type Engine, type EngineOptions } from '../dist/index.js';

/** A clock tests move by hand. */
export class FakeClock implements Clock {
  constructor(public ms = Date.UTC(2026, 0, 15, 9, 0, 0)) {}
  now(): number {
    return this.ms;
  }
  advance(seconds: number): void {
    this.ms += seconds * 1000;
  }
}

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A fresh temp directory, removed after the test. */
export function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-test-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Opens an engine on a new database file in a temp dir; closed after the test. */
export async function newEngine(options: Partial<EngineOptions> = {}): Promise<{ engine: Engine; path: string; clock: FakeClock }> {
  const clock = (options.clock as FakeClock | undefined) ?? new FakeClock();
  const path = options.path ?? join(tempDir(), 'auth.db');
  const engine = await openEngine({ hashWorkers: 2, ...options, path, clock });
  cleanups.push(() => engine.close());
  return { engine, path, clock };
}

export const PASSWORD = 'correct horse battery staple';
export const SECRET = 'an-admin-chosen-client-secret-of-40-chars';

/**
 * A typical setup: a public first-party client, a confidential one, a client without the password
 * grant, and one user holding records:read and records:write.
 */
export async function seeded(options: Partial<EngineOptions> = {}) {
  const opened = await newEngine(options);
  const { engine } = opened;
  engine.clients.add({ id: 'desktop', secret: 'none', scope: ['records:read', 'records:write', 'admin'] });
  engine.clients.add({ id: 'tool', secret: { value: SECRET }, scope: ['records:read', 'records:write'] });
  engine.clients.add({ id: 'refresh-only', secret: 'none', scope: ['records:read'], grants: ['refresh_token'] });
  engine.clients.add({ id: 'no-refresh', secret: 'none', scope: ['records:read'], grants: ['password'] });
  await engine.users.add({ username: 'Alice', password: PASSWORD, scope: ['records:read', 'records:write'] });
  return opened;
}

/** Runs a promise expected to fail with an OAuthError and returns that error. */
export async function oauthFailure(promise: Promise<unknown>): Promise<{ code: string; status: number; description: string; headers: Readonly<Record<string, string>>; toJSON(): unknown }> {
  try {
    await promise;
  } catch (error) {
    return error as never;
  }
  throw new Error('expected the operation to fail');
}

/** A second, read-only connection to look at what the engine wrote. */
export function inspect<T>(path: string, look: (db: Database.Database) => T): T {
  const db = new Database(path, { readonly: true, fileMustExist: true });
  try {
    return look(db);
  } finally {
    db.close();
  }
}
