import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { openEngine, provision, ProvisioningError, provisioningJsonSchema, readProvisioningFile, systemClock, type Engine } from '../dist/index.js';
import { provisioningJsonSchemaText } from '../dist/provisioning/json-schema.js';
import { gatehouse } from './cli-helpers.js';
import { newEngine, oauthFailure, tempDir } from './helpers.js';

const HASHED = 'a passphrase IT hashed beforehand';
const ONE_TIME = 'a one-time password for first sign-in';
const CHOSEN = 'the password she picked for herself';
const WRONG = 'a wrong password, long enough';
let phc: string;

beforeAll(() => {
  const run = gatehouse(['hash-password'], { input: HASHED });
  expect(run.status).toBe(0);
  phc = run.stdout.trim();
});

/** Version 1 of a small installation; `over` replaces top-level parts. */
function fileV1(over: Record<string, unknown> = {}) {
  return {
    $schema: './provisioning.schema.json',
    version: 1,
    scopes: ['admin', 'records:read', 'records:write'],
    users: [
      { username: 'alice', displayName: 'Alice A', scope: ['records:read'], password: { oneTime: ONE_TIME } },
      { username: 'bob', scope: ['records:read', 'records:write'], password: { hash: phc } },
      { username: 'carol', scope: ['records:read'], password: { hash: phc } },
    ],
    clients: [{ id: 'desktop', scope: ['admin', 'records:read', 'records:write'] }],
    policy: { lockout: { freeFailures: 3 } },
    app: { helpdeskText: 'Call extension 4357.' },
    ...over,
  };
}

function signIn(engine: Engine, username: string, password: string) {
  return engine.token({ grant_type: 'password', client_id: 'desktop', username, password });
}

