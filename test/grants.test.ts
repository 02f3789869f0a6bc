import { describe, expect, it } from 'vitest';
import { OAuthError, parseBasicAuthorization } from '../dist/index.js';
import { oauthFailure, PASSWORD, SECRET, seeded } from './helpers.js';

const basic = (id: string, secret: string) => ({ clientId: id, clientSecret: secret });

describe('token endpoint: request validation (RFC 6749 §3.1, §3.2, §5.2)', () => {
  it('rejects a repeated parameter, even with an identical value', async () => {
    const { engine } = await seeded();
    const error = await oauthFailure(
      engine.token([
        ['grant_type', 'password'],
        ['client_id', 'desktop'],
        ['username', 'alice'],
        ['username', 'alice'],
        ['password', PASSWORD],
      ]),
    );
    expect(error).toBeInstanceOf(OAuthError);
    expect(error.code).toBe('invalid_request');
    expect(error.status).toBe(400);
    expect(error.description).toContain('"username" parameter is repeated');
  });

  it('treats an empty parameter as omitted', async () => {
    const { engine } = await seeded();
    const missing = await oauthFailure(engine.token({ grant_type: 'password', client_id: 'desktop', username: 'alice', password: '' }));
    expect(missing.toJSON()).toEqual({ error: 'invalid_request', error_description: 'The "password" parameter is missing.' });
    // An empty scope is no scope: the client's default applies.
    const ok = await engine.token({ grant_type: 'password', client_id: 'desktop', username: 'alice', password: PASSWORD, scope: '' });
    expect(ok.scope).toBe('records:read records:write');
  });

  it('answers a missing grant_type with invalid_request and an unknown one with unsupported_grant_type', async () => {
    const { engine } = await seeded();
    const missing = await oauthFailure(engine.token([['client_id', 'desktop']]));
    expect([missing.code, missing.status]).toEqual(['invalid_request', 400]);
    const unknown = await oauthFailure(engine.token([['grant_type', 'client_credentials'], ['client_id', 'desktop']]));
    expect([unknown.code, unknown.status]).toEqual(['unsupported_grant_type', 400]);
    const code = await oauthFailure(engine.token([['grant_type', 'authorization_code'], ['client_id', 'desktop']]));
    expect(code.code).toBe('unsupported_grant_type');
  });

  it('rejects non-string parameter values from JavaScript callers', async () => {
    const { engine } = await seeded();
    await expect(engine.token({ grant_type: 'password', client_id: 'desktop', username: 'alice', password: 42 } as never)).rejects.toThrow(
      TypeError,
    );
  });
});

