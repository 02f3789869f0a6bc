import { readFile, rm, writeFile } from 'node:fs/promises';
import { afterEach, expect } from 'vitest';
import type { Engine, IpcResult, SessionView, TokenResponse } from '../dist/index.js';
import { createAppHandlers, type AppHandlers, type AppHandlersOptions, type SecretStore } from '../dist/electron/index.js';
import { newEngine, PASSWORD, type FakeClock } from './helpers.js';

export const ORIGIN = 'gatehouse://app';
export const APP = { origin: ORIGIN, mainFrame: true };
export const SERVICE_URL = 'http://127.0.0.1:8471';
export const ADMIN_PASSWORD = 'quiet meadow copper violin 47';
export { PASSWORD };

/** A "stay signed in" store as the app keeps one, minus safeStorage: a plain file in the temp dir. */
export class FileSecretStore implements SecretStore {
  constructor(readonly path: string) {}
  async load(): Promise<string | null> {
    return readFile(this.path, 'utf8').catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return null;
      throw error;
    });
  }
  async save(value: string): Promise<void> {
    await writeFile(this.path, value, { mode: 0o600 });
  }
  async clear(): Promise<void> {
    await rm(this.path, { force: true });
  }
}

export interface Harness {
  engine: Engine;
  path: string;
  clock: FakeClock;
  handlers: AppHandlers;
  /** Every SessionView pushed, in order. */
  pushed: SessionView[];
  logs: string[];
  /** Every refresh token the engine handed out (recorded by wrapping engine.token). */
  refreshTokens: Set<string>;
  /** Calls as the app's own main frame; checks the result survives structuredClone unchanged. */
  call(name: string, args?: unknown): Promise<IpcResult<Record<string, unknown>>>;
  /** New handlers on the same engine (as after an app restart), watched like the first ones. */
  recreate(options?: Partial<AppHandlersOptions>): AppHandlers;
}

const everything: unknown[] = [];
const tokens = new Set<string>();
const open: AppHandlers[] = [];

afterEach(async () => {
  for (const handlers of open.splice(0)) await handlers.close();
  // The refresh token never leaves main: in no result and no pushed view.
  const seen = JSON.stringify(everything.splice(0));
  for (const token of tokens) expect(seen.includes(token), 'a refresh token reached the renderer').toBe(false);
  tokens.clear();
});

/**
 * A real engine on a temp SQLite file with the app's client, `alice` (records:read) and `root`
 * (admin), and handlers on it sharing its fake clock.
 */
export async function harness(options: Partial<AppHandlersOptions> = {}, engineOptions: Parameters<typeof newEngine>[0] = {}): Promise<Harness> {
  const { engine, path, clock } = await newEngine(engineOptions);
  engine.clients.add({ id: 'gatehouse-app', secret: 'none', scope: ['admin', 'records:read', 'records:write'], grants: ['password', 'refresh_token'] });
  await engine.users.add({ username: 'alice', password: PASSWORD, scope: ['records:read', 'records:write'] });
  await engine.users.add({ username: 'root', password: ADMIN_PASSWORD, scope: ['admin', 'records:read'] });
  const token = engine.token.bind(engine);
  engine.token = async (...args: Parameters<Engine['token']>): Promise<TokenResponse> => {
    const response = await token(...args);
    if (response.refresh_token) tokens.add(response.refresh_token);
    return response;
  };
  const pushed: SessionView[] = [];
  const logs: string[] = [];
  const make = (extra: Partial<AppHandlersOptions> = {}) => {
    const handlers = createAppHandlers({ engine, allowedOrigin: ORIGIN, serviceUrl: SERVICE_URL, clock, log: (line) => logs.push(line), ...options, ...extra });
    handlers.onSessionChanged((view) => {
      everything.push(view);
      pushed.push(view);
    });
    open.push(handlers);
    return handlers;
  };
  const h: Harness = {
    engine,
    path,
    clock,
    handlers: make(),
    pushed,
    logs,
    refreshTokens: tokens,
    async call(name, args) {
      const result = (await h.handlers.handle(name, APP, args)) as IpcResult<Record<string, unknown>>;
      expect(structuredClone(result)).toStrictEqual(result);
      everything.push(result);
      return result;
    },
    recreate(extra) {
      h.handlers = make(extra);
      return h.handlers;
    },
  };
  return h;
}

/** The result's fields, failing the test if the call failed. */
export function ok<T extends Record<string, unknown>>(result: IpcResult<T>): T {
  if (!result.ok) throw new Error(`expected success, got ${JSON.stringify(result.error)}`);
  return result;
}

/** The error of a failed call, failing the test if it succeeded. */
export function failure(result: IpcResult<Record<string, unknown>>) {
  if (result.ok) throw new Error(`expected a failure, got ${JSON.stringify(result)}`);
  return result.error;
}

export async function signIn(h: Harness, username = 'alice', password = PASSWORD, extra: Record<string, unknown> = {}): Promise<SessionView> {
  return ok(await h.call('signIn', { username, password, ...extra })).session as SessionView;
}

export async function accessToken(h: Harness): Promise<{ accessToken: string; expiresAt: number }> {
  return ok(await h.call('getAccessToken')) as { accessToken: string; expiresAt: number };
}
