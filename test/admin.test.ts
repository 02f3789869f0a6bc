import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { AdminError, EngineClosedError, openEngine } from '../dist/index.js';
import { newEngine, PASSWORD, seeded, tempDir } from './helpers.js';

describe('user administration', () => {
  it('adds users with validated names, scopes and passwords, and refuses duplicates by normalised name', async () => {
    const { engine } = await newEngine();
    const user = await engine.users.add({ username: 'Grace', password: PASSWORD, displayName: 'Grace H.', scope: ['records:read', 'records:read'], mustChangePassword: true });
    expect(user).toMatchObject({ username: 'Grace', displayName: 'Grace H.', scope: ['records:read'], mustChangePassword: true, disabled: false });
    const evaluations = engine.hashEvaluations;
    await expect(engine.users.add({ username: 'GRACE', password: PASSWORD })).rejects.toMatchObject({ code: 'user_exists' });
    expect(engine.hashEvaluations).toBe(evaluations); // refused before hashing
    await expect(engine.users.add({ username: 'flag', password: PASSWORD, mustChangePassword: 'false' as never })).rejects.toThrow(/true or false/);
    for (const username of ['', ' padded', 'tab\tname', 'x'.repeat(65), 'zero\u200bwidth']) {
      await expect(engine.users.add({ username, password: PASSWORD }), JSON.stringify(username)).rejects.toMatchObject({ code: 'invalid_argument' });
    }
    await expect(engine.users.add({ username: 'ok', password: PASSWORD, scope: ['bad scope'] })).rejects.toMatchObject({ code: 'invalid_argument' });
    // A string is not a list: it would otherwise become one scope per character.
    await expect(engine.users.add({ username: 'ok', password: PASSWORD, scope: 'records:read' as never })).rejects.toThrow(/list of scope names/);
    await expect(engine.users.add({ username: 'ok' } as never)).rejects.toThrow(/password/);
    await expect(engine.users.add({ username: 'ok', password: PASSWORD, passwordHash: '$argon2id$x' } as never)).rejects.toThrow(/not both/);
    for (const displayName of ['', 'x'.repeat(129), 'bell\u0007']) {
      await expect(engine.users.add({ username: 'ok', password: PASSWORD, displayName })).rejects.toMatchObject({ code: 'invalid_argument' });
    }
    // Capital sharp s folds like the small one: one account, not two.
    await engine.users.add({ username: 'STRAẞE', password: PASSWORD });
    await expect(engine.users.add({ username: 'strasse', password: PASSWORD })).rejects.toMatchObject({ code: 'user_exists' });
    await expect(engine.users.add({ username: 'straße', password: PASSWORD })).rejects.toMatchObject({ code: 'user_exists' });
    expect(engine.users.list().map((u) => u.username)).toEqual(['Grace', 'STRAẞE']);
  });

  it('imports a pre-hashed PHC password within the policy\'s cost range, and refuses anything else', async () => {
    const { engine } = await newEngine();
    const phc = '$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$3v5m1zJ0b3ZbXJ4f6yBqkzHbnZ7YpC5hQy4n3W2k1aA';
    await expect(engine.users.add({ username: 'imported', passwordHash: phc })).resolves.toMatchObject({ username: 'imported' });
    await expect(engine.users.add({ username: 'stronger', passwordHash: phc.replace('m=19456', 'm=65536') })).resolves.toBeTruthy();
    const refused = [
      '$2b$12$abc',
      phc.replace('m=19456', 'm=99999999'),
      phc.replace('t=2', 't=500'),
      `${phc}x$y`,
      phc.replace('m=19456', 'm=1048576'), // within argon2's range, but 50 times the policy's cost
      phc.replace('m=19456,t=2', 'm=12288,t=3'), // weaker in memory than policy: would answer faster
      phc.replace('$3v5m1zJ0b3ZbXJ4f6yBqkzHbnZ7YpC5hQy4n3W2k1aA', '$3v5m1zJ0b3ZbXJ4f'), // 12-byte hash
    ];
    for (const bad of refused) {
      const error = await engine.users.add({ username: 'other', passwordHash: bad }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(AdminError);
      expect((error as AdminError).code).toBe('invalid_argument');
    }
  });

  it('disabling ends sessions at once; enabling lets the account sign in again', async () => {
    const { engine } = await seeded();
    const revoked: string[] = [];
    engine.on('revocation', (list) => revoked.push(...list.map((r) => r.value)));
    const signedIn = await engine.token({ grant_type: 'password', client_id: 'desktop', username: 'alice', password: PASSWORD });
    expect(engine.users.disable('alice').disabled).toBe(true);
    await expect(engine.verifyAccessToken(signedIn.access_token)).rejects.toMatchObject({ code: 'revoked' });
    expect(revoked).toHaveLength(1);
    expect(engine.sessions.list('alice')[0]?.revokedReason).toBe('user_disabled');
    expect(engine.users.enable('alice').disabled).toBe(false);
    await expect(engine.token({ grant_type: 'password', client_id: 'desktop', username: 'alice', password: PASSWORD })).resolves.toBeTruthy();
  });

  it('a reset sets the password chosen by IT, may demand a change, and ends every session', async () => {
    const { engine } = await seeded();
    const signedIn = await engine.token({ grant_type: 'password', client_id: 'desktop', username: 'alice', password: PASSWORD });
    const reset = await engine.users.resetPassword('alice', 'a temporary password from IT', { mustChangePassword: true });
    expect(reset.mustChangePassword).toBe(true);
    await expect(engine.verifyAccessToken(signedIn.access_token)).rejects.toMatchObject({ code: 'revoked' });
    await expect(engine.token({ grant_type: 'password', client_id: 'desktop', username: 'alice', password: 'a temporary password from IT' })).rejects.toMatchObject({
      code: 'password_change_required',
    });
    await expect(engine.users.resetPassword('nobody', PASSWORD)).rejects.toMatchObject({ code: 'user_not_found' });
  });

  it('removing a user ends their sessions, deletes them, and leaves a revocation for their tokens', async () => {
    const { engine } = await seeded();
    const signedIn = await engine.token({ grant_type: 'password', client_id: 'desktop', username: 'alice', password: PASSWORD });
    const sid = (await engine.verifyAccessToken(signedIn.access_token)).sid;
    engine.users.remove('alice');
    expect(() => engine.users.get('alice')).toThrow(AdminError);
    expect(engine.sessions.list()).toEqual([]);
    expect(engine.revocations().map((r) => r.value)).toEqual([sid]);
    await expect(engine.verifyAccessToken(signedIn.access_token)).rejects.toMatchObject({ code: 'revoked' });
    const audit = engine.auditLog().map((e) => e.type);
    expect(audit).toContain('admin.user_removed');
  });

  it('never stores or logs a password', async () => {
    const { engine } = await seeded();
    await engine.token({ grant_type: 'password', client_id: 'desktop', username: 'alice', password: PASSWORD }).catch(() => undefined);
    await engine.token({ grant_type: 'password', client_id: 'desktop', username: 'alice', password: 'wrong but long password' }).catch(() => undefined);
    const everything = JSON.stringify([engine.users.list(), engine.auditLog(), engine.sessions.list()]);
    expect(everything).not.toContain(PASSWORD);
    expect(everything).not.toContain('wrong but long password');
  });
});

describe('secrets at rest', () => {
  it('the database file holds no password, refresh token or access token in the clear', async () => {
    const { engine, path } = await seeded();
    const first = await engine.token({ grant_type: 'password', client_id: 'desktop', username: 'alice', password: PASSWORD });
    const second = await engine.token({ grant_type: 'refresh_token', client_id: 'desktop', refresh_token: first.refresh_token! });
    await engine.token({ grant_type: 'password', client_id: 'desktop', username: 'alice', password: 'wrong but long password' }).catch(() => undefined);
    const bytes = () => Buffer.concat([readFileSync(path), existsSync(`${path}-wal`) ? readFileSync(`${path}-wal`) : Buffer.alloc(0)]);
    for (const image of [bytes(), (await engine.close(), bytes())]) {
      for (const secret of [PASSWORD, 'wrong but long password', first.refresh_token!, second.refresh_token!, second.access_token]) {
        expect(image.includes(Buffer.from(secret))).toBe(false);
      }
    }
  });
});

describe('client administration', () => {
  it('generates a 256-bit secret returned once and stored only as a hash', async () => {
    const { engine, path } = await newEngine();
    const { client, secret } = engine.clients.add({ id: 'svc', secret: 'generate', scope: ['records:read'] });
    expect(client).toMatchObject({ id: 'svc', confidential: true, grants: ['password', 'refresh_token'], scope: ['records:read'] });
    expect(Buffer.from(secret!, 'base64url')).toHaveLength(32);
    expect(JSON.stringify(engine.clients.list())).not.toContain(secret!);
    await engine.close();
    const bytes = Buffer.concat([readFileSync(path), existsSync(`${path}-wal`) ? readFileSync(`${path}-wal`) : Buffer.alloc(0)]);
    expect(bytes.includes(Buffer.from(secret!))).toBe(false);
  });

  it('validates ids, supplied secrets and grants', async () => {
    const { engine } = await newEngine();
    expect(() => engine.clients.add({ id: 'has space', secret: 'none' })).toThrow(AdminError);
    expect(() => engine.clients.add({ id: 'short-secret', secret: { value: 'too short' } })).toThrow(/at least 32/);
    expect(() => engine.clients.add({ id: 'bad-grant', secret: 'none', grants: ['client_credentials' as never] })).toThrow(/Grants/);
    expect(() => engine.clients.add({ id: 'no-secret' } as never)).toThrow(/'generate', 'none'/);
    expect(() => engine.clients.add({ id: 'str-scope', secret: 'none', scope: 'a b' as never })).toThrow(/list of scope names/);
    engine.clients.add({ id: 'desktop', secret: 'none' });
    expect(() => engine.clients.add({ id: 'desktop', secret: 'none' })).toThrow(expect.objectContaining({ code: 'client_exists' }));
    expect(() => engine.clients.get('nope')).toThrow(expect.objectContaining({ code: 'client_not_found' }));
  });

  it('removing a client ends the sessions it holds', async () => {
    const { engine } = await seeded();
    const signedIn = await engine.token({ grant_type: 'password', client_id: 'desktop', username: 'alice', password: PASSWORD });
    engine.clients.remove('desktop');
    await expect(engine.verifyAccessToken(signedIn.access_token)).rejects.toMatchObject({ code: 'revoked' });
    await expect(engine.token({ grant_type: 'refresh_token', client_id: 'desktop', refresh_token: signedIn.refresh_token! })).rejects.toMatchObject({ code: 'invalid_client' });
  });
});

describe('sessions administration', () => {
  it('lists sessions newest first and revokes one by id', async () => {
    const { engine, clock } = await seeded();
    const first = await engine.token({ grant_type: 'password', client_id: 'desktop', username: 'alice', password: PASSWORD });
    clock.advance(10);
    const second = await engine.token({ grant_type: 'password', client_id: 'desktop', username: 'alice', password: PASSWORD });
    const sessions = engine.sessions.list('ALICE');
    expect(sessions.map((s) => s.createdAt)).toEqual([clock.now(), clock.now() - 10_000]);
    engine.sessions.revoke(sessions[1]!.id);
    await expect(engine.verifyAccessToken(first.access_token)).rejects.toMatchObject({ code: 'revoked' });
    await expect(engine.verifyAccessToken(second.access_token)).resolves.toBeTruthy();
    expect(() => engine.sessions.revoke('no-such-session')).toThrow(expect.objectContaining({ code: 'session_not_found' }));
    expect(() => engine.sessions.list('nobody')).toThrow(expect.objectContaining({ code: 'user_not_found' }));
  });
});

describe('engine lifecycle and options', () => {
  it('refuses bad options before touching the database file', async () => {
    const dir = tempDir();
    const path = join(dir, 'auth.db');
    const bad: Array<[Record<string, unknown>, RegExp]> = [
      [{ hashWorkers: 0 }, /hash pool size/],
      [{ policy: { accessTokenTtlSeconds: 5 } }, /accessTokenTtlSeconds/],
      [{ policy: { argon2: { m: 1024 } } }, /argon2id parameters/],
      [{ policy: { password: { minLength: 4 } } }, /minLength/],
      [{ policy: { password: { maxLength: 32 } } }, /maxLength/],
      [{ policy: { password: { minLength: 12 } } }, /minLength/], // NIST: 15 for a password used alone
      [{ policy: { password: { maxBytes: 64 } } }, /maxBytes/], // 64 characters may need 256 bytes
      [{ policy: { accessTokenTTLSeconds: 60 } }, /unknown setting\(s\): accessTokenTTLSeconds/],
      [{ policy: { argon2: { memory: 65536 } } }, /policy\.argon2 has unknown/],
      [{ policy: { refreshIdleSeconds: 7200, refreshAbsoluteSeconds: 3600 } }, /cannot exceed/],
      [{ policy: { argon2: { m: 38912, t: 1 } } }, /OWASP/],
      [{ policy: { argon2: { m: 12288, t: 3 } } }, /OWASP/], // m=19456 KiB, t=2, p=1 at least, each
      [{ issuer: '' }, /issuer/],
      [{ clock: {} }, /clock/],
    ];
    for (const [options, message] of bad) {
      await expect(openEngine({ path, ...options } as never), JSON.stringify(options)).rejects.toThrow(message);
    }
    await expect(openEngine({} as never)).rejects.toThrow(/options\.path/);
    expect(existsSync(path)).toBe(false);
  });

  it('after close, every call fails with EngineClosedError and close is idempotent', async () => {
    const { engine } = await seeded();
    const users = engine.users; // held from before close
    const first = engine.close();
    expect(engine.close()).toBe(first);
    await first;
    await engine.close();
    expect(() => users.list()).toThrow(EngineClosedError);
    await expect(users.add({ username: 'late', password: PASSWORD })).rejects.toBeInstanceOf(EngineClosedError);
    await expect(engine.token({ grant_type: 'password', client_id: 'desktop', username: 'alice', password: PASSWORD })).rejects.toBeInstanceOf(EngineClosedError);
    for (const call of [() => engine.users, () => engine.clients, () => engine.sessions, () => engine.publishedKeys(), () => engine.revocations(), () => engine.auditLog()]) {
      expect(call).toThrow(EngineClosedError);
    }
  });

  it('close waits for work in flight: a sign-in, a new user being hashed, a key rotation', async () => {
    const { engine } = await seeded();
    await engine.users.add({ username: 'carol', password: PASSWORD });
    const pending = [
      engine.token({ grant_type: 'password', client_id: 'desktop', username: 'alice', password: PASSWORD }),
      engine.users.add({ username: 'bob', password: PASSWORD }),
      engine.users.resetPassword('carol', 'a new password set by IT', { mustChangePassword: true }),
      engine.rotateSigningKey(),
    ];
    await engine.close();
    const [signIn, added, reset, keys] = await Promise.all(pending);
    expect(signIn).toMatchObject({ token_type: 'Bearer' });
    expect(added).toMatchObject({ username: 'bob' });
    expect(reset).toMatchObject({ username: 'carol', mustChangePassword: true });
    expect(keys).toHaveLength(2);
  });

  it('exposes the effective policy, frozen', async () => {
    const { engine } = await newEngine({ policy: { accessTokenTtlSeconds: 600, argon2: { t: 3 } } });
    expect(engine.policy).toMatchObject({ accessTokenTtlSeconds: 600, argon2: { m: 19456, t: 3, p: 1 }, password: { minLength: 15 } });
    expect(() => {
      (engine.policy.password as { minLength: number }).minLength = 1;
    }).toThrow(TypeError);
    expect(engine.policy.password.minLength).toBe(15);
  });
});
