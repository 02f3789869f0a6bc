import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { openEngine, StoreError } from '../dist/index.js';
import { outsideAsar } from '../dist/outside-asar.js';
import { forkService } from '../dist/resource/fork-service.js';
import { parseServiceArgs, serviceArgs, type ServiceConfig } from '../dist/resource/service-config.js';
import { superviseResourceService } from '../dist/resource/supervisor.js';
import { Durability } from '../dist/store/durability.js';
import { PASSWORD, tempDir } from './helpers.js';

// EngineOptions.sqliteBinding must reach every SQLite connection: the engine's, its worker threads'
// and the resource service's. Electron's ABI cannot be loaded here, so the binding passed is the
// Node-ABI module itself (which must work everywhere), and a path with no module behind it (which
// must fail clearly wherever it is used).

const NODE_BINDING = fileURLToPath(new URL('../node_modules/better-sqlite3/build/Release/better_sqlite3.node', import.meta.url));
const MISSING_BINDING = join(tempDir(), 'nowhere', 'better_sqlite3.node');
const QUICK_CHECK_WORKER = fileURLToPath(new URL('../dist/store/quick-check-worker.js', import.meta.url));
const CHECKPOINT_WORKER = fileURLToPath(new URL('../dist/store/wal-checkpoint-worker.js', import.meta.url));

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function engineOn(path: string, sqliteBinding: string) {
  const engine = await openEngine({ path, hashWorkers: 1, sqliteBinding });
  cleanups.push(() => engine.close());
  return engine;
}

/** Runs one of the store's worker scripts as the store does, and resolves with its first message or error. */
function runWorker(file: string, workerData: object): Promise<{ message?: unknown; error?: Error }> {
  return new Promise((resolve) => {
    const worker = new Worker(file, { workerData });
    worker.once('message', (message) => {
      resolve({ message });
      void worker.terminate();
    });
    worker.once('error', (error) => resolve({ error }));
  });
}

describe('EngineOptions.sqliteBinding', () => {
  it('opens a new and an existing database, signs in and runs the resource service with the given module', async () => {
    const path = join(tempDir(), 'auth.db');
    const first = await engineOn(path, NODE_BINDING);
    expect(first.sqliteBinding).toBe(NODE_BINDING);
    first.clients.add({ id: 'desktop', secret: 'none', scope: ['records:read'] });
    await first.users.add({ username: 'alice', password: PASSWORD, scope: ['records:read'] });
    await first.close();

    // Reopening an existing file runs the integrity check in its worker, with the binding.
    const engine = await engineOn(path, NODE_BINDING);
    const tokens = await engine.token({ grant_type: 'password', client_id: 'desktop', username: 'alice', password: PASSWORD });

    const launched: ServiceConfig[] = [];
    const service = await superviseResourceService(engine, { port: 0, dataPath: join(tempDir(), 'data.db') }, (config) => {
      launched.push(config);
      return forkService(config);
    });
    cleanups.push(() => service.close());
    expect(launched[0]!.sqliteBinding).toBe(NODE_BINDING);
    const me = await fetch(`${service.url}/api/me`, { headers: { Authorization: `Bearer ${tokens.access_token}` } });
    expect(me.status).toBe(200);
  });

  it('refuses, at open, a module that cannot be loaded, naming it', async () => {
    const opening = openEngine({ path: join(tempDir(), 'auth.db'), hashWorkers: 1, sqliteBinding: MISSING_BINDING });
    await expect(opening).rejects.toBeInstanceOf(StoreError);
    await expect(opening).rejects.toMatchObject({ code: 'unavailable', message: expect.stringContaining(`SQLite's native module (${MISSING_BINDING}) could not be loaded`) });
  });

  it.each([
    ['a relative path', 'native/better_sqlite3.node'],
    ['a file that is not a .node module', '/opt/gatehouse/better_sqlite3.so'],
    ['an empty string', ''],
    ['a number', 42],
  ])('rejects %s with a TypeError before touching the database', async (_what, value) => {
    const path = join(tempDir(), 'auth.db');
    await expect(openEngine({ path, sqliteBinding: value as string })).rejects.toThrow(
      new TypeError('options.sqliteBinding must be the absolute path of a better_sqlite3.node file.'),
    );
  });
});

