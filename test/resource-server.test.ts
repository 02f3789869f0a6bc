import { readFileSync, statSync } from 'node:fs';
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { openEngine, type Engine, type RecordItem, type RecordPage } from '../dist/index.js';
import { BearerGuard } from '../dist/resource/index.js';
import { RecordStore } from '../dist/resource/records.js';
import { startResourceServer, type ResourceServer } from '../dist/resource/server.js';
import { rawRequest } from './serve-process.js';
import { PASSWORD, seeded, tempDir } from './helpers.js';

// The resource service in-process: a real guard holding a real engine's snapshot, a real records
// file, the HTTP server on 127.0.0.1, and tokens from the password grant.

const APP = 'app://gatehouse';

interface Answer {
  status: number;
  headers: Headers;
  body: any;
}

async function service(options: { loadSnapshot?: boolean } = {}) {
  const opened = await seeded();
  const { engine, clock } = opened;
  await engine.users.add({ username: 'Bob', password: PASSWORD, scope: ['records:read', 'records:write'] });
  const guard = new BearerGuard({ issuer: engine.issuer, audience: engine.audience, clock });
  if (options.loadSnapshot !== false) guard.loadSnapshot(snapshotOf(engine));
  engine.on('revocation', (revocations) => guard.addRevocations(revocations));
  const path = join(tempDir(), 'data.db');
  const records = await RecordStore.open(path, { clock });
  const logged: string[] = [];
  const server = await startResourceServer({ port: 0, guard, records, allowedOrigins: [APP], log: (line) => logged.push(line) });
  onTestFinished(async () => {
    await server.close();
    records.close();
  });
  return { ...opened, authPath: opened.path, guard, records, server, path, logged };
}

function snapshotOf(engine: Engine) {
  return { issuer: engine.issuer, audience: engine.audience, keys: engine.publishedKeys(), revocations: engine.revocations() };
}

async function tokenFor(engine: Engine, username: string, scope?: string): Promise<string> {
  const issued = await engine.token({ grant_type: 'password', client_id: 'desktop', username, password: PASSWORD, ...(scope === undefined ? {} : { scope }) });
  return issued.access_token;
}

async function call(server: ResourceServer, method: string, path: string, options: { token?: string; json?: unknown; headers?: Record<string, string>; body?: string } = {}): Promise<Answer> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.token !== undefined) headers.Authorization = `Bearer ${options.token}`;
  let body = options.body;
  if (options.json !== undefined) {
    body = JSON.stringify(options.json);
    headers['Content-Type'] ??= 'application/json';
  }
  const response = await fetch(`${server.url}${path}`, { method, headers, ...(body === undefined ? {} : { body }) });
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: text === '' ? undefined : JSON.parse(text) };
}

function expectError(answer: Answer, status: number, error: string, description?: string | RegExp): void {
  expect(answer.status).toBe(status);
  expect(Object.keys(answer.body).sort()).toEqual(['error', 'error_description']);
  expect(answer.body.error).toBe(error);
  if (description !== undefined) expect(answer.body.error_description).toMatch(description);
  expect(answer.headers.get('content-type')).toBe('application/json');
}

