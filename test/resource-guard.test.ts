import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it, onTestFinished } from 'vitest';
import type { Engine, IntrospectionResponse, PublishedKey, Revocation } from '../dist/index.js';
import { BearerGuard, guardFailureBody, sendGuardFailure, type BearerGuardOptions, type GuardResult } from 'gatehouse/resource';
import { v4 } from '../dist/tokens/paseto-v4.js';
import { importK4Public, parseV4Public, verifyV4Public } from '../dist/tokens/v4-public-verify.js';
import { FakeClock, newEngine, PASSWORD, seeded, SECRET } from './helpers.js';

// The bearer guard against tokens from a real engine: every RFC 6750 answer, every way a token can
// be wrong, keys and revocations as the engine pushes them, and the cache of verified tokens.

const NO_CREDENTIALS = 'Bearer realm="gatehouse"';

interface Vector {
  name: string;
  token: string;
  payload: Record<string, unknown>;
  footer: string;
  'implicit-assertion': string;
  paserk: { public: string };
}
const vectors = JSON.parse(readFileSync(new URL('./fixtures/paseto-v4-public.json', import.meta.url), 'utf8')) as { tests: Vector[] };

type Setup = Awaited<ReturnType<typeof seeded>> & { guard: BearerGuard; token: string; refresh: string };

/** A seeded engine, a guard holding its snapshot, and one access token (records:read records:write) for Alice. */
async function setup(options: Partial<BearerGuardOptions> = {}): Promise<Setup> {
  const opened = await seeded();
  const { engine, clock } = opened;
  const guard = new BearerGuard({ issuer: engine.issuer, audience: engine.audience, clock, ...options });
  guard.loadSnapshot(snapshotOf(engine));
  const issued = await engine.token({ grant_type: 'password', client_id: 'desktop', username: 'Alice', password: PASSWORD });
  return { ...opened, guard, token: issued.access_token, refresh: issued.refresh_token! };
}

function snapshotOf(engine: Engine) {
  return { issuer: engine.issuer, audience: engine.audience, keys: engine.publishedKeys(), revocations: engine.revocations() };
}

/** A new access token in the same session, without hashing a password again. */
async function refreshed(setup: { engine: Engine; refresh: string }): Promise<string> {
  const issued = await setup.engine.token({ grant_type: 'refresh_token', client_id: 'desktop', refresh_token: setup.refresh });
  setup.refresh = issued.refresh_token!;
  return issued.access_token;
}

function invalidToken(description: string): GuardResult {
  return {
    ok: false,
    status: 401,
    error: 'invalid_token',
    description,
    challenge: `Bearer realm="gatehouse", error="invalid_token", error_description="${description}"`,
  };
}

/** The token with the base64url character at `index` replaced by another one. */
function changedAt(token: string, index: number): string {
  const replacement = token[index] === 'A' ? 'B' : 'A';
  return token.slice(0, index) + replacement + token.slice(index + 1);
}

/** The index of a character inside the signature (the last 64 bytes of the payload segment). */
function signatureIndex(token: string): number {
  const payloadEnd = token.indexOf('.', 'v4.public.'.length);
  return payloadEnd - 20;
}

