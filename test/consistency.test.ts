import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openEngine } from '../dist/index.js';
import { FakeClock, newEngine, oauthFailure, PASSWORD, seeded, tempDir } from './helpers.js';

/** Two engines on one file behave as two processes would: each its own connection and policy. */
async function twoEngines(policyA: Record<string, number> = {}) {
  const path = join(tempDir(), 'auth.db');
  const clock = new FakeClock();
  const a = await seeded({ path, clock, policy: policyA });
  const b = await newEngine({ path, clock });
  return { a: a.engine, b: b.engine, clock };
}

describe('revocations made by one engine hold in every other', () => {
  it('last as long as the tokens they cover, whatever the revoking engine\'s own policy', async () => {
    const { a, b, clock } = await twoEngines({ accessTokenTtlSeconds: 3600 });
    const signedIn = await a.token({ grant_type: 'password', client_id: 'desktop', username: 'alice', password: PASSWORD });
    b.users.disable('alice'); // b issues 5-minute tokens; a issued a 1-hour one
    const [revocation] = b.revocations();
    expect(revocation!.expiresAt).toBeGreaterThanOrEqual(clock.now() + 3600_000);
    b.users.enable('alice');
    clock.advance(400);
    await expect(a.verifyAccessToken(signedIn.access_token)).rejects.toMatchObject({ code: 'revoked' });
    expect(a.revocations().map((r) => r.value)).toHaveLength(1);
  });

  it('cover an access token refreshed just before its session\'s absolute end', async () => {
    const { a, b, clock } = await twoEngines({ refreshIdleSeconds: 3600, refreshAbsoluteSeconds: 3600 });
    const signedIn = await a.token({ grant_type: 'password', client_id: 'desktop', username: 'alice', password: PASSWORD });
    clock.advance(3590);
    const late = await a.token({ grant_type: 'refresh_token', client_id: 'desktop', refresh_token: signedIn.refresh_token! });
    clock.advance(20); // the session can no longer refresh, but `late` is valid for 290 s more
    b.users.disable('alice');
    await expect(a.verifyAccessToken(late.access_token)).rejects.toMatchObject({ code: 'revoked' });
    expect(b.revocations()).toHaveLength(1);
  });

  it('a token whose session was deleted with its client is not active', async () => {
    const { a, b } = await twoEngines();
    const signedIn = await a.token({ grant_type: 'password', client_id: 'desktop', username: 'alice', password: PASSWORD });
    b.clients.remove('desktop');
    expect(await a.introspect({ token: signedIn.access_token }, { clientId: 'tool', clientSecret: 'an-admin-chosen-client-secret-of-40-chars' })).toEqual({
      active: false,
    });
  });
});

describe('a sign-in decided while another engine changes the account', () => {
  it('creates no session when the account was disabled during the hash', async () => {
    const { a, b } = await twoEngines();
    const pending = a.token({ grant_type: 'password', client_id: 'desktop', username: 'alice', password: PASSWORD });
    b.users.disable('alice');
    expect((await oauthFailure(pending)).code).toBe('invalid_grant');
    expect(a.sessions.list('alice')).toEqual([]);
  });

  it('leaves no live session with the old password when a reset races the sign-in', async () => {
    const { a, b } = await twoEngines();
    // Both hash at once; whichever commits first, the old password must not keep a session.
    const [signIn] = await Promise.allSettled([
      a.token({ grant_type: 'password', client_id: 'desktop', username: 'alice', password: PASSWORD }),
      b.users.resetPassword('alice', 'a different password chosen by IT'),
    ]);
    expect(a.sessions.list('alice').filter((s) => s.revokedAt === null)).toEqual([]);
    if (signIn.status === 'fulfilled') {
      await expect(a.verifyAccessToken(signIn.value.access_token)).rejects.toMatchObject({ code: 'revoked' });
    } else {
      expect((signIn.reason as { code: string }).code).toBe('invalid_grant');
    }
  });

  it('answers invalid_client, not a database error, when the client was removed during the hash', async () => {
    const { a, b } = await twoEngines();
    const pending = a.token({ grant_type: 'password', client_id: 'desktop', username: 'alice', password: PASSWORD });
    b.clients.remove('desktop');
    const error = await oauthFailure(pending);
    expect([error.code, error.status]).toEqual(['invalid_client', 401]);
  });

  it('sees a user added by another engine on the very next request', async () => {
    const { a, b } = await twoEngines();
    await b.users.add({ username: 'newcomer', password: PASSWORD, scope: ['records:read'] });
    await expect(a.token({ grant_type: 'password', client_id: 'desktop', username: 'newcomer', password: PASSWORD })).resolves.toMatchObject({
      scope: 'records:read',
    });
  });
});

describe('first open of one new file by two engines at once', () => {
  it('both open it, with one installation id', async () => {
    const path = join(tempDir(), 'fresh.db');
    const [x, y] = await Promise.all([openEngine({ path }), openEngine({ path })]);
    try {
      expect(x.installationId).toBe(y.installationId);
    } finally {
      await Promise.all([x.close(), y.close()]);
    }
  });
});
