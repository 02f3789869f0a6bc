import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { openEngine, provision, type IpcCallName, type SessionView } from '../dist/index.js';
import { createAppHandlers, IPC_CALL_NAMES, resolveAppPolicy } from '../dist/electron/index.js';
import { tempDir } from './helpers.js';
import { accessToken, ADMIN_PASSWORD, failure, FileSecretStore, harness, ok, ORIGIN, PASSWORD, SERVICE_URL, signIn } from './ipc-helpers.js';

const NEW_PASSWORD = 'amber falcon drifting north 93';
const MB10 = 'x'.repeat(10 * 1024 * 1024);

describe('IPC handlers: who may call', () => {
  it('refuses every call from a foreign origin, a subframe or no caller, before any work', async () => {
    const h = await harness();
    const callers: unknown[] = [
      { origin: 'https://evil.example', mainFrame: true },
      { origin: 'gatehouse://app.evil', mainFrame: true },
      { origin: 'GATEHOUSE://APP', mainFrame: true },
      { origin: `${ORIGIN}/`, mainFrame: true },
      { origin: ORIGIN, mainFrame: false },
      { origin: ORIGIN },
      { origin: ORIGIN, mainFrame: 'true' },
      null,
      undefined,
      'gatehouse://app',
    ];
    const hashes = h.engine.hashEvaluations;
    for (const name of IPC_CALL_NAMES) {
      for (const caller of callers) {
        const args = name === 'signIn' ? { username: 'alice', password: PASSWORD } : undefined;
        const result = await h.handlers.handle(name, caller as never, args);
        expect(result, `${name} from ${JSON.stringify(caller)}`).toEqual({ ok: false, error: { code: 'forbidden', description: expect.any(String) } });
      }
    }
    expect(h.engine.hashEvaluations).toBe(hashes);
    expect(ok(await h.call('getSession')).session).toEqual({ state: 'signed_out' });
    expect(h.pushed).toEqual([]);
  });

  it('answers an unknown call name with invalid_argument', async () => {
    const h = await harness();
    for (const name of ['nope', 'admin', '__proto__', 'constructor', 'toString', MB10]) {
      const error = failure(await h.call(name));
      expect(error.code).toBe('invalid_argument');
      expect(error.description.length).toBeLessThan(200);
    }
  });
});

/** For each call: an argument it accepts, which fields are strings, booleans or lists, and which are required. */
const SPEC: { [K in IpcCallName]: { valid: unknown; optional?: boolean; strings?: string[]; booleans?: string[]; lists?: string[]; required?: string[] } } = {
  getAppInfo: { valid: undefined },
  getSession: { valid: undefined },
  signIn: { valid: { username: 'alice', password: 'not her password at all' }, strings: ['username', 'password'], booleans: ['staySignedIn'], required: ['username', 'password'] },
  unlock: { valid: { password: 'whatever it is' }, strings: ['password'], required: ['password'] },
  signOut: { valid: { everywhere: false }, optional: true, booleans: ['everywhere'] },
  getAccessToken: { valid: undefined },
  getServiceUrl: { valid: undefined },
  changePassword: {
    valid: { username: 'nobody', currentPassword: 'not the password', newPassword: NEW_PASSWORD },
    strings: ['username', 'currentPassword', 'newPassword'],
    required: ['currentPassword', 'newPassword'],
  },
  checkNewPassword: { valid: { password: 'abc' }, strings: ['username', 'password'], required: ['password'] },
  reportActivity: { valid: undefined },
  'admin.listUsers': { valid: undefined },
  'admin.createUser': {
    valid: { username: 'newbie', displayName: 'New B.', password: NEW_PASSWORD, scopes: ['records:read'], mustChangePassword: true },
    strings: ['username', 'displayName', 'password'],
    lists: ['scopes'],
    booleans: ['mustChangePassword'],
    required: ['username', 'password', 'scopes', 'mustChangePassword'],
  },
  'admin.setUserDisabled': { valid: { username: 'alice', disabled: false }, strings: ['username'], booleans: ['disabled'], required: ['username', 'disabled'] },
  'admin.unlockUser': { valid: { username: 'alice' }, strings: ['username'], required: ['username'] },
  'admin.resetPassword': {
    valid: { username: 'alice', password: NEW_PASSWORD, mustChangePassword: false },
    strings: ['username', 'password'],
    booleans: ['mustChangePassword'],
    required: ['username', 'password', 'mustChangePassword'],
  },
  'admin.listSessions': { valid: { username: 'alice' }, optional: true, strings: ['username'] },
  'admin.revokeSession': { valid: { sessionId: '00000000-0000-4000-8000-000000000000' }, strings: ['sessionId'], required: ['sessionId'] },
  'admin.rotateSigningKey': { valid: undefined },
  'admin.getPolicy': { valid: undefined },
};

