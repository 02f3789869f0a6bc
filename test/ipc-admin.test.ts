import { describe, expect, it } from 'vitest';
import { openEngine, type AdminUserView, type PublishedKey, type SessionInfo } from '../dist/index.js';
import { createAppHandlers, effectivePolicy, IPC_CALL_NAMES, resolveAppPolicy } from '../dist/electron/index.js';
import { accessToken, ADMIN_PASSWORD, failure, harness, ok, ORIGIN, PASSWORD, SERVICE_URL, signIn } from './ipc-helpers.js';

const NEW_PASSWORD = 'amber falcon drifting north 93';
const ADMIN_CALLS = IPC_CALL_NAMES.filter((name) => name.startsWith('admin.'));

/** A valid argument for each admin call (its effect, if allowed, does not matter here). */
const ARGS: Record<string, unknown> = {
  'admin.listUsers': undefined,
  'admin.createUser': { username: 'newbie', password: NEW_PASSWORD, scopes: ['records:read'], mustChangePassword: true },
  'admin.setUserDisabled': { username: 'alice', disabled: true },
  'admin.unlockUser': { username: 'alice' },
  'admin.resetPassword': { username: 'alice', password: NEW_PASSWORD, mustChangePassword: false },
  'admin.listSessions': undefined,
  'admin.revokeSession': { sessionId: '00000000-0000-4000-8000-000000000000' },
  'admin.rotateSigningKey': undefined,
  'admin.getPolicy': undefined,
};

