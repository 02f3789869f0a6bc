import Database from 'better-sqlite3';
import { join } from 'node:path';
import * as oidc from 'openid-client';
import { ResourceOwnerPassword } from 'simple-oauth2';
import { beforeAll, describe, expect, it } from 'vitest';
import { k4PublicKeyId, openEngine } from '../dist/index.js';
import { PASSWORD, SECRET } from './helpers.js';
import { fileTempDir, rawRequest, rawRequests, startServe, type RawResponse, type Served } from './serve-process.js';

// One `gatehouse serve` for the whole file, started as a child process on an ephemeral port, on a
// database seeded beforehand through the engine library.
const SERVICE_SECRET = 'the-records-service-secret-of-40-chars!!';
// RFC 6749 §2.3.1: Basic credentials are form-urlencoded first; this id and secret need it.
const ODD_ID = 'odd:tool';
const ODD_SECRET = 'secret with spaces, colons: and + plus signs!!';

let served: Served;
let db: string;

beforeAll(async () => {
  db = join(fileTempDir(), 'g.db');
  const engine = await openEngine({ path: db, hashWorkers: 1 });
  engine.clients.add({ id: 'tool', secret: { value: SECRET }, scope: ['records:read', 'records:write'] });
  engine.clients.add({ id: ODD_ID, secret: { value: ODD_SECRET }, scope: ['records:read'] });
  engine.clients.add({ id: 'records-service', secret: { value: SERVICE_SECRET }, grants: [] });
  await engine.users.add({ username: 'alice', password: PASSWORD, scope: ['records:read', 'records:write'] });
  await engine.users.add({ username: 'carol', password: PASSWORD, scope: ['records:read'], mustChangePassword: true });
  await engine.close();
  served = await startServe(['--db', db, '--port', '0']);
});

interface Answer {
  status: number;
  headers: Headers;
  text: string;
}

async function post(path: string, form: ReadonlyArray<[string, string]> | string, headers: Record<string, string> = {}): Promise<Answer> {
  const body = typeof form === 'string' ? form : new URLSearchParams([...form]);
  const response = await fetch(`${served.url}${path}`, { method: 'POST', body, headers });
  return { status: response.status, headers: response.headers, text: await response.text() };
}

async function get(path: string, init: RequestInit = {}): Promise<Answer> {
  const response = await fetch(`${served.url}${path}`, init);
  return { status: response.status, headers: response.headers, text: await response.text() };
}

const basic = (id: string, secret: string) => ({
  Authorization: `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64')}`,
});

/** Every error: the status, a JSON {error, error_description} body, not cached, no stack trace. */
function expectError(answer: Answer | RawResponse, status: number, code: string): Record<string, unknown> {
  const header = (name: string) => (answer.headers instanceof Headers ? answer.headers.get(name) : answer.headers[name]);
  const text = 'text' in answer ? answer.text : answer.body;
  expect(answer.status, text).toBe(status);
  expect(header('content-type')).toBe('application/json');
  expect(header('cache-control')).toBe('no-store');
  const body = JSON.parse(text) as Record<string, unknown>;
  expect(body.error).toBe(code);
  expect(body.error_description).toEqual(expect.stringMatching(/\S/));
  expect(text).not.toMatch(/\bat .+:\d+:\d+/);
  return body;
}

/** The server answers normally (after a refusal, it must still be serving). */
async function expectServing(): Promise<void> {
  const answer = await get('/keys');
  expect(answer.status).toBe(200);
  expect(JSON.parse(answer.text).keys.length).toBeGreaterThan(0);
}

function discover(clientId: string, auth: oidc.ClientAuth): Promise<oidc.Configuration> {
  return oidc.discovery(new URL(served.ready.issuer), clientId, undefined, auth, {
    algorithm: 'oauth2', // RFC 8414's /.well-known/oauth-authorization-server
    execute: [oidc.allowInsecureRequests], // plain http, on loopback only
  });
}