/** `{"__proto__": …}` as JSON.parse (and structured clone) deliver it: an own key, not a prototype. */
function withProtoKey(fields: object): object {
  return Object.assign(JSON.parse('{"__proto__": {"admin": true}}') as object, fields);
}

function badArguments(name: IpcCallName): unknown[] {
  const spec = SPEC[name];
  if (spec.valid === undefined) return [{}, null, 0, '', 'x', [], MB10, true, withProtoKey({})];
  const valid = spec.valid as Record<string, unknown>;
  const bad: unknown[] = [null, 0, 'x', MB10, [], [valid], { ...valid, extra: 1 }, withProtoKey(valid), new Map(Object.entries(valid))];
  if (!spec.optional) bad.push(undefined);
  for (const field of spec.strings ?? []) bad.push({ ...valid, [field]: MB10 }, { ...valid, [field]: 5 }, { ...valid, [field]: null }, { ...valid, [field]: [MB10] });
  for (const field of spec.booleans ?? []) bad.push({ ...valid, [field]: 'true' }, { ...valid, [field]: 1 }, { ...valid, [field]: null });
  for (const field of spec.lists ?? []) bad.push({ ...valid, [field]: 'records:read' }, { ...valid, [field]: [MB10] }, { ...valid, [field]: [5] }, { ...valid, [field]: Array(1000).fill('a') });
  for (const field of spec.required ?? []) {
    const { [field]: _omitted, ...rest } = valid;
    bad.push(rest);
  }
  // `undefined` stands only for "no argument": an optional field is left out, not set to undefined.
  const fields = [...(spec.strings ?? []), ...(spec.booleans ?? []), ...(spec.lists ?? [])];
  for (const field of fields.filter((f) => !(spec.required ?? []).includes(f))) bad.push({ ...valid, [field]: undefined });
  return bad;
}

describe('IPC handlers: argument validation', () => {
  it('refuses, for every call, wrong types, missing and extra keys, __proto__ keys, arrays and 10 MB strings, before any work', async () => {
    const h = await harness();
    await signIn(h, 'root', ADMIN_PASSWORD); // so that admin calls get as far as their arguments
    const hashes = h.engine.hashEvaluations;
    const users = JSON.stringify(h.engine.users.list());
    for (const name of IPC_CALL_NAMES) {
      for (const args of badArguments(name)) {
        const label = `${name}(${JSON.stringify(args)?.slice(0, 80)})`;
        const error = failure(await h.call(name, args));
        expect(error.code, label).toBe('invalid_argument');
        expect(error.description.length, label).toBeLessThan(600);
        expect(error.description, label).not.toContain('xxxxxxxxxx');
      }
    }
    expect(h.engine.hashEvaluations).toBe(hashes);
    expect(JSON.stringify(h.engine.users.list())).toBe(users);
    expect(ok(await h.call('getSession')).session).toMatchObject({ state: 'signed_in', username: 'root' });
    // The same calls with their valid argument get past validation.
    for (const name of IPC_CALL_NAMES) {
      const result = await h.call(name, SPEC[name].valid);
      if (!result.ok) expect(result.error.code, name).not.toBe('invalid_argument');
    }
  });

  it('caps passwords by UTF-8 bytes as the engine does, and usernames as the engine allows', async () => {
    const h = await harness();
    const { maxBytes } = h.engine.policy.password;
    const hashes = h.engine.hashEvaluations;
    const tooBig = 'é'.repeat(maxBytes / 2 + 1); // few characters, too many bytes
    expect(failure(await h.call('signIn', { username: 'alice', password: tooBig })).code).toBe('invalid_argument');
    for (const username of ['', ' alice', 'alice ', 'tab\there', 'x'.repeat(65), 'zero\u200bwidth']) {
      expect(failure(await h.call('signIn', { username, password: PASSWORD })).code, JSON.stringify(username)).toBe('invalid_argument');
    }
    expect(failure(await h.call('signIn', { username: 'alice', password: '' })).code).toBe('invalid_argument');
    expect(h.engine.hashEvaluations).toBe(hashes);
    // At the cap, it is the engine that answers (a wrong password, counted).
    expect(failure(await h.call('signIn', { username: 'alice', password: 'é'.repeat(maxBytes / 2) })).code).toBe('invalid_credentials');
    expect(h.engine.users.signInState('alice').failures).toBe(1);
  });
});

