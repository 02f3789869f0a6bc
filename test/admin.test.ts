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
    await expect(engine.users.add({ username: 'GRACE', password: PASSWORD })).rejects.toMatchObject({ code: 'user_exists' });
    for (const username of ['', ' padded', 'tab\tname', 'x'.repeat(65), 'zero\u200bwidth']) {
      await expect(engine.users.add({ username, password: PASSWORD }), JSON.stringify(username)).rejects.toMatchObject({ code: 'invalid_argument' });
    }
    await expect(engine.users.add({ username: 'ok', password: PASSWORD, scope: ['bad scope'] })).rejects.toMatchObject({ code: 'invalid_argument' });
    expect(engine.users.list().map((u) => u.username)).toEqual(['Grace']);
  });

  it('imports a pre-hashed PHC password and refuses anything else or absurd parameters', async () => {
    const { engine } = await newEngine();
    const phc = '$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$3v5m1zJ0b3ZbXJ4f6yBqkzHbnZ7YpC5hQy4n3W2k1aA';
    await expect(engine.users.add({ username: 'imported', passwordHash: phc })).resolves.toMatchObject({ username: 'imported' });
    for (const bad of ['$2b$12$abc', phc.replace('m=19456', 'm=99999999'), phc.replace('t=2', 't=500'), `${phc}x$y`]) {
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
    await engine.close();
    await engine.close();
    await expect(engine.token({ grant_type: 'password', client_id: 'desktop', username: 'alice', password: PASSWORD })).rejects.toBeInstanceOf(EngineClosedError);
    for (const call of [() => engine.users, () => engine.clients, () => engine.sessions, () => engine.publishedKeys(), () => engine.revocations(), () => engine.auditLog()]) {
      expect(call).toThrow(EngineClosedError);
    }
  });

  it('close waits for a sign-in in flight', async () => {
    const { engine } = await seeded();
    const pending = engine.token({ grant_type: 'password', client_id: 'desktop', username: 'alice', password: PASSWORD });
    await engine.close();
    await expect(pending).resolves.toMatchObject({ token_type: 'Bearer' });
  });

  it('exposes the effective policy', async () => {
    const { engine } = await newEngine({ policy: { accessTokenTtlSeconds: 600 } });
    expect(engine.policy).toMatchObject({ accessTokenTtlSeconds: 600, argon2: { m: 19456, t: 2, p: 1 }, password: { minLength: 15 } });
  });
});
