import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { openEngine, type AuditCheckpoint, type AuditRow, type AuditVerification } from '../dist/index.js';
import { migrations } from '../dist/store/migrations.js';
import {
  attackerToken,
  chainHash,
  checkpointsCaughtUp,
  claimsOf,
  genesisOf,
  inspect,
  installationOf,
  rawEvent,
  rawEvents,
  rechain,
  tamper,
  verifyFile,
} from './audit-helpers.js';
import { gatehouse, type Run } from './cli-helpers.js';
import { FakeClock, newEngine, PASSWORD, SECRET, seeded, tempDir } from './helpers.js';

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);
const HEX64 = /^[0-9a-f]{64}$/;
const DAY = 86_400;

const EDITED = (id: number) => `Event ${id} does not match its chain hash: it was edited, inserted or moved.`;
const CUT = (from: number, to: number) =>
  from === to ? `Event ${from} is missing: cut from the end of the log.` : `Events ${from} to ${to} are missing: cut from the end of the log.`;
const CUT_PAST_CHECKPOINT = (source: string, vouched: number, end: number) =>
  `The ${source} vouches for events up to ${vouched}, but the log ends at ${end}: events were cut from the end.`;
const REWRITTEN = (source: string, id: number) => `The ${source} does not match event ${id}: the log up to it was rewritten.`;

function auditVerify(path: string, ...options: string[]): Run {
  return gatehouse(['audit', 'verify', ...options, '--db', path]);
}