describe('IPC handlers: signing in', () => {
  it('answers a wrong password and an unknown user identically, then throttles both alike with retryAfter', async () => {
    const h = await harness();
    const wrong = await h.call('signIn', { username: 'alice', password: 'not her password at all' });
    const unknown = await h.call('signIn', { username: 'mallory', password: 'not her password at all' });
    expect(wrong).toStrictEqual(unknown);
    expect(failure(wrong)).toEqual({ code: 'invalid_credentials', description: 'The username or password is incorrect.' });

    const { freeFailures } = h.engine.policy.lockout;
    const answers = async (username: string) => {
      const seen = [];
      for (let attempt = 0; attempt < freeFailures + 1; attempt++) seen.push(await h.call('signIn', { username, password: 'still not it, sorry' }));
      return seen;
    };
    const forAlice = await answers('alice');
    const forMallory = await answers('mallory');
    expect(forAlice).toStrictEqual(forMallory);
    const throttled = failure(forAlice.at(-1)!);
    expect(throttled).toMatchObject({ code: 'throttled', retryAfter: expect.any(Number) });
    expect(throttled.retryAfter).toBeGreaterThan(0);
    // Refused unchecked, even with the right password, until the delay has passed.
    expect(failure(await h.call('signIn', { username: 'alice', password: PASSWORD }))).toMatchObject({ code: 'throttled' });
    h.clock.advance(throttled.retryAfter!);
    expect(await signIn(h)).toMatchObject({ state: 'signed_in', username: 'alice' });
  });

  it('signs in, answers the session and an access token the engine accepts, and never shows the refresh token', async () => {
    const h = await harness();
    const session = await signIn(h);
    expect(session).toEqual({
      state: 'signed_in',
      username: 'alice',
      subject: h.engine.users.get('alice').id,
      scopes: ['records:read', 'records:write'],
      admin: false,
      accessExpiresAt: h.clock.now() + 300_000,
      staySignedIn: false,
    });
    expect(h.pushed).toEqual([session]);
    const { accessToken: token, expiresAt } = await accessToken(h);
    expect(expiresAt).toBe(session.state === 'signed_in' && session.accessExpiresAt);
    const claims = await h.engine.verifyAccessToken(token);
    expect(claims).toMatchObject({ username: 'alice', client_id: 'gatehouse-app', scope: 'records:read records:write' });
    expect(ok(await h.call('getSession')).session).toEqual(session);
    expect(h.refreshTokens.size).toBe(1); // and the helpers check no result or push contains it
  });

  it('must-change: sign-in refused, password changed while signed out, then sign-in works', async () => {
    const h = await harness();
    await h.engine.users.add({ username: 'newhire', password: PASSWORD, mustChangePassword: true, scope: ['records:read'] });
    expect(failure(await h.call('signIn', { username: 'newhire', password: PASSWORD })).code).toBe('password_change_required');
    // Signed out, the username is needed.
    expect(failure(await h.call('changePassword', { currentPassword: PASSWORD, newPassword: NEW_PASSWORD })).code).toBe('invalid_argument');
    const weak = failure(await h.call('changePassword', { username: 'newhire', currentPassword: PASSWORD, newPassword: 'short' }));
    expect(weak).toMatchObject({ code: 'policy_violation', policyViolations: expect.arrayContaining([expect.stringMatching(/at least 15/)]) });
    expect(failure(await h.call('changePassword', { username: 'newhire', currentPassword: 'wrong wrong wrong', newPassword: NEW_PASSWORD })).code).toBe(
      'invalid_credentials',
    );
    expect(ok(await h.call('changePassword', { username: 'newhire', currentPassword: PASSWORD, newPassword: NEW_PASSWORD })).session).toEqual({
      state: 'signed_out',
    });
    expect(failure(await h.call('signIn', { username: 'newhire', password: PASSWORD })).code).toBe('invalid_credentials');
    expect(await signIn(h, 'newhire', NEW_PASSWORD)).toMatchObject({ state: 'signed_in', username: 'newhire' });
  });

  it('changes the signed-in account\'s password and carries on in a new session, with no sign-out in between', async () => {
    const h = await harness();
    await signIn(h);
    const before = await accessToken(h);
    const sidBefore = (await h.engine.verifyAccessToken(before.accessToken)).sid;
    expect(failure(await h.call('changePassword', { username: 'root', currentPassword: PASSWORD, newPassword: NEW_PASSWORD })).code).toBe('invalid_argument');
    const wrong = failure(await h.call('changePassword', { currentPassword: 'not the current one', newPassword: NEW_PASSWORD }));
    expect(wrong.code).toBe('invalid_credentials');
    expect(ok(await h.call('getSession')).session).toMatchObject({ state: 'signed_in' });
    const changed = ok(await h.call('changePassword', { currentPassword: PASSWORD, newPassword: NEW_PASSWORD })).session;
    expect(changed).toMatchObject({ state: 'signed_in', username: 'alice' });
    expect(h.pushed.map((v) => v.state)).not.toContain('signed_out');
    await expect(h.engine.verifyAccessToken(before.accessToken)).rejects.toMatchObject({ code: 'revoked' });
    const after = await accessToken(h);
    expect((await h.engine.verifyAccessToken(after.accessToken)).sid).not.toBe(sidBefore);
    expect(failure(await h.call('signIn', { username: 'alice', password: PASSWORD })).code).toBe('invalid_credentials');
  });

  it('checks new passwords without hashing, with the username and the app name as context words', async () => {
    const h = await harness({ appPolicy: resolveAppPolicy({ appName: 'Harbor Desk' }) });
    const hashes = h.engine.hashEvaluations;
    expect(ok(await h.call('checkNewPassword', { password: NEW_PASSWORD })).violations).toEqual([]);
    expect(ok(await h.call('checkNewPassword', { password: 'short' })).violations).toEqual(expect.arrayContaining([expect.stringMatching(/at least 15/)]));
    const named = ok(await h.call('checkNewPassword', { password: 'my harbor desk password 2026' })).violations as string[];
    expect(named).toEqual([expect.stringContaining('Harbor Desk')]);
    expect(ok(await h.call('checkNewPassword', { username: 'alice', password: 'alice and her long password' })).violations).toEqual([
      expect.stringMatching(/username/),
    ]);
    // Signed in, the session's own name is the context.
    await signIn(h);
    const before = h.engine.hashEvaluations;
    expect(ok(await h.call('checkNewPassword', { password: 'alice and her long password' })).violations).toEqual([expect.stringMatching(/username/)]);
    expect(h.engine.hashEvaluations).toBe(before);
    expect(before - hashes).toBe(1); // the sign-in only
    // What the app advises against, it refuses.
    const refused = failure(await h.call('changePassword', { currentPassword: PASSWORD, newPassword: 'my harbor desk password 2026' }));
    expect(refused).toMatchObject({ code: 'policy_violation', policyViolations: [expect.stringContaining('Harbor Desk')] });
  });
});