describe('RFC 6750 Authorization header handling', () => {
  it('answers a request without Bearer credentials 401 with a bare challenge and no error code (§3.1)', async () => {
    const { guard } = await setup();
    for (const header of [undefined, '', 'Basic ZGVza3RvcDo=', 'Token abc', 'Bearertoken']) {
      const result = await guard.authenticate(header, ['records:read']);
      expect(result).toEqual({
        ok: false,
        status: 401,
        description: 'This request needs an access token (Authorization: Bearer).',
        challenge: NO_CREDENTIALS,
      });
      expect(result.ok || guardFailureBody(result)).toEqual({
        error: 'unauthorized',
        error_description: 'This request needs an access token (Authorization: Bearer).',
      });
    }
  });

  it('answers a malformed Bearer header 400 invalid_request', async () => {
    const { guard, token } = await setup();
    const description = 'The Authorization header must be Bearer followed by exactly one token.';
    for (const header of ['Bearer', 'Bearer ', `Bearer ${token} extra`, `Bearer ${token},x`, 'Bearer tok"en', 'Bearer a=b', `Bearer\t${token}`]) {
      expect(await guard.authenticate(header)).toEqual({
        ok: false,
        status: 400,
        error: 'invalid_request',
        description,
        challenge: `Bearer realm="gatehouse", error="invalid_request", error_description="${description}"`,
      });
    }
  });

  it('accepts the scheme in any case and one or more spaces before the token', async () => {
    const { guard, token } = await setup();
    for (const header of [`Bearer ${token}`, `bearer ${token}`, `BEARER   ${token}`]) {
      expect((await guard.authenticate(header)).ok).toBe(true);
    }
  });

  it('answers a missing scope 403 insufficient_scope naming the scope needed', async () => {
    const { engine, guard } = await setup();
    const readOnly = await engine.token({ grant_type: 'password', client_id: 'desktop', username: 'Alice', password: PASSWORD, scope: 'records:read' });
    const header = `Bearer ${readOnly.access_token}`;
    expect((await guard.authenticate(header, ['records:read'])).ok).toBe(true);
    const description = 'The token lacks the scope records:write.';
    expect(await guard.authenticate(header, ['records:write'])).toEqual({
      ok: false,
      status: 403,
      error: 'insufficient_scope',
      description,
      challenge: `Bearer realm="gatehouse", error="insufficient_scope", error_description="${description}", scope="records:write"`,
    });
  });
});

