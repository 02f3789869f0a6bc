import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openEngine } from '../dist/index.js';
import { FakeClock, PASSWORD } from './helpers.js';
import { fileTempDir, runGatehouse, startServe, type Served } from './serve-process.js';

// Throttling and lockout through `gatehouse serve` over HTTP, on a database prepared beforehand
// through the library: a lock is set there with a clock near real time moved by hand, and serve,
// keeping real time, must honour it.
const WRONG = 'a wrong password, long enough';

let served: Served;
let db: string;

beforeAll(async () => {
  db = join(fileTempDir(), 'g.db');
  const clock = new FakeClock(Date.now());
  const engine = await openEngine({ path: db, clock, hashWorkers: 2, policy: { lockout: { freeFailures: 2, maxFailures: 3 } } });
  engine.clients.add({ id: 'app', secret: 'none', scope: ['records:read'] });
  for (const username of ['alice', 'bob']) await engine.users.add({ username, password: PASSWORD, scope: ['records:read'] });
  // alice (an account) and "ghost" (no account) are locked the same way.
  for (const username of ['alice', 'ghost']) {
    for (let i = 0; i < 3; i++) {
      await engine.token({ grant_type: 'password', client_id: 'app', username, password: WRONG }).catch(() => undefined);
      clock.advance(61); // past each delay
    }
  }
  expect(engine.users.signInState('alice').lockedUntil).not.toBeNull();
  await engine.close();
  served = await startServe(['--db', db, '--port', '0']);
});

afterAll(async () => {
  await served?.stop();
});

async function signIn(username: string, password: string) {
  const response = await fetch(`${served.url}/token`, {
    method: 'POST',
    body: new URLSearchParams({ grant_type: 'password', client_id: 'app', username, password }),
  });
  return { status: response.status, retryAfter: response.headers.get('retry-after'), body: await response.text() };
}

describe('throttling over HTTP', () => {
  it('answers checked failures plainly, then refuses with Retry-After, alike for an account and an unknown name', async () => {
    const answers: Record<string, Array<Awaited<ReturnType<typeof signIn>>>> = { bob: [], nobody: [] };
    for (let i = 0; i < 6; i++) {
      for (const name of ['bob', 'nobody']) answers[name]!.push(await signIn(name, i === 5 && name === 'bob' ? PASSWORD : WRONG));
    }
    expect(answers.nobody!.slice(0, 5)).toEqual(answers.bob!.slice(0, 5));
    // The refusals differ only in the seconds left, as each name's delay began a hash's time apart
    // (the library tests, with a clock moved by hand, show them byte for byte equal).
    const seconds = (answer: { retryAfter: string | null }) => Number(answer.retryAfter);
    expect(Math.abs(seconds(answers.nobody![5]!) - seconds(answers.bob![5]!))).toBeLessThanOrEqual(1);
    expect(answers.nobody![5]!.body.replace(/\d+ seconds/, 'N seconds')).toBe(answers.bob![5]!.body.replace(/\d+ seconds/, 'N seconds'));
    const plain = { status: 400, retryAfter: null, body: '{"error":"invalid_grant","error_description":"The username or password is incorrect."}' };
    expect(answers.bob!.slice(0, 5)).toEqual(Array(5).fill(plain));
    // The sixth, with the right password for bob, is refused unchecked: a delay of 30 s began at the fifth failure.
    const refused = answers.bob![5]!;
    expect(refused.status).toBe(400);
    expect(Number(refused.retryAfter)).toBeGreaterThan(25);
    expect(Number(refused.retryAfter)).toBeLessThanOrEqual(30);
    expect(JSON.parse(refused.body)).toEqual({
      error: 'invalid_grant',
      error_description: `Too many failed sign-ins. Try again in ${refused.retryAfter} seconds.`,
    });
  });

  it('honours a lock set by another process, alike for an account and an unknown name, until an administrator lifts it', async () => {
    const locked = await signIn('alice', PASSWORD);
    expect(await signIn('ghost', PASSWORD)).toEqual(locked);
    expect(locked).toEqual({
      status: 400,
      retryAfter: null,
      body: '{"error":"invalid_grant","error_description":"Too many failed sign-ins: this username is locked. Ask your administrator to unlock it."}',
    });
    const unlock = await runGatehouse(['users', 'unlock', 'alice', '--db', db]);
    expect([unlock.code, unlock.stderr]).toEqual([0, '']);
    // The very next request sees it: nothing that decides a sign-in is cached past a write.
    const after = await signIn('alice', PASSWORD);
    expect(after.status).toBe(200);
    expect(JSON.parse(after.body)).toMatchObject({ token_type: 'Bearer' });
  });
});
