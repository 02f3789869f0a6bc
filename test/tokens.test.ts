import { readFileSync } from 'node:fs';
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { verify as independentVerify } from 'paseto-ts/v4';
import { describe, expect, it } from 'vitest';
import { k4PublicKeyId, openEngine, provision, systemClock, type KeyProtector } from '../dist/index.js';
import { newEngine, PASSWORD, seeded, tempDir } from './helpers.js';
import { join } from 'node:path';

interface PidVector {
  name: string;
  'expect-fail': boolean;
  key: string;
  paserk: string | null;
}
const vectors = JSON.parse(readFileSync(new URL('./fixtures/paserk-k4.pid.json', import.meta.url), 'utf8')) as { tests: PidVector[] };

function decodePart(token: string, index: number): string {
  return Buffer.from(token.split('.')[index]!, 'base64url').toString('utf8');
}

describe('PASERK k4.pid', () => {
  it('matches the official test vectors', async () => {
    const passing = vectors.tests.filter((v) => !v['expect-fail']);
    expect(passing.length).toBeGreaterThanOrEqual(3);
    for (const vector of passing) {
      const paserk = `k4.public.${Buffer.from(vector.key, 'hex').toString('base64url')}` as const;
      expect(await k4PublicKeyId(paserk), vector.name).toBe(vector.paserk);
    }
    const failing = vectors.tests.filter((v) => v['expect-fail']);
    expect(failing.length).toBeGreaterThanOrEqual(1);
    for (const vector of failing) {
      const paserk = `k4.public.${Buffer.from(vector.key, 'hex').toString('base64url')}` as const;
      await expect(k4PublicKeyId(paserk), vector.name).rejects.toThrow(/32 bytes/);
    }
  });

  it('is what token footers and /keys carry', async () => {
    const { engine } = await seeded();
    const [key] = engine.publishedKeys();
    expect(key!.pid).toBe(await k4PublicKeyId(key!.paserk));
    const { access_token } = await engine.token({ grant_type: 'password', client_id: 'desktop', username: 'alice', password: PASSWORD });
    expect(access_token.split('.')).toHaveLength(4);
    expect(JSON.parse(decodePart(access_token, 3))).toEqual({ kid: key!.pid });
  });
});

describe('access tokens', () => {
  it('carry exactly the claims of the contract, times as RFC 3339', async () => {
    const { engine, clock } = await seeded();
    const { access_token } = await engine.token({ grant_type: 'password', client_id: 'desktop', username: 'alice', password: PASSWORD });
    const claims = await engine.verifyAccessToken(access_token);
    expect(Object.keys(claims).sort()).toEqual(['aud', 'client_id', 'exp', 'iat', 'iss', 'jti', 'nbf', 'scope', 'sid', 'sub', 'username']);
    const user = engine.users.get('alice');
    expect(claims).toMatchObject({
      iss: `urn:gatehouse:${engine.installationId}`,
      aud: `urn:gatehouse:resource:${engine.installationId}`,
      sub: user.id,
      username: 'Alice',
      client_id: 'desktop',
      scope: 'records:read records:write',
      iat: new Date(clock.now()).toISOString().replace('.000Z', 'Z'),
      nbf: new Date(clock.now()).toISOString().replace('.000Z', 'Z'),
      exp: new Date(clock.now() + 300_000).toISOString().replace('.000Z', 'Z'),
    });
    expect(claims.exp).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect(claims.jti).toMatch(/^[0-9a-f-]{36}$/);
    expect(engine.sessions.list('alice').map((s) => s.id)).toEqual([claims.sid]);
  });

  it('verify with an independent PASETO v4 implementation given only the PASERK public key', async () => {
    const { engine } = await seeded({ clock: systemClock });
    const { access_token } = await engine.token({ grant_type: 'password', client_id: 'desktop', username: 'alice', password: PASSWORD });
    const [key] = engine.publishedKeys();
    const { payload, footer } = await independentVerify<Record<string, string>>(key!.paserk, access_token);
    expect(payload).toMatchObject({ username: 'Alice', client_id: 'desktop', aud: engine.audience, iss: engine.issuer });
    expect(footer).toEqual({ kid: key!.pid });
    const other = await newEngine({ clock: systemClock });
    await expect(async () => independentVerify(other.engine.publishedKeys()[0]!.paserk, access_token)).rejects.toThrow(/signature/i);
  });

  it('expire after the policy lifetime, allowing only the configured leeway', async () => {
    const { engine, clock } = await seeded({ policy: { accessTokenTtlSeconds: 120, clockLeewaySeconds: 10 } });
    const { access_token, expires_in } = await engine.token({ grant_type: 'password', client_id: 'desktop', username: 'alice', password: PASSWORD });
    expect(expires_in).toBe(120);
    clock.advance(129);
    await expect(engine.verifyAccessToken(access_token)).resolves.toBeTruthy();
    clock.advance(2);
    await expect(engine.verifyAccessToken(access_token)).rejects.toMatchObject({ code: 'expired' });
  });

  it('are refused when issued for another audience or by another issuer, or tampered with', async () => {
    const dir = tempDir();
    const path = join(dir, 'auth.db');
    const { engine, clock } = await seeded({ path, audience: 'urn:example:other-service' });
    const { access_token } = await engine.token({ grant_type: 'password', client_id: 'desktop', username: 'alice', password: PASSWORD });
    await engine.close();
    const reopened = await openEngine({ path, clock });
    try {
      await expect(reopened.verifyAccessToken(access_token)).rejects.toMatchObject({ code: 'invalid_claims' });
    } finally {
      await reopened.close();
    }
    const again = await newEngine({ path, clock, issuer: 'http://127.0.0.1:1', audience: 'urn:example:other-service' });
    await expect(again.engine.verifyAccessToken(access_token)).rejects.toMatchObject({ code: 'invalid_claims' });
    const ok = await newEngine({ path, clock, audience: 'urn:example:other-service' });
    await expect(ok.engine.verifyAccessToken(access_token)).resolves.toMatchObject({ username: 'Alice' });
    const parts = access_token.split('.');
    const body = Buffer.from(parts[2]!, 'base64url');
    body[body.length - 1]! ^= 1; // one signature bit
    const tampered = [parts[0], parts[1], body.toString('base64url'), parts[3]].join('.');
    await expect(ok.engine.verifyAccessToken(tampered)).rejects.toMatchObject({ code: 'invalid_signature' });
    await expect(ok.engine.verifyAccessToken('v4.public.AAAA')).rejects.toMatchObject({ code: 'malformed' });
    await expect(ok.engine.verifyAccessToken(`${parts[0]}.${parts[1]}.${parts[2]}.${Buffer.from('{"kid":"k4.pid.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}').toString('base64url')}`)).rejects.toMatchObject({ code: 'unknown_key' });
  });
});