describe('metadata (RFC 8414) and keys', () => {
  it('publishes the issuer the tokens carry and where each endpoint is', async () => {
    const answer = await get('/.well-known/oauth-authorization-server');
    expect(answer.status).toBe(200);
    expect(answer.headers.get('content-type')).toBe('application/json');
    const base = served.url;
    expect(served.ready.issuer).toBe(base);
    expect(JSON.parse(answer.text)).toEqual({
      issuer: base,
      token_endpoint: `${base}/token`,
      revocation_endpoint: `${base}/revoke`,
      introspection_endpoint: `${base}/introspect`,
      grant_types_supported: ['password', 'refresh_token'],
      response_types_supported: [],
      token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post', 'none'],
      revocation_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post', 'none'],
      introspection_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post'],
      paserk_keys_uri: `${base}/keys`,
    });
    const head = await get('/.well-known/oauth-authorization-server', { method: 'HEAD' });
    expect([head.status, head.text]).toEqual([200, '']);
  });

  it('lists the public keys as PASERK k4.public with their k4.pid and status', async () => {
    const { keys } = JSON.parse((await get('/keys')).text) as { keys: Array<Record<string, string>> };
    expect(keys.length).toBeGreaterThan(0);
    for (const key of keys) {
      expect(Object.keys(key).sort()).toEqual(['paserk', 'pid', 'status']);
      expect(key.paserk).toMatch(/^k4\.public\./);
      expect(key.pid).toBe(await k4PublicKeyId(key.paserk as `k4.public.${string}`));
      expect(['active', 'retiring']).toContain(key.status);
    }
  });
});

