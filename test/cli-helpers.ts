import { spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';
import { openEngine, TokenError, type Clock, type Engine } from '../dist/index.js';
import { tempDir } from './helpers.js';

const bin = fileURLToPath(new URL('../bin/gatehouse.js', import.meta.url));

export interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs the real `gatehouse` launcher as a child process with stdin piped (empty unless given) and
 * without the caller's GATEHOUSE_DB, so only what the test passes decides the database.
 */
export function gatehouse(args: readonly string[], options: RunOptions = {}): Run {
  const run = spawnSync(process.execPath, [bin, ...args], {
    input: options.input ?? '',
    encoding: 'utf8',
    env: cliEnv(options),
    ...(options.cwd === undefined ? {} : { cwd: options.cwd }),
  });
  return { status: run.status, stdout: run.stdout, stderr: run.stderr };
}

/** `gatehouse` as above without blocking the test's event loop (for a test that serves requests meanwhile). */
export function gatehouseAsync(args: readonly string[], options: RunOptions = {}): Promise<Run> {
  const child = spawn(process.execPath, [bin, ...args], {
    env: cliEnv(options),
    stdio: ['pipe', 'pipe', 'pipe'],
    ...(options.cwd === undefined ? {} : { cwd: options.cwd }),
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  child.stdin.end(options.input ?? '');
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (status) => resolve({ status, stdout, stderr }));
  });
}

export interface RunOptions {
  input?: string;
  env?: Record<string, string>;
  cwd?: string;
}

function cliEnv(options: RunOptions): NodeJS.ProcessEnv {
  const { GATEHOUSE_DB: _ignored, ...env } = process.env;
  return { ...env, ...options.env };
}

/**
 * `gatehouse` on one database, keeping everything each run printed (`outputs`), so a test can check
 * that a secret appeared only where it should.
 */
export function recorder(db: string): { run: (args: readonly string[], input?: string) => Run; outputs: string[] } {
  const outputs: string[] = [];
  const run = (args: readonly string[], input?: string) => {
    const result = gatehouse([...args, '--db', db], input === undefined ? {} : { input });
    outputs.push(result.stdout, result.stderr);
    return result;
  };
  return { run, outputs };
}

/** An engine on the same file, as an app or a server would hold it while the CLI runs; closed after `work`. */
export async function withLibrary(db: string, work: (engine: Engine) => Promise<void>, clock?: Clock): Promise<void> {
  const engine = await openEngine({ path: db, hashWorkers: 1, clock });
  try {
    await work(engine);
  } finally {
    await engine.close();
  }
}

/** Expects the engine to refuse the access token as revoked. */
export async function expectRevoked(engine: Engine, accessToken: string): Promise<void> {
  const error = await engine.verifyAccessToken(accessToken).catch((caught: unknown) => caught);
  expect(error).toBeInstanceOf(TokenError);
  expect((error as TokenError).code).toBe('revoked');
}

/** How the CLI shows a time: ISO 8601 in UTC, to the second. */
export function isoSecond(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');
}

/** A database path in a fresh temp directory (removed after the test); no file is there yet. */
export function dbPath(): string {
  return join(tempDir(), 'auth.db');
}

/** Expects success with nothing on stderr; returns stdout. */
export function ok(run: Run): string {
  expect({ status: run.status, stderr: run.stderr }).toEqual({ status: 0, stderr: '' });
  return run.stdout;
}

/** Expects exit 1 (refused) or 2 (usage): nothing on stdout and one `gatehouse: …` line on stderr, returned. */
export function failure(run: Run, status: 1 | 2): string {
  expect({ status: run.status, stdout: run.stdout }).toEqual({ status, stdout: '' });
  expect(run.stderr).toMatch(/^gatehouse: [^\n]+\n$/);
  return run.stderr.slice('gatehouse: '.length, -1);
}

/** The table's data rows as lists of cells, checking that every cell starts under its header. */
export function tableRows(text: string, headers: readonly string[]): string[][] {
  const [head, ...lines] = text.trimEnd().split('\n');
  const starts = headers.map((header) => head!.indexOf(header));
  expect(starts.every((start, i) => start >= 0 && (i === 0 || start > starts[i - 1]!)), head).toBe(true);
  return lines.map((line) =>
    starts.map((start, i) => {
      // Each cell begins exactly under its header (no cell is empty: an empty value is shown as `-`).
      expect(line[start] !== ' ' && (start === 0 || line[start - 1] === ' '), `column ${headers[i]} of: ${line}`).toBe(true);
      return line.slice(start, starts[i + 1] ?? line.length).trim();
    }),
  );
}