/** `gatehouse audit verify` refuses: exit 1, every problem listed on stdout, one line on stderr. */
function expectCliRefusal(run: Run, problems: readonly string[]): void {
  expect(run.status).toBe(1);
  expect(run.stdout).toMatch(/^The audit log has been tampered with \(/);
  for (const problem of problems) expect(run.stdout).toContain(`\n  - ${problem}`);
  expect(run.stdout.trimEnd().split('\n')).toHaveLength(problems.length + 1);
  expect(run.stderr).toBe(`gatehouse: The audit log failed verification: ${problems.length} problem(s), listed above.\n`);
}

function expectCliIntact(run: Run): string {
  expect({ status: run.status, stderr: run.stderr }).toEqual({ status: 0, stderr: '' });
  expect(run.stdout).toMatch(/^The audit log is intact: /);
  return run.stdout;
}

/**
 * A database whose log holds events 1 to 20 of different kinds and times (key started, user added,
 * scope set, client added, must-change set), and one stored signed checkpoint (stored checkpoint 1)
 * vouching for event 20. The engine is closed: the file is the attacker's to edit.
 */
async function loggedDatabase(): Promise<{ path: string; rows: AuditRow[]; checkpoint: AuditCheckpoint; installationId: string }> {
  const { engine, path, clock } = await newEngine();
  await engine.users.add({ username: 'Alice', password: PASSWORD, scope: ['records:read'] });
  for (let i = 0; i < 18; i++) {
    clock.advance(60);
    if (i % 3 === 0) engine.users.setScope('Alice', i % 2 === 0 ? ['records:read', 'records:write'] : ['records:read']);
    else if (i % 3 === 1) engine.clients.add({ id: `app-${i}`, secret: 'none', scope: ['records:read'] });
    else engine.users.setMustChangePassword('Alice', i % 2 === 0);
  }
  const checkpoint = await engine.auditCheckpoint();
  const rows = engine.auditLog();
  const installationId = engine.installationId;
  await engine.close();
  expect(rows.map((row) => row.id)).toEqual(range(1, 20));
  expect(checkpoint).toMatchObject({ lastId: 20, lastHash: rows[19]!.hash });
  // The starting point of every tampering case: intact, one checkpoint, nothing pruned.
  expect(await verifyFile(path)).toEqual({
    ok: true,
    events: 20,
    checkpoints: 1,
    lastId: 20,
    headHash: rows[19]!.hash,
    prunedThrough: 0,
    problems: [],
  } satisfies AuditVerification);
  return { path, rows, checkpoint, installationId };
}

describe('an untouched audit log', () => {
  it('verifies through the library and `gatehouse audit verify` (exit 0), counting its checkpoints', async () => {
    const { engine, path, clock } = await seeded({ policy: { audit: { checkpointEvery: 5 } } });
    for (let i = 0; i < 12; i++) {
      clock.advance(1);
      engine.users.setScope('Alice', i % 2 === 0 ? ['records:read'] : ['records:read', 'records:write']);
      await checkpointsCaughtUp(engine, 5);
    }
    const manual = await engine.auditCheckpoint();
    const rows = engine.auditLog();
    const checkpoints = engine.auditCheckpoints();
    // key.started, 4 clients, 1 user, 12 scope changes; three routine checkpoints and the manual one.
    expect(rows).toHaveLength(18);
    expect(checkpoints).toHaveLength(4);
    expect(checkpoints.map((c) => c.lastId).slice(1)).toEqual([10, 15, 18]);
    expect(checkpoints.at(-1)).toEqual(manual);
    for (const checkpoint of checkpoints) {
      expect(checkpoint.lastHash).toBe(rows[checkpoint.lastId - 1]!.hash);
      expect(claimsOf(checkpoint.token)).toMatchObject({
        typ: 'gatehouse-audit-checkpoint',
        installation: engine.installationId,
        last_id: checkpoint.lastId,
        last_hash: checkpoint.lastHash,
      });
    }

    const verification = await engine.verifyAuditLog();
    expect(verification).toEqual({ ok: true, events: 18, checkpoints: 4, lastId: 18, headHash: rows[17]!.hash, prunedThrough: 0, problems: [] });
    // Exported copies count too.
    expect(await engine.verifyAuditLog([manual, checkpoints[0]!])).toMatchObject({ ok: true, checkpoints: 6 });
    await engine.close();

    const text = expectCliIntact(auditVerify(path));
    expect(text).toBe(`The audit log is intact: 18 event(s) through id 18, 4 signed checkpoint(s).\nHead: ${rows[17]!.hash}\n`);
    const json = auditVerify(path, '--json');
    expect(json.status).toBe(0);
    expect(JSON.parse(json.stdout)).toEqual(verification);
    // Verifying writes nothing: the log is exactly as it was.
    expect(inspect(path, (db) => rawEvents(db).length)).toBe(18);
    expect(inspect(path, (db) => db.prepare('SELECT count(*) FROM audit_checkpoints').pluck().get())).toBe(4);
  });

  it('records when, who, which client and the outcome, and never a password, secret or token', async () => {
    const { engine, path, clock } = await seeded();
    const alice = engine.users.get('Alice');
    clock.advance(10);
    const signedInAt = clock.now();
    const tokens = await engine.token({ grant_type: 'password', client_id: 'desktop', username: 'Alice', password: PASSWORD });
    clock.advance(10);
    const refreshed = await engine.token({ grant_type: 'refresh_token', client_id: 'desktop', refresh_token: tokens.refresh_token! });
    clock.advance(10);
    const failedAt = clock.now();
    const wrong = 'a wrong passphrase, typed by hand';
    await expect(engine.token({ grant_type: 'password', client_id: 'desktop', username: 'alice', password: wrong })).rejects.toMatchObject({
      code: 'invalid_grant',
    });
    const confidential = await engine.token({ grant_type: 'password', client_id: 'tool', client_secret: SECRET, username: 'Alice', password: PASSWORD });
    const rows = engine.auditLog();
    await engine.close();

    const signin = rows.find((row) => row.type === 'signin' && row.outcome === 'success')!;
    expect(signin).toMatchObject({ at: signedInAt, username: 'Alice', user_id: alice.id, client_id: 'desktop' });
    expect(signin.session_id).toEqual(expect.any(String));
    expect(rows.find((row) => row.type === 'refresh')).toMatchObject({ outcome: 'success', username: 'Alice', client_id: 'desktop', session_id: signin.session_id });
    const failed = rows.find((row) => row.type === 'signin' && row.outcome === 'failure')!;
    expect(failed).toMatchObject({ at: failedAt, username: 'Alice', user_id: alice.id, client_id: 'desktop', session_id: null });
    expect(JSON.parse(failed.detail!)).toMatchObject({ reason: expect.any(String) });
    expect(rows.filter((row) => row.type === 'signin' && row.client_id === 'tool')).toHaveLength(1);
    expect(rows.every((row) => HEX64.test(row.hash))).toBe(true);

    const secrets = [
      PASSWORD,
      wrong,
      SECRET,
      tokens.access_token,
      tokens.refresh_token!,
      refreshed.access_token,
      refreshed.refresh_token!,
      confidential.refresh_token!,
    ];
    const exported = gatehouse(['audit', '--json', '--db', path]);
    expect(exported.status).toBe(0);
    const files = [path, `${path}-wal`].filter(existsSync).map((file) => readFileSync(file));
    for (const secret of secrets) {
      for (const bytes of files) expect(bytes.includes(Buffer.from(secret, 'utf8'))).toBe(false);
      expect(exported.stdout.includes(secret)).toBe(false);
    }
  });

  it('keeps its checkpoints valid for as long as it keeps them: a checkpoint signed hours ago still verifies', async () => {
    // A checkpoint is worth something only later: an exported copy is checked days or months after
    // it was made. Its token must carry no expiry. (The engine's clock is set two hours behind the
    // verifier's, i.e. the checkpoint is verified two hours after it was signed.)
    const { engine, path } = await newEngine({ clock: new FakeClock(Date.now() - 2 * 3600 * 1000) });
    engine.clients.add({ id: 'desktop', secret: 'none' });
    const checkpoint = await engine.auditCheckpoint();
    expect(claimsOf(checkpoint.token)).not.toHaveProperty('exp');
    expect(await engine.verifyAuditLog([checkpoint])).toMatchObject({ ok: true, checkpoints: 2, problems: [] });
    await engine.close();
    expectCliIntact(auditVerify(path));
  });

  it("keeps a checkpoint valid when the engine that signed it had a clock ahead of the verifier's", async () => {
    // The engine's clock never runs backwards (a stored time mark carries it forward after the system
    // clock is set back), so it can run ahead of another process's clock. A checkpoint vouches for the
    // chain, not for a time: its iat must not make it invalid.
    const { engine, path } = await newEngine({ clock: new FakeClock(Date.now() + 2 * DAY * 1000) });
    engine.clients.add({ id: 'desktop', secret: 'none' });
    await engine.auditCheckpoint();
    expect(await engine.verifyAuditLog()).toMatchObject({ ok: true, checkpoints: 1, problems: [] });
    await engine.close();
    expectCliIntact(auditVerify(path));
  });

  it('`audit verify --checkpoint` refuses a file that holds no checkpoint (exit 1, one line)', async () => {
    const { path } = await loggedDatabase();
    const dir = tempDir();
    writeFileSync(join(dir, 'empty.json'), '{}');
    writeFileSync(join(dir, 'broken.json'), '{"token":');
    for (const [file, message] of [
      ['empty.json', /holds no audit checkpoints/],
      ['broken.json', /^Cannot read checkpoints from /],
      ['missing.json', /^Cannot read checkpoints from /],
    ] as const) {
      const run = auditVerify(path, '--checkpoint', join(dir, file));
      expect({ status: run.status, stdout: run.stdout }).toEqual({ status: 1, stdout: '' });
      expect(run.stderr).toMatch(/^gatehouse: [^\n]+\n$/);
      expect(run.stderr.slice('gatehouse: '.length)).toMatch(message);
    }
  });

  it('does not record a password typed into the username field', async () => {
    // A classic leak: the user types the password into the name field. The failure is audited with
    // the submitted name when it is no account ("normalised and shortened"), so it must not be the
    // password itself.
    const { engine, path } = await seeded();
    await expect(engine.token({ grant_type: 'password', client_id: 'desktop', username: PASSWORD, password: PASSWORD })).rejects.toMatchObject({
      code: 'invalid_grant',
    });
    const failure = engine.auditLog().find((row) => row.type === 'signin' && row.outcome === 'failure');
    await engine.close();
    expect(failure).toBeDefined();
    const files = [path, `${path}-wal`].filter(existsSync).map((file) => readFileSync(file));
    for (const bytes of files) expect(bytes.includes(Buffer.from(PASSWORD, 'utf8'))).toBe(false);
    expect(failure!.username ?? '').not.toContain(PASSWORD);
  });
});

describe('tampering with the events is detected, naming the event', () => {
  const FIELDS: ReadonlyArray<[string, string]> = [
    ['at', 'at + 1'],
    ['type', "'admin.user_enabled'"],
    ['outcome', "'failure'"],
    ['username', "'Mallory'"],
    ['user_id', "'someone-else'"],
    ['client_id', "'desktop'"],
    ['session_id', "'a-session'"],
    ['detail', `'{"confidential":true}'`],
  ];

  it.each(FIELDS)('an edited %s of a middle event', async (column, value) => {
    const { path } = await loggedDatabase();
    tamper(path, (db) => db.prepare(`UPDATE audit_events SET ${column} = ${value} WHERE id = 11`).run());
    const result = await verifyFile(path);
    // Only the edited event: the checkpoint still matches the (untouched) stored head.
    expect(result).toMatchObject({ ok: false, events: 20, problems: [EDITED(11)] });
    expectCliRefusal(auditVerify(path), [EDITED(11)]);
  });

  it('an edited hash (the event and the one chained after it no longer match)', async () => {
    const { path } = await loggedDatabase();
    tamper(path, (db) => db.prepare('UPDATE audit_events SET hash = ? WHERE id = 7').run(randomBytes(32)));
    expect((await verifyFile(path)).problems).toEqual([EDITED(7), EDITED(8)]);
  });

  it('two events whose contents were swapped (reordered)', async () => {
    const { path, rows } = await loggedDatabase();
    expect(rows[7]!.type).not.toBe(rows[12]!.type); // events 8 and 13 differ
    tamper(path, (db) => {
      const a = rawEvent(db, 8);
      const b = rawEvent(db, 13);
      const put = db.prepare(
        'UPDATE audit_events SET at = @at, type = @type, outcome = @outcome, username = @username, user_id = @user_id, client_id = @client_id, session_id = @session_id, detail = @detail WHERE id = @target',
      );
      const { id: _idA, hash: _hashA, ...fieldsA } = a;
      const { id: _idB, hash: _hashB, ...fieldsB } = b;
      put.run({ ...fieldsB, target: 8 });
      put.run({ ...fieldsA, target: 13 });
    });
    const result = await verifyFile(path);
    expect(result.problems).toEqual([EDITED(8), EDITED(13)]);
    expectCliRefusal(auditVerify(path), [EDITED(8), EDITED(13)]);
  });

  it('two whole rows swapped, hashes and all', async () => {
    const { path } = await loggedDatabase();
    tamper(path, (db) => {
      db.prepare('UPDATE audit_events SET id = -1 WHERE id = 8').run();
      db.prepare('UPDATE audit_events SET id = 8 WHERE id = 13').run();
      db.prepare('UPDATE audit_events SET id = 13 WHERE id = -1').run();
    });
    const { problems, ok } = await verifyFile(path);
    expect(ok).toBe(false);
    expect(problems).toContain(EDITED(8));
    expect(problems).toContain(EDITED(13));
  });

  it('a deleted middle event', async () => {
    const { path } = await loggedDatabase();
    tamper(path, (db) => db.prepare('DELETE FROM audit_events WHERE id = 10').run());
    const result = await verifyFile(path);
    expect(result).toMatchObject({ ok: false, events: 19, problems: ['Event 10 is missing.', EDITED(11)] });
    expectCliRefusal(auditVerify(path), ['Event 10 is missing.', EDITED(11)]);
  });

  it('events deleted from the start of the log', async () => {
    const { path } = await loggedDatabase();
    tamper(path, (db) => db.prepare('DELETE FROM audit_events WHERE id <= 3').run());
    expect((await verifyFile(path)).problems).toEqual(['Events 1 to 3 are missing.', EDITED(4)]);
  });

  it('a forged event added at the end with a made-up hash', async () => {
    const { path, rows } = await loggedDatabase();
    tamper(path, (db) =>
      db
        .prepare("INSERT INTO audit_events (at, type, outcome, username, user_id, hash) VALUES (?, 'signin', 'success', 'Alice', ?, ?)")
        .run(rows[19]!.at + 1, rows[1]!.user_id, randomBytes(32)),
    );
    const result = await verifyFile(path);
    expect(result).toMatchObject({ ok: false, events: 21, lastId: 21, problems: [EDITED(21)] });
    expectCliRefusal(auditVerify(path), [EDITED(21)]);
  });

  it('a forged event slipped into the middle, correctly chained, the later events renumbered', async () => {
    const { path } = await loggedDatabase();
    tamper(path, (db) => {
      db.prepare('UPDATE audit_events SET id = id + 1000 WHERE id > 10').run();
      db.prepare('UPDATE audit_events SET id = id - 999 WHERE id > 1000').run();
      const before = rawEvent(db, 10);
      const forged = { id: 11, at: before.at + 1, type: 'admin.user_enabled', outcome: 'success', username: 'Alice', user_id: before.user_id, client_id: null, session_id: null, detail: null };
      db.prepare(
        'INSERT INTO audit_events (id, at, type, outcome, username, user_id, client_id, session_id, detail, hash) VALUES (@id, @at, @type, @outcome, @username, @user_id, @client_id, @session_id, @detail, @hash)',
      ).run({ ...forged, hash: chainHash(before.hash!, forged) });
    });
    const result = await verifyFile(path);
    expect(result.ok).toBe(false);
    // The forged event itself chains; every event after it moved, so each of them breaks.
    expect(result.problems).not.toContain(EDITED(11));
    expect(result.problems.slice(0, 10)).toEqual(range(12, 21).map(EDITED));
    expect(result.problems).toContain(REWRITTEN('stored checkpoint 1', 20));
  });

  it('events cut from the end that a checkpoint vouched for (sqlite_sequence left as it was)', async () => {
    const { path } = await loggedDatabase();
    tamper(path, (db) => db.prepare('DELETE FROM audit_events WHERE id > 17').run());
    const problems = [CUT(18, 20), CUT_PAST_CHECKPOINT('stored checkpoint 1', 20, 17)];
    expect(await verifyFile(path)).toMatchObject({ ok: false, events: 17, lastId: 17, problems });
    expectCliRefusal(auditVerify(path), problems);
  });

  it('events cut from the end that a checkpoint vouched for, sqlite_sequence set back too', async () => {
    const { path } = await loggedDatabase();
    tamper(path, (db) => {
      db.prepare('DELETE FROM audit_events WHERE id > 17').run();
      db.prepare("UPDATE sqlite_sequence SET seq = 17 WHERE name = 'audit_events'").run();
    });
    const problems = [CUT_PAST_CHECKPOINT('stored checkpoint 1', 20, 17)];
    expect(await verifyFile(path)).toMatchObject({ ok: false, events: 17, lastId: 17, problems });
    expectCliRefusal(auditVerify(path), problems);
  });

  it('a cut end is still caught after an engine appended new events over it', async () => {
    // The engine chains on from whatever is last: events written after the cut reuse the cut ids.
    const { path } = await loggedDatabase();
    tamper(path, (db) => {
      db.prepare('DELETE FROM audit_events WHERE id > 17').run();
      db.prepare("UPDATE sqlite_sequence SET seq = 17 WHERE name = 'audit_events'").run();
    });
    const engine = await openEngine({ path, signingKeyAtOpen: false, hashWorkers: 1 });
    for (let i = 0; i < 3; i++) engine.clients.add({ id: `later-${i}`, secret: 'none' });
    await engine.close();
    expect((await verifyFile(path)).problems).toEqual([REWRITTEN('stored checkpoint 1', 20)]);
  });

  it('a whole chain rewritten consistently after an edit is caught by the signed checkpoint', async () => {
    const { path, rows } = await loggedDatabase();
    tamper(path, (db) => {
      db.prepare("UPDATE audit_events SET username = 'Mallory' WHERE id = 5").run();
      rechain(db);
    });
    const stored = inspect(path, (db) => rawEvents(db));
    // The attacker's chain is self-consistent (recomputed with node:crypto, not Gatehouse's code)...
    expect(stored[4]!.username).toBe('Mallory');
    expect(stored[19]!.hash!.toString('hex')).not.toBe(rows[19]!.hash);
    // ...so only the signature over the old head shows it.
    const result = await verifyFile(path);
    expect(result).toMatchObject({ ok: false, events: 20, problems: [REWRITTEN('stored checkpoint 1', 20)] });
    expectCliRefusal(auditVerify(path), [REWRITTEN('stored checkpoint 1', 20)]);
  });

  it('events moved in from another database do not chain (the genesis is bound to the installation)', async () => {
    const source = await loggedDatabase();
    const target = await loggedDatabase();
    const events = inspect(source.path, (db) => rawEvents(db));
    tamper(target.path, (db) => {
      db.prepare('DELETE FROM audit_events').run();
      const insert = db.prepare(
        'INSERT INTO audit_events (id, at, type, outcome, username, user_id, client_id, session_id, detail, hash) VALUES (@id, @at, @type, @outcome, @username, @user_id, @client_id, @session_id, @detail, @hash)',
      );
      for (const event of events) insert.run(event);
    });
    const { problems } = await verifyFile(target.path);
    expect(problems[0]).toBe(EDITED(1));
    expect(problems).toContain(REWRITTEN('stored checkpoint 1', 20));
  });

  it('retention is no cover: an event edited after pruning is still caught', async () => {
    const { engine, path } = await newEngine({ policy: { audit: { maxEvents: 100, checkpointEvery: 10 } } });
    for (let i = 0; i < 150; i++) {
      engine.clients.add({ id: `app-${i}`, secret: 'none' });
      await checkpointsCaughtUp(engine, 10);
    }
    await engine.close();
    const before = await verifyFile(path);
    expect(before.ok).toBe(true);
    expect(before.prunedThrough).toBeGreaterThan(0);
    const first = before.prunedThrough + 1;
    tamper(path, (db) => db.prepare("UPDATE audit_events SET client_id = 'desktop' WHERE id = ?").run(first));
    expect((await verifyFile(path)).problems).toEqual([EDITED(first)]);
  });
});

describe('tampering with the checkpoints is detected', () => {
  it('a checkpoint token with a changed signature', async () => {
    const { path } = await loggedDatabase();
    tamper(path, (db) => {
      const token = db.prepare('SELECT token FROM audit_checkpoints WHERE id = 1').pluck().get() as string;
      const [v, p, body, footer] = token.split('.') as [string, string, string, string];
      const bytes = Buffer.from(body, 'base64url');
      bytes[bytes.length - 1]! ^= 0x01;
      db.prepare('UPDATE audit_checkpoints SET token = ? WHERE id = 1').run(`${v}.${p}.${bytes.toString('base64url')}.${footer}`);
    });
    const result = await verifyFile(path);
    expect(result).toMatchObject({ ok: false, checkpoints: 0 });
    expect(result.problems).toHaveLength(1);
    expect(result.problems[0]).toMatch(/^The stored checkpoint 1 is not valid: its signature does not verify \(.+\)\.$/);
    expect(auditVerify(path).status).toBe(1);
  });

  it('a checkpoint token whose claims were changed under the old signature', async () => {
    const { path } = await loggedDatabase();
    tamper(path, (db) => {
      db.prepare('DELETE FROM audit_events WHERE id > 15').run();
      db.prepare("UPDATE sqlite_sequence SET seq = 15 WHERE name = 'audit_events'").run();
      const token = db.prepare('SELECT token FROM audit_checkpoints WHERE id = 1').pluck().get() as string;
      const [v, p, body, footer] = token.split('.') as [string, string, string, string];
      const bytes = Buffer.from(body, 'base64url');
      const signature = bytes.subarray(bytes.length - 64);
      const last = rawEvent(db, 15);
      const claims = { ...claimsOf(token), last_id: 15, last_hash: last.hash!.toString('hex') };
      const forged = `${v}.${p}.${Buffer.concat([Buffer.from(JSON.stringify(claims)), signature]).toString('base64url')}.${footer}`;
      db.prepare('UPDATE audit_checkpoints SET token = ?, last_id = 15, last_hash = ? WHERE id = 1').run(forged, last.hash);
    });
    const result = await verifyFile(path);
    expect(result.ok).toBe(false);
    expect(result.problems).toEqual([expect.stringMatching(/^The stored checkpoint 1 is not valid: its signature does not verify/)]);
  });

  it("a checkpoint token given another key's footer", async () => {
    const { path, installationId } = await loggedDatabase();
    const stranger = await attackerToken({ typ: 'gatehouse-audit-checkpoint', installation: installationId, last_id: 1, last_hash: '00', iat: '2026-01-15T09:00:00Z' });
    tamper(path, (db) => {
      const token = db.prepare('SELECT token FROM audit_checkpoints WHERE id = 1').pluck().get() as string;
      const parts = token.split('.');
      parts[3] = stranger.token.split('.')[3]!;
      db.prepare('UPDATE audit_checkpoints SET token = ? WHERE id = 1').run(parts.join('.'));
    });
    const result = await verifyFile(path);
    expect(result.problems).toEqual([expect.stringMatching(/^The stored checkpoint 1 is not valid: its signature does not verify/)]);
  });

  it('a checkpoint token that is not a PASETO at all, or names no key', async () => {
    const { path } = await loggedDatabase();
    tamper(path, (db) => {
      db.prepare("INSERT INTO audit_checkpoints (at, last_id, last_hash, kid, token) VALUES (0, 20, x'00', 'k4.pid.x', 'not a token')").run();
      const noKey = `v4.public.${Buffer.alloc(80).toString('base64url')}.${Buffer.from('{}').toString('base64url')}`;
      db.prepare("INSERT INTO audit_checkpoints (at, last_id, last_hash, kid, token) VALUES (0, 20, x'00', 'k4.pid.x', ?)").run(noKey);
    });
    const result = await verifyFile(path);
    expect(result).toMatchObject({ ok: false, checkpoints: 1 });
    expect(result.problems).toEqual([expect.stringMatching(/^The stored checkpoint 2 is not valid: /), 'The stored checkpoint 3 is not valid: it names no key.']);
  });

  it("another database's genuine checkpoint put in this one's place", async () => {
    const mine = await loggedDatabase();
    const theirs = await loggedDatabase();
    tamper(mine.path, (db) => db.prepare('UPDATE audit_checkpoints SET token = ? WHERE id = 1').run(theirs.checkpoint.token));
    expect((await verifyFile(mine.path)).problems).toEqual(['The stored checkpoint 1 is not valid: it belongs to another database.']);
  });

  it("a checkpoint row whose last_id and last_hash no longer agree with its signed token", async () => {
    // The row's columns are what engine.auditCheckpoints() and `audit --json` show, and what
    // retention deletes checkpoints by; the token is what verification reads. They must agree.
    const { path, rows } = await loggedDatabase();
    tamper(path, (db) => db.prepare('UPDATE audit_checkpoints SET last_id = 3, last_hash = ? WHERE id = 1').run(Buffer.from(rows[2]!.hash, 'hex')));
    const result = await verifyFile(path);
    expect(result.ok).toBe(false);
    expect(result.problems.join('\n')).toMatch(/stored checkpoint 1/);
  });

  it("a checkpoint signed by a key that is none of this database's, vouching for a rewritten chain", async () => {
    // The attacker rewrites the chain, then replaces the checkpoint with one signed by a key of
    // their own (a PASETO any program can make). The engine's key never signed it.
    const { path, installationId, checkpoint } = await loggedDatabase();
    const head = tamper(path, (db) => {
      db.prepare("UPDATE audit_events SET username = 'Mallory' WHERE id = 5").run();
      return rechain(db);
    });
    const forged = await attackerToken({ ...claimsOf(checkpoint.token), installation: installationId, last_id: 20, last_hash: head.toString('hex') });
    tamper(path, (db) => db.prepare('UPDATE audit_checkpoints SET token = ?, last_hash = ? WHERE id = 1').run(forged.token, head));
    const recorded = inspect(path, (db) => db.prepare('SELECT pid FROM signing_keys').pluck().all() as string[]);
    expect(recorded).not.toContain(forged.pid);
    const result = await verifyFile(path);
    expect(result.ok).toBe(false);
    expect(result.problems).toEqual([expect.stringMatching(/^The stored checkpoint 1 is not valid: /)]);
  });
});

describe('what only a copy kept outside the database catches', () => {
  it('all checkpoints deleted, the end cut and sqlite_sequence set back: caught only with an exported checkpoint', async () => {
    const { path } = await loggedDatabase();
    // The administrator exports a checkpoint and keeps it somewhere else (`audit checkpoint`).
    const made = gatehouse(['audit', 'checkpoint', '--db', path]);
    expect({ status: made.status, stderr: made.stderr }).toEqual({ status: 0, stderr: '' });
    const exported = JSON.parse(made.stdout) as AuditCheckpoint;
    expect(exported).toMatchObject({ lastId: expect.any(Number), lastHash: expect.stringMatching(HEX64), token: expect.stringMatching(/^v4\.public\./) });
    const file = join(tempDir(), 'checkpoint.json');
    writeFileSync(file, made.stdout);
    const intact = await verifyFile(path, [exported]);
    expect(intact.ok).toBe(true);
    const end = intact.lastId;
    expect(exported.lastId).toBe(end);

    tamper(path, (db) => {
      db.prepare('DELETE FROM audit_checkpoints').run();
      db.prepare('DELETE FROM audit_events WHERE id > 15').run();
      db.prepare("UPDATE sqlite_sequence SET seq = 15 WHERE name = 'audit_events'").run();
    });
    // HONEST LIMIT: with every checkpoint gone and AUTOINCREMENT's record set back too, the database
    // holds nothing that remembers the cut events. Without a copy kept outside it, this is
    // undetectable, and verification without one says the log is intact.
    expect(await verifyFile(path)).toMatchObject({ ok: true, events: 15, lastId: 15, checkpoints: 0 });
    expectCliIntact(auditVerify(path));

    // With the outside copy it is caught, through the library and the CLI.
    const problems = [CUT_PAST_CHECKPOINT('exported checkpoint 1', end, 15)];
    expect(await verifyFile(path, [exported])).toMatchObject({ ok: false, checkpoints: 1, problems });
    expectCliRefusal(auditVerify(path, '--checkpoint', file), problems);
  });

  it('a rewritten chain re-signed by a key the attacker also recorded in the database: caught only with an exported checkpoint', async () => {
    const { path, installationId } = await loggedDatabase();
    const made = gatehouse(['audit', 'checkpoint', '--db', path]);
    expect(made.status).toBe(0);
    const exported = JSON.parse(made.stdout) as AuditCheckpoint;
    const file = join(tempDir(), 'checkpoint.json');
    writeFileSync(file, made.stdout);

    const head = tamper(path, (db) => {
      db.prepare("UPDATE audit_events SET outcome = 'failure' WHERE id = 5").run();
      return rechain(db);
    });
    const end = exported.lastId;
    const stored = inspect(path, (db) => db.prepare('SELECT id, token FROM audit_checkpoints ORDER BY id').all() as Array<{ id: number; token: string }>);
    for (const { id, token } of stored) {
      const claims = claimsOf(token);
      const lastId = claims.last_id as number;
      const lastHash = inspect(path, (db) => rawEvent(db, lastId).hash!);
      const forged = await attackerToken({ ...claims, last_hash: lastHash.toString('hex') });
      tamper(path, (db) => {
        db.prepare('UPDATE audit_checkpoints SET token = ?, last_hash = ? WHERE id = ?').run(forged.token, lastHash, id);
        // "insert a key of its own" (docs/security-model.md): the key looks like one the engine made.
        db.prepare('INSERT INTO signing_keys (pid, paserk, created_at, active_until, verify_until, protected_secret) VALUES (?, ?, ?, ?, ?, NULL)').run(
          forged.pid,
          forged.paserk,
          0,
          Number.MAX_SAFE_INTEGER,
          Number.MAX_SAFE_INTEGER,
        );
      });
    }
    expect(head.toString('hex')).not.toBe(exported.lastHash);
    expect(installationId).toBe(claimsOf(exported.token).installation);
    // HONEST LIMIT: an attacker who can write the file can record a key and sign with it; nothing
    // inside the database can tell that key from the engine's.
    expect((await verifyFile(path)).ok).toBe(true);
    const problems = [REWRITTEN('exported checkpoint 1', end)];
    expect(await verifyFile(path, [exported])).toMatchObject({ ok: false, problems });
    expectCliRefusal(auditVerify(path, '--checkpoint', file), problems);
  });

  it('a forged event correctly chained onto the end after the newest checkpoint is not detectable', async () => {
    // HONEST LIMIT of an unkeyed hash chain: an event appended after the newest checkpoint, with
    // its hash computed as the engine would, is indistinguishable from a real one (and the next
    // routine checkpoint would vouch for it).
    const { path, rows } = await loggedDatabase();
    tamper(path, (db) => {
      const forged = { id: 21, at: rows[19]!.at + 1, type: 'signin', outcome: 'success', username: 'Alice', user_id: rows[1]!.user_id, client_id: 'desktop', session_id: null, detail: null };
      db.prepare(
        'INSERT INTO audit_events (id, at, type, outcome, username, user_id, client_id, session_id, detail, hash) VALUES (@id, @at, @type, @outcome, @username, @user_id, @client_id, @session_id, @detail, @hash)',
      ).run({ ...forged, hash: chainHash(rawEvent(db, 20).hash!, forged) });
    });
    expect(await verifyFile(path)).toMatchObject({ ok: true, events: 21, lastId: 21 });
  });
});

describe('the retention anchor cannot be used to hide deletions', () => {
  it('events deleted from the start with a forged anchor, as if retention had pruned them', async () => {
    // Retention keeps at least maxEvents (≥ 100) events and records each prune as an audit.pruned
    // event; here nothing was ever pruned, yet the oldest events vanish behind a hand-made anchor.
    const { path } = await loggedDatabase();
    tamper(path, (db) => {
      const cut = rawEvent(db, 12);
      db.prepare("INSERT INTO meta (key, value) VALUES ('audit_anchor', ?)").run(JSON.stringify({ id: 12, hash: cut.hash!.toString('hex') }));
      db.prepare('DELETE FROM audit_events WHERE id <= 12').run();
    });
    const result = await verifyFile(path);
    expect(result.ok).toBe(false);
  });

  it('the whole log wiped behind a forged anchor is caught by an exported checkpoint', async () => {
    const { path } = await loggedDatabase();
    const made = gatehouse(['audit', 'checkpoint', '--db', path]);
    expect(made.status).toBe(0);
    const file = join(tempDir(), 'checkpoint.json');
    writeFileSync(file, made.stdout);
    const exported = JSON.parse(made.stdout) as AuditCheckpoint;
    tamper(path, (db) => {
      db.prepare("INSERT INTO meta (key, value) VALUES ('audit_anchor', ?)").run(JSON.stringify({ id: exported.lastId, hash: exported.lastHash }));
      db.prepare('DELETE FROM audit_events').run();
      db.prepare('DELETE FROM audit_checkpoints').run();
    });
    expect(inspect(path, (db) => rawEvents(db))).toEqual([]);
    const result = await verifyFile(path, [exported]);
    expect(result.ok).toBe(false);
    expect(auditVerify(path, '--checkpoint', file).status).toBe(1);
  });
});

describe('retention', () => {
  it('by size: the log stays within maxEvents + checkpointEvery, keeps verifying, and the file stops growing', async () => {
    const maxEvents = 100;
    const every = 10;
    const { engine, path } = await newEngine({ policy: { audit: { maxEvents, checkpointEvery: every } } });
    await engine.users.add({ username: 'Alice', password: PASSWORD, scope: ['records:read'] });
    let most = 0;
    const pageCounts: number[] = [];
    const checkpointCounts: number[] = [];
    for (let round = 1; round <= 4; round++) {
      for (let i = 0; i < 300; i++) {
        if (i % 3 === 2) engine.clients.remove(`app-${round}-${i - 1}`);
        else if (i % 3 === 1) engine.clients.add({ id: `app-${round}-${i}`, secret: 'none' });
        else engine.users.setScope('Alice', i % 2 === 0 ? ['records:read'] : []);
        // The count right after each write, before any checkpoint due has had a chance to run.
        most = Math.max(most, engine.auditLog().length);
        await checkpointsCaughtUp(engine, every);
      }
      const result = await engine.verifyAuditLog();
      expect(result).toMatchObject({ ok: true, problems: [] });
      expect(result.prunedThrough).toBeGreaterThan(0);
      expect(result.events).toBe(result.lastId - result.prunedThrough);
      expect(result.events).toBeLessThanOrEqual(maxEvents + every);
      checkpointCounts.push(result.checkpoints);
      pageCounts.push(inspect(path, (db) => db.pragma('page_count', { simple: true }) as number));
    }
    // Observed bound: a checkpoint falls due at maxEvents + checkpointEvery events, then retention
    // cuts back to maxEvents and records one audit.pruned event.
    expect(most).toBeLessThanOrEqual(maxEvents + every);
    expect(most).toBeGreaterThan(maxEvents);
    const pruned = engine.auditLog().filter((row) => row.type === 'audit.pruned');
    expect(pruned.length).toBeGreaterThan(0);
    expect(JSON.parse(pruned.at(-1)!.detail!)).toEqual({ events: expect.any(Number), throughId: expect.any(Number), throughHash: expect.stringMatching(/^[0-9a-f]{64}$/) });
    // Old checkpoints go with the events they vouched for.
    expect(Math.max(...checkpointCounts)).toBeLessThanOrEqual((maxEvents + every) / every + 1);
    // Equal work, equal file: pages freed by retention are reused.
    expect(pageCounts[2]).toBeLessThanOrEqual(pageCounts[1]!);
    expect(pageCounts[3]).toBeLessThanOrEqual(pageCounts[1]!);
    await engine.close();

    const after = await verifyFile(path);
    expect(after).toMatchObject({ ok: true });
    expect(after.events).toBeLessThanOrEqual(maxEvents + 1);
    const text = expectCliIntact(auditVerify(path));
    expect(text).toContain(`events up to ${after.prunedThrough} were removed by retention`);
  });

  it('by age: events older than retentionDays go when maintenance runs, the rest still verifies', async () => {
    const clock = new FakeClock();
    const { engine, path } = await newEngine({ clock, policy: { audit: { retentionDays: 30 } } });
    await engine.users.add({ username: 'Alice', password: PASSWORD, scope: ['records:read'] });
    for (let i = 0; i < 5; i++) engine.users.setScope('Alice', i % 2 === 0 ? [] : ['records:read']);
    const old = engine.auditLog();
    const oldCheckpoint = await engine.auditCheckpoint();
    expect(old.map((row) => row.id)).toEqual(range(1, 7));

    clock.advance(10 * DAY);
    for (let i = 0; i < 5; i++) engine.clients.add({ id: `later-${i}`, secret: 'none' });
    clock.advance(25 * DAY); // the first events are now 35 days old, the later ones 25
    // Daily maintenance runs when the signing key rotates.
    await engine.rotateSigningKey();
    const now = clock.now();
    const rows = engine.auditLog();
    expect(rows.map((row) => row.id)).toEqual(range(8, 14));
    expect(rows.every((row) => row.at >= now - 30 * DAY * 1000)).toBe(true);
    expect(rows.slice(-2).map((row) => row.type)).toEqual(['key.started', 'audit.pruned']);
    expect(JSON.parse(rows.at(-1)!.detail!)).toMatchObject({ events: 7, throughId: 7 });
    // The checkpoint that vouched only for pruned events went with them.
    expect(engine.auditCheckpoints().map((c) => c.token)).not.toContain(oldCheckpoint.token);

    expect(await engine.verifyAuditLog()).toMatchObject({ ok: true, events: 7, lastId: 14, prunedThrough: 7, problems: [] });
    // An exported copy of the pruned checkpoint vouches only for pruned events: nothing to hold against.
    expect(await engine.verifyAuditLog([oldCheckpoint])).toMatchObject({ ok: true, checkpoints: 1 });
    await engine.close();

    const text = expectCliIntact(auditVerify(path));
    expect(text).toContain('events up to 7 were removed by retention');
    // The chain after the anchor is the same chain: the anchor holds event 7's hash.
    const anchor = inspect(path, (db) => JSON.parse(db.prepare("SELECT value FROM meta WHERE key = 'audit_anchor'").pluck().get() as string));
    expect(anchor).toEqual({ id: 7, hash: old[6]!.hash });
  });
});

describe('gatehouse audit --json', () => {
  it('exports every event in order with its hash, and the checkpoints, for a 2,500-event log', { timeout: 180_000 }, async () => {
    const { engine, path } = await newEngine();
    for (let i = 0; i < 2500; i++) {
      if (i % 2 === 0) engine.clients.add({ id: `app-${i}`, secret: 'none', scope: ['records:read'] });
      else engine.clients.remove(`app-${i - 1}`);
      // Let the routine checkpoints (every 1,000 events) run where they fall due.
      await checkpointsCaughtUp(engine, 1000);
    }
    await engine.auditCheckpoint();
    await engine.close();

    const run = gatehouse(['audit', '--json', '--db', path]);
    expect({ status: run.status, stderr: run.stderr }).toEqual({ status: 0, stderr: '' });
    const exported = JSON.parse(run.stdout) as { installationId: string; checkpoints: AuditCheckpoint[]; events: AuditRow[] };
    expect(Object.keys(exported)).toEqual(['installationId', 'checkpoints', 'events']);

    // Against the table itself, read with SQL.
    const raw = inspect(path, (db) => ({
      installationId: installationOf(db),
      events: db
        .prepare('SELECT id, at, type, outcome, username, user_id, client_id, session_id, detail, lower(hex(hash)) AS hash FROM audit_events ORDER BY id')
        .all() as AuditRow[],
      checkpoints: (db.prepare('SELECT at, last_id, lower(hex(last_hash)) AS last_hash, token FROM audit_checkpoints ORDER BY id').all() as Array<{
        at: number;
        last_id: number;
        last_hash: string;
        token: string;
      }>).map((c) => ({ lastId: c.last_id, lastHash: c.last_hash, at: c.at, token: c.token })),
    }));
    expect(raw.events.length).toBe(2501); // key.started + 2,500
    expect(exported.installationId).toBe(raw.installationId);
    expect(exported.events).toHaveLength(raw.events.length);
    expect(exported.events.map((e) => e.id)).toEqual(range(1, 2501));
    expect(exported.events).toEqual(raw.events);
    expect(exported.checkpoints).toEqual(raw.checkpoints);
    expect(exported.checkpoints.map((c) => c.lastId)).toEqual([1000, 2000, 2501]); // key.started is event 1

    // The export alone is enough to check the chain (recomputed here with node:crypto).
    let previous = genesisOf(exported.installationId);
    for (const event of exported.events) {
      previous = chainHash(previous, event);
      expect(event.hash).toBe(previous.toString('hex'));
    }
    for (const checkpoint of exported.checkpoints) expect(checkpoint.lastHash).toBe(exported.events[checkpoint.lastId - 1]!.hash);

    // The export is accepted as a file of checkpoints.
    const file = join(tempDir(), 'export.json');
    writeFileSync(file, run.stdout);
    expect(expectCliIntact(auditVerify(path, '--checkpoint', file))).toContain('2501 event(s) through id 2501, 6 signed checkpoint(s).');

    // The table form lists every event too, under one header line.
    const text = gatehouse(['audit', '--db', path]);
    expect(text.status).toBe(0);
    const lines = text.stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(2502);
    expect(lines[0]).toMatch(/^ID\s+TIME\s+TYPE\s+OUTCOME\s+USER\s+CLIENT\s+DETAIL$/);
    expect(lines.at(-1)).toMatch(/^2501 /);
  });

  it('pages through engine.auditLog() by afterId and limit', async () => {
    const { engine } = await newEngine();
    for (let i = 0; i < 25; i++) engine.clients.add({ id: `app-${i}`, secret: 'none' });
    const all = engine.auditLog();
    const paged: AuditRow[] = [];
    for (let afterId = 0; ; ) {
      const page = engine.auditLog({ afterId, limit: 7 });
      if (page.length === 0) break;
      expect(page.length).toBeLessThanOrEqual(7);
      paged.push(...page);
      afterId = page.at(-1)!.id;
    }
    expect(paged).toEqual(all);
    expect(all).toHaveLength(26);
    expect(() => engine.auditLog({ afterId: -1 })).toThrow(RangeError);
    expect(() => engine.auditLog({ limit: 1.5 })).toThrow(RangeError);
  });
});

describe('a version 1 database', () => {
  it('has its events chained by the migration, and tampering with them is then detected', async () => {
    // A version 1 file made by hand: the shipped migration 1 (no hash column), its identity and
    // user_version as the engine's migrate() sets them, and events as version 1 wrote them.
    const path = join(tempDir(), 'v1.db');
    const installationId = randomUUID();
    const db = new Database(path);
    db.pragma('journal_mode = WAL');
    db.transaction(() => {
      migrations[0]!(db);
      db.pragma(`application_id = ${0x47485345}`);
      db.prepare("INSERT INTO meta (key, value) VALUES ('installation_id', ?)").run(installationId);
      const insert = db.prepare('INSERT INTO audit_events (at, type, outcome, username, client_id, detail) VALUES (?, ?, ?, ?, ?, ?)');
      insert.run(1_700_000_000_000, 'admin.user_added', 'success', 'Alice', null, null);
      insert.run(1_700_000_001_000, 'signin', 'failure', 'Alice', 'desktop', '{"reason":"bad password"}');
      insert.run(1_700_000_002_000, 'signin', 'success', 'Alice', 'desktop', null);
    })();
    db.pragma('user_version = 1');
    expect(db.prepare('SELECT * FROM audit_events WHERE id = 1').get()).not.toHaveProperty('hash');
    db.close();

    const engine = await openEngine({ path, signingKeyAtOpen: false, hashWorkers: 1 });
    const migrated = engine.auditLog();
    expect(migrated.map((row) => [row.id, row.type, row.outcome])).toEqual([
      [1, 'admin.user_added', 'success'],
      [2, 'signin', 'failure'],
      [3, 'signin', 'success'],
    ]);
    let previous = genesisOf(installationId);
    for (const row of migrated) {
      previous = chainHash(previous, row);
      expect(row.hash).toBe(previous.toString('hex'));
    }
    // New events chain on from the migrated ones.
    engine.clients.add({ id: 'desktop', secret: 'none' });
    expect(await engine.verifyAuditLog()).toMatchObject({ ok: true, events: 4, lastId: 4, problems: [] });
    await engine.close();
    expectCliIntact(auditVerify(path));

    tamper(path, (raw) => raw.prepare("UPDATE audit_events SET outcome = 'success' WHERE id = 2").run());
    expect((await verifyFile(path)).problems).toEqual([EDITED(2)]);
  });
});