describe('token verification', () => {
  it('accepts a valid token with the claims the engine signed and its scope as a list', async () => {
    const { engine, guard, token } = await setup();
    const result = await guard.authenticate(`Bearer ${token}`, ['records:read', 'records:write']);
    expect(result).toEqual({ ok: true, claims: await engine.verifyAccessToken(token), scope: ['records:read', 'records:write'] });
  });

  it('refuses a token with one changed signature byte, payload byte or a swapped footer', async () => {
    const setupped = await setup();
    const { engine, guard, token } = setupped;
    expect(await guard.authenticate(`Bearer ${changedAt(token, signatureIndex(token))}`)).toEqual(invalidToken('The token signature is invalid.'));
    expect(await guard.authenticate(`Bearer ${changedAt(token, 'v4.public.'.length + 5)}`)).toEqual(invalidToken('The token signature is invalid.'));
    // The footer (the key id) is signed too: another key's id on this token fails, whichever key it names.
    const keys = await engine.rotateSigningKey();
    setupped.guard.updateKeys(keys);
    const newer = await refreshed(setupped);
    const footerOf = (t: string) => t.slice(t.lastIndexOf('.'));
    const swapped = token.slice(0, token.lastIndexOf('.')) + footerOf(newer);
    expect(footerOf(swapped)).not.toBe(footerOf(token));
    expect(await guard.authenticate(`Bearer ${swapped}`)).toEqual(invalidToken('The token signature is invalid.'));
    // Without a footer there is no key to choose.
    expect(await guard.authenticate(`Bearer ${token.slice(0, token.lastIndexOf('.'))}`)).toEqual(invalidToken('The token footer is not JSON.'));
    // Still a 401, not a cache hit, for the good token's neighbours; the good one still passes.
    expect((await guard.authenticate(`Bearer ${token}`)).ok).toBe(true);
  });

  it('refuses what is not a v4.public token', async () => {
    const { guard, token } = await setup();
    for (const other of ['abc', `v4.local.${token.slice(10)}`, `v3.public.${token.slice(10)}`, 'v4.public.AAAA', `${token}=`, `${token}.x`]) {
      const result = await guard.authenticate(`Bearer ${other}`);
      expect(result).toMatchObject({ ok: false, status: 401, error: 'invalid_token' });
    }
  });

  it('refuses an expired token, allowing the leeway', async () => {
    const { guard, token, clock } = await setup();
    clock.advance(300 + 30);
    expect((await guard.authenticate(`Bearer ${token}`)).ok).toBe(true);
    clock.advance(1);
    expect(await guard.authenticate(`Bearer ${token}`)).toEqual(invalidToken('The token has expired.'));
  });

  it('refuses an expired token that was verified fresh, never through the cache', async () => {
    const { guard, token, clock } = await setup();
    clock.advance(331);
    expect(await guard.authenticate(`Bearer ${token}`)).toEqual(invalidToken('The token has expired.'));
  });

  it('refuses a token not valid yet (nbf in the guard\'s future beyond the leeway)', async () => {
    const { engine, token, clock } = await setup();
    const behind = new FakeClock(clock.ms - 31_000);
    const guard = new BearerGuard({ issuer: engine.issuer, audience: engine.audience, clock: behind });
    guard.loadSnapshot(snapshotOf(engine));
    expect(await guard.authenticate(`Bearer ${token}`)).toEqual(invalidToken('The token is not valid yet.'));
    behind.advance(1);
    expect((await guard.authenticate(`Bearer ${token}`)).ok).toBe(true);
  });

  it('refuses tokens for another audience or from another issuer', async () => {
    const { engine, clock } = await newEngine({ issuer: 'urn:test:issuer', audience: 'urn:test:audience' });
    engine.clients.add({ id: 'desktop', secret: 'none', scope: ['records:read'] });
    await engine.users.add({ username: 'Alice', password: PASSWORD, scope: ['records:read'] });
    const { access_token: token } = await engine.token({ grant_type: 'password', client_id: 'desktop', username: 'Alice', password: PASSWORD });
    const cases = [
      { issuer: 'urn:test:issuer', audience: 'urn:test:other', description: 'The token is meant for another audience.' },
      { issuer: 'urn:test:other', audience: 'urn:test:audience', description: 'The token was issued by another issuer.' },
    ];
    for (const { issuer, audience, description } of cases) {
      const guard = new BearerGuard({ issuer, audience, clock });
      guard.loadSnapshot({ issuer, audience, keys: engine.publishedKeys(), revocations: [] });
      expect(await guard.authenticate(`Bearer ${token}`)).toEqual(invalidToken(description));
    }
  });

  it('refuses a token signed by a key it was not sent, and one past its key\'s verifyUntil', async () => {
    const { guard, token, clock, engine } = await setup();
    const other = await seeded();
    const { access_token: foreign } = await other.engine.token({ grant_type: 'password', client_id: 'desktop', username: 'Alice', password: PASSWORD });
    expect(await guard.authenticate(`Bearer ${foreign}`)).toEqual(invalidToken('The token was signed by an unknown or retired key.'));

    expect((await guard.authenticate(`Bearer ${token}`)).ok).toBe(true);
    const lapsed = engine.publishedKeys().map((key): PublishedKey => ({ ...key, verifyUntil: clock.ms }));
    guard.updateKeys(lapsed);
    // The token is remembered, but its key no longer verifies anything.
    expect(await guard.authenticate(`Bearer ${token}`)).toEqual(invalidToken('The token was signed by an unknown or retired key.'));
    guard.updateKeys(engine.publishedKeys());
    expect((await guard.authenticate(`Bearer ${token}`)).ok).toBe(true);
  });

  it('after a key rotation verifies tokens of the old and the new key, the old until they expire', async () => {
    const s = await setup();
    const { engine, guard, clock } = s;
    clock.advance(120);
    const keys = await engine.rotateSigningKey();
    expect(keys.map((key) => key.status).sort()).toEqual(['active', 'retiring']);
    guard.updateKeys(keys);
    const newer = await refreshed(s);
    expect(newer.slice(newer.lastIndexOf('.'))).not.toBe(s.token.slice(s.token.lastIndexOf('.')));
    expect((await guard.authenticate(`Bearer ${s.token}`)).ok).toBe(true);
    expect((await guard.authenticate(`Bearer ${newer}`)).ok).toBe(true);
    clock.advance(300 + 30 - 120 + 1);
    expect(await guard.authenticate(`Bearer ${s.token}`)).toEqual(invalidToken('The token has expired.'));
    expect((await guard.authenticate(`Bearer ${newer}`)).ok).toBe(true);
  });
});