describe('IPC handlers: keeping the session', () => {
  it('refreshes the access token before it expires: lazily when asked, and on its own timer', async () => {
    const h = await harness({ appPolicy: resolveAppPolicy({ idleLockSeconds: 0 }) });
    await signIn(h);
    const first = await accessToken(h);
    h.clock.advance(200); // before 80% of the 300 s lifetime: the same token
    expect(await accessToken(h)).toEqual(first);
    h.clock.advance(50);
    const second = await accessToken(h);
    expect(second.accessToken).not.toBe(first.accessToken);
    expect(second.expiresAt).toBe(h.clock.now() + 300_000);
    expect(h.pushed.at(-1)).toMatchObject({ state: 'signed_in', accessExpiresAt: second.expiresAt });
    await expect(h.engine.verifyAccessToken(second.accessToken)).resolves.toMatchObject({ username: 'alice' });

    // No call at all: the timer notices, by the injected clock, and pushes the new view.
    const pushes = h.pushed.length;
    h.clock.advance(250);
    await vi.waitFor(() => expect(h.pushed.length).toBeGreaterThan(pushes), { timeout: 10_000, interval: 50 });
    expect(h.pushed.at(-1)).toMatchObject({ state: 'signed_in', accessExpiresAt: h.clock.now() + 300_000 });
    expect(h.refreshTokens.size).toBe(3);
    const third = await accessToken(h);
    expect(third.expiresAt).toBe(h.clock.now() + 300_000);
    expect(h.logs).toEqual([]);
  });

  it('refreshes once for many concurrent callers, so the refresh token is never presented twice', async () => {
    const h = await harness({ appPolicy: resolveAppPolicy({ idleLockSeconds: 0 }) });
    await signIn(h);
    const first = await accessToken(h);
    h.clock.advance(260);
    const answers = await Promise.all(Array.from({ length: 8 }, () => accessToken(h)));
    expect(new Set(answers.map((a) => a.accessToken)).size).toBe(1);
    expect(answers[0]!.accessToken).not.toBe(first.accessToken);
    expect(h.refreshTokens.size).toBe(2);
    // Reuse would have ended the family; the session and its new token are alive.
    await expect(h.engine.verifyAccessToken(answers[0]!.accessToken)).resolves.toMatchObject({ username: 'alice' });
    expect(ok(await h.call('getSession')).session).toMatchObject({ state: 'signed_in' });
  });

  it('ends the session at once when it is revoked by another path (admin revoke, disable, another process)', async () => {
    const h = await harness();
    await signIn(h);
    const sid = (await h.engine.verifyAccessToken((await accessToken(h)).accessToken)).sid;
    h.engine.sessions.revoke(sid);
    expect(h.pushed.at(-1)).toEqual({ state: 'signed_out' });
    expect(failure(await h.call('getAccessToken')).code).toBe('not_signed_in');

    await signIn(h);
    h.engine.users.disable('alice');
    expect(h.pushed.at(-1)).toEqual({ state: 'signed_out' });
    h.engine.users.enable('alice');

    await signIn(h);
    const other = await openEngine({ path: h.path, clock: h.clock, hashWorkers: 1, signingKeyAtOpen: false });
    try {
      other.users.disable('alice');
    } finally {
      await other.close();
    }
    await vi.waitFor(() => expect(h.pushed.at(-1)).toEqual({ state: 'signed_out' }), { timeout: 10_000, interval: 50 });
    expect(failure(await h.call('getAccessToken')).code).toBe('not_signed_in');
  });

  it('ends the session when a refresh is refused (here: the session idled out in the engine)', async () => {
    const h = await harness({ appPolicy: resolveAppPolicy({ idleLockSeconds: 0 }) });
    await signIn(h);
    h.clock.advance(h.engine.policy.refreshIdleSeconds + 1); // the session idled out in the engine
    expect(failure(await h.call('getAccessToken')).code).toBe('not_signed_in');
    expect(h.pushed.at(-1)).toEqual({ state: 'signed_out' });
  });

  it('locks when idle (pushed even without calls), withholds the token, and unlocks with the password', async () => {
    const h = await harness({ appPolicy: resolveAppPolicy({ idleLockSeconds: 60 }) });
    await signIn(h);
    const before = await accessToken(h);
    h.clock.advance(40);
    ok(await h.call('reportActivity'));
    h.clock.advance(40);
    expect(ok(await h.call('getSession')).session).toMatchObject({ state: 'signed_in' });
    h.clock.advance(30);
    await vi.waitFor(() => expect(h.pushed.at(-1)).toMatchObject({ state: 'locked', username: 'alice' }), { timeout: 10_000, interval: 50 });
    expect(failure(await h.call('getAccessToken')).code).toBe('locked');
    ok(await h.call('reportActivity')); // does not unlock
    expect(ok(await h.call('getSession')).session).toMatchObject({ state: 'locked' });
    expect(failure(await h.call('changePassword', { currentPassword: PASSWORD, newPassword: NEW_PASSWORD })).code).toBe('locked');

    const wrong = failure(await h.call('unlock', { password: 'not her password at all' }));
    expect(wrong.code).toBe('invalid_credentials');
    expect(h.engine.users.signInState('alice').failures).toBe(1);
    expect(ok(await h.call('getSession')).session).toMatchObject({ state: 'locked' });

    const unlocked = ok(await h.call('unlock', { password: PASSWORD })).session;
    expect(unlocked).toMatchObject({ state: 'signed_in', username: 'alice' });
    expect(h.engine.users.signInState('alice').failures).toBe(0);
    await expect(h.engine.verifyAccessToken(before.accessToken)).rejects.toMatchObject({ code: 'revoked' });
    const after = await accessToken(h);
    await expect(h.engine.verifyAccessToken(after.accessToken)).resolves.toMatchObject({ username: 'alice' });
    expect(h.pushed.map((v) => v.state)).toEqual(['signed_in', 'locked', 'signed_in']);
  });

  it('locks lazily on a call when the timer has not run yet, and signs out while locked', async () => {
    const h = await harness({ appPolicy: resolveAppPolicy({ idleLockSeconds: 60 }) });
    await signIn(h);
    const [refreshToken] = h.refreshTokens;
    h.clock.advance(61);
    expect(failure(await h.call('getAccessToken')).code).toBe('locked');
    expect(ok(await h.call('signOut')).session).toEqual({ state: 'signed_out' });
    await expect(h.engine.token({ grant_type: 'refresh_token', client_id: 'gatehouse-app', refresh_token: refreshToken! })).rejects.toMatchObject({
      code: 'invalid_grant',
    });
    expect(failure(await h.call('unlock', { password: PASSWORD })).code).toBe('not_signed_in');
  });

  it('signs out this session, or every session of the account; the tokens are refused afterwards', async () => {
    const h = await harness();
    const elsewhere = await h.engine.token({ grant_type: 'password', client_id: 'gatehouse-app', username: 'alice', password: PASSWORD });
    await signIn(h);
    const mine = await accessToken(h);
    expect(ok(await h.call('signOut')).session).toEqual({ state: 'signed_out' });
    expect(h.pushed.at(-1)).toEqual({ state: 'signed_out' });
    await expect(h.engine.verifyAccessToken(mine.accessToken)).rejects.toThrow();
    await expect(h.engine.verifyAccessToken(elsewhere.access_token)).resolves.toMatchObject({ username: 'alice' });
    expect(ok(await h.call('signOut')).session).toEqual({ state: 'signed_out' }); // again: nothing to do

    await signIn(h);
    const again = await accessToken(h);
    expect(ok(await h.call('signOut', { everywhere: true })).session).toEqual({ state: 'signed_out' });
    await expect(h.engine.verifyAccessToken(again.accessToken)).rejects.toThrow();
    await expect(h.engine.verifyAccessToken(elsewhere.access_token)).rejects.toThrow();
    expect(h.engine.sessions.list('alice').every((s) => s.revokedAt !== null)).toBe(true);
  });

  it('a new sign-in replaces the current session and revokes it', async () => {
    const h = await harness();
    await signIn(h);
    const alice = await accessToken(h);
    expect(await signIn(h, 'root', ADMIN_PASSWORD)).toMatchObject({ state: 'signed_in', username: 'root', admin: true });
    await expect(h.engine.verifyAccessToken(alice.accessToken)).rejects.toMatchObject({ code: 'revoked' });
    expect(h.pushed.map((v) => v.state === 'signed_out' ? 'out' : v.username)).toEqual(['alice', 'root']);
  });
});

