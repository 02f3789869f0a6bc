import { once } from 'node:events';
import { existsSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  defaultOsLogCommand,
  forwardAudit,
  openEngine,
  OsLogForwarder,
  type AuditCheckpoint,
  type AuditLine,
  type AuditRow,
  type CheckpointLine,
  type Engine,
} from '../dist/index.js';
import { AUDIT_BATCH } from '../dist/engine/audit-announcer.js';
import { WATCH_INTERVAL_MS } from '../dist/engine/change-feed.js';
import { chainHash } from './audit-helpers.js';
import { gatehouse, gatehouseAsync, ok } from './cli-helpers.js';
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

  it("the CLI's events and checkpoint, from a real child process, are forwarded with the host's, in id order, none twice, none missing", async () => {
    const receiver = await syslogReceiver();
    const db = join(tempDir(), 'auth.db');
    const engine = await openEngine({ path: db, hashWorkers: 2 });
    engine.clients.add({ id: 'desktop', secret: 'none', scope: ['records:read'] });
    await engine.users.add({ username: 'Alice', password: PASSWORD, scope: ['records:read'] });
    // Committed before forwarding starts, by the host and by the CLI: not replayed.
    ok(await gatehouseAsync(['users', 'add', 'bob', '--password-stdin', '--db', db], { input: PASSWORD }));
    const before = engine.auditLog().at(-1)!;
    const forwarder = new OsLogForwarder({ command: loggerTo(receiver.port), log: () => undefined });
    forwardAudit(engine, forwarder);

    const first = await signIn(engine);
    ok(await gatehouseAsync(['users', 'add', 'carol', '--password-stdin', '--db', db], { input: PASSWORD }));
    await signIn(engine);
    ok(await gatehouseAsync(['users', 'disable', 'carol', '--db', db]));
    const sid = (await engine.verifyAccessToken(first.access_token)).sid;
    ok(await gatehouseAsync(['sessions', 'revoke', sid, '--db', db]));
    await signIn(engine);
    const clisCheckpoint = JSON.parse(ok(await gatehouseAsync(['audit', 'checkpoint', '--db', db]))) as AuditCheckpoint;
    const hostsCheckpoint = await engine.auditCheckpoint();

    // The table as `gatehouse audit --json` exports it: every event after the ones committed before.
    const exported = JSON.parse(ok(await gatehouseAsync(['audit', '--json', '--db', db]))) as { events: AuditRow[] };
    const chain = exported.events.filter((row) => row.id > before.id);
    expect(chain).toEqual(engine.auditLog({ afterId: before.id }));
    await until('every line', () => receiver.messages.length >= chain.length + 2);
    // Two more looks by the engine: nothing further arrives.
    await new Promise((done) => setTimeout(done, 2 * WATCH_INTERVAL_MS));
    const lines = payloads(receiver.messages);
    const events = lines.filter((line): line is AuditLine => line.gatehouse === 'audit');
    expect(events.map(({ gatehouse: _g, installation: _i, ...row }) => row)).toEqual(chain);
    expect(events.every((line) => line.installation === engine.installationId)).toBe(true);
    // The CLI's events are there, and the host's own arrive once each.
    const types = events.map((line) => line.type);
    expect(types).toEqual(expect.arrayContaining(['admin.user_added', 'admin.user_disabled', 'session.revoked']));
    expect(events.some((line) => line.type === 'session.revoked' && line.session_id === sid)).toBe(true);
    expect(events.filter((line) => line.username === 'carol').map((line) => line.type)).toEqual(['admin.user_added', 'admin.user_disabled']);
    expect(types.filter((type) => type === 'signin')).toHaveLength(3);
    expect(events.some((line) => line.username === 'bob')).toBe(false);

    // The copy is a chain on its own: each hash follows from the one before, from the last event not copied.
    let previous: Buffer = Buffer.from(before.hash, 'hex');
    for (const line of events) {
      const hash = chainHash(previous, line);
      expect(hash.toString('hex'), `event ${line.id}`).toBe(line.hash);
      previous = hash;
    }
    // Both checkpoints, the CLI's and the host's, each after the event it vouches for; both verify.
    const checkpoints = lines.filter((line): line is CheckpointLine => line.gatehouse === 'checkpoint');
    expect(checkpoints.map(({ gatehouse: _g, installation: _i, ...checkpoint }) => checkpoint)).toEqual([clisCheckpoint, hostsCheckpoint]);
    for (const checkpoint of checkpoints) {
      const vouched = lines.findIndex((line) => line.gatehouse === 'audit' && line.id === checkpoint.lastId);
      expect(vouched).toBeGreaterThanOrEqual(0);
      expect(vouched).toBeLessThan(lines.indexOf(checkpoint));
    }
    expect(await engine.verifyAuditLog(checkpoints)).toMatchObject({ ok: true, problems: [], checkpoints: expect.any(Number) });
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
  it("announce every committed event, this engine's and another engine's, once each in id order, each checkpoint after its events", async () => {
    const path = join(tempDir(), 'auth.db');
    const engine = await openEngine({ path, clock: new FakeClock(), hashWorkers: 1 });
    const other = await openEngine({ path, clock: new FakeClock(), hashWorkers: 1, signingKeyAtOpen: false });
    // Committed before anyone listens: not replayed.
    other.clients.add({ id: 'early', secret: 'none', scope: ['records:read'] });
    const before = engine.auditLog().at(-1)!.id;
    const heard: Array<{ kind: 'audit'; row: AuditRow } | { kind: 'checkpoint'; checkpoint: AuditCheckpoint }> = [];
    engine.on('audit', (rows) => heard.push(...rows.map((row) => ({ kind: 'audit' as const, row }))));
    engine.on('checkpoint', (checkpoint) => heard.push({ kind: 'checkpoint', checkpoint }));

    engine.clients.add({ id: 'desktop', secret: 'none', scope: ['records:read'] });
    other.clients.add({ id: 'tool', secret: 'none', scope: ['records:read'] });
    await engine.users.add({ username: 'alice', password: PASSWORD, scope: ['records:read'] });
    const othersCheckpoint = await other.auditCheckpoint();
    other.clients.add({ id: 'late', secret: 'none', scope: ['records:read'] });
    const checkpoint = await engine.auditCheckpoint();
    // The other engine's last event reaches this one by its quarter-second look (or this one's own checkpoint).
    const log = engine.auditLog({ afterId: before });
    await until('every event', () => heard.filter((h) => h.kind === 'audit').length >= log.length);
    await new Promise((done) => setImmediate(done));

    expect(heard.flatMap((h) => (h.kind === 'audit' ? [h.row] : []))).toEqual(log);
    expect(log.map((row) => row.client_id ?? row.type)).toEqual(expect.arrayContaining(['desktop', 'tool', 'late', 'admin.user_added']));
    expect(log.some((row) => row.client_id === 'early')).toBe(false);
    expect(heard.filter((h) => h.kind === 'checkpoint').map((h) => h.checkpoint)).toEqual([othersCheckpoint, checkpoint]);
    // Each checkpoint comes after the event it vouches for.
    for (const signed of [othersCheckpoint, checkpoint]) {
      const at = heard.findIndex((h) => h.kind === 'checkpoint' && h.checkpoint.token === signed.token);
      const vouched = heard.findIndex((h) => h.kind === 'audit' && h.row.id === signed.lastId);
      expect(vouched).toBeGreaterThanOrEqual(0);
      expect(vouched).toBeLessThan(at);
    }
    await other.close();
    await engine.close();
  });

  it('a backlog of thousands of events committed at once by another process arrives whole, in order, in batches of at most 1000', async () => {
    const path = join(tempDir(), 'auth.db');
    const engine = await openEngine({ path, clock: new FakeClock(), hashWorkers: 1 });
    const batches: number[] = [];
    const lines: string[] = [];
    engine.on('audit', (rows) => batches.push(rows.length));
    forwardAudit(engine, { write: (line) => lines.push(line) });
    const before = engine.auditLog().at(-1)!.id;

    // One `gatehouse provision` run: 2500 users (pre-hashed passwords, so nothing is hashed), one transaction.
    const phc = ok(gatehouse(['hash-password'], { input: PASSWORD })).trim();
    const users = Array.from({ length: 2500 }, (_, i) => ({ username: `user${i}`, scope: ['records:read'], password: { hash: phc } }));
    const file = join(tempDir(), 'provisioning.json');
    writeFileSync(file, JSON.stringify({ version: 1, scopes: ['records:read'], users }));
    ok(await gatehouseAsync(['provision', file, '--db', path]));

    const log = engine.auditLog({ afterId: before });
    expect(log.filter((row) => row.type === 'provision.user_added')).toHaveLength(2500);
    await until('the whole backlog', () => lines.length >= log.length);
    // Two more looks by the engine: nothing further arrives.
    await new Promise((done) => setTimeout(done, 2 * WATCH_INTERVAL_MS));
    const forwarded = lines.map((line) => JSON.parse(line) as AuditLine);
    expect(forwarded.map(({ gatehouse: _g, installation: _i, ...row }) => row)).toEqual(log);
    expect(batches.every((size) => size <= AUDIT_BATCH)).toBe(true);
    expect(batches.length).toBeGreaterThanOrEqual(Math.ceil(log.length / AUDIT_BATCH));
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
