import { fork, spawn, type ChildProcess } from 'node:child_process';
import { connect } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { openEngine, type Engine, type FromResourceService, type Revocation } from '../dist/index.js';
import { startResourceService, type ResourceService } from '../dist/resource/supervisor.js';
import { PASSWORD, tempDir } from './helpers.js';

// The resource service process on its own: first spoken to by the test itself over the IPC
// channel, message by message, then through the supervisor that `gatehouse serve` uses. Engines here
// keep real time, as the service does.

const ENTRY = fileURLToPath(new URL('../dist/resource/service-main.js', import.meta.url));

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function engineWithAlice(): Promise<Engine> {
  const engine = await openEngine({ path: join(tempDir(), 'auth.db'), hashWorkers: 1 });
  cleanups.push(() => engine.close());
  engine.clients.add({ id: 'desktop', secret: 'none', scope: ['records:read', 'records:write'] });
  await engine.users.add({ username: 'alice', password: PASSWORD, scope: ['records:read', 'records:write'] });
  return engine;
}

const signIn = (engine: Engine) => engine.token({ grant_type: 'password', client_id: 'desktop', username: 'alice', password: PASSWORD });

/** The service started by the test as its parent: every message it sends, in order. */
interface TestService {
  child: ChildProcess;
  /** The next message of this type not yet taken (waits for it). */
  next<T extends FromResourceService['type']>(type: T): Promise<Extract<FromResourceService, { type: T }>>;
  stderr(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function startService(args: readonly string[]): TestService {
  const child = fork(ENTRY, args, { stdio: ['ignore', 'pipe', 'pipe', 'ipc'] });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  cleanups.push(async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
  });
  let stderr = '';
  let stdout = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk));
  child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk));
  const received: FromResourceService[] = [];
  const waiting: Array<() => void> = [];
  child.on('message', (message: FromResourceService) => {
    received.push(message);
    for (const wake of waiting.splice(0)) wake();
  });
  const next = async <T extends FromResourceService['type']>(type: T) => {
    for (;;) {
      const index = received.findIndex((message) => message.type === type);
      if (index >= 0) return received.splice(index, 1)[0] as Extract<FromResourceService, { type: T }>;
      await new Promise<void>((resolve, reject) => {
        waiting.push(resolve);
        void exited.then(() => reject(new Error(`the service exited before sending "${type}": ${stderr}`)));
      });
    }
  };
  // The service never writes on stdout: it belongs to its parent's ready line.
  void exited.then(() => expect(stdout).toBe(''));
  return { child, next, stderr: () => stderr, exited };
}

function argsFor(engine: Engine, dataPath: string): string[] {
  return ['--port=0', `--data=${dataPath}`, `--issuer=${engine.issuer}`, `--audience=${engine.audience}`, '--leeway=30'];
}

async function me(base: string, token: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(`${base}/api/me`, { headers: { Authorization: `Bearer ${token}` } });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

function refused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.on('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.on('error', (error: NodeJS.ErrnoException) => resolve(error.code === 'ECONNREFUSED'));
  });
}

