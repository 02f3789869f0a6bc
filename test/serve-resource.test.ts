import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { generateKeys, sign } from 'paseto-ts/v4';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { k4PublicKeyId, openEngine, type RecordItem, type RecordPage, type SessionInfo, type TokenResponse } from '../dist/index.js';
import { FakeClock, PASSWORD } from './helpers.js';
import { fileTempDir, rawRequest, runGatehouse, startServe, type Served } from './serve-process.js';

// Issue 5 end to end, with real processes only: `gatehouse serve` as a child process (with the
// resource service as its child), tokens from its /token endpoint, records over HTTP at the URL of
// its ready line, and the CLI as separate processes on the same database. Nothing here sleeps or
// polls for a change to arrive: a CLI command returns once serve's resource service has applied it,
// and serve answers a request only once the resource service has applied what the request revoked.

const ISSUER = 'urn:example:gatehouse-e2e';
const SCOPES = ['records:read', 'records:write'];
const NEW_PASSWORD = 'a completely different passphrase';

interface Answer {
  status: number;
  headers: Headers;
  body: unknown;
}

/** A free loopback port, for a serve whose issuer is set with --issuer. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

async function post(served: Served, path: string, form: Record<string, string>): Promise<Answer> {
  const response = await fetch(`${served.url}${path}`, { method: 'POST', body: new URLSearchParams(form) });
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: text === '' ? undefined : JSON.parse(text) };
}

async function signIn(served: Served, username: string, password = PASSWORD, scope?: string): Promise<TokenResponse> {
  const answer = await post(served, '/token', {
    grant_type: 'password',
    client_id: 'gatehouse-app',
    username,
    password,
    ...(scope === undefined ? {} : { scope }),
  });
  expect(answer.status, JSON.stringify(answer.body)).toBe(200);
  return answer.body as TokenResponse;
}

/** A request to the resource service. */
async function api(served: Served, path: string, options: { token?: string; method?: string; json?: unknown; headers?: Record<string, string> } = {}): Promise<Answer> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.token !== undefined) headers.Authorization = `Bearer ${options.token}`;
  if (options.json !== undefined) headers['Content-Type'] = 'application/json';
  const response = await fetch(`${served.resourceUrl}${path}`, {
    method: options.method ?? 'GET',
    headers,
    ...(options.json === undefined ? {} : { body: JSON.stringify(options.json) }),
  });
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: text === '' ? undefined : JSON.parse(text) };
}

/** RFC 6750 §3: the status, the exact challenge, and the same error in the JSON body. */
function expectBearerError(answer: Answer, status: number, error: string, description: string, scope?: string): void {
  expect({ status: answer.status, body: answer.body }).toEqual({ status, body: { error, error_description: description } });
  const challenge = `Bearer realm="gatehouse", error="${error}", error_description="${description}"`;
  expect(answer.headers.get('www-authenticate')).toBe(scope === undefined ? challenge : `${challenge}, scope="${scope}"`);
}

const expectRevoked = async (served: Served, token: string) =>
  expectBearerError(await api(served, '/api/me', { token }), 401, 'invalid_token', 'The token has been revoked.');

async function expectAccepted(served: Served, token: string, username: string): Promise<void> {
  const answer = await api(served, '/api/me', { token });
  expect({ status: answer.status, username: (answer.body as { username?: string }).username }).toEqual({ status: 200, username });
}

/** The pids of a process's children. */
function childrenOf(pid: number): number[] {
  try {
    return execFileSync('pgrep', ['-P', String(pid)], { encoding: 'utf8' }).trim().split('\n').map(Number);
  } catch {
    return []; // pgrep exits 1 when there is none
  }
}

/** The one child of serve: its resource service. */
function resourcePid(served: Served): number {
  const pids = childrenOf(served.child.pid!);
  expect(pids).toHaveLength(1);
  expect(readFileSync(`/proc/${pids[0]}/cmdline`, 'utf8')).toContain('resource/service-main.js');
  return pids[0]!;
}

/** Whether the process still runs; a zombie (ended, not yet reaped by its new parent) holds nothing. */
function running(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ESRCH') return false;
    throw error;
  }
  return !/^\d+ \(.*\) Z /.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
}