describe('the records API', () => {
  it('creates, reads, changes and deletes a record of the token\'s subject', async () => {
    const { engine, server, clock } = await service();
    const token = await tokenFor(engine, 'Alice');
    const created = await call(server, 'POST', '/api/records', { token, json: { title: 'First', body: 'Hello' } });
    expect(created.status).toBe(201);
    const record = created.body as RecordItem;
    const alice = (await engine.verifyAccessToken(token)).sub;
    expect(record).toEqual({ id: expect.any(String), title: 'First', body: 'Hello', owner: alice, createdAt: clock.ms, updatedAt: clock.ms });
    expect(created.headers.get('location')).toBe(`/api/records/${record.id}`);
    expect(created.headers.get('cache-control')).toBe('no-store');

    expect(await call(server, 'GET', `/api/records/${record.id}`, { token })).toMatchObject({ status: 200, body: record });
    clock.advance(5);
    const changed = await call(server, 'PATCH', `/api/records/${record.id}`, { token, json: { body: 'Hello again' } });
    expect(changed).toMatchObject({ status: 200, body: { ...record, body: 'Hello again', updatedAt: clock.ms } });
    const retitled = await call(server, 'PATCH', `/api/records/${record.id}`, { token, json: { title: 'Renamed' } });
    expect(retitled.body).toMatchObject({ title: 'Renamed', body: 'Hello again', createdAt: record.createdAt });

    const deleted = await call(server, 'DELETE', `/api/records/${record.id}`, { token });
    expect(deleted.status).toBe(204);
    expect(deleted.body).toBeUndefined();
    expectError(await call(server, 'GET', `/api/records/${record.id}`, { token }), 404, 'not_found', 'There is no such record.');
    expectError(await call(server, 'DELETE', `/api/records/${record.id}`, { token }), 404, 'not_found');
    expectError(await call(server, 'PATCH', `/api/records/${record.id}`, { token, json: { title: 'x' } }), 404, 'not_found');
  });

  it('pages the caller\'s own records newest first with opaque cursors', async () => {
    const { engine, server } = await service();
    const alice = await tokenFor(engine, 'Alice');
    const bob = await tokenFor(engine, 'Bob');
    const titles: string[] = [];
    for (let i = 1; i <= 7; i++) {
      titles.push(`Record ${i}`);
      await call(server, 'POST', '/api/records', { token: alice, json: { title: `Record ${i}`, body: '' } });
    }
    await call(server, 'POST', '/api/records', { token: bob, json: { title: 'Bob\'s', body: '' } });
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const query: string = `?limit=3${cursor === null ? '' : `&cursor=${cursor}`}`;
      const page = await call(server, 'GET', `/api/records${query}`, { token: alice });
      expect(page.status).toBe(200);
      const body = page.body as RecordPage;
      expect(body.items.length).toBeLessThanOrEqual(3);
      seen.push(...body.items.map((item) => item.title));
      cursor = body.next;
      pages++;
    } while (cursor !== null);
    expect(pages).toBe(3);
    expect(seen).toEqual([...titles].reverse());
    // The default page holds up to 50; an empty list says so with no cursor.
    expect((await call(server, 'GET', '/api/records', { token: alice })).body.items).toHaveLength(7);
    const bobs = await call(server, 'GET', '/api/records', { token: bob });
    expect(bobs.body).toEqual({ items: [expect.objectContaining({ title: 'Bob\'s' })], next: null });
  });

  it('refuses bad paging parameters, naming them', async () => {
    const { engine, server } = await service();
    const token = await tokenFor(engine, 'Alice');
    for (const limit of ['0', '101', '-1', 'ten', '1.5', '']) {
      expectError(await call(server, 'GET', `/api/records?limit=${limit}`, { token }), 400, 'invalid_request', 'limit must be a whole number from 1 to 100.');
    }
    for (const cursor of ['abc', 'YWZ0ZXI6MA', Buffer.from('after:12x').toString('base64url')]) {
      expectError(await call(server, 'GET', `/api/records?cursor=${cursor}`, { token }), 400, 'invalid_request', /^cursor: /);
    }
    expectError(await call(server, 'GET', '/api/records?limit=2&limit=3', { token }), 400, 'invalid_request', 'The query parameter limit is repeated.');
    expectError(await call(server, 'GET', '/api/records?sort=asc', { token }), 400, 'invalid_request', 'Unknown query parameter: sort.');
  });

  it('validates record bodies, naming the field', async () => {
    const { engine, server } = await service();
    const token = await tokenFor(engine, 'Alice');
    const cases: Array<[unknown, string]> = [
      [{ body: '' }, 'title must be a string.'],
      [{ title: '', body: '' }, 'title must not be empty.'],
      [{ title: 'x'.repeat(201), body: '' }, 'title must be at most 200 characters.'],
      [{ title: 7, body: '' }, 'title must be a string.'],
      [{ title: 'x' }, 'body must be a string.'],
      [{ title: 'x', body: 'y'.repeat(64 * 1024 + 1) }, 'body must be at most 65536 bytes of UTF-8.'],
      [{ title: 'x', body: '', owner: 'someone else' }, 'Unknown field: owner.'],
      [['x'], 'The request body must be a JSON object.'],
      [null, 'The request body must be a JSON object.'],
    ];
    for (const [json, description] of cases) {
      expectError(await call(server, 'POST', '/api/records', { token, json }), 400, 'invalid_request', description);
    }
    // 200 characters are 200 characters, whatever UTF-16 makes of them; 64 KiB of body is allowed.
    const ok = await call(server, 'POST', '/api/records', { token, json: { title: '😀'.repeat(200), body: 'y'.repeat(64 * 1024) } });
    expect(ok.status).toBe(201);
    const id = (ok.body as RecordItem).id;
    expectError(await call(server, 'PATCH', `/api/records/${id}`, { token, json: {} }), 400, 'invalid_request', 'Send title, body or both.');
    expectError(await call(server, 'PATCH', `/api/records/${id}`, { token, json: { title: null } }), 400, 'invalid_request', 'title must be a string.');
    expectError(await call(server, 'PATCH', `/api/records/${id}`, { token, json: { id: 'x' } }), 400, 'invalid_request', 'Unknown field: id.');
  });

  it('answers another user\'s record 404, exactly as one that does not exist', async () => {
    const { engine, server } = await service();
    const alice = await tokenFor(engine, 'Alice');
    const bob = await tokenFor(engine, 'Bob');
    const { id } = (await call(server, 'POST', '/api/records', { token: alice, json: { title: 'Mine', body: '' } })).body as RecordItem;
    const missing = await call(server, 'GET', '/api/records/00000000-0000-4000-8000-000000000000', { token: bob });
    for (const [method, json] of [['GET', undefined], ['PATCH', { title: 'Taken' }], ['DELETE', undefined]] as const) {
      const answer = await call(server, method, `/api/records/${id}`, { token: bob, json });
      expect(answer.status).toBe(404);
      expect(answer.body).toEqual(missing.body);
    }
    expect((await call(server, 'GET', `/api/records/${id}`, { token: alice })).body.title).toBe('Mine');
  });

  it('needs records:read to read and records:write to change (403 insufficient_scope)', async () => {
    const { engine, server } = await service();
    const readOnly = await tokenFor(engine, 'Alice', 'records:read');
    const writeOnly = await tokenFor(engine, 'Alice', 'records:write');
    const created = await call(server, 'POST', '/api/records', { token: writeOnly, json: { title: 't', body: '' } });
    expect(created.status).toBe(201);
    const id = (created.body as RecordItem).id;
    for (const [method, path, json] of [['POST', '/api/records', { title: 't', body: '' }], ['PATCH', `/api/records/${id}`, { title: 'u' }], ['DELETE', `/api/records/${id}`, undefined]] as const) {
      const answer = await call(server, method, path, { token: readOnly, json });
      expectError(answer, 403, 'insufficient_scope', 'The token lacks the scope records:write.');
      expect(answer.headers.get('www-authenticate')).toBe(
        'Bearer realm="gatehouse", error="insufficient_scope", error_description="The token lacks the scope records:write.", scope="records:write"',
      );
    }
    for (const path of ['/api/records', `/api/records/${id}`]) {
      const answer = await call(server, 'GET', path, { token: writeOnly });
      expectError(answer, 403, 'insufficient_scope');
      expect(answer.headers.get('www-authenticate')).toContain('scope="records:read"');
    }
    expect((await call(server, 'GET', `/api/records/${id}`, { token: readOnly })).status).toBe(200);
  });

  it('keeps records across closing and reopening the store, in a private file of its own kind', async () => {
    const { engine, server, records, path, guard, clock, authPath } = await service();
    const token = await tokenFor(engine, 'Alice');
    const { id } = (await call(server, 'POST', '/api/records', { token, json: { title: 'Kept', body: 'safe' } })).body as RecordItem;
    await server.close();
    records.close();
    expect(statSync(path).mode & 0o777).toBe(0o600);
    const reopened = await RecordStore.open(path, { clock });
    const again = await startResourceServer({ port: 0, guard, records: reopened });
    try {
      expect((await call(again, 'GET', `/api/records/${id}`, { token })).body).toMatchObject({ title: 'Kept', body: 'safe' });
    } finally {
      await again.close();
      reopened.close();
    }
    // The auth database is not a records file, nor the other way round.
    await expect(RecordStore.open(authPath)).rejects.toMatchObject({ name: 'StoreError', code: 'foreign' });
    await expect(openEngine({ path })).rejects.toMatchObject({ name: 'StoreError', code: 'foreign' });
  });

  it('refuses a records file whose table does not match its schema version as corrupt, untouched', async () => {
    // Damage to the schema's text that SQLite's own check accepts (found by the fault suite).
    const path = join(tempDir(), 'data.db');
    (await RecordStore.open(path)).close();
    const db = new Database(path);
    db.unsafeMode(true); // lifts better-sqlite3's defensive mode, which forbids writing the schema
    db.pragma('writable_schema = ON');
    db.prepare("UPDATE sqlite_master SET sql = replace(sql, 'updated_at', 'updated_on') WHERE name = 'records'").run();
    db.close();
    const before = readFileSync(path);
    await expect(RecordStore.open(path)).rejects.toMatchObject({ name: 'StoreError', code: 'corrupt', message: expect.stringMatching(/SQLITE_ERROR: .*updated_at/) });
    expect(readFileSync(path).equals(before)).toBe(true);
  });
});