describe('IPC handlers: administration', () => {
  it('refuses every admin call signed out, to a non-admin, and to a locked admin, changing nothing', async () => {
    const h = await harness({ appPolicy: resolveAppPolicy({ idleLockSeconds: 60 }) });
    const users = JSON.stringify(h.engine.users.list());
    const keys = JSON.stringify(h.engine.publishedKeys());
    const refusedAll = async (who: string) => {
      for (const name of ADMIN_CALLS) expect(failure(await h.call(name, ARGS[name])).code, `${name} ${who}`).toBe('forbidden');
    };
    await refusedAll('signed out');
    await signIn(h);
    await refusedAll('as alice');
    await signIn(h, 'root', ADMIN_PASSWORD);
    h.clock.advance(61);
    await refusedAll('locked');
    expect(JSON.stringify(h.engine.users.list())).toBe(users);
    expect(JSON.stringify(h.engine.publishedKeys())).toBe(keys);
    expect(h.engine.sessions.list('alice')[0]?.revokedAt).not.toBeNull(); // root's sign-in replaced alice's session
  });

  it('refuses an admin whose session another process revoked', async () => {
    const h = await harness();
    await signIn(h, 'root', ADMIN_PASSWORD);
    ok(await h.call('admin.listUsers'));
    const sid = (await h.engine.verifyAccessToken((await accessToken(h)).accessToken)).sid;
    const other = await openEngine({ path: h.path, clock: h.clock, hashWorkers: 1, signingKeyAtOpen: false });
    try {
      other.sessions.revoke(sid);
    } finally {
      await other.close();
    }
    expect(failure(await h.call('admin.listUsers')).code).toBe('forbidden');
  });

  it('refuses an admin whose account lost the admin scope, at once (the token still carries it)', async () => {
    const h = await harness();
    await signIn(h, 'root', ADMIN_PASSWORD);
    ok(await h.call('admin.listUsers'));
    h.engine.users.setScope('root', ['records:read', 'records:write']);
    expect((await h.engine.verifyAccessToken((await accessToken(h)).accessToken)).scope.split(' ')).toContain('admin');
    expect(failure(await h.call('admin.listUsers')).code).toBe('forbidden');
  });

  it('lets an admin manage users, sessions and keys, with typed refusals', async () => {
    const h = await harness();
    await signIn(h, 'root', ADMIN_PASSWORD);

    const listed = ok(await h.call('admin.listUsers')).users as AdminUserView[];
    expect(listed.map((u) => u.username)).toEqual(['alice', 'root']);
    expect(listed[0]).toMatchObject({ username: 'alice', scope: ['records:read', 'records:write'], disabled: false, signIn: { failures: 0, delayedUntil: null, lockedUntil: null } });
    expect(JSON.stringify(listed)).not.toMatch(/argon2|hash/i);

    const created = ok(await h.call('admin.createUser', { username: 'newbie', displayName: 'New B.', password: NEW_PASSWORD, scopes: ['records:read'], mustChangePassword: true }))
      .user as AdminUserView;
    expect(created).toMatchObject({ username: 'newbie', displayName: 'New B.', scope: ['records:read'], mustChangePassword: true, signIn: { failures: 0 } });
    expect(failure(await h.call('admin.createUser', { username: 'NEWBIE', password: NEW_PASSWORD, scopes: [], mustChangePassword: false })).code).toBe('conflict');
    const weak = failure(await h.call('admin.createUser', { username: 'weak', password: 'short', scopes: [], mustChangePassword: false }));
    expect(weak).toMatchObject({ code: 'policy_violation', policyViolations: expect.arrayContaining([expect.stringMatching(/at least 15/)]) });
    expect(failure(await h.call('admin.createUser', { username: 'scoped', password: NEW_PASSWORD, scopes: ['bad scope'], mustChangePassword: false })).code).toBe(
      'invalid_argument',
    );
    expect(failure(await h.call('admin.createUser', { username: 'ok', displayName: 'bell\u0007', password: NEW_PASSWORD, scopes: [], mustChangePassword: false })).code).toBe(
      'invalid_argument',
    );

    // Alice signs in elsewhere, then fails twice: the admin sees it, and her session.
    const elsewhere = await h.engine.token({ grant_type: 'password', client_id: 'gatehouse-app', username: 'alice', password: PASSWORD });
    for (let i = 0; i < 2; i++) {
      await h.engine.token({ grant_type: 'password', client_id: 'gatehouse-app', username: 'alice', password: 'wrong wrong wrong' }).catch(() => undefined);
    }
    const alice = (ok(await h.call('admin.listUsers')).users as AdminUserView[]).find((u) => u.username === 'alice');
    expect(alice?.signIn.failures).toBe(2);
    expect((ok(await h.call('admin.unlockUser', { username: 'alice' })).user as AdminUserView).signIn.failures).toBe(0);
    expect(failure(await h.call('admin.unlockUser', { username: 'nobody' })).code).toBe('not_found');

    const sessions = ok(await h.call('admin.listSessions', { username: 'alice' })).sessions as SessionInfo[];
    expect(sessions).toHaveLength(1);
    expect(sessions[0]).toMatchObject({ username: 'alice', clientId: 'gatehouse-app', revokedAt: null });
    expect((ok(await h.call('admin.listSessions')).sessions as SessionInfo[]).map((s) => s.username).sort()).toEqual(['alice', 'root']);
    expect(failure(await h.call('admin.listSessions', { username: 'nobody' })).code).toBe('not_found');
    expect(ok(await h.call('admin.revokeSession', { sessionId: sessions[0]!.id }))).toEqual({ ok: true });
    await expect(h.engine.verifyAccessToken(elsewhere.access_token)).rejects.toMatchObject({ code: 'revoked' });
    expect(failure(await h.call('admin.revokeSession', { sessionId: 'no-such-session' })).code).toBe('not_found');

    const disabled = ok(await h.call('admin.setUserDisabled', { username: 'alice', disabled: true })).user as AdminUserView;
    expect(disabled.disabled).toBe(true);
    expect(failure(await h.call('admin.setUserDisabled', { username: 'nobody', disabled: true })).code).toBe('not_found');
    expect((ok(await h.call('admin.setUserDisabled', { username: 'alice', disabled: false })).user as AdminUserView).disabled).toBe(false);

    const reset = ok(await h.call('admin.resetPassword', { username: 'alice', password: NEW_PASSWORD, mustChangePassword: true })).user as AdminUserView;
    expect(reset.mustChangePassword).toBe(true);
    await expect(h.engine.token({ grant_type: 'password', client_id: 'gatehouse-app', username: 'alice', password: NEW_PASSWORD })).rejects.toMatchObject({
      code: 'password_change_required',
    });

    const before = h.engine.publishedKeys();
    const keys = ok(await h.call('admin.rotateSigningKey')).keys as PublishedKey[];
    expect(keys).toHaveLength(before.length + 1);
    expect(keys.filter((k) => k.status === 'active')).toHaveLength(1);
    expect(keys.map((k) => k.pid)).toEqual(expect.arrayContaining(before.map((k) => k.pid)));
    // The admin's own session carries on through all of it.
    expect(ok(await h.call('getSession')).session).toMatchObject({ state: 'signed_in', username: 'root', admin: true });
  });

  it('ends the admin\'s own session when they disable their own account', async () => {
    const h = await harness();
    await signIn(h, 'root', ADMIN_PASSWORD);
    ok(await h.call('admin.setUserDisabled', { username: 'root', disabled: true }));
    expect(h.pushed.at(-1)).toEqual({ state: 'signed_out' });
    expect(failure(await h.call('admin.listUsers')).code).toBe('forbidden');
  });

  it('answers the policy in force with each setting\'s source, to an admin only; the handlers run on that policy', async () => {
    const inForce = effectivePolicy({
      user: { idleLockSeconds: 120 },
      provisioning: { helpdeskText: 'Call 4242.' },
      machineFile: { appName: 'Acme Records' },
      machineRegistry: { staySignedInAllowed: true },
    });
    const h = await harness({ effectivePolicy: inForce });
    await signIn(h);
    expect(failure(await h.call('admin.getPolicy')).code).toBe('forbidden');
    await signIn(h, 'root', ADMIN_PASSWORD);
    expect(ok(await h.call('admin.getPolicy')).policy).toEqual([
      { name: 'appName', value: 'Acme Records', source: 'machine-file' },
      { name: 'helpdeskText', value: 'Call 4242.', source: 'provisioning' },
      { name: 'idleLockSeconds', value: 120, source: 'user' },
      { name: 'staySignedInAllowed', value: true, source: 'machine-registry' },
      { name: 'persistentSigningKeys', value: false, source: 'default' },
      { name: 'dataDirectory', value: null, source: 'default' },
      { name: 'auditForwarding', value: false, source: 'default' },
    ]);
    expect(failure(await h.call('admin.getPolicy', {})).code).toBe('invalid_argument');
    expect(ok(await h.call('getAppInfo')).app).toMatchObject({ appName: 'Acme Records', helpdeskText: 'Call 4242.', idleLockSeconds: 120 });
    // The session locks after the policy's idle time.
    h.clock.advance(121);
    expect(ok(await h.call('getSession')).session).toMatchObject({ state: 'locked' });
  });

  it('without an effective policy, answers the given app policy as all `default`', async () => {
    const h = await harness({ appPolicy: resolveAppPolicy({ appName: 'Plain' }) });
    await signIn(h, 'root', ADMIN_PASSWORD);
    const policy = ok(await h.call('admin.getPolicy')).policy as Array<{ name: string; value: unknown; source: string }>;
    expect(policy.find((entry) => entry.name === 'appName')).toEqual({ name: 'appName', value: 'Plain', source: 'default' });
    expect(policy.map((entry) => entry.source)).toEqual(Array(7).fill('default'));
  });

  it('refuses an effective policy that is not one, or given with an app policy', async () => {
    const { engine } = await harness();
    const base = { engine, allowedOrigin: ORIGIN, serviceUrl: SERVICE_URL };
    const inForce = effectivePolicy({ machineFile: { appName: 'Acme' } });
    expect(() => createAppHandlers({ ...base, effectivePolicy: inForce, appPolicy: inForce.policy })).toThrow(/not both/);
    const tampered = { policy: inForce.policy, entries: inForce.entries.map((entry) => (entry.name === 'appName' ? { ...entry, value: 'Other' } : entry)) };
    expect(() => createAppHandlers({ ...base, effectivePolicy: tampered })).toThrow(/must come from effectivePolicy/);
    expect(() => createAppHandlers({ ...base, effectivePolicy: { policy: inForce.policy, entries: inForce.entries.slice(1) } })).toThrow(/must come from effectivePolicy/);
  });
});
