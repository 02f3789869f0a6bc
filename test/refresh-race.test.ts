import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { TokenError } from '../dist/index.js';
import { newEngine, oauthFailure, PASSWORD, seeded } from './helpers.js';
import { race } from './process-racers.js';

const FIXTURE = fileURLToPath(new URL('./fixtures/refresh-once.mjs', import.meta.url));
const RACERS = 4;
const ROUNDS = 3;

type Outcome =
  | { pid: number; ok: true; access_token: string; refresh_token: string }
  | { pid: number; ok: false; error: string; error_description: string };

/** N processes present the same refresh token once, all released by one start signal. */
function raceRefresh(path: string, token: string, now: number): Promise<Outcome[]> {
  return race<Outcome>(Array.from({ length: RACERS }, () => [FIXTURE, path, token, String(now)]));
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
      const outcomes = await raceRefresh(path, token, clock.now());

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