describe('GET /api/me', () => {
  it('answers who the token speaks for with any valid token', async () => {
    const { engine, server } = await service();
    const token = await tokenFor(engine, 'Alice', 'records:read');
    const claims = await engine.verifyAccessToken(token);
    const me = await call(server, 'GET', '/api/me', { token });
    expect(me).toMatchObject({ status: 200, body: { sub: claims.sub, username: 'Alice', scope: ['records:read'], exp: Date.parse(claims.exp) / 1000 } });
  });
});

describe('bearer errors on the wire (RFC 6750)', () => {
  it('answers 401 without credentials, 401 invalid_token, 400 for a malformed header or a token outside it', async () => {
    const { engine, server } = await service();
    const token = await tokenFor(engine, 'Alice');
    const none = await call(server, 'GET', '/api/records');
    expectError(none, 401, 'unauthorized', 'This request needs an access token (Authorization: Bearer).');
    expect(none.headers.get('www-authenticate')).toBe('Bearer realm="gatehouse"');
    const basic = await call(server, 'GET', '/api/me', { headers: { Authorization: 'Basic ZGVza3RvcDo=' } });
    expect(basic.headers.get('www-authenticate')).toBe('Bearer realm="gatehouse"');

    const bad = await call(server, 'GET', '/api/me', { token: `${token.slice(0, -3)}AAA` });
    expectError(bad, 401, 'invalid_token');
    expect(bad.headers.get('www-authenticate')).toBe(`Bearer realm="gatehouse", error="invalid_token", error_description="${bad.body.error_description}"`);

    const malformed = await call(server, 'GET', '/api/me', { headers: { Authorization: `Bearer ${token} ${token}` } });
    expectError(malformed, 400, 'invalid_request');
    expect(malformed.headers.get('www-authenticate')).toMatch(/^Bearer realm="gatehouse", error="invalid_request", error_description="[^"]+"$/);

    const outside = 'Send the access token in the Authorization header only, not in the URL or body.';
    for (const answer of [
      await call(server, 'GET', `/api/records?access_token=${token}`, { token }),
      await call(server, 'GET', `/api/me?access_token=${token}`),
      await call(server, 'POST', '/api/records', { token, body: `access_token=${token}&title=x`, headers: { 'Content-Type': 'application/x-www-form-urlencoded' } }),
    ]) {
      expectError(answer, 400, 'invalid_request', outside);
      expect(answer.headers.get('www-authenticate')).toBe(`Bearer realm="gatehouse", error="invalid_request", error_description="${outside}"`);
    }
  });

  it('refuses a token the moment its session is revoked', async () => {
    const { engine, server } = await service();
    const token = await tokenFor(engine, 'Alice');
    expect((await call(server, 'GET', '/api/me', { token })).status).toBe(200);
    engine.sessions.revoke((await engine.verifyAccessToken(token)).sid);
    expectError(await call(server, 'GET', '/api/me', { token }), 401, 'invalid_token', 'The token has been revoked.');
  });
});