/** Every row of every table, as text: equal dumps mean equal database content. */
function dump(path: string, tables?: readonly string[]): string {
  const db = new Database(path, { readonly: true, fileMustExist: true });
  try {
    const names = tables ?? (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").pluck().all() as string[]);
    return JSON.stringify(
      names.map((name) => [name, db.prepare(`SELECT * FROM "${name}" ORDER BY rowid`).all()]),
      (_key, value: unknown) => (value instanceof Buffer ? value.toString('hex') : value),
    );
  } finally {
    db.close();
  }
}

/** One user's row, straight from the file. */
function userRow(path: string, username: string): unknown {
  const db = new Database(path, { readonly: true, fileMustExist: true });
  try {
    return db.prepare('SELECT * FROM users WHERE username = ?').get(username);
  } finally {
    db.close();
  }
}

function auditTypes(engine: Engine): string[] {
  return engine.auditLog().map((event) => event.type);
}

describe('provision(engine, file)', () => {
  it('creates users (a PHC password signs in, a one-time password must be changed), clients, policy and app settings', async () => {
    const { engine } = await newEngine();
    const result = await provision(engine, fileV1());
    expect(result).toEqual({
      version: 1,
      status: 'applied',
      dryRun: false,
      changes: [
        { kind: 'user', name: 'alice', action: 'add', fields: ['profile', 'password'] },
        { kind: 'user', name: 'bob', action: 'add', fields: ['profile', 'password'] },
        { kind: 'user', name: 'carol', action: 'add', fields: ['profile', 'password'] },
        { kind: 'client', name: 'desktop', action: 'add' },
        { kind: 'policy', action: 'set' },
        { kind: 'app', action: 'set' },
        { kind: 'scopes', action: 'set' },
      ],
    });
    expect(engine.users.get('alice')).toMatchObject({ displayName: 'Alice A', scope: ['records:read'], mustChangePassword: true, disabled: false });
    expect((await signIn(engine, 'bob', HASHED)).access_token).toMatch(/^v4\.public\./);
    expect((await oauthFailure(signIn(engine, 'alice', ONE_TIME))).code).toBe('password_change_required');
    await engine.changePassword({ client_id: 'desktop', username: 'alice', password: ONE_TIME, new_password: CHOSEN });
    expect((await signIn(engine, 'alice', CHOSEN)).scope).toBe('records:read');
    expect(engine.clients.get('desktop')).toMatchObject({ confidential: false, grants: ['password', 'refresh_token'] });
    expect(engine.policy.lockout.freeFailures).toBe(3);
    expect(engine.provisionedAppSettings()).toEqual({ helpdeskText: 'Call extension 4357.' });
    expect(engine.provisionedVersion()).toMatchObject({ version: 1 });
    expect(auditTypes(engine)).toEqual(
      expect.arrayContaining(['provision.user_added', 'provision.client_added', 'provision.policy_set', 'provision.app_set', 'provision.scopes_set', 'provision.applied']),
    );
  });

  it('changes nothing when the same file is applied again: no change, identical rows, no audit event', async () => {
    const { engine, path } = await newEngine();
    await provision(engine, fileV1());
    const before = dump(path);
    const again = await provision(engine, fileV1());
    expect(again).toEqual({ version: 1, status: 'unchanged', dryRun: false, changes: [] });
    // Key order and the $schema line do not make another file.
    const { $schema: _schema, ...reordered } = fileV1();
    expect((await provision(engine, Object.fromEntries(Object.entries(reordered).reverse()))).status).toBe('unchanged');
    expect(dump(path)).toBe(before);
  });

  it('applies only what a newer version changed, keeps passwords users chose, and disables users no longer listed', async () => {
    const { engine, path } = await newEngine();
    await provision(engine, fileV1());
    await engine.changePassword({ client_id: 'desktop', username: 'alice', password: ONE_TIME, new_password: CHOSEN });
    const bobSession = await signIn(engine, 'bob', HASHED);
    const carolSession = await signIn(engine, 'carol', HASHED);
    const revoked: string[] = [];
    engine.on('revocation', (list) => revoked.push(...list.map((r) => r.value)));
    const bobRow = () => userRow(path, 'bob');
    const bobBefore = bobRow();

    const v2 = fileV1({
      version: 2,
      users: [
        // Alice: same password entry, a new scope. Bob: unchanged. Carol: gone. Dave: new.
        { username: 'alice', displayName: 'Alice A', scope: ['records:read', 'records:write'], password: { oneTime: ONE_TIME } },
        { username: 'bob', scope: ['records:read', 'records:write'], password: { hash: phc } },
        { username: 'dave', scope: [], password: { oneTime: ONE_TIME } },
      ],
      policy: { lockout: { freeFailures: 2 } },
    });
    const result = await provision(engine, v2);
    expect(result.changes).toEqual([
      { kind: 'user', name: 'alice', action: 'update', fields: ['profile'] },
      { kind: 'user', name: 'dave', action: 'add', fields: ['profile', 'password'] },
      { kind: 'user', name: 'carol', action: 'disable' },
      { kind: 'policy', action: 'set' },
    ]);
    expect((await signIn(engine, 'alice', CHOSEN)).scope).toBe('records:read records:write');
    expect(bobRow()).toEqual(bobBefore);
    await expect(engine.verifyAccessToken(bobSession.access_token)).resolves.toMatchObject({ username: 'bob' });
    expect(engine.users.get('carol').disabled).toBe(true);
    expect((await engine.introspectAccessToken(carolSession.access_token)).active).toBe(false);
    expect(revoked).toHaveLength(1);
    expect(engine.policy.lockout.freeFailures).toBe(2);

    // A changed password entry sets the password again, ends sessions and asks for a change.
    const v3 = { ...v2, version: 3, users: v2.users.map((u) => (u.username === 'alice' ? { ...u, password: { oneTime: `${ONE_TIME} again` } } : u)) };
    expect((await provision(engine, v3)).changes).toEqual([{ kind: 'user', name: 'alice', action: 'update', fields: ['password'] }]);
    expect((await oauthFailure(signIn(engine, 'alice', `${ONE_TIME} again`))).code).toBe('password_change_required');
    expect((await oauthFailure(signIn(engine, 'alice', CHOSEN))).code).toBe('invalid_grant');
  });

  it('registers, updates and removes clients; a confidential one authenticates with the secret whose SHA-256 the file gives', async () => {
    const { engine } = await newEngine();
    const secret = randomBytes(32).toString('base64url');
    const secretSha256 = createHash('sha256').update(secret).digest('hex');
    const clients = [
      { id: 'desktop', scope: ['admin', 'records:read', 'records:write'] },
      { id: 'reports', secretSha256, scope: ['records:read'], grants: [] },
      { id: 'legacy', scope: ['records:read'] },
    ];
    await provision(engine, fileV1({ clients }));
    const { access_token } = await signIn(engine, 'bob', HASHED);
    expect(await engine.introspect({ token: access_token }, { clientId: 'reports', clientSecret: secret })).toMatchObject({ active: true, username: 'bob' });
    await expect(engine.introspect({ token: access_token }, { clientId: 'reports', clientSecret: `${secret}x` })).rejects.toMatchObject({ code: 'invalid_client' });
    const legacy = await engine.token({ grant_type: 'password', client_id: 'legacy', username: 'bob', password: HASHED });

    const v2 = fileV1({ version: 2, clients: [clients[0], { ...clients[1], scope: ['records:read', 'records:write'] }] });
    expect((await provision(engine, v2)).changes).toEqual([
      { kind: 'client', name: 'reports', action: 'update' },
      { kind: 'client', name: 'legacy', action: 'remove' },
    ]);
    expect(engine.clients.get('reports')).toMatchObject({ confidential: true, scope: ['records:read', 'records:write'], grants: [] });
    expect(engine.clients.list().map((c) => c.id)).toEqual(['desktop', 'reports']);
    await expect(engine.verifyAccessToken(legacy.access_token)).rejects.toMatchObject({ code: 'revoked' });
    expect(auditTypes(engine)).toEqual(expect.arrayContaining(['provision.client_updated', 'provision.client_removed']));
  });

  it('takes over an account that exists but was not provisioned', async () => {
    const { engine } = await newEngine();
    await engine.users.add({ username: 'Bob', password: 'a password he had before this file', scope: ['admin'] });
    const result = await provision(engine, fileV1());
    expect(result.changes[1]).toEqual({ kind: 'user', name: 'bob', action: 'update', fields: ['profile', 'password'] });
    expect(engine.users.get('bob')).toMatchObject({ scope: ['records:read', 'records:write'], mustChangePassword: false });
    expect((await signIn(engine, 'bob', HASHED)).scope).toBe('records:read records:write');
  });

  it('refuses an older version, and the same version with other content, changing nothing', async () => {
    const { engine, path } = await newEngine();
    await provision(engine, fileV1({ version: 5 }));
    const before = dump(path);
    await expect(provision(engine, fileV1({ version: 4 }))).rejects.toMatchObject({
      name: 'ProvisioningError',
      problems: ['version: 4 is older than version 5, which was applied already'],
    });
    await expect(provision(engine, fileV1({ version: 5, app: {} }))).rejects.toMatchObject({
      problems: ['version: version 5 was applied already with other content: give this file a higher version'],
    });
    expect(dump(path)).toBe(before);
  });

  it('refuses an invalid file whole, listing every problem with its JSON path, and leaves the database as it was', async () => {
    const { engine, path } = await newEngine();
    await provision(engine, fileV1());
    const before = dump(path);
    const bad = fileV1({
      version: 2,
      users: [
        { username: 'alice', password: { oneTime: 'short' } },
        { username: 'ALICE', scope: ['records:delete'], password: { hash: '$argon2id$v=19$m=8,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA' } },
        { username: 'erin', password: {} },
        { username: 'frank', password: { hash: phc, oneTime: ONE_TIME } },
        { username: ' spaced ', password: { hash: phc } },
      ],
      clients: [{ id: 'desktop', grants: ['implicit'] }, { id: 'tool', secretSha256: 'not hex' }],
      policy: { accessTokenTtlSeconds: 5, password: { minLength: 8 }, lockout: { freeFailures: 50 } },
      app: { helpdeskText: 'ok', dataDirectory: '/elsewhere' },
      unknown: true,
    });
    const error = await provision(engine, bad).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ProvisioningError);
    expect([...(error as ProvisioningError).problems].sort()).toEqual(
      [
        '(file): Unrecognized key: "unknown"',
        'app: Unrecognized key: "dataDirectory"',
        'clients[0].grants[0]: Invalid option: expected one of "password"|"refresh_token"',
        'clients[1].secretSha256: must be 64 lowercase hex digits',
        'policy.accessTokenTtlSeconds: must be a whole number from 30 to 3600, got 5.',
        'policy.password.minLength: must be a whole number from 15 to 64, got 8.',
        'policy.lockout.freeFailures: must be a whole number from 1 to 20, got 50.',
        'users[1].password.hash: must be an argon2id PHC string with m=19456..77824, t=2..8, p=1..4 (make one with: gatehouse hash-password)',
        'users[1].scope[0]: "records:delete" is not among the file\'s scopes',
        'users[1].username: "ALICE" is the same account as users[0]',
        'users[2].password: give exactly one of "hash" and "oneTime"',
        'users[3].password: give exactly one of "hash" and "oneTime"',
        'users[4].username: A username must be 1 to 64 characters, without control characters or surrounding spaces.',
      ].sort(),
    );
    expect(dump(path)).toBe(before);

    // With a valid policy, a one-time password is checked against it too.
    const weak = await provision(engine, fileV1({ version: 2, users: [{ username: 'alice', password: { oneTime: 'short' } }] })).catch((e: ProvisioningError) => e);
    expect((weak as ProvisioningError).problems).toEqual([expect.stringMatching(/^users\[0\]\.password\.oneTime: .*15/)]);
    expect(dump(path)).toBe(before);
  });

  it('reports what a dry run would do without changing anything', async () => {
    const { engine, path } = await newEngine();
    const before = dump(path);
    const result = await provision(engine, fileV1(), { dryRun: true });
    expect(result).toMatchObject({ status: 'applied', dryRun: true });
    expect(result.changes).toHaveLength(7);
    expect(dump(path)).toBe(before);
  });
});

