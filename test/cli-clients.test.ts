import { describe, expect, it } from 'vitest';
import type { ClientInfo, Engine, PublishedKey, SessionInfo } from '../dist/index.js';
import { dbPath, expectRevoked, failure, gatehouse, isoSecond, ok, recorder, tableRows, withLibrary } from './cli-helpers.js';
import { FakeClock, oauthFailure, PASSWORD, SECRET } from './helpers.js';

const CLIENT_COLUMNS = ['ID', 'TYPE', 'GRANTS', 'SCOPE', 'CREATED'];
const SESSION_COLUMNS = ['ID', 'USER', 'CLIENT', 'CREATED', 'LAST USED', 'EXPIRES', 'STATE'];

describe('gatehouse clients', () => {
  it('registers public and confidential clients; a generated secret is shown once and works', async () => {
    const db = dbPath();
    const { run, outputs } = recorder(db);

    expect(ok(run(['clients', 'add', 'desktop', '--scope', 'records:read records:write']))).toBe(
      'Added public client "desktop" (grants: password, refresh_token; scope: records:read records:write).\n',
    );
    const tool = JSON.parse(ok(run(['clients', 'add', 'tool', '--secret-stdin', '--grants', 'password', '--scope', 'records:read', '--json'], `${SECRET}\n`)));
    expect(tool).toEqual({ id: 'tool', confidential: true, scope: ['records:read'], grants: ['password'], createdAt: expect.any(Number) });

    const generated = ok(run(['clients', 'add', 'records-service', '--generate-secret', '--grants', '']));
    const [summary, secretLine, ...rest] = generated.split('\n');
    expect([summary, rest]).toEqual(['Added confidential client "records-service" (grants: -; scope: -).', ['']]);
    const serviceSecret = /^Its secret, shown only this once: ([A-Za-z0-9_-]{43})$/.exec(secretLine!)![1]!;
    const gen = JSON.parse(ok(run(['clients', 'add', 'gen', '--generate-secret', '--grants', 'refresh_token, password', '--scope', 'records:read', '--json'])));
    expect(gen).toMatchObject({ id: 'gen', confidential: true, grants: ['refresh_token', 'password'], secret: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/) });
    expect(Object.keys(gen).sort()).toEqual(['confidential', 'createdAt', 'grants', 'id', 'scope', 'secret']);

    const rows = tableRows(ok(run(['clients', 'list'])), CLIENT_COLUMNS);
    expect(rows.map((row) => row.slice(0, 4))).toEqual([
      ['desktop', 'public', 'password,refresh_token', 'records:read records:write'],
      ['gen', 'confidential', 'refresh_token,password', 'records:read'],
      ['records-service', 'confidential', '-', '-'],
      ['tool', 'confidential', 'password', 'records:read'],
    ]);
    expect(rows[3]![4]).toBe(isoSecond(tool.createdAt));
    const listed = JSON.parse(ok(run(['clients', 'list', '--json']))) as ClientInfo[];
    expect(listed.find((c) => c.id === 'tool')).toEqual(tool);
    // Each generated secret appeared once, where it was made; a chosen one never.
    const all = outputs.join('');
    expect(all.split(serviceSecret)).toHaveLength(2);
    expect(all.split(gen.secret)).toHaveLength(2);
    expect(all).not.toContain(SECRET);

    ok(gatehouse(['users', 'add', 'alice', '--scope', 'records:read', '--password-stdin', '--db', db], { input: PASSWORD }));
    await withLibrary(db, async (engine) => {
      const password = { grant_type: 'password' as const, username: 'alice', password: PASSWORD };
      await expect(engine.token({ ...password, client_id: 'tool', client_secret: SECRET })).resolves.toMatchObject({ scope: 'records:read' });
      const signedIn = await engine.token({ ...password, client_id: 'gen', client_secret: gen.secret });
      expect((await oauthFailure(engine.token({ ...password, client_id: 'gen', client_secret: serviceSecret }))).code).toBe('invalid_client');
      // The introspection-only client authenticates with its generated secret, and can get no tokens.
      const described = await engine.introspect({ token: signedIn.access_token, client_id: 'records-service', client_secret: serviceSecret });
      expect(described).toMatchObject({ active: true, username: 'alice', client_id: 'gen' });
      const noGrant = engine.token({ ...password, client_id: 'records-service', client_secret: serviceSecret });
      expect((await oauthFailure(noGrant)).code).toBe('unauthorized_client');

      // Removing a client ends its sessions at once, in the engine already open.
      expect(ok(run(['clients', 'remove', 'gen']))).toBe('Removed client "gen" and ended its sessions.\n');
      await expectRevoked(engine, signedIn.access_token);
    });
    expect(JSON.parse(ok(run(['clients', 'remove', 'tool', '--json'])))).toEqual({ id: 'tool', removed: true });
    expect(JSON.parse(ok(run(['clients', 'list', '--json']))).map((c: ClientInfo) => c.id)).toEqual(['desktop', 'records-service']);

    expect(failure(run(['clients', 'remove', 'tool']), 1)).toBe('No client is registered as "tool".');
    expect(failure(run(['clients', 'add', 'desktop']), 1)).toBe('A client "desktop" already exists.');
    expect(failure(run(['clients', 'add', 'weak', '--secret-stdin'], 'too short\n'), 1)).toBe('A client secret must be at least 32 characters.');
    expect(failure(run(['clients', 'add', 'bad id']), 1)).toBe('A client id must be 1 to 128 visible ASCII characters.');
    ok(run(['clients', 'remove', 'desktop']));
    ok(run(['clients', 'remove', 'records-service']));
    expect(ok(run(['clients', 'list']))).toBe('No clients.\n');
  });
});