describe('the service as a loopback listener', () => {
  it('answers 503 with Retry-After until the guard holds a snapshot', async () => {
    const { engine, server, guard } = await service({ loadSnapshot: false });
    const token = await tokenFor(engine, 'Alice');
    const waiting = await call(server, 'GET', '/api/me', { token });
    expectError(waiting, 503, 'temporarily_unavailable', 'The service is starting.');
    expect(waiting.headers.get('retry-after')).toBe('1');
    guard.loadSnapshot(snapshotOf(engine));
    expect((await call(server, 'GET', '/api/me', { token })).status).toBe(200);
  });

  it('accepts only its own Host names, once, and origin-form targets', async () => {
    const { server } = await service();
    const { port } = server;
    const request = (hostLines: string, target = '/api/me') => `GET ${target} HTTP/1.1\r\n${hostLines}Connection: close\r\n\r\n`;
    for (const raw of [
      request('Host: evil.example\r\n'),
      request(`Host: evil.example:${port}\r\n`),
      request(''),
      request(`Host: 127.0.0.1:${port}\r\nHost: evil.example\r\n`),
      request(`Host: 127.0.0.1:${port}\r\n`, `http://evil.example/api/me`),
    ]) {
      const answer = await rawRequest(port, raw);
      expect(answer.status).toBe(400);
      expect(JSON.parse(answer.body).error).toBe('invalid_request');
    }
    for (const host of [`127.0.0.1:${port}`, `localhost:${port}`]) {
      expect((await rawRequest(port, request(`Host: ${host}\r\n`))).status).toBe(401);
    }
  });

  it('lets in the app\'s own origin with CORS, and refuses every other origin 403', async () => {
    const { engine, server } = await service();
    const token = await tokenFor(engine, 'Alice');
    const preflight = await call(server, 'OPTIONS', '/api/records', {
      headers: { Origin: APP, 'Access-Control-Request-Method': 'POST', 'Access-Control-Request-Headers': 'authorization, content-type' },
    });
    expect(preflight.status).toBe(204);
    expect(Object.fromEntries([...preflight.headers].filter(([name]) => name.startsWith('access-control') || name === 'vary'))).toEqual({
      'access-control-allow-origin': APP,
      'access-control-allow-methods': 'GET, POST, OPTIONS',
      'access-control-allow-headers': 'Authorization, Content-Type',
      'access-control-max-age': '600',
      'access-control-expose-headers': 'WWW-Authenticate, Location, Retry-After',
      vary: 'Origin',
    });
    const actual = await call(server, 'GET', '/api/me', { token, headers: { Origin: APP } });
    expect(actual.status).toBe(200);
    expect(actual.headers.get('access-control-allow-origin')).toBe(APP);
    expect(actual.headers.get('vary')).toBe('Origin');
    // Refusals reach the app too, so it can read why.
    const refused = await call(server, 'GET', '/api/me', { headers: { Origin: APP } });
    expect(refused.status).toBe(401);
    expect(refused.headers.get('access-control-allow-origin')).toBe(APP);

    for (const origin of ['https://evil.example', 'null', `${APP}/`, server.url]) {
      for (const method of ['OPTIONS', 'GET']) {
        const answer = await call(server, method, '/api/me', { token, headers: { Origin: origin, 'Access-Control-Request-Method': 'GET' } });
        expectError(answer, 403, 'access_denied');
        expect(answer.headers.get('access-control-allow-origin')).toBeNull();
      }
    }
    // Without an Origin (not a browser), no CORS headers at all.
    expect((await call(server, 'GET', '/api/me', { token })).headers.get('access-control-allow-origin')).toBeNull();
  });

  it('answers 404, 405 with Allow, 413, 415 and bad JSON with JSON bodies, never a stack trace', async () => {
    const { engine, server, logged } = await service();
    const token = await tokenFor(engine, 'Alice');
    expectError(await call(server, 'GET', '/api/nothing', { token }), 404, 'not_found');
    expectError(await call(server, 'GET', '/api/records/a/b', { token }), 404, 'not_found');
    const wrongMethod = await call(server, 'PUT', '/api/records', { token, json: {} });
    expectError(wrongMethod, 405, 'method_not_allowed');
    expect(wrongMethod.headers.get('allow')).toBe('GET, POST');
    expect((await call(server, 'POST', '/api/me', { token })).headers.get('allow')).toBe('GET');

    const huge = { title: 'x', body: 'y'.repeat(300 * 1024) };
    expectError(await call(server, 'POST', '/api/records', { token, json: huge }), 413, 'invalid_request', 'The request body is larger than 262144 bytes.');
    expectError(await call(server, 'POST', '/api/records', { token, json: { title: 'x', body: '' }, headers: { 'Content-Type': 'text/plain' } }), 415, 'invalid_request');
    expectError(await call(server, 'POST', '/api/records', { token, body: 'title=x', headers: { 'Content-Type': 'application/x-www-form-urlencoded' } }), 415, 'invalid_request');
    expectError(await call(server, 'PATCH', '/api/records/x', { token, body: '{"title":"x"}' }), 415, 'invalid_request');
    for (const body of ['{"title":', '', 'nul']) {
      expectError(await call(server, 'POST', '/api/records', { token, body, headers: { 'Content-Type': 'application/json' } }), 400, 'invalid_request', 'The request body is not valid JSON (UTF-8).');
    }
    const notUtf8 = await fetch(`${server.url}/api/records`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json; charset=utf-8' },
      body: Buffer.from([0x7b, 0x22, 0xff, 0x22, 0x7d]),
    });
    expect(notUtf8.status).toBe(400);
    // A path starting with `//` is a path, not a host name: 404, never a 500 or another route.
    for (const path of ['//', '//evil.example/api/me', '//api/me']) expectError(await call(server, 'GET', path, { token }), 404, 'not_found');
    const answer = await rawRequest(server.port, `GARBAGE\r\n\r\n`);
    expect(answer.status).toBe(400);
    expect(JSON.parse(answer.body).error).toBe('invalid_request');
    expect(logged).toEqual([]);
  });
});