describe('client authentication (RFC 6749 §2.3)', () => {
  it('accepts a public client by client_id alone', async () => {
    const { engine } = await seeded();
    const response = await engine.token({ grant_type: 'password', client_id: 'desktop', username: 'alice', password: PASSWORD });
    expect(response.token_type).toBe('Bearer');
  });

  it('accepts a confidential client with HTTP Basic and with client_secret_post', async () => {
    const { engine } = await seeded();
    const viaBasic = await engine.token({ grant_type: 'password', username: 'alice', password: PASSWORD }, basic('tool', SECRET));
    expect(viaBasic.access_token).toMatch(/^v4\.public\./);
    const viaPost = await engine.token({ grant_type: 'password', client_id: 'tool', client_secret: SECRET, username: 'alice', password: PASSWORD });
    expect(viaPost.access_token).toMatch(/^v4\.public\./);
  });

  it('decodes Basic credentials form-urlencoded before base64 (§2.3.1)', async () => {
    const { engine } = await seeded();
    const secret = 'secret with spaces, colons: and + plus signs!!';
    engine.clients.add({ id: 'odd:id', secret: { value: secret }, scope: ['records:read'] });
    const encode = (s: string) => encodeURIComponent(s).replace(/%20/g, '+');
    const header = `Basic ${Buffer.from(`${encode('odd:id')}:${encode(secret)}`).toString('base64')}`;
    const credentials = parseBasicAuthorization(header)!;
    expect(credentials).toEqual({ clientId: 'odd:id', clientSecret: secret });
    const response = await engine.token({ grant_type: 'password', username: 'alice', password: PASSWORD }, credentials);
    expect(response.scope).toBe('records:read');
    expect(parseBasicAuthorization('Bearer abc')).toBeUndefined();
    expect(() => parseBasicAuthorization('Basic !!!')).toThrow(OAuthError);
    expect(() => parseBasicAuthorization(`Basic ${Buffer.from('no-colon').toString('base64')}`)).toThrow(/malformed/);
  });

  it('answers every failed client authentication with 401 invalid_client and a Basic challenge', async () => {
    const { engine } = await seeded();
    const cases: Array<Promise<unknown>> = [
      engine.token({ grant_type: 'password', username: 'alice', password: PASSWORD }, basic('tool', 'wrong-secret')),
      engine.token({ grant_type: 'password', username: 'alice', password: PASSWORD }, basic('nobody', SECRET)),
      engine.token({ grant_type: 'password', client_id: 'tool', client_secret: 'wrong', username: 'alice', password: PASSWORD }),
      // A confidential client may not pose as public.
      engine.token({ grant_type: 'password', client_id: 'tool', username: 'alice', password: PASSWORD }),
      // A public client presenting a secret is not who it claims to be.
      engine.token({ grant_type: 'password', client_id: 'desktop', client_secret: 'x', username: 'alice', password: PASSWORD }),
      engine.token({ grant_type: 'password', client_id: 'unknown', username: 'alice', password: PASSWORD }),
      // No client identification at all.
      engine.token({ grant_type: 'password', username: 'alice', password: PASSWORD }),
    ];
    for (const attempt of cases) {
      const error = await oauthFailure(attempt);
      expect(error.code).toBe('invalid_client');
      expect(error.status).toBe(401);
      expect(error.headers['WWW-Authenticate']).toMatch(/^Basic realm="gatehouse"/);
    }
    // None of those reached password hashing.
    expect(engine.hashEvaluations).toBe(1); // the seeded user's own hash
  });

  it('refuses two authentication methods at once with invalid_request', async () => {
    const { engine } = await seeded();
    const both = await oauthFailure(
      engine.token({ grant_type: 'password', client_secret: SECRET, username: 'alice', password: PASSWORD }, basic('tool', SECRET)),
    );
    expect(both.code).toBe('invalid_request');
    const mismatch = await oauthFailure(
      engine.token({ grant_type: 'password', client_id: 'desktop', username: 'alice', password: PASSWORD }, basic('tool', SECRET)),
    );
    expect(mismatch.code).toBe('invalid_request');
    // The same client_id in the body as in Basic is fine.
    const same = await engine.token({ grant_type: 'password', client_id: 'tool', username: 'alice', password: PASSWORD }, basic('tool', SECRET));
    expect(same.access_token).toBeTruthy();
  });

  it('allows only registered grants: unauthorized_client otherwise (RFC 9700 §2.4)', async () => {
    const { engine } = await seeded();
    const error = await oauthFailure(engine.token({ grant_type: 'password', client_id: 'refresh-only', username: 'alice', password: PASSWORD }));
    expect([error.code, error.status]).toEqual(['unauthorized_client', 400]);
    const noRefresh = await engine.token({ grant_type: 'password', client_id: 'no-refresh', username: 'alice', password: PASSWORD });
    expect(noRefresh.refresh_token).toBeUndefined();
    const refresh = await oauthFailure(engine.token({ grant_type: 'refresh_token', client_id: 'no-refresh', refresh_token: 'x'.repeat(43) }));
    expect(refresh.code).toBe('unauthorized_client');
  });
});