describe('IPC handlers: stay signed in', () => {
  it('keeps the refresh token in the secret store across a restart of the handlers, and forgets it at sign-out', async () => {
    const dir = tempDir();
    const store = new FileSecretStore(join(dir, 'kept-sign-in'));
    const h = await harness({ appPolicy: resolveAppPolicy({ staySignedInAllowed: true }), secretStore: store });
    expect(ok(await h.call('getAppInfo')).app).toMatchObject({ staySignedInAllowed: true });
    expect(await signIn(h, 'alice', PASSWORD, { staySignedIn: true })).toMatchObject({ staySignedIn: true });
    const kept = readFileSync(store.path, 'utf8');
    expect(h.refreshTokens.has(kept)).toBe(true);

    // Restart: new handlers, same engine and store.
    await h.handlers.close();
    const restarted = h.recreate();
    expect(ok(await h.call('getSession')).session).toEqual({ state: 'signed_out' });
    const restored = await restarted.restore();
    expect(restored).toMatchObject({ state: 'signed_in', username: 'alice', staySignedIn: true });
    expect(h.pushed.at(-1)).toEqual(restored);
    const rotated = readFileSync(store.path, 'utf8');
    expect(rotated).not.toBe(kept);
    expect(h.refreshTokens.has(rotated)).toBe(true);
    await expect(h.engine.verifyAccessToken((await accessToken(h)).accessToken)).resolves.toMatchObject({ username: 'alice' });

    // Rotations keep the store current.
    h.clock.advance(250);
    ok(await h.call('reportActivity'));
    await accessToken(h);
    expect(readFileSync(store.path, 'utf8')).not.toBe(rotated);

    expect(ok(await h.call('signOut')).session).toEqual({ state: 'signed_out' });
    expect(existsSync(store.path)).toBe(false);
    await h.handlers.close();
    expect(await h.recreate().restore()).toEqual({ state: 'signed_out' });
  });

  it('forgets a kept token that the engine refuses, and one kept when policy no longer allows it', async () => {
    const dir = tempDir();
    const store = new FileSecretStore(join(dir, 'kept-sign-in'));
    const h = await harness({ appPolicy: resolveAppPolicy({ staySignedInAllowed: true, idleLockSeconds: 0 }), secretStore: store });
    await signIn(h, 'alice', PASSWORD, { staySignedIn: true });
    await h.handlers.close();
    // While the app was closed, IT revoked the session.
    for (const session of h.engine.sessions.list('alice')) h.engine.sessions.revoke(session.id);
    expect(existsSync(store.path)).toBe(true);
    expect(await h.recreate().restore()).toEqual({ state: 'signed_out' });
    expect(existsSync(store.path)).toBe(false);

    await signIn(h, 'alice', PASSWORD, { staySignedIn: true });
    const kept = readFileSync(store.path, 'utf8');
    await h.handlers.close();
    const strict = h.recreate({ appPolicy: resolveAppPolicy({ staySignedInAllowed: false }) });
    expect(await strict.restore()).toEqual({ state: 'signed_out' });
    expect(existsSync(store.path)).toBe(false);
    await expect(h.engine.token({ grant_type: 'refresh_token', client_id: 'gatehouse-app', refresh_token: kept })).rejects.toMatchObject({ code: 'invalid_grant' });
  });

  it('revokes a session that is not kept when the handlers close (nothing could resume it), and keeps a kept one', async () => {
    const h = await harness();
    await signIn(h, 'alice', PASSWORD);
    const token = (await accessToken(h)).accessToken;
    await h.handlers.close();
    await expect(h.engine.verifyAccessToken(token)).rejects.toMatchObject({ name: 'TokenError' });
    expect(h.engine.sessions.list('alice').every((session) => session.revokedReason === 'signed_out')).toBe(true);

    const store = new FileSecretStore(join(tempDir(), 'kept-sign-in'));
    const kept = h.recreate({ appPolicy: resolveAppPolicy({ staySignedInAllowed: true }), secretStore: store });
    expect(await signIn(h, 'alice', PASSWORD, { staySignedIn: true })).toMatchObject({ staySignedIn: true });
    const keptToken = (await accessToken(h)).accessToken;
    await kept.close();
    await expect(h.engine.verifyAccessToken(keptToken)).resolves.toMatchObject({ username: 'alice' });
  });

  it('ignores staySignedIn when policy does not allow it, or no store exists', async () => {
    const dir = tempDir();
    const store = new FileSecretStore(join(dir, 'kept-sign-in'));
    const h = await harness({ secretStore: store });
    expect(ok(await h.call('getAppInfo')).app).toMatchObject({ staySignedInAllowed: false });
    expect(await signIn(h, 'alice', PASSWORD, { staySignedIn: true })).toMatchObject({ staySignedIn: false });
    expect(existsSync(store.path)).toBe(false);
    const storeless = await harness({ appPolicy: resolveAppPolicy({ staySignedInAllowed: true }) });
    expect(ok(await storeless.call('getAppInfo')).app).toMatchObject({ staySignedInAllowed: false });
    expect(await signIn(storeless, 'alice', PASSWORD, { staySignedIn: true })).toMatchObject({ staySignedIn: false });
  });
});