describe('the resource service process, spoken to message by message', () => {
  it('answers 503 until its snapshot, ignores malformed messages, applies changes in order and acks after them', async () => {
    const engine = await engineWithAlice();
    const service = startService(argsFor(engine, join(tempDir(), 'data.db')));
    const { port } = await service.next('listening');
    const base = `http://127.0.0.1:${port}`;
    const tokens = await signIn(engine);

    expect((await me(base, tokens.access_token)).status).toBe(503);

    // Not messages of the protocol, or not well formed: each is logged and ignored.
    for (const junk of [
      42,
      'snapshot',
      { type: 'reboot' },
      { type: 'snapshot' },
      { type: 'keys', keys: [{ paserk: 'k4.public.x', pid: 'not-a-pid', status: 'active', verifyUntil: 1 }] },
      { type: 'revocations', revocations: [{ kind: 'user', value: 'x', revokedAt: 0, expiresAt: 1 }] },
      { type: 'sync', seq: -1 },
    ]) {
      service.child.send(junk);
    }
    // Well formed, but for someone else: the guard refuses it, and the service carries on.
    service.child.send({ type: 'snapshot', snapshot: { issuer: 'urn:someone-else', audience: engine.audience, keys: [], revocations: [] } });
    service.child.send({ type: 'sync', seq: 1 });
    expect(await service.next('ack')).toEqual({ type: 'ack', seq: 1 });
    expect(service.stderr().match(/ignored a malformed message/g)).toHaveLength(7);
    expect(service.stderr()).toContain('gatehouse: resource service: could not apply a "snapshot" message: ');
    expect((await me(base, tokens.access_token)).status).toBe(503);

    service.child.send({
      type: 'snapshot',
      snapshot: { issuer: engine.issuer, audience: engine.audience, keys: engine.publishedKeys(), revocations: engine.revocations() },
    });
    await service.next('ready');
    const answer = await me(base, tokens.access_token);
    expect(answer).toMatchObject({ status: 200, body: { username: 'alice', scope: ['records:read', 'records:write'] } });

    // A revocation, then a sync: once the ack is back, the token is refused.
    const revoked = new Promise<Revocation[]>((resolve) => engine.on('revocation', resolve));
    await engine.revoke({ token: tokens.refresh_token!, client_id: 'desktop' });
    service.child.send({ type: 'revocations', revocations: await revoked });
    service.child.send({ type: 'sync', seq: 2 });
    expect(await service.next('ack')).toEqual({ type: 'ack', seq: 2 });
    expect(await me(base, tokens.access_token)).toMatchObject({ status: 401, body: { error: 'invalid_token' } });

    service.child.send({ type: 'shutdown' });
    expect(await service.exited).toEqual({ code: 0, signal: null });
    expect(await refused(port)).toBe(true);
  });

  it('asks its parent about a token signed by a key it was not sent, and believes the answer', async () => {
    const engine = await engineWithAlice();
    const service = startService(argsFor(engine, join(tempDir(), 'data.db')));
    const { port } = await service.next('listening');
    const base = `http://127.0.0.1:${port}`;
    service.child.send({
      type: 'snapshot',
      snapshot: { issuer: engine.issuer, audience: engine.audience, keys: engine.publishedKeys(), revocations: [] },
    });
    await service.next('ready');
    // A new key the service has not been sent.
    await engine.rotateSigningKey();
    const fresh = await signIn(engine);

    const pending = me(base, fresh.access_token);
    const question = await service.next('introspect');
    expect(question.token).toBe(fresh.access_token);
    // An answer to a question never asked is dropped.
    service.child.send({ type: 'introspection', id: question.id + 1000, result: { active: false } });
    service.child.send({ type: 'introspection', id: question.id, result: await engine.introspectAccessToken(question.token) });
    expect(await pending).toMatchObject({ status: 200, body: { username: 'alice' } });

    // Another token from the new key; this time the engine says it is not active.
    const other = await signIn(engine);
    const refusedAnswer = me(base, other.access_token);
    const second = await service.next('introspect');
    service.child.send({ type: 'introspection', id: second.id, result: { active: false } });
    expect(await refusedAnswer).toMatchObject({ status: 401, body: { error: 'invalid_token' } });
  });

  it('exits when its parent goes away (the IPC channel closes)', async () => {
    const engine = await engineWithAlice();
    const service = startService(argsFor(engine, join(tempDir(), 'data.db')));
    const { port } = await service.next('listening');
    service.child.disconnect();
    expect(await service.exited).toEqual({ code: 0, signal: null });
    expect(await refused(port)).toBe(true);
  });

  it('says why it cannot start, then exits 1: a bad configuration, a port in use', async () => {
    const engine = await engineWithAlice();
    const bad = startService(['--port=http', `--data=${join(tempDir(), 'data.db')}`, '--issuer=x', '--audience=y', '--leeway=30']);
    expect(await bad.next('failed')).toEqual({ type: 'failed', message: '--port must be a whole number from 0 to 65535.' });
    expect(await bad.exited).toEqual({ code: 1, signal: null });

    const first = startService(argsFor(engine, join(tempDir(), 'data.db')));
    const { port } = await first.next('listening');
    const second = startService(argsFor(engine, join(tempDir(), 'data.db')).map((arg) => (arg === '--port=0' ? `--port=${port}` : arg)));
    expect(await second.next('failed')).toMatchObject({ type: 'failed', code: 'EADDRINUSE' });
    expect(await second.exited).toEqual({ code: 1, signal: null });
    expect(second.stderr()).toBe('');
  });

  it('refuses to run without a parent link', async () => {
    const child = spawn(process.execPath, [ENTRY], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk));
    const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
    expect(code).toBe(2);
    expect(stderr).toBe('gatehouse: resource service: it is started by gatehouse serve or the app, over an IPC link; there is none.\n');
  });
});

describe('startResourceService: the supervisor gatehouse serve uses', () => {
  async function started(engine: Engine, port = 0): Promise<{ service: ResourceService; log: string[] }> {
    const log: string[] = [];
    const service = await startResourceService(engine, { port, dataPath: join(tempDir(), 'data.db'), log: (line) => log.push(line) });
    cleanups.push(() => service.close());
    return { service, log };
  }

  it('resolves once the service holds its snapshot, forwards revocations and keys as they happen, and stops it', async () => {
    const engine = await engineWithAlice();
    const before = await signIn(engine);
    const { service, log } = await started(engine);
    expect(service.url).toBe(`http://127.0.0.1:${service.port}`);
    expect((await me(service.url, before.access_token)).status).toBe(200);

    await engine.revoke({ token: before.refresh_token!, client_id: 'desktop' });
    await service.sync();
    expect((await me(service.url, before.access_token)).status).toBe(401);

    // A rotation reaches the service as its new key: tokens of the old and the new key both verify.
    const old = await signIn(engine);
    await engine.rotateSigningKey();
    const rotated = await signIn(engine);
    await service.sync();
    expect((await me(service.url, old.access_token)).status).toBe(200);
    expect((await me(service.url, rotated.access_token)).status).toBe(200);
    // With nothing outstanding, sync does not wait for the service.
    await service.sync();

    await service.close();
    expect(await refused(service.port)).toBe(true);
    expect(log).toEqual([]);
  });

  it('rejects with the reason, and code EADDRINUSE, when the port is taken', async () => {
    const engine = await engineWithAlice();
    const { service } = await started(engine);
    const error = await startResourceService(engine, { port: service.port, dataPath: join(tempDir(), 'data.db') }).catch((caught: unknown) => caught);
    expect(error).toMatchObject({ name: 'ResourceServiceError', code: 'EADDRINUSE' });
  });
});