describe('the binding in worker threads', () => {
  it('the integrity check worker loads the module it is given, and names one it cannot load', async () => {
    const path = join(tempDir(), 'auth.db');
    await (await engineOn(path, NODE_BINDING)).close();
    expect(await runWorker(QUICK_CHECK_WORKER, { path, binding: NODE_BINDING })).toEqual({ message: { problems: ['ok'] } });
    const failed = await runWorker(QUICK_CHECK_WORKER, { path, binding: MISSING_BINDING });
    expect(failed.message).toMatchObject({ code: 'SQLITE_BINDING', error: expect.stringContaining(`SQLite's native module (${MISSING_BINDING}) could not be loaded`) });
  });

  it('the WAL checkpoint worker loads the module it is given, and fails naming one it cannot load', async () => {
    const path = join(tempDir(), 'auth.db');
    await (await engineOn(path, NODE_BINDING)).close();
    const workerData = { path, intervalMs: 10, minWalBytes: 0, restartWalBytes: 1 << 30 };
    const running = new Worker(CHECKPOINT_WORKER, { workerData: { ...workerData, binding: NODE_BINDING } });
    const warnings: unknown[] = [];
    running.on('message', (message) => warnings.push(message));
    const exited = new Promise<number>((resolve, reject) => {
      running.once('exit', resolve);
      running.once('error', reject);
    });
    // It checkpoints on its interval with its connection open; asked to stop, it closes and exits cleanly.
    await new Promise((resolve) => setTimeout(resolve, 50));
    running.postMessage('stop');
    expect(await exited).toBe(0);
    expect(warnings).toEqual([]);

    const failed = await runWorker(CHECKPOINT_WORKER, { ...workerData, binding: MISSING_BINDING });
    expect(failed.error?.message).toContain(`SQLite's native module (${MISSING_BINDING}) could not be loaded`);
  });
});

describe('the binding handed to the WAL checkpoint worker by Durability', () => {
  it('reaches the worker: one it cannot load is reported, and closing still ends cleanly', async () => {
    const path = join(tempDir(), 'wal.db');
    const db = new Database(path);
    db.pragma('journal_mode = WAL');
    const warnings: string[] = [];
    const durability = new Durability(db, path, (message) => warnings.push(message), MISSING_BINDING);
    await expect.poll(() => warnings, { timeout: 10_000 }).toEqual([
      expect.stringContaining(`WAL checkpoint worker failed: SQLite's native module (${MISSING_BINDING}) could not be loaded`),
    ]);
    await durability.close();
    db.close();
  });
});

describe('the binding in the resource service process', () => {
  it('travels on its command line and is checked there', () => {
    const config: ServiceConfig = { port: 0, dataPath: '/data/records.db', issuer: 'i', audience: 'a', leewaySeconds: 30, allowedOrigins: [], sqliteBinding: NODE_BINDING };
    expect(serviceArgs(config)).toContain(`--sqlite-binding=${NODE_BINDING}`);
    expect(parseServiceArgs(serviceArgs(config))).toEqual(config);
    const { sqliteBinding: _none, ...without } = config;
    expect(serviceArgs(without).some((arg) => arg.startsWith('--sqlite-binding'))).toBe(false);
    expect(() => parseServiceArgs([...serviceArgs(without), '--sqlite-binding=better_sqlite3.node'])).toThrow(
      '--sqlite-binding must be the absolute path of a better_sqlite3.node file.',
    );
  });

  it('opens the records file with it: a module it cannot load stops the service, named in the error', async () => {
    const engine = await engineOn(join(tempDir(), 'auth.db'), NODE_BINDING);
    const starting = superviseResourceService(engine, { port: 0, dataPath: join(tempDir(), 'data.db'), log: () => undefined }, (config) =>
      forkService({ ...config, sqliteBinding: MISSING_BINDING }),
    );
    await expect(starting).rejects.toMatchObject({ name: 'ResourceServiceError', message: expect.stringContaining(`SQLite's native module (${MISSING_BINDING}) could not be loaded`) });
  });
});

describe('outsideAsar', () => {
  it('points a module inside a packaged app.asar at its unpacked copy, and leaves any other path alone', () => {
    expect(outsideAsar(new URL('file:///opt/Gatehouse/resources/app.asar/dist/store/quick-check-worker.js'))).toBe(
      '/opt/Gatehouse/resources/app.asar.unpacked/dist/store/quick-check-worker.js',
    );
    expect(outsideAsar(new URL('file:///home/me/gatehouse/dist/resource/service-main.js'))).toBe('/home/me/gatehouse/dist/resource/service-main.js');
    expect(outsideAsar(new URL('file:///srv/app.asar.unpacked/dist/x.js'))).toBe('/srv/app.asar.unpacked/dist/x.js');
  });
});