describe('signing keys', () => {
  it('rotate on schedule, and tokens signed before a rotation verify until they expire', async () => {
    const { engine, clock } = await seeded({ policy: { keyRotationSeconds: 3600 } });
    const keyEvents: number[] = [];
    engine.on('keys', (keys) => keyEvents.push(keys.length));
    const before = await engine.token({ grant_type: 'password', client_id: 'desktop', username: 'alice', password: PASSWORD });
    const firstPid = engine.publishedKeys()[0]!.pid;
    clock.advance(3600 - 60);
    const late = await engine.token({ grant_type: 'refresh_token', client_id: 'desktop', refresh_token: before.refresh_token! });
    clock.advance(61); // the first key's signing window has passed
    const after = await engine.token({ grant_type: 'refresh_token', client_id: 'desktop', refresh_token: late.refresh_token! });
    expect(JSON.parse(decodePart(after.access_token, 3)).kid).not.toBe(firstPid);
    expect(keyEvents).toEqual([2]);
    expect(engine.publishedKeys().map((k) => [k.pid === firstPid, k.status])).toEqual([
      [false, 'active'],
      [true, 'retiring'],
    ]);
    // Signed 61 s before the rotation, still within its 5-minute life.
    await expect(engine.verifyAccessToken(late.access_token)).resolves.toBeTruthy();
    // Retired keys are published for a token lifetime plus the most leeway any verifier may allow.
    clock.advance(299);
    expect(engine.publishedKeys().map((k) => k.pid)).toContain(firstPid);
    clock.advance(300);
    expect(engine.publishedKeys().map((k) => [k.pid === firstPid, k.status])).toEqual([[false, 'active']]);
  });

  it('extend their window when provisioning lengthens the token lifetime, for this engine and another on the file', async () => {
    const { engine, clock, path } = await seeded({ policy: { keyRotationSeconds: 3600 } });
    const other = (await newEngine({ path, clock })).engine;
    const first = await engine.token({ grant_type: 'password', client_id: 'desktop', username: 'alice', password: PASSWORD });
    await expect(other.verifyAccessToken(first.access_token)).resolves.toBeTruthy(); // the other engine now knows the key
    const pid = JSON.parse(decodePart(first.access_token, 3)).kid as string;
    const windowOf = (keys: ReturnType<typeof engine.publishedKeys>) => keys.find((k) => k.pid === pid)!.verifyUntil;
    const oldWindowEnd = windowOf(engine.publishedKeys());
    // The other engine's own key, started at its open, is announced here once this one looks: now,
    // not by a poll in the middle of what follows.
    engine.checkForChanges();
    const keyEvents: number[] = [];
    engine.on('keys', (keys) => keyEvents.push(windowOf(keys)));
    await provision(engine, { version: 1, policy: { accessTokenTtlSeconds: 3600 } });
    clock.advance(3600 - 60); // the key's last signing minute: a token signed now lives an hour
    const late = await engine.token({ grant_type: 'refresh_token', client_id: 'desktop', refresh_token: first.refresh_token! });
    expect(JSON.parse(decodePart(late.access_token, 3)).kid).toBe(pid);
    expect(keyEvents).toEqual([oldWindowEnd + 3300 * 1000]);
    expect(windowOf(engine.publishedKeys())).toBe(oldWindowEnd + 3300 * 1000);
    other.checkForChanges();
    clock.advance((oldWindowEnd - clock.now()) / 1000 + 1); // past the window the key started with, within the token's hour
    await expect(engine.verifyAccessToken(late.access_token)).resolves.toMatchObject({ sid: expect.any(String) });
    await expect(other.verifyAccessToken(late.access_token)).resolves.toMatchObject({ sid: expect.any(String) });
  });

  it('stay verifiable for the tokens they signed when a shorter lifetime comes in before they retire', async () => {
    const { engine, clock } = await seeded({ policy: { accessTokenTtlSeconds: 3600 } });
    const signed = await engine.token({ grant_type: 'password', client_id: 'desktop', username: 'alice', password: PASSWORD });
    const pid = JSON.parse(decodePart(signed.access_token, 3)).kid as string;
    await provision(engine, { version: 1, policy: { accessTokenTtlSeconds: 300 } });
    await engine.rotateSigningKey();
    const retired = engine.publishedKeys().find((k) => k.pid === pid)!;
    expect(retired.status).toBe('retiring');
    expect(retired.verifyUntil).toBeGreaterThanOrEqual(clock.now() + 3600 * 1000);
    clock.advance(3600 - 1); // the token's last second
    await expect(engine.verifyAccessToken(signed.access_token)).resolves.toMatchObject({ sid: expect.any(String) });
  });

  it('can be rotated by hand', async () => {
    const { engine } = await seeded();
    const signed = await engine.token({ grant_type: 'password', client_id: 'desktop', username: 'alice', password: PASSWORD });
    const keys = await engine.rotateSigningKey();
    expect(keys.map((k) => k.status)).toEqual(['active', 'retiring']);
    await expect(engine.verifyAccessToken(signed.access_token)).resolves.toBeTruthy();
  });

  it('are new at each start by default, with earlier public halves still recorded', async () => {
    const path = join(tempDir(), 'auth.db');
    const first = await openEngine({ path });
    const firstPid = first.publishedKeys()[0]!.pid;
    await first.close();
    const second = await openEngine({ path });
    try {
      const pids = second.publishedKeys().map((k) => k.pid);
      expect(pids).toHaveLength(2);
      expect(pids[1]).toBe(firstPid);
      expect(pids[0]).not.toBe(firstPid);
    } finally {
      await second.close();
    }
  });

  it('persist across restarts through a key protector, stored only in protected form', async () => {
    const aesKey = randomBytes(32);
    let unprotects = 0;
    const protector: KeyProtector = {
      async protect(secret) {
        const iv = randomBytes(12);
        const cipher = createCipheriv('aes-256-gcm', aesKey, iv);
        const body = Buffer.concat([cipher.update(secret), cipher.final()]);
        return Buffer.concat([iv, cipher.getAuthTag(), body]);
      },
      async unprotect(blob) {
        unprotects++;
        const buffer = Buffer.from(blob);
        const decipher = createDecipheriv('aes-256-gcm', aesKey, buffer.subarray(0, 12));
        decipher.setAuthTag(buffer.subarray(12, 28));
        return Buffer.concat([decipher.update(buffer.subarray(28)), decipher.final()]);
      },
    };
    const path = join(tempDir(), 'auth.db');
    const first = await openEngine({ path, keyProtector: protector });
    const pid = first.publishedKeys()[0]!.pid;
    await first.close();
    expect(readFileSync(path).includes(Buffer.from('k4.secret.'))).toBe(false);
    const second = await openEngine({ path, keyProtector: protector });
    try {
      expect(unprotects).toBe(1);
      expect(second.publishedKeys().map((k) => k.pid)).toEqual([pid]);
      // Rotation makes a new key; a persisted one is reused only at start.
      const rotated = await second.rotateSigningKey();
      expect(rotated.map((k) => [k.pid === pid, k.status])).toEqual([[false, 'active'], [true, 'retiring']]);
      expect(unprotects).toBe(1);
    } finally {
      await second.close();
    }
    // A blob that opens to a different key is not trusted: a new key starts instead.
    const { v4 } = await import('../dist/tokens/paseto-v4.js');
    const stranger = await v4.ExportSecretKey((await v4.GenerateKeyPair({ extractable: true })).secretKey);
    const lying: KeyProtector = { protect: protector.protect, unprotect: async () => new TextEncoder().encode(stranger) };
    const warnings: string[] = [];
    const onWarning = (warning: Error) => warnings.push(warning.message);
    process.on('warning', onWarning);
    const misled = await openEngine({ path, keyProtector: lying });
    try {
      const keys = misled.publishedKeys();
      expect(keys).toHaveLength(3);
      expect(keys[0]!.pid).not.toBe(pid);
      await new Promise((resolve) => setImmediate(resolve));
      expect(warnings.some((w) => w.includes('does not match its record'))).toBe(true);
    } finally {
      process.off('warning', onWarning);
      await misled.close();
    }
    // Without the protector a restart starts a new key, as by default.
    const third = await openEngine({ path });
    try {
      expect(third.publishedKeys()).toHaveLength(4);
    } finally {
      await third.close();
    }
  });
});
