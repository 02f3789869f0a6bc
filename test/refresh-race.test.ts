import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { TokenError } from '../dist/index.js';
import { newEngine, oauthFailure, PASSWORD, seeded } from './helpers.js';

const FIXTURE = fileURLToPath(new URL('./fixtures/refresh-once.mjs', import.meta.url));
const RACERS = 4;
const ROUNDS = 3;

type Outcome =
  | { pid: number; ok: true; access_token: string; refresh_token: string }
  | { pid: number; ok: false; error: string; error_description: string };

interface Racer {
  child: ChildProcessWithoutNullStreams;
  ready: Promise<void>;
  outcome: Promise<Outcome>;
  exited: Promise<number | null>;
  stderr: string[];
}

function startRacer(path: string, token: string, now: number): Racer {
  const child = spawn(process.execPath, [FIXTURE, path, token, String(now)], { stdio: ['pipe', 'pipe', 'pipe'] });
  const stderr: string[] = [];
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => stderr.push(chunk));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const lines = createInterface({ input: child.stdout });
  const messages: unknown[] = [];
  const waiters: Array<() => void> = [];
  lines.on('line', (line) => {
    messages.push(JSON.parse(line));
    for (const wake of waiters.splice(0)) wake();
  });
  const nth = async (index: number): Promise<unknown> => {
    for (;;) {
      if (messages.length > index) return messages[index];
      const code = await Promise.race([exited, new Promise<'line'>((resolve) => waiters.push(() => resolve('line')))]);
      if (code !== 'line' && messages.length <= index) {
        throw new Error(`racer ${child.pid} exited with ${code} before line ${index + 1}: ${stderr.join('')}`);
      }
    }
  };
  const ready = nth(0).then((message) => {
    expect(message).toEqual({ ready: true, pid: child.pid });
  });
  const outcome = nth(1) as Promise<Outcome>;
  // Keep rejections observed until the test awaits them.
  ready.catch(() => {});
  outcome.catch(() => {});
  return { child, ready, outcome, exited, stderr };
}

/** N processes present the same refresh token once, all released by one start signal. */
async function race(path: string, token: string, now: number): Promise<Outcome[]> {
  const racers = Array.from({ length: RACERS }, () => startRacer(path, token, now));
  try {
    await Promise.all(racers.map((r) => r.ready));
    // The start signal: every racer has its engine open and is blocked reading stdin.
    for (const { child } of racers) child.stdin.write('go\n');
    const outcomes = await Promise.all(racers.map((r) => r.outcome));
    const codes = await Promise.all(racers.map((r) => r.exited));
    expect(codes, racers.map((r) => r.stderr.join('')).join('\n')).toEqual(racers.map(() => 0));
    return outcomes;
  } finally {
    for (const { child } of racers) {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
    await Promise.all(racers.map((r) => r.exited));
  }
}

describe('refresh token race between separate processes on one database file', () => {
  it(`lets exactly one of ${RACERS} processes win, and the reuse ends the family`, { timeout: 60_000 }, async () => {
    const { engine: setup, path, clock } = await seeded();
    await setup.close();

    for (let round = 1; round <= ROUNDS; round++) {
      clock.advance(10);
      const { engine } = await newEngine({ path, clock });
      const signIn = await engine.token({ grant_type: 'password', client_id: 'desktop', username: 'Alice', password: PASSWORD });
      const token = signIn.refresh_token!;
      expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
      const sid = (await engine.verifyAccessToken(signIn.access_token)).sid;
      await engine.close();

      clock.advance(1);
      const outcomes = await race(path, token, clock.now());

      const winners = outcomes.filter((o): o is Extract<Outcome, { ok: true }> => o.ok);
      const losers = outcomes.filter((o): o is Extract<Outcome, { ok: false }> => !o.ok);
      expect(winners, `round ${round}: ${JSON.stringify(outcomes.map((o) => (o.ok ? 'ok' : o.error)))}`).toHaveLength(1);
      expect(losers).toHaveLength(RACERS - 1);
      for (const loser of losers) {
        expect(loser.error).toBe('invalid_grant');
        expect(loser.error_description).toMatch(/invalid, expired or revoked/);
      }
      const winner = winners[0]!;
      expect(winner.refresh_token).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect(winner.refresh_token).not.toBe(token);
      expect(new Set(outcomes.map((o) => o.pid)).size).toBe(RACERS);

      // RFC 9700 §4.14: the losers presented a used token, which ends the whole family — so the
      // winner's new refresh token is refused too, and its access token is revoked.
      const { engine: after } = await newEngine({ path, clock });
      const session = after.sessions.list().find((s) => s.id === sid);
      expect(session).toMatchObject({ id: sid, username: 'Alice', clientId: 'desktop' });
      expect(session!.revokedReason).toBe('reuse_detected');
      expect(session!.revokedAt).toBe(clock.now());
      expect(after.revocations()).toContainEqual(expect.objectContaining({ kind: 'sid', value: sid }));

      const refused = await oauthFailure(after.token({ grant_type: 'refresh_token', client_id: 'desktop', refresh_token: winner.refresh_token }));
      expect(refused.code).toBe('invalid_grant');
      const replay = await oauthFailure(after.token({ grant_type: 'refresh_token', client_id: 'desktop', refresh_token: token }));
      expect(replay.code).toBe('invalid_grant');
      const revoked = await after.verifyAccessToken(winner.access_token).then(
        () => undefined,
        (error: unknown) => error,
      );
      expect(revoked).toBeInstanceOf(TokenError);
      expect((revoked as TokenError).code).toBe('revoked');

      // One rotation and one reuse detection were recorded for this family; the other losers found
      // it already ended.
      const events = after.auditLog().filter((row) => row.session_id === sid);
      expect(events.filter((row) => row.type === 'refresh' && row.outcome === 'success')).toHaveLength(1);
      expect(events.filter((row) => row.type === 'refresh.reuse_detected')).toHaveLength(1);
      expect(events.filter((row) => row.type === 'session.revoked')).toHaveLength(1);
      await after.close();
    }

    const db = new Database(path, { readonly: true, fileMustExist: true });
    try {
      expect(db.pragma('integrity_check')).toEqual([{ integrity_check: 'ok' }]);
      expect(db.pragma('foreign_key_check')).toEqual([]);
      const ended = db.prepare("SELECT count(*) AS n FROM sessions WHERE revoked_reason = 'reuse_detected'").get();
      expect(ended).toEqual({ n: ROUNDS });
    } finally {
      db.close();
    }
  });
});
