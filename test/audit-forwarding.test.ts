import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  defaultOsLogCommand,
  forwardAudit,
  openEngine,
  OsLogForwarder,
  type AuditLine,
  type AuditRow,
  type CheckpointLine,
  type Engine,
} from '../dist/index.js';
import { FakeClock, PASSWORD, tempDir } from './helpers.js';
import { startServe } from './serve-process.js';

/** A loopback syslog receiver (TCP, one RFC 5424 message per line, as util-linux logger sends them). */
async function syslogReceiver(): Promise<{ port: number; messages: string[]; close(): Promise<void> }> {
  const messages: string[] = [];
  const server: Server = createServer((socket) => {
    let buffered = '';
    socket.on('data', (chunk: Buffer) => {
      buffered += chunk.toString('utf8');
      const lines = buffered.split('\n');
      buffered = lines.pop()!;
      messages.push(...lines);
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  return { port, messages, close: () => new Promise((done) => server.close(() => done())) };
}

/** The default Linux logger arguments, sent to the receiver over TCP instead of the local syslog socket. */
function loggerTo(port: number) {
  const local = defaultOsLogCommand('linux');
  return { program: local.program, args: ['--server', '127.0.0.1', '--port', String(port), '--tcp', ...local.args] };
}

/** The JSON object each message carries, after checking its RFC 5424 header names the gatehouse tag. */
function payloads(messages: readonly string[]): Array<AuditLine | CheckpointLine> {
  return messages.map((message) => {
    expect(message).toMatch(/^<\d+>1 \S+ \S+ gatehouse /);
    return JSON.parse(message.slice(message.indexOf('{"gatehouse"'))) as AuditLine | CheckpointLine;
  });
}

async function until(what: string, condition: () => boolean): Promise<void> {
  for (let i = 0; i < 2000 && !condition(); i++) await new Promise((done) => setTimeout(done, 10));
  if (!condition()) throw new Error(`gave up waiting: ${what}`);
}

async function engineWithUser(): Promise<Engine> {
  const engine = await openEngine({ path: join(tempDir(), 'auth.db'), clock: new FakeClock(), hashWorkers: 2 });
  engine.clients.add({ id: 'desktop', secret: 'none', scope: ['records:read'] });
  await engine.users.add({ username: 'Alice', password: PASSWORD, scope: ['records:read'] });
  return engine;
}

const signIn = (engine: Engine, password = PASSWORD) =>
  engine.token({ grant_type: 'password', client_id: 'desktop', username: 'alice', password, scope: 'records:read' });

describe('audit forwarding to the OS log (real logger, loopback syslog receiver)', () => {
  it('every committed event and the signed checkpoint arrive in order, with the chain hashes', async () => {
    const receiver = await syslogReceiver();
    const engine = await openEngine({ path: join(tempDir(), 'auth.db'), clock: new FakeClock(), hashWorkers: 2 });
    const forwarder = new OsLogForwarder({ command: loggerTo(receiver.port), log: () => undefined });
    // Events committed before forwarding starts (the key started at open) are not copied.
    const before = engine.auditLog().at(-1)!.id;
    forwardAudit(engine, forwarder);
    engine.clients.add({ id: 'desktop', secret: 'none', scope: ['records:read'] });
    await engine.users.add({ username: 'Alice', password: PASSWORD, scope: ['records:read'] });
    for (let i = 0; i < 5; i++) await signIn(engine);
    await expect(signIn(engine, 'not the password')).rejects.toMatchObject({ code: 'invalid_grant' });
    const checkpoint = await engine.auditCheckpoint();
    const chain: AuditRow[] = engine.auditLog({ afterId: before });
    const verified = await engine.verifyAuditLog();
    expect(verified.ok).toBe(true);

    await until('every line', () => receiver.messages.length >= chain.length + 1);
    const lines = payloads(receiver.messages);
    const events = lines.filter((line): line is AuditLine => line.gatehouse === 'audit');
    // Every event the engine committed since, in order, as stored.
    expect(events.map(({ gatehouse, installation, ...row }) => row)).toEqual(chain);
    expect(events.every((line) => line.installation === engine.installationId)).toBe(true);
    expect(events.filter((line) => line.type === 'signin').map((line) => line.outcome)).toEqual([...Array(5).fill('success'), 'failure']);
    // The checkpoint comes after the events it vouches for, and verifies against the database.
    expect(lines.at(-1)).toEqual({ gatehouse: 'checkpoint', installation: engine.installationId, ...checkpoint });
    expect(checkpoint).toMatchObject({ lastId: chain.at(-1)!.id, lastHash: chain.at(-1)!.hash });
    const withCopy = await engine.verifyAuditLog([lines.at(-1) as CheckpointLine]);
    expect(withCopy).toMatchObject({ ok: true, problems: [] });
    // No secret in the copy.
    expect(receiver.messages.join('\n')).not.toContain(PASSWORD);
    expect(forwarder.dropped).toBe(0);

    await engine.close();
    await forwarder.close();
    await receiver.close();
  });

  it('killing the logger loses no sign-in: the loss is logged once, the writer restarts, later events arrive', async () => {
    const receiver = await syslogReceiver();
    const engine = await engineWithUser();
    const warnings: string[] = [];
    const forwarder = new OsLogForwarder({ command: loggerTo(receiver.port), log: (m) => warnings.push(m) });
    forwardAudit(engine, forwarder);
    await until('the logger to start', () => forwarder.pid !== undefined);
    const first = forwarder.pid!;

    let signedIn = 0;
    for (let i = 0; i < 4; i++) if ((await signIn(engine)).access_token) signedIn++;
    process.kill(first, 'SIGKILL');
    // While the writer is down and restarting, sign-ins go on.
    for (let i = 0; i < 4; i++) if ((await signIn(engine)).access_token) signedIn++;
    await until('the logger to restart', () => forwarder.pid !== undefined && forwarder.pid !== first);
    for (let i = 0; i < 4; i++) if ((await signIn(engine)).access_token) signedIn++;
    const checkpoint = await engine.auditCheckpoint();
    expect(signedIn).toBe(12);

    await until('the checkpoint to arrive', () => receiver.messages.some((m) => m.includes('"gatehouse":"checkpoint"')));
    const lines = payloads(receiver.messages);
    const chain = new Map(engine.auditLog().map((row) => [row.id, row.hash]));
    const events = lines.filter((line): line is AuditLine => line.gatehouse === 'audit');
    // What arrived is in order and matches the chain; what the dead writer held is missing, not altered.
    expect(events.every((line, i) => i === 0 || line.id > events[i - 1]!.id)).toBe(true);
    expect(events.every((line) => chain.get(line.id) === line.hash)).toBe(true);
    // The events after the restart all arrived, then the checkpoint.
    const lastSignIns = engine.auditLog().filter((row) => row.type === 'signin').slice(-4);
    for (const row of lastSignIns) expect(events.map((line) => line.id)).toContain(row.id);
    expect(lines.at(-1)).toMatchObject({ gatehouse: 'checkpoint', lastId: checkpoint.lastId, lastHash: checkpoint.lastHash });
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/OS log writer .* exited \(SIGKILL\)/);

    await engine.close();
    await forwarder.close();
    await receiver.close();
  });

  it('a writer that cannot start never fails a sign-in: lines are dropped and counted, the loss logged once', async () => {
    const engine = await engineWithUser();
    const warnings: string[] = [];
    const forwarder = new OsLogForwarder({ command: { program: join(tempDir(), 'no-such-logger'), args: [] }, log: (m) => warnings.push(m) });
    forwardAudit(engine, forwarder);
    for (let i = 0; i < 3; i++) expect((await signIn(engine)).access_token).toBeTypeOf('string');
    await until('lines to be dropped', () => forwarder.dropped >= 3);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain('ENOENT');
    await forwarder.close();
    await engine.close();
  });

  it('refuses a line with a line break (it would split one event into two messages)', () => {
    const forwarder = new OsLogForwarder({ command: { program: process.execPath, args: ['-e', 'process.stdin.resume()'] } });
    expect(() => forwarder.write('one\ntwo')).toThrow(TypeError);
    return forwarder.close();
  });
});

describe('engine "audit" and "checkpoint" events', () => {
  it("announce this engine's committed events as stored, not another process's, and a checkpoint after its events", async () => {
    const path = join(tempDir(), 'auth.db');
    const engine = await openEngine({ path, clock: new FakeClock(), hashWorkers: 1 });
    const other = await openEngine({ path, clock: new FakeClock(), hashWorkers: 1, signingKeyAtOpen: false });
    const heard: Array<{ kind: string; ids: number[] }> = [];
    const rowsHeard: AuditRow[] = [];
    engine.on('audit', (rows) => {
      heard.push({ kind: 'audit', ids: rows.map((row) => row.id) });
      rowsHeard.push(...rows);
    });
    engine.on('checkpoint', (checkpoint) => heard.push({ kind: 'checkpoint', ids: [checkpoint.lastId] }));

    engine.clients.add({ id: 'desktop', secret: 'none', scope: ['records:read'] });
    other.clients.add({ id: 'tool', secret: 'none', scope: ['records:read'] });
    await engine.users.add({ username: 'alice', password: PASSWORD, scope: ['records:read'] });
    const checkpoint = await engine.auditCheckpoint();
    await new Promise((done) => setImmediate(done));

    const log = engine.auditLog();
    const byType = (type: string, clientId?: string) => log.find((row) => row.type === type && (clientId === undefined || row.client_id === clientId))!.id;
    const mine = [byType('admin.client_added', 'desktop'), byType('admin.user_added')];
    expect(heard).toEqual([
      { kind: 'audit', ids: [mine[0]] },
      { kind: 'audit', ids: [mine[1]] },
      { kind: 'checkpoint', ids: [checkpoint.lastId] },
    ]);
    expect(rowsHeard).toEqual(log.filter((row) => mine.includes(row.id)));
    expect(log.map((row) => row.id)).toContain(byType('admin.client_added', 'tool'));
    await other.close();
    await engine.close();
  });
});

describe('gatehouse serve --forward-audit', () => {
  it('serves sign-ins whatever the local syslog does; a writer that cannot log is reported once', async () => {
    const db = join(tempDir(), 'g.db');
    const engine = await openEngine({ path: db, hashWorkers: 1 });
    engine.clients.add({ id: 'desktop', secret: 'none', scope: ['records:read'] });
    await engine.users.add({ username: 'alice', password: PASSWORD, scope: ['records:read'] });
    await engine.close();
    const served = await startServe(['--db', db, '--port', '0', '--forward-audit']);
    for (let i = 0; i < 3; i++) {
      const answer = await fetch(`${served.url}/token`, {
        method: 'POST',
        body: new URLSearchParams({ grant_type: 'password', client_id: 'desktop', username: 'alice', password: PASSWORD }),
      });
      expect(answer.status).toBe(200);
    }
    const exit = await served.stop();
    expect(exit.code).toBe(0);
    const losses = served.stderr().split('\n').filter((line) => line.includes('the OS log writer'));
    if (existsSync('/dev/log')) {
      expect(losses).toEqual([]);
    } else {
      // No syslog socket here (a container): logger fails at once and again at each restart; said once.
      expect(losses).toHaveLength(1);
      expect(losses[0]).toMatch(/the OS log writer \(\/usr\/bin\/logger\) exited \(code 1\): logger: socket \/dev\/log: No such file or directory/);
    }
  });
});