describe('gatehouse keys list', () => {
  it('lists the public keys a running engine recorded, and never makes one itself', async () => {
    const db = dbPath();
    ok(gatehouse(['clients', 'add', 'desktop', '--db', db]));
    expect(ok(gatehouse(['keys', 'list', '--db', db]))).toBe('No signing keys (a running server or app records its public keys here).\n');
    expect(ok(gatehouse(['keys', 'list', '--json', '--db', db]))).toBe('[]\n');

    await withLibrary(db, async (engine) => {
      const keys = await engine.rotateSigningKey(); // the key made at open, now retiring, and a new one
      expect(keys.map((k) => k.status)).toEqual(['active', 'retiring']);
      const rows = tableRows(ok(gatehouse(['keys', 'list', '--db', db])), ['PID', 'STATUS', 'VERIFY UNTIL']);
      expect(rows).toEqual(keys.map((k) => [k.pid, k.status, isoSecond(k.verifyUntil)]));
      expect(JSON.parse(ok(gatehouse(['keys', 'list', '--json', '--db', db]))) as PublishedKey[]).toEqual(keys);
    });
  });
});

describe('gatehouse sessions', () => {
  it('lists sessions made through the library, and revoke ends one at once', async () => {
    const db = dbPath();
    const signIn = (engine: Engine, username: string) =>
      engine.token({ grant_type: 'password', client_id: 'desktop', username, password: PASSWORD });

    // The database's history begins ten days ago, so bob's session, begun then, has passed its
    // absolute deadline (seven days by default). Time in a database never runs backwards, so
    // this has to come first.
    await withLibrary(
      db,
      async (engine) => {
        for (const username of ['alice', 'bob']) await engine.users.add({ username, password: PASSWORD, scope: ['records:read'] });
        engine.clients.add({ id: 'desktop', secret: 'none', scope: ['records:read'] });
        await signIn(engine, 'bob');
      },
      new FakeClock(Date.now() - 10 * 86_400_000),
    );
    await withLibrary(db, async (engine) => {
      const first = await signIn(engine, 'alice');
      const second = await signIn(engine, 'alice');
      const sessions = engine.sessions.list();
      expect(sessions).toHaveLength(3);
      const sid = (await engine.verifyAccessToken(first.access_token)).sid;

      const rows = tableRows(ok(gatehouse(['sessions', 'list', '--db', db])), SESSION_COLUMNS);
      expect(rows).toEqual(
        sessions.map((s) => [s.id, s.username, 'desktop', isoSecond(s.createdAt), isoSecond(s.lastUsedAt), isoSecond(s.expiresAt), s.username === 'bob' ? 'expired' : 'active']),
      );
      expect(JSON.parse(ok(gatehouse(['sessions', 'list', '--json', '--db', db]))) as SessionInfo[]).toEqual(sessions);
      const alices = tableRows(ok(gatehouse(['sessions', 'list', 'ALICE', '--db', db])), SESSION_COLUMNS);
      expect(alices.map((row) => row[1])).toEqual(['alice', 'alice']);

      expect(ok(gatehouse(['sessions', 'revoke', sid, '--db', db]))).toBe(`Revoked session ${sid}.\n`);
      const refresh = engine.token({ grant_type: 'refresh_token', client_id: 'desktop', refresh_token: first.refresh_token! });
      expect((await oauthFailure(refresh)).code).toBe('invalid_grant');
      await expectRevoked(engine, first.access_token);
      await expect(engine.verifyAccessToken(second.access_token)).resolves.toMatchObject({ username: 'alice' });

      const after = tableRows(ok(gatehouse(['sessions', 'list', 'alice', '--db', db])), SESSION_COLUMNS);
      expect(after.find((row) => row[0] === sid)![6]).toBe('ended (admin_revoked)');
      const secondSid = (await engine.verifyAccessToken(second.access_token)).sid;
      expect(JSON.parse(ok(gatehouse(['sessions', 'revoke', secondSid, '--json', '--db', db])))).toEqual({ id: secondSid, revoked: true });
      expect(engine.sessions.list('alice').map((s) => s.revokedReason)).toEqual(['admin_revoked', 'admin_revoked']);
    });

    expect(failure(gatehouse(['sessions', 'revoke', 'no-such-session', '--db', db]), 1)).toBe('No session has the id "no-such-session".');
    expect(failure(gatehouse(['sessions', 'list', 'nobody', '--db', db]), 1)).toBe('No user is named "nobody".');
    ok(gatehouse(['users', 'remove', 'alice', '--db', db]));
    ok(gatehouse(['users', 'remove', 'bob', '--db', db]));
    expect(ok(gatehouse(['sessions', 'list', '--db', db]))).toBe('No sessions.\n');
  });
});
