import { spawnSync } from 'node:child_process';
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
export function gatehouse(args: readonly string[], options: { input?: string; env?: Record<string, string>; cwd?: string } = {}): Run {
  const { GATEHOUSE_DB: _ignored, ...env } = process.env;
  const run = spawnSync(process.execPath, [bin, ...args], {
    input: options.input ?? '',
    encoding: 'utf8',
    env: { ...env, ...options.env },
    ...(options.cwd === undefined ? {} : { cwd: options.cwd }),
  });
  return { status: run.status, stdout: run.stdout, stderr: run.stderr };
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