describe('provisioned policy', () => {
  it('decides sign-ins at once, also in a second engine already open on the file, under each engine’s own options', async () => {
    const { engine: first, path } = await newEngine({ clock: systemClock });
    const second = await openEngine({ path, hashWorkers: 1 });
    const overriding = await openEngine({ path, hashWorkers: 1, policy: { lockout: { freeFailures: 4 } } });
    try {
      await provision(first, fileV1({ policy: { lockout: { freeFailures: 2 }, accessTokenTtlSeconds: 120 } }));
      // The second engine notices the other connection's commit on its very next sign-in.
      expect(second.policy.lockout.freeFailures).toBe(2);
      for (let i = 0; i < 2; i++) await oauthFailure(signIn(second, 'bob', WRONG));
      expect(second.users.signInState('bob').delayedUntil).not.toBeNull();
      const refused = await oauthFailure(signIn(second, 'bob', HASHED));
      expect(refused.description).toMatch(/Try again in \d+ seconds/);
      expect((await signIn(second, 'carol', HASHED)).expires_in).toBe(120);
      // Options given to openEngine win over the provisioned policy.
      expect(overriding.policy.lockout.freeFailures).toBe(4);
      expect(overriding.policy.accessTokenTtlSeconds).toBe(120);
    } finally {
      await second.close();
      await overriding.close();
    }
  });

  it('is not applied by an engine whose own options it contradicts, which says so', async () => {
    const warnings: string[] = [];
    const onWarning = (warning: Error) => warnings.push(warning.message);
    process.on('warning', onWarning);
    try {
      // Room for 256 characters only: a provisioned maxLength of 300 cannot apply here.
      const options = { password: { maxBytes: 1024 } };
      const { engine: strict, path } = await newEngine({ policy: options });
      await provision(strict, fileV1({ policy: { password: { maxLength: 300 }, lockout: { freeFailures: 2 } } }));
      expect(strict.policy).toMatchObject({ password: { maxLength: 256, maxBytes: 1024 }, lockout: { freeFailures: 5 } });
      // Opened afterwards: it runs on its own options over the defaults.
      const later = await openEngine({ path, hashWorkers: 1, policy: options });
      expect(later.policy).toMatchObject({ password: { maxLength: 256 }, lockout: { freeFailures: 5 } });
      // Without those options, the provisioned policy applies.
      const plain = await openEngine({ path, hashWorkers: 1 });
      expect(plain.policy).toMatchObject({ password: { maxLength: 300 }, lockout: { freeFailures: 2 } });
      await plain.close();
      await later.close();
      await vi.waitFor(() => expect(warnings.filter((w) => w.includes('provisioned policy cannot apply'))).toHaveLength(2));
    } finally {
      process.off('warning', onWarning);
    }
  });

  it('applies a `gatehouse provision` run by another process to an engine that is running', async () => {
    const { engine, path } = await newEngine({ clock: systemClock });
    await provision(engine, fileV1());
    expect(engine.policy.lockout.freeFailures).toBe(3);
    const file = join(tempDir(), 'v2.json');
    await import('node:fs/promises').then((fs) => fs.writeFile(file, JSON.stringify(fileV1({ version: 2, policy: { lockout: { freeFailures: 2 } } }))));
    const run = gatehouse(['provision', file, '--db', path]);
    expect([run.status, run.stderr]).toEqual([0, '']);
    for (let i = 0; i < 2; i++) await oauthFailure(signIn(engine, 'bob', WRONG));
    expect(engine.users.signInState('bob')).toMatchObject({ failures: 2, delayedUntil: expect.any(Number) });
  });
});

describe('the provisioning JSON Schema and example', () => {
  it('is committed as generated from the zod schema', () => {
    const committed = readFileSync(new URL('../provisioning/provisioning.schema.json', import.meta.url), 'utf8');
    expect(committed).toBe(provisioningJsonSchemaText());
    expect(provisioningJsonSchema()).toMatchObject({ type: 'object', required: ['version'], additionalProperties: false });
  });

  it('the example file is valid and applies', async () => {
    const example = await readProvisioningFile(new URL('../provisioning/provisioning.example.json', import.meta.url).pathname);
    const { engine } = await newEngine();
    const result = await provision(engine, example);
    expect(result.status).toBe('applied');
    expect(engine.users.list().map((u) => u.username)).toEqual(['bob', 'it-admin', 'temp-contractor']);
  });
});
