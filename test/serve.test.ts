import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { connect, createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openEngine } from '../dist/index.js';
import { PASSWORD, tempDir } from './helpers.js';
import { fileTempDir, runGatehouse, startServe } from './serve-process.js';

const NEW_ADMIN_PASSWORD = 'the operator chose this one';

async function post(url: string, form: Record<string, string>): Promise<{ status: number; body: string }> {
  const response = await fetch(url, { method: 'POST', body: new URLSearchParams(form) });
  return { status: response.status, body: await response.text() };
}

/** A listener on an ephemeral loopback port: to occupy a port, or to learn a free one. */
async function listening(): Promise<Server> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return server;
}

const portOf = (server: Server) => (server.address() as { port: number }).port;
const close = (server: Server) => new Promise<void>((resolve) => server.close(() => resolve()));

async function seededDb(): Promise<string> {
  const db = join(tempDir(), 'g.db');
  const engine = await openEngine({ path: db, hashWorkers: 1 });
  await engine.users.add({ username: 'alice', password: PASSWORD, scope: ['records:read'] });
  await engine.close();
  return db;
}

describe('gatehouse serve: first run and restart', () => {
  // Shared by the two tests below: the second starts again on the database of the first.
  const db = join(fileTempDir(), 'g.db');
  const passwordFile = `${db}.admin-password`;

  it('creates "admin" with a one-time password in a private file, prints one ready line, and stops on SIGTERM', async () => {
    const served = await startServe(['--db', db, '--port', '0']);
    const readyLine = `{"issuer":"http://127.0.0.1:${served.port}","resource":"http://127.0.0.1:${served.resourcePort}"}\n`;
    expect(served.stdout()).toBe(readyLine);
    expect(served.resourcePort).not.toBe(served.port);
    // The records live beside the auth database, as private as it is.
    expect(statSync(join(db, '..', 'g.data.db')).mode & 0o777).toBe(0o600);

    const oneTime = readFileSync(passwordFile, 'utf8');
    expect(oneTime).toMatch(/^[A-Za-z0-9_-]{24}\n$/);
    expect(statSync(passwordFile).mode & 0o777).toBe(0o600);
    const password = oneTime.trim();
    expect(served.stderr()).toBe(
      `gatehouse: created user "admin"; its one-time password is in ${passwordFile} and must be changed at first sign-in\n`,
    );

    // The one-time password is right, but must be changed first, which the bootstrapped client may do.
    const signIn = (pw: string) =>
      post(`${served.url}/token`, { grant_type: 'password', client_id: 'gatehouse-app', username: 'admin', password: pw });
    const first = await signIn(password);
    expect([first.status, JSON.parse(first.body).error]).toEqual([400, 'password_change_required']);
    const changed = await post(`${served.url}/password`, {
      client_id: 'gatehouse-app',
      username: 'admin',
      password,
      new_password: NEW_ADMIN_PASSWORD,
    });
    expect(changed.status).toBe(204);
    const tokens = await signIn(NEW_ADMIN_PASSWORD);
    expect(tokens.status).toBe(200);
    const { access_token, scope } = JSON.parse(tokens.body) as { access_token: string; scope: string };
    expect(scope).toBe('admin records:read records:write');

    // The token's iss is the issuer of the ready line and the metadata: an engine with that issuer verifies it.
    const verifier = await openEngine({ path: db, issuer: served.ready.issuer, signingKeyAtOpen: false, hashWorkers: 1 });
    try {
      expect(await verifier.verifyAccessToken(access_token)).toMatchObject({ iss: served.ready.issuer, username: 'admin' });
    } finally {
      await verifier.close();
    }

    expect(await served.stop('SIGTERM')).toEqual({ code: 0, signal: null });
    expect(served.stdout()).toBe(readyLine);
    expect(served.stderr()).toMatch(/\ngatehouse: stopping on SIGTERM\n$/);
    expect(served.stderr()).not.toContain(password);
  });

  it('on a later start creates nothing new, keeps the first-party client, and stops on SIGINT', async () => {
    const before = readFileSync(passwordFile, 'utf8');
    const served = await startServe(['--db', db, '--port', '0']);
    expect(served.stderr()).toBe('');
    const tokens = await post(`${served.url}/token`, {
      grant_type: 'password',
      client_id: 'gatehouse-app',
      username: 'admin',
      password: NEW_ADMIN_PASSWORD,
    });
    expect(tokens.status).toBe(200);
    expect(await served.stop('SIGINT')).toEqual({ code: 0, signal: null });
    expect(served.stderr()).toBe('gatehouse: stopping on SIGINT\n');
    expect(readFileSync(passwordFile, 'utf8')).toBe(before);
  });
});

