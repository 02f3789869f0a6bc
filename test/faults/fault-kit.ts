import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { expect } from 'vitest';
import { openEngine } from '../../dist/index.js';
import { PASSWORD } from '../helpers.js';

// What the fault suite's files share: run counts and the seed (from the environment, so a failure can
// be replayed and CI can keep within its budget), a seeded generator, a database set up for `serve`,
// form posts, the documented error codes, and what /proc says about a process.

/** A whole number from the environment, or the default. */
function envCount(name: string, fallback: number): number {
  const value = process.env[name];
  if (value === undefined || value === '') return fallback;
  if (!/^\d+$/.test(value)) throw new Error(`${name} must be a whole number, not ${JSON.stringify(value)}.`);
  return Number(value);
}

/** GATEHOUSE_FAULT_SEED replays a run; otherwise a new seed, printed by every file that uses it. */
export const SEED = envCount('GATEHOUSE_FAULT_SEED', Math.floor(Math.random() * 2 ** 31));

/** Kill-and-restart cycles of the crash runs (GATEHOUSE_FAULT_RUNS); the other counts follow the scale. */
export const CRASH_RUNS = envCount('GATEHOUSE_FAULT_RUNS', 30);

/** GATEHOUSE_FAULT_SCALE (percent, default 100) scales the race rounds and the fuzz inputs. */
const SCALE = envCount('GATEHOUSE_FAULT_SCALE', 100) / 100;
export function scaled(count: number): number {
  return Math.max(1, Math.round(count * SCALE));
}

/** One line of figures per check, for the CI log and docs/reliability.md. */
export function report(what: string, figures: Record<string, number | string>): void {
  const parts = Object.entries(figures).map(([name, value]) => `${name}=${value}`);
  console.log(`[faults] ${what}: ${parts.join(' ')} seed=${SEED}`);
}

/** mulberry32: a small seeded generator; the same seed gives the same kill points and choices. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The app's first-party client, as `serve` makes it. */
export const APP_CLIENT = 'gatehouse-app';
const RECORD_SCOPES = ['records:read', 'records:write'];

/**
 * A database ready for `gatehouse serve`: the app's client as serve makes it, and `users` accounts
 * with the records scopes and PASSWORD (so serve creates no admin account).
 */
export async function prepareDatabase(path: string, users: readonly string[]): Promise<void> {
  const engine = await openEngine({ path, hashWorkers: 1 });
  try {
    engine.clients.add({ id: APP_CLIENT, secret: 'none', scope: ['admin', ...RECORD_SCOPES], grants: ['password', 'refresh_token'] });
    for (const username of users) await engine.users.add({ username, password: PASSWORD, scope: RECORD_SCOPES });
  } finally {
    await engine.close();
  }
}

export interface Answer {
  status: number;
  body: any;
  headers: Headers;
}

/** POSTs a form to a serve endpoint and reads the JSON answer (204: no body). */
export async function postForm(url: string, params: Record<string, string>, headers: Record<string, string> = {}): Promise<Answer> {
  const response = await fetch(url, { method: 'POST', body: new URLSearchParams(params), headers });
  return readAnswer(response);
}

export async function readAnswer(response: Response): Promise<Answer> {
  const text = await response.text();
  return { status: response.status, body: text === '' ? undefined : JSON.parse(text), headers: response.headers };
}

/** The answers docs/http.md and docs/api.md document, by status: the `error` codes each may carry. */
const DOCUMENTED_ERRORS: Readonly<Record<number, readonly string[]>> = {
  400: ['invalid_request', 'invalid_grant', 'unauthorized_client', 'unsupported_grant_type', 'invalid_scope', 'password_change_required'],
  401: ['invalid_client', 'invalid_token', 'unauthorized'],
  403: ['access_denied', 'insufficient_scope'],
  404: ['not_found'],
  405: ['method_not_allowed'],
  408: ['invalid_request'],
  413: ['invalid_request'],
  415: ['invalid_request'],
  431: ['invalid_request'],
};

/** Expects a documented error: a listed status, a JSON body with a listed `error` and a description. */
export function expectDocumentedError(answer: { status: number; body: any }, context: string): void {
  const codes = DOCUMENTED_ERRORS[answer.status];
  expect(codes, `${context}: undocumented status ${answer.status} ${JSON.stringify(answer.body)}`).toBeDefined();
  expect(codes, `${context}: ${JSON.stringify(answer.body)}`).toContain(answer.body?.error);
  expect(typeof answer.body.error_description, context).toBe('string');
}

/** PRAGMA integrity_check on a read-only connection (a running server may hold the file). */
export function integrityCheck(path: string): string {
  const db = new Database(path, { readonly: true, fileMustExist: true });
  try {
    return (db.pragma('integrity_check') as Array<{ integrity_check: string }>).map((row) => row.integrity_check).join('; ');
  } finally {
    db.close();
  }
}

/** Reads rows from a database on a read-only connection. */
export function query<T>(path: string, sql: string, ...params: unknown[]): T[] {
  const db = new Database(path, { readonly: true, fileMustExist: true });
  try {
    return db.prepare(sql).all(...params) as T[];
  } finally {
    db.close();
  }
}

export function sha256(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Every file in a directory and the SHA-256 of its bytes, to show that nothing was written. */
export function snapshotDir(dir: string): Record<string, string> {
  const files: Record<string, string> = {};
  for (const name of readdirSync(dir).sort()) files[name] = sha256(readFileSync(join(dir, name)));
  return files;
}

/** Whether a process is still there (a zombie counts as gone: it holds no port or file). */
export function alive(pid: number): boolean {
  const status = `/proc/${pid}/status`;
  if (!existsSync(status)) return false;
  try {
    return !/^State:\s+Z/m.test(readFileSync(status, 'utf8'));
  } catch {
    return false;
  }
}

/** The process ids whose parent is `pid` (from /proc: the resource service of a serve process). */
export function childPids(pid: number): number[] {
  const children: number[] = [];
  for (const task of readdirSync(`/proc/${pid}/task`)) {
    const list = readFileSync(`/proc/${pid}/task/${task}/children`, 'utf8').trim();
    if (list !== '') children.push(...list.split(/\s+/).map(Number));
  }
  return children;
}

/** Resident memory of a process in bytes (VmRSS). */
export function rssBytes(pid: number): number {
  const match = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!match) throw new Error(`no VmRSS for process ${pid}`);
  return Number(match[1]) * 1024;
}

/** Polls until `condition` holds; fails after `limitMs` (a liveness bound, not a timing being measured). */
export async function eventually(condition: () => boolean, what: string, limitMs = 20_000): Promise<void> {
  for (let waited = 0; !condition(); waited += 50) {
    if (waited >= limitMs) throw new Error(`still not the case after ${limitMs} ms: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/**
 * A port free right now, for a server that must come back on the same one after a crash: the
 * issuer, and so every token's `iss`, is the URL served.
 */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer().once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}