describe('IPC handlers: app information and errors', () => {
  it('answers the app information from policy and the service URL from the options', async () => {
    const h = await harness({ appPolicy: resolveAppPolicy({ appName: 'Harbor Desk', helpdeskText: 'Call IT on 4242.', idleLockSeconds: 300 }) });
    expect(ok(await h.call('getAppInfo')).app).toEqual({
      appName: 'Harbor Desk',
      helpdeskText: 'Call IT on 4242.',
      idleLockSeconds: 300,
      staySignedInAllowed: false,
      passwordMinLength: 15,
      passwordMaxLength: 256,
    });
    expect(ok(await h.call('getServiceUrl')).url).toBe(SERVICE_URL);
    let port = 9000;
    h.recreate({ serviceUrl: () => `http://127.0.0.1:${port}` });
    expect(ok(await h.call('getServiceUrl')).url).toBe('http://127.0.0.1:9000');
    port = 9001;
    expect(ok(await h.call('getServiceUrl')).url).toBe('http://127.0.0.1:9001');
  });

  it('reads the password rules at each call: a provisioning run while the app is open applies at once', async () => {
    const h = await harness();
    const seventeen = 'amber falcon nine'; // enough under the default rules, not under 20
    expect(ok(await h.call('checkNewPassword', { password: seventeen })).violations).toEqual([]);
    await provision(h.engine, { version: 1, policy: { password: { minLength: 20, maxLength: 128 } } });
    expect(ok(await h.call('getAppInfo')).app).toMatchObject({ passwordMinLength: 20, passwordMaxLength: 128 });
    expect(ok(await h.call('checkNewPassword', { password: seventeen })).violations).toEqual([expect.stringMatching(/20/)]);
    expect(ok(await h.call('checkNewPassword', { password: 'q'.repeat(129) })).violations).toEqual([expect.stringMatching(/128/)]);
  });

  it('refuses wrong options at creation, loudly', async () => {
    const { engine } = await harness();
    const base = { engine, allowedOrigin: ORIGIN, serviceUrl: SERVICE_URL };
    const wrong: Array<[Record<string, unknown>, RegExp]> = [
      [{ engine: undefined }, /engine/],
      [{ allowedOrigin: 'gatehouse://app/index.html' }, /allowedOrigin/],
      [{ allowedOrigin: '*' }, /allowedOrigin/],
      [{ serviceUrl: 8471 }, /serviceUrl/],
      [{ clientId: '' }, /clientId/],
      [{ secretStore: { load: async () => null } }, /secretStore/],
      [{ clock: { now: 0 } }, /clock/],
      [{ appPolicy: { idleLockSeconds: -1 } }, /idleLockSeconds/],
      [{ appPolicy: { idleLock: 60 } }, /idleLock/],
    ];
    for (const [options, message] of wrong) {
      expect(() => createAppHandlers({ ...base, ...options } as never), JSON.stringify(options)).toThrow(message);
    }
  });

  it('turns unexpected errors into `internal`, logged once without secrets', async () => {
    const h = await harness({ clientId: 'not-registered' });
    const error = failure(await h.call('signIn', { username: 'alice', password: PASSWORD }));
    expect(error.code).toBe('internal');
    expect(error.description).not.toMatch(/client|not-registered|at .*\.js/);
    expect(h.logs).toHaveLength(1);
    expect(h.logs[0]).toMatch(/signIn failed/);
    expect(h.logs[0]).not.toContain(PASSWORD);
    h.recreate({ serviceUrl: () => { throw new Error('the service is not up'); } });
    expect(failure(await h.call('getServiceUrl')).code).toBe('internal');
    expect(h.logs).toHaveLength(2);
  });

  it('pushes each new view once to every listener, and stops after unsubscribing', async () => {
    const h = await harness();
    const mine: SessionView[] = [];
    const stop = h.handlers.onSessionChanged((view) => mine.push(view));
    await signIn(h);
    ok(await h.call('getSession'));
    ok(await h.call('reportActivity'));
    expect(mine).toEqual([expect.objectContaining({ state: 'signed_in' })]);
    stop();
    ok(await h.call('signOut'));
    expect(mine).toHaveLength(1);
    expect(h.pushed.map((v) => v.state)).toEqual(['signed_in', 'signed_out']);
  });
});