describe('gatehouse serve: shutdown', () => {
  it('stops accepting on SIGTERM, lets the request in flight finish, then exits 0', async () => {
    const served = await startServe(['--db', await seededDb(), '--port', '0']);
    const body = new URLSearchParams({ grant_type: 'password', client_id: 'gatehouse-app', username: 'alice', password: PASSWORD }).toString();
    const socket = connect(served.port, '127.0.0.1');
    let received = '';
    const continued = new Promise<void>((resolve) =>
      socket.on('data', (chunk: Buffer) => {
        received += chunk;
        if (received.includes('100 Continue')) resolve();
      }),
    );
    const ended = new Promise<void>((resolve) => socket.on('close', () => resolve()));
    // The server has the request once it answers 100 Continue; the body follows only after SIGTERM.
    socket.write(
      `POST /token HTTP/1.1\r\nHost: 127.0.0.1:${served.port}\r\nContent-Type: application/x-www-form-urlencoded\r\n` +
        `Content-Length: ${body.length}\r\nExpect: 100-continue\r\n\r\n`,
    );
    await continued;
    const exited = served.stop('SIGTERM');
    await new Promise<void>((resolve) => served.child.stderr!.on('data', () => served.stderr().includes('stopping') && resolve()));

    const refused = await new Promise<string>((resolve) => {
      const late = connect(served.port, '127.0.0.1');
      late.on('connect', () => resolve('connected'));
      late.on('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? 'error'));
    });
    expect(refused).toBe('ECONNREFUSED');

    socket.write(body);
    await ended;
    const final = received.slice(received.lastIndexOf('HTTP/1.1 '));
    expect(final).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
    expect(final).toMatch(/\r\nConnection: close\r\n/i);
    expect(JSON.parse(final.slice(final.indexOf('\r\n\r\n') + 4)).access_token).toMatch(/^v4\.public\./);
    expect(await exited).toEqual({ code: 0, signal: null });
  });
});

describe('gatehouse serve: options and refusals', () => {
  it('uses --issuer for the tokens and the metadata, with the endpoints where it listens', async () => {
    const db = await seededDb();
    const free = await listening();
    const port = portOf(free);
    await close(free);
    const served = await startServe(['--db', db, '--port', String(port), '--issuer', 'urn:example:gatehouse']);
    expect(served.stdout()).toBe(`{"issuer":"urn:example:gatehouse","resource":"http://127.0.0.1:${served.resourcePort}"}\n`);
    const metadata = (await (await fetch(`http://127.0.0.1:${port}/.well-known/oauth-authorization-server`)).json()) as Record<string, string>;
    expect([metadata.issuer, metadata.token_endpoint]).toEqual(['urn:example:gatehouse', `http://127.0.0.1:${port}/token`]);
    const tokens = await post(`http://127.0.0.1:${port}/token`, { grant_type: 'password', client_id: 'gatehouse-app', username: 'alice', password: PASSWORD });
    const verifier = await openEngine({ path: db, issuer: 'urn:example:gatehouse', signingKeyAtOpen: false, hashWorkers: 1 });
    try {
      expect((await verifier.verifyAccessToken(JSON.parse(tokens.body).access_token)).iss).toBe('urn:example:gatehouse');
    } finally {
      await verifier.close();
    }
    expect(await served.stop()).toEqual({ code: 0, signal: null });
  });

  it('exits 1 with one line when the port is taken', async () => {
    const taken = await listening();
    try {
      const run = await runGatehouse(['serve', '--db', join(tempDir(), 'g.db'), '--port', String(portOf(taken))]);
      expect(run).toEqual({ code: 1, signal: null, stdout: '', stderr: `gatehouse: Port ${portOf(taken)} on 127.0.0.1 is already in use.\n` });
    } finally {
      await close(taken);
    }
  });

  it('exits 1 with one line when the resource port is taken, leaving no process behind', async () => {
    const taken = await listening();
    try {
      const db = await seededDb();
      // runGatehouse resolves once every process holding serve's stderr has ended: the service's too.
      const run = await runGatehouse(['serve', '--db', db, '--port', '0', '--resource-port', String(portOf(taken))]);
      expect(run).toEqual({
        code: 1,
        signal: null,
        stdout: '',
        stderr: `gatehouse: Resource port ${portOf(taken)} on 127.0.0.1 is already in use.\n`,
      });
    } finally {
      await close(taken);
    }
  });

  it('exits 1 with one line when the database is refused, leaving it as it was', async () => {
    const db = join(tempDir(), 'g.db');
    const content = 'This is not a database, but a text file long enough to have a header. '.repeat(3);
    writeFileSync(db, content);
    const run = await runGatehouse(['serve', '--db', db, '--port', '0']);
    expect([run.code, run.stdout]).toEqual([1, '']);
    expect(run.stderr).toBe(`gatehouse: The file at ${db} is not a SQLite database; it was left untouched.\n`);
    expect(readFileSync(db, 'utf8')).toBe(content);
    expect(existsSync(`${db}.admin-password`)).toBe(false);
  });

  it('refuses to overwrite an existing one-time password file, creating no account', async () => {
    const db = join(tempDir(), 'g.db');
    writeFileSync(`${db}.admin-password`, 'an earlier one\n');
    const run = await runGatehouse(['serve', '--db', db, '--port', '0']);
    expect([run.code, run.stdout]).toEqual([1, '']);
    expect(run.stderr).toBe(
      `gatehouse: ${db}.admin-password already exists; move it away (it may hold an earlier one-time password) and start again.\n`,
    );
    expect(readFileSync(`${db}.admin-password`, 'utf8')).toBe('an earlier one\n');
    const engine = await openEngine({ path: db, signingKeyAtOpen: false, hashWorkers: 1 });
    try {
      expect(engine.users.list()).toEqual([]);
    } finally {
      await engine.close();
    }
  });

  it('answers bad options with a usage error (exit 2) and starts nothing', async () => {
    const db = join(tempDir(), 'g.db');
    for (const args of [
      ['--port', '70000'],
      ['--port', 'abc'],
      ['--port', '-1'],
      ['--port', ''],
      ['--port', '80.5'],
      ['--issuer', ''],
      ['--issuer', ' '],
      ['--issuer', 'x'.repeat(513)],
      ['--resource-port', '65536'],
      ['--resource-port', 'x'],
      ['--resource-port', '-1'],
      ['now'],
    ]) {
      const run = await runGatehouse(['serve', '--db', db, ...args]);
      expect({ args, code: run.code, stdout: run.stdout }).toEqual({ args, code: 2, stdout: '' });
      expect(run.stderr).toMatch(/^gatehouse: [^\n]+\n$/);
    }
    expect(existsSync(db)).toBe(false);
  });
});