describe('revocation', () => {
  it('applies the engine\'s session revocations to remembered tokens at once', async () => {
    const { engine, guard, token } = await setup();
    engine.on('revocation', (revocations) => guard.addRevocations(revocations));
    const result = await guard.authenticate(`Bearer ${token}`);
    expect(result.ok).toBe(true);
    engine.sessions.revoke(result.ok ? result.claims.sid : '');
    expect(await guard.authenticate(`Bearer ${token}`)).toEqual(invalidToken('The token has been revoked.'));
  });

  it('applies a single token\'s revocation (jti) to it alone', async () => {
    const s = await setup();
    const { engine, guard, token } = s;
    engine.on('revocation', (revocations) => guard.addRevocations(revocations));
    const sibling = await refreshed(s);
    expect((await guard.authenticate(`Bearer ${token}`)).ok).toBe(true);
    await engine.revoke({ token, client_id: 'desktop' });
    expect(await guard.authenticate(`Bearer ${token}`)).toEqual(invalidToken('The token has been revoked.'));
    expect((await guard.authenticate(`Bearer ${sibling}`)).ok).toBe(true);
  });

  it('starts from the snapshot\'s revocations and forgets revocations once they expire', async () => {
    const { engine, guard, token, clock } = await setup();
    const ok = await guard.authenticate(`Bearer ${token}`);
    const sid = ok.ok ? ok.claims.sid : '';
    engine.sessions.revoke(sid);
    const fresh = new BearerGuard({ issuer: engine.issuer, audience: engine.audience, clock });
    fresh.loadSnapshot(snapshotOf(engine));
    expect(await fresh.authenticate(`Bearer ${token}`)).toEqual(invalidToken('The token has been revoked.'));

    const shortLived: Revocation = { kind: 'jti', value: 'another', revokedAt: clock.ms, expiresAt: clock.ms + 1000 };
    guard.addRevocations([{ ...shortLived, kind: 'sid', value: sid, expiresAt: clock.ms + 1000 }]);
    expect((await guard.authenticate(`Bearer ${token}`)).ok).toBe(false);
    clock.advance(1);
    // The revocation's own expiry passed (the engine keeps it as long as any token it covers can live).
    expect((await guard.authenticate(`Bearer ${token}`)).ok).toBe(true);
  });

  it('refuses malformed keys and revocations without changing what it holds', async () => {
    const { engine, guard, token } = await setup();
    expect(() => guard.updateKeys([{ paserk: 'k4.public.short', pid: engine.publishedKeys()[0]!.pid, status: 'active', verifyUntil: 1 }])).toThrow(TypeError);
    expect(() => guard.addRevocations([{ kind: 'user' as 'sid', value: 'x', revokedAt: 0, expiresAt: 1 }])).toThrow(TypeError);
    expect(() => guard.loadSnapshot({ ...snapshotOf(engine), audience: 'urn:other' })).toThrow(/another issuer or audience/);
    expect((await guard.authenticate(`Bearer ${token}`)).ok).toBe(true);
  });
});

describe('readiness and options', () => {
  it('is ready only once a snapshot is loaded', async () => {
    const { engine, clock } = await seeded();
    const guard = new BearerGuard({ issuer: engine.issuer, audience: engine.audience, clock });
    expect(guard.ready).toBe(false);
    guard.updateKeys(engine.publishedKeys());
    expect(guard.ready).toBe(false);
    guard.loadSnapshot(snapshotOf(engine));
    expect(guard.ready).toBe(true);
  });

  it('refuses options out of range', () => {
    const base = { issuer: 'i', audience: 'a' };
    expect(() => new BearerGuard({ ...base, leewaySeconds: 301 })).toThrow(RangeError);
    expect(() => new BearerGuard({ ...base, leewaySeconds: -1 })).toThrow(RangeError);
    expect(() => new BearerGuard({ ...base, cacheSize: 0 })).toThrow(RangeError);
    expect(() => new BearerGuard({ ...base, issuer: '' })).toThrow(TypeError);
  });
});