describe('password grant (RFC 6749 §4.3)', () => {
  it('issues a §5.1 response and matches the username case- and width-insensitively', async () => {
    const { engine } = await seeded();
    for (const username of ['alice', 'ALICE', 'Ａｌｉｃｅ']) {
      const response = await engine.token({ grant_type: 'password', client_id: 'desktop', username, password: PASSWORD });
      expect(Object.keys(response).sort()).toEqual(['access_token', 'expires_in', 'refresh_token', 'scope', 'token_type']);
      expect(response.expires_in).toBe(300);
      expect(response.refresh_token).toMatch(/^[A-Za-z0-9_-]{43}$/);
      const claims = await engine.verifyAccessToken(response.access_token);
      expect(claims.username).toBe('Alice');
    }
  });

  it('gives unknown user, wrong password and disabled account the same answer, with one hash each', async () => {
    const { engine } = await seeded();
    await engine.users.add({ username: 'bob', password: PASSWORD });
    engine.users.disable('bob');
    const attempts = [
      { username: 'nobody', password: PASSWORD },
      { username: 'alice', password: 'wrong password, long enough' },
      { username: 'bob', password: PASSWORD },
    ];
    const bodies: string[] = [];
    for (const attempt of attempts) {
      const before = engine.hashEvaluations;
      const error = await oauthFailure(engine.token({ grant_type: 'password', client_id: 'desktop', ...attempt }));
      expect(engine.hashEvaluations - before).toBe(1);
      expect(error.status).toBe(400);
      bodies.push(JSON.stringify(error.toJSON()));
    }
    expect(new Set(bodies).size).toBe(1);
    expect(JSON.parse(bodies[0]!)).toEqual({ error: 'invalid_grant', error_description: 'The username or password is incorrect.' });
    // The audit log, not the caller, learns which it was.
    const reasons = engine.auditLog().filter((e) => e.type === 'signin' && e.outcome === 'failure').map((e) => [e.username, JSON.parse(e.detail!).reason]);
    expect(reasons).toEqual([[expect.stringMatching(/^unknown#[0-9a-f]{6}$/), 'unknown_user'], ['Alice', 'wrong_password'], ['bob', 'disabled']]);
  });

  it('answers password_change_required only when the password is right', async () => {
    const { engine } = await seeded();
    await engine.users.add({ username: 'carol', password: PASSWORD, mustChangePassword: true, scope: ['records:read'] });
    const wrong = await oauthFailure(engine.token({ grant_type: 'password', client_id: 'desktop', username: 'carol', password: 'not the password at all' }));
    expect(wrong.code).toBe('invalid_grant');
    const right = await oauthFailure(engine.token({ grant_type: 'password', client_id: 'desktop', username: 'carol', password: PASSWORD }));
    expect([right.code, right.status]).toEqual(['password_change_required', 400]);
    expect(engine.sessions.list('carol')).toHaveLength(0);
  });

  it('refuses an absurdly large password without hashing it', async () => {
    const { engine } = await seeded();
    const before = engine.hashEvaluations;
    const error = await oauthFailure(engine.token({ grant_type: 'password', client_id: 'desktop', username: 'alice', password: 'x'.repeat(5000) }));
    expect(error.code).toBe('invalid_request');
    expect(engine.hashEvaluations).toBe(before);
  });

  it('notices a disable made while the password was being hashed', async () => {
    const { engine } = await seeded();
    const pending = engine.token({ grant_type: 'password', client_id: 'desktop', username: 'alice', password: PASSWORD });
    engine.users.disable('alice');
    const error = await oauthFailure(pending);
    expect(error.code).toBe('invalid_grant');
  });
});

describe('scope (RFC 6749 §3.3)', () => {
  it('defaults to what both the client and the account hold, and says so', async () => {
    const { engine } = await seeded();
    const response = await engine.token({ grant_type: 'password', client_id: 'desktop', username: 'alice', password: PASSWORD });
    expect(response.scope).toBe('records:read records:write');
  });

  it('omits scope from the response when granted exactly as requested', async () => {
    const { engine } = await seeded();
    const response = await engine.token({ grant_type: 'password', client_id: 'desktop', username: 'alice', password: PASSWORD, scope: 'records:read' });
    expect(response.scope).toBeUndefined();
    expect((await engine.verifyAccessToken(response.access_token)).scope).toBe('records:read');
  });

  it('narrows to what the account holds and reports the difference', async () => {
    const { engine } = await seeded();
    const response = await engine.token({
      grant_type: 'password',
      client_id: 'desktop',
      username: 'alice',
      password: PASSWORD,
      scope: 'admin records:read',
    });
    expect(response.scope).toBe('records:read');
  });

  it('refuses scope the client is not registered for, malformed scope, and scope the account lacks entirely', async () => {
    const { engine } = await seeded();
    const before = engine.hashEvaluations;
    const foreign = await oauthFailure(engine.token({ grant_type: 'password', client_id: 'tool', client_secret: SECRET, username: 'alice', password: PASSWORD, scope: 'admin' }));
    expect([foreign.code, foreign.status]).toEqual(['invalid_scope', 400]);
    const malformed = await oauthFailure(engine.token({ grant_type: 'password', client_id: 'desktop', username: 'alice', password: PASSWORD, scope: 'records:read  records:write' }));
    expect(malformed.code).toBe('invalid_scope');
    const quoted = await oauthFailure(engine.token({ grant_type: 'password', client_id: 'desktop', username: 'alice', password: PASSWORD, scope: 'a"b' }));
    expect(quoted.code).toBe('invalid_scope');
    expect(engine.hashEvaluations).toBe(before); // refused before any hashing
    const lacking = await oauthFailure(engine.token({ grant_type: 'password', client_id: 'desktop', username: 'alice', password: PASSWORD, scope: 'admin' }));
    expect(lacking.code).toBe('invalid_scope');
  });
});

describe('refresh grant (RFC 6749 §6, RFC 9700 §4.14)', () => {
  async function signIn(engine: Awaited<ReturnType<typeof seeded>>['engine'], scope?: string) {
    return engine.token({ grant_type: 'password', client_id: 'desktop', username: 'alice', password: PASSWORD, ...(scope ? { scope } : {}) });
  }

  it('rotates the refresh token on every use and keeps the session id', async () => {
    const { engine } = await seeded();
    const first = await signIn(engine);
    const second = await engine.token({ grant_type: 'refresh_token', client_id: 'desktop', refresh_token: first.refresh_token! });
    const third = await engine.token({ grant_type: 'refresh_token', client_id: 'desktop', refresh_token: second.refresh_token! });
    expect(new Set([first.refresh_token, second.refresh_token, third.refresh_token]).size).toBe(3);
    const sids = await Promise.all([first, second, third].map(async (r) => (await engine.verifyAccessToken(r.access_token)).sid));
    expect(new Set(sids).size).toBe(1);
    expect(engine.hashEvaluations).toBe(2); // refreshes never hash
  });

  it('revokes the whole family when a used refresh token comes back', async () => {
    const { engine } = await seeded();
    const revoked: string[] = [];
    engine.on('revocation', (list) => revoked.push(...list.map((r) => `${r.kind}:${r.value}`)));
    const first = await signIn(engine);
    const second = await engine.token({ grant_type: 'refresh_token', client_id: 'desktop', refresh_token: first.refresh_token! });
    const sid = (await engine.verifyAccessToken(second.access_token)).sid;
    const reuse = await oauthFailure(engine.token({ grant_type: 'refresh_token', client_id: 'desktop', refresh_token: first.refresh_token! }));
    expect(reuse.toJSON()).toEqual({ error: 'invalid_grant', error_description: 'The refresh token is invalid, expired or revoked.' });
    // The legitimate-looking latest token dies with its family, and so do its access tokens.
    const latest = await oauthFailure(engine.token({ grant_type: 'refresh_token', client_id: 'desktop', refresh_token: second.refresh_token! }));
    expect(latest.code).toBe('invalid_grant');
    await expect(engine.verifyAccessToken(second.access_token)).rejects.toMatchObject({ code: 'revoked' });
    expect(revoked).toEqual([`sid:${sid}`]);
    expect(engine.sessions.list('alice')[0]).toMatchObject({ id: sid, revokedReason: 'reuse_detected' });
    expect(engine.auditLog().some((e) => e.type === 'refresh.reuse_detected')).toBe(true);
  });

  it('never widens scope, may narrow it per request, and keeps the original for later refreshes', async () => {
    const { engine } = await seeded();
    const first = await signIn(engine, 'records:read');
    const wider = await oauthFailure(engine.token({ grant_type: 'refresh_token', client_id: 'desktop', refresh_token: first.refresh_token!, scope: 'records:read records:write' }));
    expect(wider.code).toBe('invalid_scope');
    // A refused widening does not consume the token.
    const full = await signIn(engine);
    const narrowed = await engine.token({ grant_type: 'refresh_token', client_id: 'desktop', refresh_token: full.refresh_token!, scope: 'records:read' });
    expect(narrowed.scope).toBeUndefined();
    expect((await engine.verifyAccessToken(narrowed.access_token)).scope).toBe('records:read');
    const again = await engine.token({ grant_type: 'refresh_token', client_id: 'desktop', refresh_token: narrowed.refresh_token! });
    expect(again.scope).toBe('records:read records:write');
    const stillValid = await engine.token({ grant_type: 'refresh_token', client_id: 'desktop', refresh_token: first.refresh_token! });
    expect(stillValid.scope).toBe('records:read');
  });

  it('drops scope the account has since lost', async () => {
    const { engine } = await seeded();
    const first = await signIn(engine);
    engine.users.setScope('alice', ['records:read']);
    const next = await engine.token({ grant_type: 'refresh_token', client_id: 'desktop', refresh_token: first.refresh_token! });
    expect(next.scope).toBe('records:read');
    // Asking for only what was lost grants nothing: invalid_scope, and the token is not spent.
    const lost = await oauthFailure(engine.token({ grant_type: 'refresh_token', client_id: 'desktop', refresh_token: next.refresh_token!, scope: 'records:write' }));
    expect(lost.code).toBe('invalid_scope');
    await expect(engine.token({ grant_type: 'refresh_token', client_id: 'desktop', refresh_token: next.refresh_token! })).resolves.toMatchObject({ scope: 'records:read' });
  });

  it('refuses a refresh token presented by another client, without revoking it', async () => {
    const { engine } = await seeded();
    const first = await signIn(engine);
    const other = await oauthFailure(engine.token({ grant_type: 'refresh_token', refresh_token: first.refresh_token! }, basic('tool', SECRET)));
    expect(other.code).toBe('invalid_grant');
    const owner = await engine.token({ grant_type: 'refresh_token', client_id: 'desktop', refresh_token: first.refresh_token! });
    expect(owner.access_token).toBeTruthy();
  });

  it('ends sessions at the idle and absolute limits', async () => {
    const { engine, clock } = await seeded({ policy: { refreshIdleSeconds: 3600, refreshAbsoluteSeconds: 3 * 3600 } });
    const idle = await signIn(engine);
    clock.advance(3600);
    expect((await oauthFailure(engine.token({ grant_type: 'refresh_token', client_id: 'desktop', refresh_token: idle.refresh_token! }))).code).toBe('invalid_grant');

    let current = (await signIn(engine)).refresh_token!;
    for (let i = 0; i < 5; i++) {
      clock.advance(1800);
      current = (await engine.token({ grant_type: 'refresh_token', client_id: 'desktop', refresh_token: current })).refresh_token!;
    }
    clock.advance(1800); // 3 h after sign-in: the absolute limit, though used every half hour
    expect((await oauthFailure(engine.token({ grant_type: 'refresh_token', client_id: 'desktop', refresh_token: current }))).code).toBe('invalid_grant');
  });

  it('answers password_change_required to a refresh once IT flags the account, without spending the token', async () => {
    const { engine } = await seeded();
    const first = await signIn(engine);
    engine.users.setMustChangePassword('alice', true);
    const flagged = await oauthFailure(engine.token({ grant_type: 'refresh_token', client_id: 'desktop', refresh_token: first.refresh_token! }));
    expect([flagged.code, flagged.status]).toEqual(['password_change_required', 400]);
    engine.users.setMustChangePassword('alice', false);
    await expect(engine.token({ grant_type: 'refresh_token', client_id: 'desktop', refresh_token: first.refresh_token! })).resolves.toBeTruthy();
  });

  it('refuses unknown and malformed refresh tokens, and refreshes of disabled accounts', async () => {
    const { engine } = await seeded();
    for (const refresh_token of ['x'.repeat(43), 'short', 'v4.public.nope']) {
      expect((await oauthFailure(engine.token({ grant_type: 'refresh_token', client_id: 'desktop', refresh_token }))).code).toBe('invalid_grant');
    }
    const first = await signIn(engine);
    engine.users.disable('alice');
    expect((await oauthFailure(engine.token({ grant_type: 'refresh_token', client_id: 'desktop', refresh_token: first.refresh_token! }))).code).toBe('invalid_grant');
    engine.users.enable('alice');
    // Disabling ended the session for good.
    expect((await oauthFailure(engine.token({ grant_type: 'refresh_token', client_id: 'desktop', refresh_token: first.refresh_token! }))).code).toBe('invalid_grant');
  });
});

describe('revocation (RFC 7009)', () => {
  it('a refresh token revokes its family, access tokens included, and publishes it', async () => {
    const { engine } = await seeded();
    const events: unknown[] = [];
    engine.on('revocation', (list) => events.push(...list));
    const signedIn = await engine.token({ grant_type: 'password', client_id: 'desktop', username: 'alice', password: PASSWORD });
    const sid = (await engine.verifyAccessToken(signedIn.access_token)).sid;
    await engine.revoke({ client_id: 'desktop', token: signedIn.refresh_token!, token_type_hint: 'refresh_token' });
    await expect(engine.verifyAccessToken(signedIn.access_token)).rejects.toMatchObject({ name: 'TokenError', code: 'revoked' });
    expect((await oauthFailure(engine.token({ grant_type: 'refresh_token', client_id: 'desktop', refresh_token: signedIn.refresh_token! }))).code).toBe('invalid_grant');
    expect(events).toMatchObject([{ kind: 'sid', value: sid }]);
    expect(engine.revocations()).toMatchObject([{ kind: 'sid', value: sid }]);
    // Revoking again is fine and publishes nothing new.
    await engine.revoke({ client_id: 'desktop', token: signedIn.refresh_token! });
    expect(events).toHaveLength(1);
  });

  it('an access token is revoked alone', async () => {
    const { engine } = await seeded();
    const signedIn = await engine.token({ grant_type: 'password', client_id: 'desktop', username: 'alice', password: PASSWORD });
    const events: unknown[] = [];
    engine.on('revocation', (list) => events.push(...list));
    await engine.revoke({ client_id: 'desktop', token: signedIn.access_token, token_type_hint: 'access_token' });
    await engine.revoke({ client_id: 'desktop', token: signedIn.access_token });
    await expect(engine.verifyAccessToken(signedIn.access_token)).rejects.toMatchObject({ code: 'revoked' });
    expect(events).toHaveLength(1);
    const next = await engine.token({ grant_type: 'refresh_token', client_id: 'desktop', refresh_token: signedIn.refresh_token! });
    await expect(engine.verifyAccessToken(next.access_token)).resolves.toMatchObject({ username: 'Alice' });
  });

  it('answers unknown and malformed tokens with success (§2.2), and refuses other clients\' tokens (§2.1)', async () => {
    const { engine } = await seeded();
    const signedIn = await engine.token({ grant_type: 'password', client_id: 'desktop', username: 'alice', password: PASSWORD });
    for (const token of ['x'.repeat(43), 'garbage', 'v4.public.bad', 'v4.local.abc']) {
      await expect(engine.revoke({ client_id: 'desktop', token })).resolves.toBeUndefined();
    }
    for (const token of [signedIn.refresh_token!, signedIn.access_token]) {
      const error = await oauthFailure(engine.revoke({ token }, basic('tool', SECRET)));
      expect([error.code, error.status, error.description]).toEqual(['unauthorized_client', 400, 'This token was not issued to this client.']);
    }
    await expect(engine.verifyAccessToken(signedIn.access_token)).resolves.toBeTruthy();
    expect(engine.revocations()).toEqual([]);
  });

  it('needs client authentication and a token parameter', async () => {
    const { engine } = await seeded();
    expect((await oauthFailure(engine.revoke({ token: 'x' }))).code).toBe('invalid_client');
    expect((await oauthFailure(engine.revoke({ client_id: 'desktop' }))).code).toBe('invalid_request');
    expect((await oauthFailure(engine.revoke({ token: 'x' }, basic('tool', 'bad')))).status).toBe(401);
  });
});

describe('introspection (RFC 7662)', () => {
  it('describes an active access token with numeric times, only to a confidential client', async () => {
    const { engine, clock } = await seeded();
    const signedIn = await engine.token({ grant_type: 'password', client_id: 'desktop', username: 'alice', password: PASSWORD });
    const answer = await engine.introspect({ token: signedIn.access_token }, basic('tool', SECRET));
    const now = Math.floor(clock.now() / 1000);
    expect(answer).toMatchObject({
      active: true,
      token_use: 'access_token',
      token_type: 'Bearer',
      scope: 'records:read records:write',
      client_id: 'desktop',
      username: 'Alice',
      iat: now,
      nbf: now,
      exp: now + 300,
    });
    const publicClient = await oauthFailure(engine.introspect({ client_id: 'desktop', token: signedIn.access_token }));
    expect([publicClient.code, publicClient.status]).toEqual(['invalid_client', 401]);
    expect((await oauthFailure(engine.introspect({}, basic('tool', SECRET)))).code).toBe('invalid_request');
  });

  it('answers active:false for expired, revoked, tampered and unknown tokens', async () => {
    const { engine, clock } = await seeded();
    const a = await engine.token({ grant_type: 'password', client_id: 'desktop', username: 'alice', password: PASSWORD });
    const b = await engine.token({ grant_type: 'password', client_id: 'desktop', username: 'alice', password: PASSWORD });
    await engine.revoke({ client_id: 'desktop', token: b.refresh_token! });
    const tampered = a.access_token.slice(0, 40) + (a.access_token[40] === 'A' ? 'B' : 'A') + a.access_token.slice(41);
    for (const token of [b.access_token, b.refresh_token!, tampered, 'nonsense', 'y'.repeat(43)]) {
      expect(await engine.introspect({ token }, basic('tool', SECRET))).toEqual({ active: false });
    }
    clock.advance(301 + engine.policy.clockLeewaySeconds);
    expect(await engine.introspect({ token: a.access_token }, basic('tool', SECRET))).toEqual({ active: false });
  });

  it('works for a confidential client registered for no grant at all (a resource server)', async () => {
    const { engine } = await seeded();
    const { secret } = engine.clients.add({ id: 'records-service', secret: 'generate', grants: [] });
    expect(secret).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const signedIn = await engine.token({ grant_type: 'password', client_id: 'desktop', username: 'alice', password: PASSWORD });
    await expect(engine.introspect({ token: signedIn.access_token }, basic('records-service', secret!))).resolves.toMatchObject({ active: true });
    const grant = await oauthFailure(engine.token({ grant_type: 'password', username: 'alice', password: PASSWORD }, basic('records-service', secret!)));
    expect(grant.code).toBe('unauthorized_client');
  });

  it('describes a refresh token only to the client it was issued to', async () => {
    const { engine } = await seeded();
    const viaTool = await engine.token({ grant_type: 'password', username: 'alice', password: PASSWORD }, basic('tool', SECRET));
    const answer = await engine.introspect({ token: viaTool.refresh_token!, token_type_hint: 'refresh_token' }, basic('tool', SECRET));
    expect(answer).toMatchObject({ active: true, token_use: 'refresh_token', client_id: 'tool', username: 'Alice' });
    expect(answer).not.toHaveProperty('token_type');
    engine.clients.add({ id: 'other', secret: { value: SECRET }, scope: [] });
    expect(await engine.introspect({ token: viaTool.refresh_token! }, basic('other', SECRET))).toEqual({ active: false });
  });
});

describe('password change', () => {
  it('clears must-change, lets the account sign in, and ends its other sessions', async () => {
    const { engine } = await seeded();
    const before = await engine.token({ grant_type: 'password', client_id: 'desktop', username: 'alice', password: PASSWORD });
    engine.users.setMustChangePassword('alice', true);
    const newPassword = 'a brand new passphrase of my own';
    await engine.changePassword({ client_id: 'desktop', username: 'alice', password: PASSWORD, new_password: newPassword });
    expect(engine.users.get('alice').mustChangePassword).toBe(false);
    await expect(engine.verifyAccessToken(before.access_token)).rejects.toMatchObject({ code: 'revoked' });
    expect((await oauthFailure(engine.token({ grant_type: 'password', client_id: 'desktop', username: 'alice', password: PASSWORD }))).code).toBe('invalid_grant');
    const after = await engine.token({ grant_type: 'password', client_id: 'desktop', username: 'alice', password: newPassword });
    expect(after.access_token).toBeTruthy();
  });

  it('refuses a new password against policy with every reason, changing nothing', async () => {
    const { engine } = await seeded();
    const error = await oauthFailure(engine.changePassword({ client_id: 'desktop', username: 'alice', password: PASSWORD, new_password: 'short' }));
    expect(error.code).toBe('invalid_request');
    expect((error.toJSON() as { policy_violations: string[] }).policy_violations).toEqual([
      'Use at least 15 characters (this has 5).',
      'This password is on a list of commonly used passwords.',
    ]);
    const same = await oauthFailure(engine.changePassword({ client_id: 'desktop', username: 'alice', password: PASSWORD, new_password: PASSWORD }));
    expect((same.toJSON() as { policy_violations: string[] }).policy_violations).toContain('Choose a password different from the current one.');
    const signedIn = await engine.token({ grant_type: 'password', client_id: 'desktop', username: 'alice', password: PASSWORD });
    expect(signedIn.access_token).toBeTruthy();
  });

  it('answers a wrong current password like a failed sign-in, and needs a password-grant client', async () => {
    const { engine } = await seeded();
    const wrong = await oauthFailure(engine.changePassword({ client_id: 'desktop', username: 'alice', password: 'not the password at all', new_password: 'another long password here' }));
    expect(wrong.toJSON()).toEqual({ error: 'invalid_grant', error_description: 'The username or password is incorrect.' });
    expect(engine.auditLog().at(-1)).toMatchObject({ type: 'password.change', outcome: 'failure', username: 'Alice', detail: '{"reason":"wrong_password","failures":1}' });
    const client = await oauthFailure(engine.changePassword({ client_id: 'refresh-only', username: 'alice', password: PASSWORD, new_password: 'another long password here' }));
    expect(client.code).toBe('unauthorized_client');
  });
});