describe('openid-client 6', () => {
  it('discovers the server, signs in with the password grant, refreshes, introspects and revokes', async () => {
    const app = await discover('gatehouse-app', oidc.None());
    expect(app.serverMetadata().token_endpoint).toBe(`${served.url}/token`);
    const signIn = await oidc.genericGrantRequest(app, 'password', { username: 'alice', password: PASSWORD, scope: 'records:read' });
    expect(signIn.token_type).toBe('bearer'); // openid-client lower-cases it
    expect(signIn.access_token).toMatch(/^v4\.public\./);
    expect(signIn.expires_in).toBe(300);

    const refreshed = await oidc.refreshTokenGrant(app, signIn.refresh_token!);
    expect(refreshed.refresh_token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(refreshed.refresh_token).not.toBe(signIn.refresh_token);

    // The token's kid is a published key.
    const footer = JSON.parse(Buffer.from(refreshed.access_token.split('.')[3]!, 'base64url').toString()) as { kid: string };
    const { keys } = JSON.parse((await get('/keys')).text) as { keys: Array<{ pid: string }> };
    expect(keys.map((k) => k.pid)).toContain(footer.kid);

    const service = await discover('records-service', oidc.ClientSecretBasic(SERVICE_SECRET));
    const info = await oidc.tokenIntrospection(service, refreshed.access_token);
    expect(info).toMatchObject({
      active: true,
      token_use: 'access_token',
      token_type: 'Bearer',
      iss: served.ready.issuer,
      username: 'alice',
      client_id: 'gatehouse-app',
      scope: 'records:read',
    });
    expect(typeof info.exp).toBe('number');
    expect(typeof info.iat).toBe('number');
    expect(info.exp! - info.iat!).toBe(300);

    // Another client may not revoke it; its own client may, which ends the session.
    const foreign = await post('/revoke', [['token', refreshed.refresh_token!]], basic('tool', SECRET));
    expectError(foreign, 400, 'unauthorized_client');
    await oidc.tokenRevocation(app, refreshed.refresh_token!);
    expect(await oidc.tokenIntrospection(service, refreshed.access_token)).toEqual({ active: false });
    await expect(oidc.refreshTokenGrant(app, refreshed.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant', status: 400 });
  });

  it('is refused introspection as a public client (401 invalid_client)', async () => {
    const app = await discover('gatehouse-app', oidc.None());
    // openid-client reports a 401 with a challenge as the challenge: Basic, from our realm.
    await expect(oidc.tokenIntrospection(app, 'v4.public.x')).rejects.toMatchObject({
      status: 401,
      cause: [{ scheme: 'basic', parameters: { realm: 'gatehouse' } }],
    });
  });
});

describe('simple-oauth2 5', () => {
  it('signs in with a confidential client over HTTP Basic (credentials form-urlencoded), refreshes and revokes', async () => {
    const client = new ResourceOwnerPassword({
      client: { id: ODD_ID, secret: ODD_SECRET },
      auth: { tokenHost: served.url, tokenPath: '/token', revokePath: '/revoke' },
      options: { authorizationMethod: 'header' },
    });
    const token = await client.getToken({ username: 'alice', password: PASSWORD });
    expect(token.token).toMatchObject({ token_type: 'Bearer', expires_in: 300, scope: 'records:read' });
    const refreshed = await token.refresh();
    expect(refreshed.token.access_token).toMatch(/^v4\.public\./);
    expect(refreshed.token.refresh_token).not.toBe(token.token.refresh_token);
    await refreshed.revoke('refresh_token');
    await expect(refreshed.refresh()).rejects.toMatchObject({
      output: { statusCode: 400 },
      data: { payload: { error: 'invalid_grant' } },
    });
  });
});

describe('RFC 6749 §5.2 errors over HTTP', () => {
  const signIn = (extra: Array<[string, string]> = []): Array<[string, string]> => [
    ['grant_type', 'password'],
    ['username', 'alice'],
    ['password', PASSWORD],
    ...extra,
  ];

  it('answers each error code with its status and headers', async () => {
    expectError(await post('/token', [['client_id', 'gatehouse-app']]), 400, 'invalid_request');
    const repeated = expectError(await post('/token', [...signIn([['client_id', 'gatehouse-app']]), ['username', 'alice']]), 400, 'invalid_request');
    expect(repeated.error_description).toContain('"username" parameter is repeated');

    for (const failed of [
      await post('/token', signIn(), basic('tool', 'not-the-secret')),
      await post('/token', signIn(), { Authorization: 'Basic !!!' }),
      await post('/token', signIn([['client_id', 'nobody']])),
      await post('/token', signIn()),
    ]) {
      expectError(failed, 401, 'invalid_client');
      expect(failed.headers.get('www-authenticate')).toBe('Basic realm="gatehouse", charset="UTF-8"');
    }

    const wrongPassword: Array<[string, string]> = [['grant_type', 'password'], ['client_id', 'gatehouse-app'], ['username', 'alice'], ['password', 'not the password at all']];
    const wrong = expectError(await post('/token', wrongPassword), 400, 'invalid_grant');
    expect(wrong.error_description).toBe('The username or password is incorrect.');
    expectError(await post('/token', signIn(), basic('records-service', SERVICE_SECRET)), 400, 'unauthorized_client');
    expectError(await post('/token', [['grant_type', 'client_credentials'], ['client_id', 'gatehouse-app']]), 400, 'unsupported_grant_type');
    expectError(await post('/token', signIn([['scope', 'admin']]), basic('tool', SECRET)), 400, 'invalid_scope');
    expectError(
      await post('/token', [['grant_type', 'password'], ['client_id', 'gatehouse-app'], ['username', 'carol'], ['password', PASSWORD]]),
      400,
      'password_change_required',
    );
    expectError(await post('/introspect', [['token', 'x'], ['client_id', 'gatehouse-app']]), 401, 'invalid_client');
  });

  it('answers a successful sign-in per §5.1, not to be cached, with client_secret_post too', async () => {
    const answer = await post('/token', signIn([['client_id', 'tool'], ['client_secret', SECRET]]), { 'Content-Type': 'application/x-www-form-urlencoded; charset="UTF-8"' });
    expect(answer.status).toBe(200);
    expect(answer.headers.get('cache-control')).toBe('no-store');
    expect(answer.headers.get('pragma')).toBe('no-cache');
    expect(answer.headers.get('content-type')).toBe('application/json');
    expect(Object.keys(JSON.parse(answer.text)).sort()).toEqual(['access_token', 'expires_in', 'refresh_token', 'scope', 'token_type']);
  });
});

describe('POST /password', () => {
  it('refuses a new password against policy, saying why, and changes a must-change password', async () => {
    const change = (username: string, newPassword: string) =>
      post('/password', [['client_id', 'gatehouse-app'], ['username', username], ['password', PASSWORD], ['new_password', newPassword]]);
    const refused = expectError(await change('carol', 'too short'), 400, 'invalid_request');
    expect(refused.policy_violations).toEqual([expect.stringContaining('at least 15 characters')]);

    const changed = await change('carol', 'a brand new passphrase of hers');
    expect([changed.status, changed.text]).toEqual([204, '']);
    const signIn = await post('/token', [['grant_type', 'password'], ['client_id', 'gatehouse-app'], ['username', 'carol'], ['password', 'a brand new passphrase of hers']]);
    expect(signIn.status).toBe(200);
    expect(JSON.parse(signIn.text).scope).toBe('records:read');
  });
});

describe('refused requests', () => {
  const form = 'grant_type=password&client_id=gatehouse-app';

  it('refuses other media types and encodings with 415', async () => {
    for (const contentType of ['application/json', 'text/plain', 'application/x-www-form-urlencoded; charset=latin1', 'multipart/form-data; boundary=x']) {
      expectError(await post('/token', form, { 'Content-Type': contentType }), 415, 'invalid_request');
    }
    const none = await rawRequest(served.port, `POST /token HTTP/1.1\r\nHost: 127.0.0.1:${served.port}\r\nContent-Length: ${form.length}\r\n\r\n${form}`);
    expectError(none, 415, 'invalid_request');
    const gzip = await post('/token', form, { 'Content-Type': 'application/x-www-form-urlencoded', 'Content-Encoding': 'gzip' });
    expectError(gzip, 415, 'invalid_request');
    await expectServing();
  });

  it('refuses a body over 16 KiB with 413, declared or chunked, and takes one of 16 KiB', async () => {
    const big = `grant_type=password&client_id=gatehouse-app&username=${'a'.repeat(17 * 1024)}`;
    expectError(await post('/token', big, { 'Content-Type': 'application/x-www-form-urlencoded' }), 413, 'invalid_request');
    const chunk = 'a'.repeat(4096);
    const chunked = [
      `POST /token HTTP/1.1\r\nHost: 127.0.0.1:${served.port}\r\nContent-Type: application/x-www-form-urlencoded\r\nTransfer-Encoding: chunked\r\n\r\n`,
      ...Array.from({ length: 5 }, () => `${chunk.length.toString(16)}\r\n${chunk}\r\n`),
      '0\r\n\r\n',
    ].join('');
    expectError(await rawRequest(served.port, chunked), 413, 'invalid_request');
    const limit = `client_id=gatehouse-app&x=${'a'.repeat(16 * 1024 - 'client_id=gatehouse-app&x='.length)}`;
    expect(limit.length).toBe(16 * 1024);
    // Not refused for its size: the engine reads it, and answers what is wrong with it.
    const atLimit = expectError(await post('/token', limit, { 'Content-Type': 'application/x-www-form-urlencoded' }), 400, 'invalid_request');
    expect(atLimit.error_description).toBe('The "grant_type" parameter is missing.');
    await expectServing();
  });

  it('refuses headers over 8 KiB with 431, and requests that are not HTTP with 400, in JSON', async () => {
    const huge = `GET /keys HTTP/1.1\r\nHost: 127.0.0.1:${served.port}\r\nX-Filler: ${'a'.repeat(9000)}\r\n\r\n`;
    expectError(await rawRequest(served.port, huge), 431, 'invalid_request');
    for (const garbage of [
      'HELLO\r\n\r\n',
      `GET /keys HTTP/1.1\r\nHost: 127.0.0.1:${served.port}\r\nno colon here\r\n\r\n`,
      `POST /token HTTP/1.1\r\nHost: 127.0.0.1:${served.port}\r\nContent-Type: application/x-www-form-urlencoded\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n`,
      `POST /token HTTP/1.1\r\nHost: 127.0.0.1:${served.port}\r\nContent-Length: 5\r\nContent-Length: 7\r\n\r\nabcde`,
      `CONNECT 127.0.0.1:${served.port} HTTP/1.1\r\nHost: 127.0.0.1:${served.port}\r\n\r\n`,
    ]) {
      expectError(await rawRequest(served.port, garbage), 400, 'invalid_request');
    }
    // Also on a connection kept alive after a request that was answered.
    const keys = `GET /keys HTTP/1.1\r\nHost: 127.0.0.1:${served.port}\r\n\r\n`;
    const [first, second] = await rawRequests(served.port, [keys, 'HELLO\r\n\r\n']);
    expect(first!.status).toBe(200);
    expectError(second!, 400, 'invalid_request');
    await expectServing();
  });

  it('refuses a repeated parameter and parameters in the URL with 400', async () => {
    const repeated = await post('/revoke', [['client_id', 'gatehouse-app'], ['token', 'a'], ['token', 'b']]);
    expect(expectError(repeated, 400, 'invalid_request').error_description).toBe('The "token" parameter is repeated.');
    const inUrl = await post(`/token?password=${encodeURIComponent(PASSWORD)}`, form);
    expect(expectError(inUrl, 400, 'invalid_request').error_description).toContain('not in the URL');
    await expectServing();
  });

  it('answers an unknown path with 404 and a wrong method with 405 and Allow', async () => {
    expectError(await get('/nope'), 404, 'not_found');
    expectError(await post('/token/', form), 404, 'not_found');
    const getToken = await get('/token');
    expectError(getToken, 405, 'method_not_allowed');
    expect(getToken.headers.get('allow')).toBe('POST');
    const postKeys = await post('/keys', form);
    expectError(postKeys, 405, 'method_not_allowed');
    expect(postKeys.headers.get('allow')).toBe('GET, HEAD');
    await expectServing();
  });
});

describe('Host and Origin (DNS rebinding, cross-site requests)', () => {
  const request = (hostLines: string, target = '/keys') => `GET ${target} HTTP/1.1\r\n${hostLines}\r\n`;

  it('refuses any Host but 127.0.0.1:PORT and localhost:PORT, a missing or repeated Host, and an absolute target', async () => {
    const port = served.port;
    for (const raw of [
      request('Host: evil.example\r\n'),
      request(`Host: 127.0.0.1.evil.example:${port}\r\n`),
      request(`Host: localhost.:${port}\r\n`),
      request('Host: 127.0.0.1\r\n'),
      request(`Host: [::1]:${port}\r\n`),
      request(`Host: 127.0.0.1:${port + 1}\r\n`),
      request(`Host: 127.0.0.1:${port}\r\nHost: 127.0.0.1:${port}\r\n`),
      request(`Host: 127.0.0.1:${port}\r\nHost: evil.example\r\n`),
      request(''),
      `GET /keys HTTP/1.0\r\n\r\n`,
      `POST http://127.0.0.1:${port}/token HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 0\r\n\r\n`,
      request(`Host: 127.0.0.1:${port}\r\n`, '*'),
    ]) {
      expectError(await rawRequest(port, raw), 400, 'invalid_request');
    }
    for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, `LocalHost:${port}`]) {
      const ok = await rawRequest(port, request(`Host: ${host}\r\n`));
      expect(ok.status).toBe(200);
    }
  });

  it('refuses a repeated Authorization header', async () => {
    const body = 'grant_type=password&username=alice&password=x';
    const raw = `POST /token HTTP/1.1\r\nHost: 127.0.0.1:${served.port}\r\nContent-Type: application/x-www-form-urlencoded\r\n${Object.values(basic('tool', SECRET)).map((v) => `Authorization: ${v}\r\n`).join('').repeat(2)}Content-Length: ${body.length}\r\n\r\n${body}`;
    expect(expectError(await rawRequest(served.port, raw), 400, 'invalid_request').error_description).toContain('authorization');
  });

  it('refuses requests from web pages (any Origin) with 403, even its own origin', async () => {
    for (const origin of ['https://evil.example', 'null', served.url]) {
      expectError(await post('/token', [['grant_type', 'password'], ['client_id', 'gatehouse-app']], { Origin: origin }), 403, 'access_denied');
      expectError(await get('/keys', { headers: { Origin: origin } }), 403, 'access_denied');
    }
    await expectServing();
  });
});

describe('unexpected failures', () => {
  it('answers 500 server_error with a generic body and logs one line without secrets', async () => {
    // Another connection holds the write lock past the engine's 5 s busy timeout: SQLITE_BUSY.
    const lock = new Database(db);
    const token = 'A'.repeat(43);
    try {
      lock.exec('BEGIN IMMEDIATE');
      const before = served.stderr();
      const answer = await post('/revoke', [['client_id', 'gatehouse-app'], ['token', token]]);
      expect(expectError(answer, 500, 'server_error')).toEqual({
        error: 'server_error',
        error_description: 'The server could not complete the request.',
      });
      const logged = served.stderr().slice(before.length);
      expect(logged).toMatch(/^gatehouse: POST \/revoke: SqliteError \(SQLITE_BUSY\): .+\n$/);
      expect(logged).not.toContain(token);
    } finally {
      lock.exec('ROLLBACK');
      lock.close();
    }
    const again = await post('/revoke', [['client_id', 'gatehouse-app'], ['token', token]]);
    expect([again.status, again.text]).toEqual([200, '{}']);
  });
});