describe('the introspection fallback', () => {
  /** A guard that holds no keys (a token from a key it was never sent), asking the engine instead. */
  async function fallback(options: Partial<BearerGuardOptions> = {}) {
    const s = await setup();
    const asked: string[] = [];
    const introspect = async (token: string): Promise<IntrospectionResponse> => {
      asked.push(token);
      return s.engine.introspect({ token, client_id: 'tool', client_secret: SECRET });
    };
    const guard = new BearerGuard({ issuer: s.engine.issuer, audience: s.engine.audience, clock: s.clock, introspect, ...options });
    guard.loadSnapshot({ ...snapshotOf(s.engine), keys: [] });
    return { ...s, guard, asked };
  }

  it('accepts a token the engine vouches for, asking once for concurrent and later requests', async () => {
    const { engine, guard, token, asked } = await fallback();
    const results = await Promise.all([guard.authenticate(`Bearer ${token}`), guard.authenticate(`Bearer ${token}`)]);
    const claims = await engine.verifyAccessToken(token);
    for (const result of results) expect(result).toEqual({ ok: true, claims, scope: ['records:read', 'records:write'] });
    expect(await guard.authenticate(`Bearer ${token}`, ['records:write'])).toMatchObject({ ok: true });
    expect(asked).toEqual([token]);
  });

  it('refuses a token the engine says is not active, and believes that answer briefly', async () => {
    const { engine, guard, token, asked, clock } = await fallback();
    await engine.revoke({ token, client_id: 'desktop' });
    for (let i = 0; i < 2; i++) expect(await guard.authenticate(`Bearer ${token}`)).toEqual(invalidToken('The token is not active.'));
    expect(asked).toHaveLength(1);
    clock.advance(11);
    await guard.authenticate(`Bearer ${token}`);
    expect(asked).toHaveLength(2);
  });

  it('still applies revocations pushed later to a token the engine vouched for', async () => {
    const { engine, guard, token } = await fallback();
    const result = await guard.authenticate(`Bearer ${token}`);
    expect(result.ok).toBe(true);
    guard.addRevocations(engine.revocations());
    engine.on('revocation', (revocations) => guard.addRevocations(revocations));
    engine.sessions.revoke(result.ok ? result.claims.sid : '');
    expect(await guard.authenticate(`Bearer ${token}`)).toEqual(invalidToken('The token has been revoked.'));
  });

  it('checks audience and issuer of what the engine answers, and refuses when it cannot be asked', async () => {
    const s = await setup();
    const answer = await s.engine.introspect({ token: s.token, client_id: 'tool', client_secret: SECRET });
    const other = new BearerGuard({ issuer: s.engine.issuer, audience: 'urn:other', clock: s.clock, introspect: async () => answer });
    expect(await other.authenticate(`Bearer ${s.token}`)).toEqual(invalidToken('The token is meant for another audience.'));
    let calls = 0;
    const failing = new BearerGuard({
      issuer: s.engine.issuer,
      audience: s.engine.audience,
      clock: s.clock,
      introspect: async () => {
        calls++;
        throw new Error('the engine went away');
      },
    });
    const garbled = new BearerGuard({
      issuer: s.engine.issuer,
      audience: s.engine.audience,
      clock: s.clock,
      introspect: async () => ({ ...answer, exp: Number.MAX_VALUE, username: undefined }) as unknown as IntrospectionResponse,
    });
    expect(await garbled.authenticate(`Bearer ${s.token}`)).toEqual(invalidToken("The token's exp claim is missing or not a string."));
    const refused = invalidToken('The token was signed by a key this service does not know, and could not be checked.');
    expect(await failing.authenticate(`Bearer ${s.token}`)).toEqual(refused);
    // A failure to ask is not an answer: the next request asks again.
    expect(await failing.authenticate(`Bearer ${s.token}`)).toEqual(refused);
    expect(calls).toBe(2);
  });

  it('stops waiting for an engine that never answers', async () => {
    const s = await setup();
    const silent = new BearerGuard({ issuer: s.engine.issuer, audience: s.engine.audience, clock: s.clock, introspect: () => new Promise(() => {}) });
    expect(await silent.authenticate(`Bearer ${s.token}`)).toEqual(
      invalidToken('The token was signed by a key this service does not know, and could not be checked.'),
    );
  });
});