/** Resolves true once the process has ended, or false if it still runs after `deadlineMs`. */
async function ended(pid: number, deadlineMs = 10_000): Promise<boolean> {
  const start = performance.now();
  while (running(pid)) {
    if (performance.now() - start > deadlineMs) return false;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return true;
}

describe('gatehouse serve with its resource service', () => {
  let served: Served;
  let db: string;
  let audience: string;
  let expiredToken: string;

  beforeAll(async () => {
    db = join(fileTempDir(), 'g.db');
    // The database is prepared through the library by an engine whose clock runs six minutes behind
    // real time: the token it issues has the 5-minute lifetime and is already expired by the real
    // time the service keeps (past the 30 s leeway), while its key, retired at close, still verifies
    // for 10 minutes of that clock, so the refusal is for the expiry alone.
    const past = await openEngine({ path: db, issuer: ISSUER, clock: new FakeClock(Date.now() - 6 * 60_000), hashWorkers: 2 });
    past.clients.add({ id: 'desktop', secret: 'none', scope: SCOPES });
    for (const username of ['alice', 'bob', 'carol', 'dave', 'erin', 'frank']) {
      await past.users.add({ username, password: PASSWORD, scope: SCOPES });
    }
    audience = past.audience;
    expiredToken = (await past.token({ grant_type: 'password', client_id: 'desktop', username: 'alice', password: PASSWORD })).access_token;
    await past.close();
    served = await startServe(['--db', db, '--port', String(await freePort()), '--issuer', ISSUER]);
  });

  afterAll(async () => {
    const exit = await served?.stop();
    expect(exit).toEqual({ code: 0, signal: null });
    expect(served.stderr()).toBe('gatehouse: stopping on SIGTERM\n');
  });

  it('prints one ready line naming the resource service, which lets a token from /token read and write records', async () => {
    expect(served.stdout()).toBe(`{"issuer":"${ISSUER}","resource":"http://127.0.0.1:${served.resourcePort}"}\n`);
    const { access_token: token, expires_in } = await signIn(served, 'alice');

    const me = await api(served, '/api/me', { token });
    expect(me.status).toBe(200);
    const { sub, exp } = me.body as { sub: string; exp: number };
    expect(me.body).toEqual({ sub, username: 'alice', scope: SCOPES, exp });
    expect(exp).toBeGreaterThan(Date.now() / 1000 + expires_in - 60);

    const created = await api(served, '/api/records', { token, method: 'POST', json: { title: 'Shopping', body: 'milk' } });
    expect(created.status).toBe(201);
    const record = created.body as RecordItem;
    expect(record).toMatchObject({ title: 'Shopping', body: 'milk', owner: sub });
    const patched = await api(served, `/api/records/${record.id}`, { token, method: 'PATCH', json: { body: 'milk, eggs' } });
    expect(patched).toMatchObject({ status: 200, body: { id: record.id, title: 'Shopping', body: 'milk, eggs' } });
    const listed = await api(served, '/api/records', { token });
    expect(listed.status).toBe(200);
    expect((listed.body as RecordPage).items.map((item) => [item.id, item.body])).toEqual([[record.id, 'milk, eggs']]);
    expect((await api(served, `/api/records/${record.id}`, { token, method: 'DELETE' })).status).toBe(204);
    expect((await api(served, `/api/records/${record.id}`, { token })).status).toBe(404);
  });

  it('refuses in RFC 6750 form: no token, a tampered one, an expired one, another audience, an unknown key, a missing scope', async () => {
    const none = await api(served, '/api/me');
    expect({ status: none.status, body: none.body }).toEqual({
      status: 401,
      body: { error: 'unauthorized', error_description: 'This request needs an access token (Authorization: Bearer).' },
    });
    expect(none.headers.get('www-authenticate')).toBe('Bearer realm="gatehouse"');

    const { access_token: token } = await signIn(served, 'bob');
    const at = 'v4.public.'.length + 20;
    const tampered = `${token.slice(0, at)}${token[at] === 'A' ? 'B' : 'A'}${token.slice(at + 1)}`;
    expectBearerError(await api(served, '/api/me', { token: tampered }), 401, 'invalid_token', 'The token signature is invalid.');

    expectBearerError(await api(served, '/api/me', { token: expiredToken }), 401, 'invalid_token', 'The token has expired.');

    // Another service's token: issued on this very database, with this issuer, for another audience.
    const elsewhere = await openEngine({ path: db, issuer: ISSUER, audience: 'urn:example:another-service', hashWorkers: 1 });
    try {
      const foreign = await elsewhere.token({ grant_type: 'password', client_id: 'desktop', username: 'bob', password: PASSWORD });
      // Any CLI command nudges serve: its resource service now has that engine's key, and judges the claims itself.
      expect((await runGatehouse(['keys', 'list', '--db', db])).code).toBe(0);
      expectBearerError(await api(served, '/api/me', { token: foreign.access_token }), 401, 'invalid_token', 'The token is meant for another audience.');
    } finally {
      await elsewhere.close();
    }

    // Signed by a key nobody published, with claims that would otherwise pass: the service asks the
    // engine, which does not know the key either.
    const stranger = generateKeys('public', { format: 'paserk' });
    const pid = await k4PublicKeyId(stranger.publicKey as `k4.public.${string}`);
    const now = Date.now();
    const claims = (await api(served, '/api/me', { token })).body as { sub: string };
    const forged = sign(
      stranger.secretKey,
      {
        iss: ISSUER,
        sub: claims.sub,
        aud: audience,
        exp: new Date(now + 60_000).toISOString(),
        iat: new Date(now).toISOString(),
        nbf: new Date(now).toISOString(),
        jti: 'f6d3a5a2-0000-4000-8000-000000000000',
        scope: SCOPES.join(' '),
        client_id: 'gatehouse-app',
        sid: 'not-a-session',
        username: 'bob',
      },
      { footer: JSON.stringify({ kid: pid }), addIat: false, addExp: false },
    );
    expectBearerError(await api(served, '/api/me', { token: forged }), 401, 'invalid_token', 'The token is not active.');

    const { access_token: readOnly } = await signIn(served, 'bob', PASSWORD, 'records:read');
    expect((await api(served, '/api/records', { token: readOnly })).status).toBe(200);
    expectBearerError(
      await api(served, '/api/records', { token: readOnly, method: 'POST', json: { title: 't', body: '' } }),
      403,
      'insufficient_scope',
      'The token lacks the scope records:write.',
      'records:write',
    );
  });

  describe('refuses the very next request after a revocation', () => {
    it('after sign-out (/revoke of the refresh token)', async () => {
      const tokens = await signIn(served, 'alice');
      await expectAccepted(served, tokens.access_token, 'alice');
      expect((await post(served, '/revoke', { client_id: 'gatehouse-app', token: tokens.refresh_token! })).status).toBe(200);
      await expectRevoked(served, tokens.access_token);
    });

    it('after a password change (/password)', async () => {
      const tokens = await signIn(served, 'carol');
      await expectAccepted(served, tokens.access_token, 'carol');
      const changed = await post(served, '/password', { client_id: 'gatehouse-app', username: 'carol', password: PASSWORD, new_password: NEW_PASSWORD });
      expect(changed.status).toBe(204);
      await expectRevoked(served, tokens.access_token);
      await expectAccepted(served, (await signIn(served, 'carol', NEW_PASSWORD)).access_token, 'carol');
    });

    it('after reuse of a refresh token is detected', async () => {
      const first = await signIn(served, 'dave');
      const refreshed = await post(served, '/token', { grant_type: 'refresh_token', client_id: 'gatehouse-app', refresh_token: first.refresh_token! });
      expect(refreshed.status).toBe(200);
      const second = refreshed.body as TokenResponse;
      await expectAccepted(served, second.access_token, 'dave');
      const replayed = await post(served, '/token', { grant_type: 'refresh_token', client_id: 'gatehouse-app', refresh_token: first.refresh_token! });
      expect([replayed.status, (replayed.body as { error: string }).error]).toEqual([400, 'invalid_grant']);
      await expectRevoked(served, second.access_token);
      await expectRevoked(served, first.access_token);
    });

    it('after `gatehouse sessions revoke ID`, run as a separate process', async () => {
      const tokens = await signIn(served, 'erin');
      await expectAccepted(served, tokens.access_token, 'erin');
      const listed = await runGatehouse(['sessions', 'list', 'erin', '--json', '--db', db]);
      const active = (JSON.parse(listed.stdout) as SessionInfo[]).filter((session) => session.revokedAt === null);
      expect(active).toHaveLength(1);
      const revoked = await runGatehouse(['sessions', 'revoke', active[0]!.id, '--db', db]);
      expect([revoked.code, revoked.stderr]).toEqual([0, '']);
      await expectRevoked(served, tokens.access_token);
    });

    it('after `gatehouse users disable NAME`, run as a separate process', async () => {
      const tokens = await signIn(served, 'frank');
      await expectAccepted(served, tokens.access_token, 'frank');
      const disabled = await runGatehouse(['users', 'disable', 'frank', '--db', db]);
      expect([disabled.code, disabled.stderr]).toEqual([0, '']);
      await expectRevoked(served, tokens.access_token);
    });
  });

  it('after a key rotation accepts tokens of the old key and of the new one', async () => {
    const fromServe = await signIn(served, 'alice');
    // A second engine on the same database (as a second app instance would be) signs with a key of
    // its own, rotates it, and signs with the next: serve's engine records and forwards both.
    const other = await openEngine({ path: db, issuer: ISSUER, hashWorkers: 1 });
    try {
      const signInThere = () => other.token({ grant_type: 'password', client_id: 'desktop', username: 'alice', password: PASSWORD });
      const beforeRotation = await signInThere();
      const keys = await other.rotateSigningKey();
      const afterRotation = await signInThere();
      const listed = await runGatehouse(['keys', 'list', '--json', '--db', db]);
      const statuses = new Map((JSON.parse(listed.stdout) as Array<{ pid: string; status: string }>).map((key) => [key.pid, key.status]));
      expect([statuses.get(keys[0]!.pid), statuses.get(keys[1]!.pid)]).toEqual(['active', 'retiring']);

      for (const token of [fromServe.access_token, beforeRotation.access_token, afterRotation.access_token]) {
        await expectAccepted(served, token, 'alice');
      }
    } finally {
      await other.close();
    }
  });

  it('refuses a foreign Host or Origin', async () => {
    const port = served.resourcePort;
    const foreignHost = await rawRequest(port, `GET /api/me HTTP/1.1\r\nHost: evil.example:${port}\r\nConnection: close\r\n\r\n`);
    expect([foreignHost.status, JSON.parse(foreignHost.body).error]).toEqual([400, 'invalid_request']);
    const rebound = await rawRequest(port, `GET /api/me HTTP/1.1\r\nHost: 127.0.0.1:${served.port}\r\nConnection: close\r\n\r\n`);
    expect(rebound.status).toBe(400);
    const { access_token: token } = await signIn(served, 'bob');
    const foreignOrigin = await api(served, '/api/me', { token, headers: { Origin: 'https://evil.example' } });
    expect([foreignOrigin.status, (foreignOrigin.body as { error: string }).error]).toEqual([403, 'access_denied']);
    expect(foreignOrigin.headers.get('access-control-allow-origin')).toBeNull();
  });
});

describe('the resource service process under gatehouse serve', () => {
  it('ends when serve is killed with SIGKILL, freeing its port', async () => {
    const served = await startServe(['--db', join(fileTempDir(), 'g.db'), '--port', '0']);
    const pid = resourcePid(served);
    expect(await served.stop('SIGKILL')).toEqual({ code: null, signal: 'SIGKILL' });
    expect(await ended(pid)).toBe(true);
    const probe = await fetch(`${served.resourceUrl}/api/me`).then(
      () => 'answered',
      (error: Error & { cause?: { code?: string } }) => error.cause?.code,
    );
    expect(probe).toBe('ECONNREFUSED');
  });

  // The two tests share a database: the second starts from what the first left. Each serve has the
  // same issuer (as with a fixed port), so the tokens of one run are tokens of the next.
  describe('restarts lose no records and no revocation', () => {
    const db = join(fileTempDir(), 'g.db');
    const serveAgain = async () => startServe(['--db', db, '--port', String(await freePort()), '--issuer', ISSUER]);
    let revokedToken: string;
    let recordId: string;

    beforeAll(async () => {
      const engine = await openEngine({ path: db, hashWorkers: 1 });
      await engine.users.add({ username: 'alice', password: PASSWORD, scope: SCOPES });
      await engine.close();
    });

    it('restarting serve: the records are still there, and a token revoked before is still refused', async () => {
      const first = await serveAgain();
      const tokens = await signIn(first, 'alice');
      const created = await api(first, '/api/records', { token: tokens.access_token, method: 'POST', json: { title: 'Kept', body: 'across restarts' } });
      recordId = (created.body as RecordItem).id;
      await post(first, '/revoke', { client_id: 'gatehouse-app', token: tokens.refresh_token! });
      await expectRevoked(first, tokens.access_token);
      revokedToken = tokens.access_token;
      expect(await first.stop('SIGTERM')).toEqual({ code: 0, signal: null });

      const second = await serveAgain();
      try {
        const { access_token: token } = await signIn(second, 'alice');
        expect(((await api(second, '/api/records', { token })).body as RecordPage).items.map((item) => item.id)).toEqual([recordId]);
        await expectRevoked(second, revokedToken);
      } finally {
        expect(await second.stop('SIGTERM')).toEqual({ code: 0, signal: null });
      }
    });

    it('killing only the resource service: serve restarts it on the same port from a new snapshot', async () => {
      const served = await serveAgain();
      try {
        const tokens = await signIn(served, 'alice');
        const killed = resourcePid(served);
        process.kill(killed, 'SIGKILL');
        await served.stderrIncludes('gatehouse: resource service restarted\n');
        expect(served.stderr()).toBe('gatehouse: resource service was ended by SIGKILL; restarting it\ngatehouse: resource service restarted\n');
        const restarted = resourcePid(served);
        expect(restarted).not.toBe(killed);

        // The same URL as the ready line; the records, the revocation from before, and the keys are all there.
        const { access_token: token } = tokens;
        expect(((await api(served, '/api/records', { token })).body as RecordPage).items.map((item) => item.id)).toEqual([recordId]);
        await expectRevoked(served, revokedToken);
        // And changes reach the new process as they happen.
        await post(served, '/revoke', { client_id: 'gatehouse-app', token: tokens.refresh_token! });
        await expectRevoked(served, token);
      } finally {
        expect(await served.stop('SIGTERM')).toEqual({ code: 0, signal: null });
      }
    });
  });
});