describe('the cache of verified tokens', () => {
  it('is bounded, forgetting the least recently used token first', async () => {
    // Tokens vouched for by the engine are remembered like verified ones; each question shows a miss.
    const s = await setup();
    const asked: string[] = [];
    const guard = new BearerGuard({
      issuer: s.engine.issuer,
      audience: s.engine.audience,
      clock: s.clock,
      cacheSize: 2,
      introspect: async (token) => {
        asked.push(token);
        return s.engine.introspect({ token, client_id: 'tool', client_secret: SECRET });
      },
    });
    const [a, b, c] = [s.token, await refreshed(s), await refreshed(s)];
    for (const token of [a, b, a, c]) expect((await guard.authenticate(`Bearer ${token}`)).ok).toBe(true);
    expect(asked).toEqual([a, b, c]); // a was used again after b, so b was forgotten for c
    expect((await guard.authenticate(`Bearer ${a}`)).ok).toBe(true);
    expect((await guard.authenticate(`Bearer ${c}`)).ok).toBe(true);
    expect(asked).toEqual([a, b, c]);
    expect((await guard.authenticate(`Bearer ${b}`)).ok).toBe(true);
    expect(asked).toEqual([a, b, c, b]);
  });

  it('never answers a token with one changed signature byte from the cache', async () => {
    const { guard, token } = await setup({ cacheSize: 1 });
    expect((await guard.authenticate(`Bearer ${token}`)).ok).toBe(true);
    for (let offset = 0; offset < 40; offset++) {
      const mutated = changedAt(token, signatureIndex(token) - offset);
      expect(await guard.authenticate(`Bearer ${mutated}`)).toEqual(invalidToken('The token signature is invalid.'));
    }
    expect((await guard.authenticate(`Bearer ${token}`)).ok).toBe(true);
  });
});

describe('the node:crypto v4.public verifier', () => {
  it('verifies the official v4.public vectors without an implicit assertion, and refuses the one with one', () => {
    for (const vector of vectors.tests) {
      const parts = parseV4Public(vector.token);
      expect(parts, vector.name).toBeDefined();
      const verified = verifyV4Public(parts!, importK4Public(vector.paserk.public));
      // Gatehouse tokens carry no implicit assertion, so a token bound to one must not verify.
      expect(verified, vector.name).toBe(vector['implicit-assertion'] === '');
      if (verified) {
        expect(JSON.parse(parts!.message.toString('utf8'))).toEqual(vector.payload);
        expect(parts!.footer.toString('utf8')).toBe(vector.footer);
      }
    }
  });

  it('refuses a k4.public key that is not 32 bytes of canonical base64url', () => {
    for (const paserk of ['k4.public.', 'k4.public.Hrnbu7wEfAP9cGBOAHHwmH4Wsot1ciXBHwBBXQ4gsa', 'k4.public.Hrnbu7wEfAP9cGBOAHHwmH4Wsot1ciXBHwBBXQ4gsaJ', 'k2.public.Hrnbu7wEfAP9cGBOAHHwmH4Wsot1ciXBHwBBXQ4gsaI']) {
      expect(() => importK4Public(paserk), paserk).toThrow(TypeError);
    }
  });

  it('parses only the one canonical base64url spelling of payload and footer, whatever their length', async () => {
    const { secretKey } = await v4.GenerateKeyPair();
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const checkedLeftOvers = new Set<number>();
    for (let n = 0; n < 3; n++) {
      // Payload and footer lengths of each remainder mod 3, so each leaves 0, 2 or 3 characters over.
      const footer = new TextEncoder().encode(`{"kid":"k4.pid.${'A'.repeat(44)}","p":"${'x'.repeat(n)}"}`);
      const token = await v4.Sign(secretKey, { sub: 'alice', pad: 'y'.repeat(n) }, { footer });
      expect(parseV4Public(token)).toBeDefined();
      const payloadEnd = token.lastIndexOf('.');
      for (const end of [payloadEnd, token.length]) {
        checkedLeftOvers.add((end - (end === payloadEnd ? 'v4.public.'.length : payloadEnd + 1)) % 4);
        const last = end - 1;
        const spellings = [...alphabet].map((c) => token.slice(0, last) + c + token.slice(last + 1));
        // Other characters change the bytes (a bad signature later) or only unused bits (refused here).
        const sameBytes = spellings.filter((variant) => {
          const segment = (t: string) => (end === payloadEnd ? t.slice('v4.public.'.length, payloadEnd) : t.slice(payloadEnd + 1));
          return Buffer.from(segment(variant), 'base64url').equals(Buffer.from(segment(token), 'base64url'));
        });
        expect(sameBytes.filter((variant) => parseV4Public(variant) !== undefined)).toEqual([token]);
      }
    }
    expect([...checkedLeftOvers].sort()).toEqual([0, 2, 3]);
  });

  it('agrees with paseto\'s Verify on tokens paseto signed and on hundreds of mutations of them', async () => {
    const { publicKey, secretKey } = await v4.GenerateKeyPair();
    const key = importK4Public(await v4.ExportPublicKey(publicKey));
    const footer = new TextEncoder().encode('{"kid":"k4.pid.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}');
    const tokens = [
      await v4.Sign(secretKey, { sub: 'alice', n: 1 }, { footer, expiresIn: 3600 }),
      await v4.Sign(secretKey, { sub: 'bob', data: 'x'.repeat(100) }, { expiresIn: 3600 }),
    ];
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.=+';
    let seed = 42;
    const random = (below: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % below;
    };
    const samples: string[] = [...tokens];
    for (let i = 0; i < 400; i++) {
      const token = tokens[i % tokens.length]!;
      const at = random(token.length);
      const char = alphabet[random(alphabet.length)]!;
      const kind = random(4);
      samples.push(
        kind === 0 ? token.slice(0, at) + char + token.slice(at + 1) // substitute
          : kind === 1 ? token.slice(0, at) + char + token.slice(at) // insert
            : kind === 2 ? token.slice(0, at) + token.slice(at + 1) // delete
              : token.slice(0, at), // truncate
      );
    }
    let accepted = 0;
    for (const sample of samples) {
      const parts = parseV4Public(sample);
      const ours = parts !== undefined && verifyV4Public(parts, key);
      const theirs = await v4.Verify(publicKey, sample).then(() => true, () => false);
      expect(ours, sample).toBe(theirs);
      if (ours) accepted++;
    }
    expect(accepted).toBeGreaterThanOrEqual(tokens.length);
  });
});

describe('guarding a node:http service (the docs/api.md example)', () => {
  it('lets valid tokens through and answers refusals with the challenge and a JSON body', async () => {
    const { guard, token } = await setup();
    const server = createServer(async (req, res) => {
      const result = await guard.authenticate(req.headers.authorization, ['records:read']);
      if (!result.ok) {
        sendGuardFailure(res, result);
        return;
      }
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ hello: result.claims.username, scope: result.scope }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    onTestFinished(() => new Promise<void>((resolve) => server.close(() => resolve())));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;

    const none = await fetch(url);
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toBe(NO_CREDENTIALS);
    expect(none.headers.get('cache-control')).toBe('no-store');
    expect(await none.json()).toEqual({ error: 'unauthorized', error_description: 'This request needs an access token (Authorization: Bearer).' });
    const tampered = await fetch(url, { headers: { Authorization: `Bearer ${changedAt(token, signatureIndex(token))}` } });
    expect(tampered.status).toBe(401);
    expect(await tampered.json()).toEqual({ error: 'invalid_token', error_description: 'The token signature is invalid.' });
    const ok = await fetch(url, { headers: { Authorization: `Bearer ${token}` } });
    expect(await ok.json()).toEqual({ hello: 'Alice', scope: ['records:read', 'records:write'] });
  });
});
