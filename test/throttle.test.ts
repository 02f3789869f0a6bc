import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { openEngine, type Engine } from '../dist/index.js';
import { MonotonicClock } from '../dist/security/monotonic-clock.js';
import { newEngine, oauthFailure, PASSWORD, seeded } from './helpers.js';

const WRONG = 'a wrong password, long enough';
const WRONG_ANSWER = { error: 'invalid_grant', error_description: 'The username or password is incorrect.' };
const LOCKED_ANSWER = {
  error: 'invalid_grant',
  error_description: 'Too many failed sign-ins: this username is locked. Ask your administrator to unlock it.',
};

function signIn(engine: Engine, username: string, password: string) {
  return engine.token({ grant_type: 'password', client_id: 'desktop', username, password });
}

/** One attempt: what the caller sees (body and Retry-After) and how many hashes it cost. */
async function attempt(engine: Engine, username: string, password: string) {
  const before = engine.hashEvaluations;
  try {
    const response = await signIn(engine, username, password);
    return { ok: true as const, response, hashes: engine.hashEvaluations - before };
  } catch (error) {
    const e = error as { toJSON(): unknown; retryAfter?: number; status: number };
    return { ok: false as const, body: e.toJSON(), retryAfter: e.retryAfter, status: e.status, hashes: engine.hashEvaluations - before };
  }
}

describe('throttling per submitted username', () => {
  it('delays after five checked failures, refuses unchecked and uncounted meanwhile, and lets the right password in afterwards', async () => {
    const { engine, clock } = await seeded();
    for (let i = 1; i <= 5; i++) {
      // A checked failure always gets the plain wrong-password answer, without Retry-After.
      expect(await attempt(engine, 'alice', WRONG)).toEqual({ ok: false, body: WRONG_ANSWER, retryAfter: undefined, status: 400, hashes: 1 });
    }
    expect(engine.users.signInState('alice')).toEqual({ failures: 5, delayedUntil: clock.ms + 30_000, lockedUntil: null });

    // Refused: no hash, not counted, even with the right password.
    const refused = await attempt(engine, 'ALICE', PASSWORD);
    expect(refused).toEqual({
      ok: false,
      body: { error: 'invalid_grant', error_description: 'Too many failed sign-ins. Try again in 30 seconds.' },
      retryAfter: 30,
      status: 400,
      hashes: 0,
    });
    clock.advance(29);
    expect(await attempt(engine, 'alice', PASSWORD)).toMatchObject({ ok: false, retryAfter: 1, hashes: 0 });
    expect(engine.users.signInState('alice').failures).toBe(5);

    clock.advance(1);
    expect(await attempt(engine, 'alice', PASSWORD)).toMatchObject({ ok: true, hashes: 1 });
    // A success clears the count and the delay.
    expect(engine.users.signInState('alice')).toEqual({ failures: 0, delayedUntil: null, lockedUntil: null });
  });

  it('doubles the delay with each further checked failure, up to an hour', async () => {
    const { engine, clock } = await seeded();
    const delays: number[] = [];
    for (let i = 1; i <= 13; i++) {
      const result = await attempt(engine, 'alice', WRONG);
      expect(result).toMatchObject({ ok: false, body: WRONG_ANSWER, hashes: 1 });
      const { delayedUntil } = engine.users.signInState('alice');
      if (delayedUntil !== null) {
        delays.push((delayedUntil - clock.ms) / 1000);
        clock.advance((delayedUntil - clock.ms) / 1000);
      }
    }
    expect(delays).toEqual([30, 60, 120, 240, 480, 960, 1920, 3600, 3600]);
  });

  it('answers existing and unknown names byte for byte alike, checked or refused, and the audit log tells them apart', async () => {
    const { engine } = await seeded();
    await engine.users.add({ username: 'bob', password: PASSWORD });
    engine.users.disable('bob');
    const names: Array<[string, string]> = [
      ['alice', WRONG], // wrong password
      ['nobody', PASSWORD], // unknown name
      ['bob', PASSWORD], // disabled account, right password: a checked failure too
    ];
    const seen = new Map<string, string[]>();
    for (let round = 1; round <= 7; round++) {
      for (const [name, password] of names) {
        const { body, retryAfter, status, hashes } = await attempt(engine, name, password);
        seen.set(name, [...(seen.get(name) ?? []), JSON.stringify({ body, retryAfter, status, hashes })]);
      }
    }
    const [alice, nobody, bob] = [...seen.values()];
    expect(nobody).toEqual(alice);
    expect(bob).toEqual(alice);
    // Five checked failures (one hash each), then refused ones (no hash).
    expect(alice!.map((s) => JSON.parse(s).hashes)).toEqual([1, 1, 1, 1, 1, 0, 0]);
    // An unknown name is audited only as a tag: it may be a password typed into the wrong field.
    const delayed = engine.auditLog().filter((e) => e.type === 'throttle.delayed').map((e) => e.username);
    expect(delayed).toEqual(['Alice', expect.stringMatching(/^unknown#[0-9a-f]{6}$/), 'bob']);
  });

  it('counts a burst of concurrent guesses exactly: checks for one name run one at a time', async () => {
    const { engine } = await seeded({ hashWorkers: 2 });
    const before = engine.hashEvaluations;
    const results = await Promise.all(Array.from({ length: 12 }, () => attempt(engine, 'alice', WRONG)));
    expect(engine.hashEvaluations - before).toBe(5);
    // (Per-attempt hash counts mean nothing while attempts overlap: the total above is what counts.)
    expect(results.filter((r) => JSON.stringify(r.body) === JSON.stringify(WRONG_ANSWER) && r.retryAfter === undefined)).toHaveLength(5);
    expect(results.filter((r) => r.retryAfter === 30)).toHaveLength(7);
    expect(engine.users.signInState('alice').failures).toBe(5);
  });

  it('counts wrong current passwords at the password-change endpoint like sign-ins', async () => {
    const { engine } = await seeded();
    for (let i = 0; i < 5; i++) {
      const error = await oauthFailure(
        engine.changePassword({ client_id: 'desktop', username: 'alice', password: WRONG, new_password: 'a different passphrase entirely' }),
      );
      expect(error.toJSON()).toEqual(WRONG_ANSWER);
    }
    const refused = await oauthFailure(
      engine.changePassword({ client_id: 'desktop', username: 'alice', password: PASSWORD, new_password: 'a different passphrase entirely' }),
    );
    expect([refused.toJSON(), (refused as { retryAfter?: number }).retryAfter]).toEqual([
      { error: 'invalid_grant', error_description: 'Too many failed sign-ins. Try again in 30 seconds.' },
      30,
    ]);
    // And they share one count with sign-ins.
    expect((await attempt(engine, 'alice', PASSWORD)).retryAfter).toBe(30);
  });
});

describe('hard lock (NIST SP 800-63B-4 §3.2.2)', () => {
  it('locks before the 101st consecutive checked failure, survives a reopen, and lifts after the timeout', async () => {
    const { engine, clock, path } = await seeded();
    let checked = 0;
    for (;;) {
      const { delayedUntil, lockedUntil } = engine.users.signInState('alice');
      if (lockedUntil !== null) break;
      if (delayedUntil !== null) clock.ms = delayedUntil;
      const result = await attempt(engine, 'alice', WRONG);
      expect(result).toMatchObject({ body: WRONG_ANSWER, retryAfter: undefined, hashes: 1 });
      checked++;
      expect(checked).toBeLessThanOrEqual(100);
    }
    expect(checked).toBe(100);
    expect(engine.auditLog().filter((e) => e.type === 'throttle.locked')).toHaveLength(1);
    // The right password is refused unchecked, with no Retry-After: only an administrator or time helps.
    expect(await attempt(engine, 'alice', PASSWORD)).toEqual({ ok: false, body: LOCKED_ANSWER, retryAfter: undefined, status: 400, hashes: 0 });
    await engine.close();

    const reopened = await openEngine({ path, clock, hashWorkers: 1 });
    try {
      clock.advance(24 * 3600 - 1);
      expect(await attempt(reopened, 'alice', PASSWORD)).toMatchObject({ body: LOCKED_ANSWER, hashes: 0 });
      clock.advance(1);
      expect(await attempt(reopened, 'alice', PASSWORD)).toMatchObject({ ok: true, hashes: 1 });
    } finally {
      await reopened.close();
    }
  }, 120_000);

  it('is lifted at once by an administrator, and the same lock answers for unknown names', async () => {
    const { engine, clock } = await seeded({ policy: { lockout: { freeFailures: 2, maxFailures: 3 } } });
    for (const name of ['alice', 'nobody']) {
      for (let i = 0; i < 3; i++) {
        const { delayedUntil } = engine.users.signInState('alice');
        if (name === 'alice' && delayedUntil !== null) clock.ms = delayedUntil;
        if (name === 'nobody') clock.advance(3600);
        await attempt(engine, name, WRONG);
      }
    }
    const locked = await attempt(engine, 'alice', PASSWORD);
    expect(await attempt(engine, 'nobody', PASSWORD)).toEqual(locked);
    expect(locked).toMatchObject({ body: LOCKED_ANSWER, hashes: 0 });

    const info = engine.users.unlock('alice');
    expect(info.username).toBe('Alice');
    expect(engine.users.signInState('alice')).toEqual({ failures: 0, delayedUntil: null, lockedUntil: null });
    expect(await attempt(engine, 'alice', PASSWORD)).toMatchObject({ ok: true });
    expect(engine.auditLog().some((e) => e.type === 'admin.user_unlocked' && e.username === 'Alice')).toBe(true);
  });

  it('a password reset by IT lifts the lock too', async () => {
    const { engine } = await seeded({ policy: { lockout: { freeFailures: 1, maxFailures: 2, initialDelaySeconds: 1 } } });
    await attempt(engine, 'alice', WRONG);
    expect((await attempt(engine, 'alice', WRONG)).retryAfter).toBe(1);
    await engine.users.resetPassword('alice', 'a password chosen by the helpdesk');
    expect(engine.users.signInState('alice').failures).toBe(0);
    expect(await attempt(engine, 'alice', 'a password chosen by the helpdesk')).toMatchObject({ ok: true });
  });
});

describe('time that never runs backwards', () => {
  it('carries time forward after the clock is set back, and never hands out an earlier time', () => {
    let wall = 1_000_000;
    let ticks = 0; // the monotonic timer, in ms
    const clock = new MonotonicClock({ now: () => wall }, 0, () => ticks);
    const seen: number[] = [clock.now()];
    wall -= 60_000; // set back a minute
    for (let i = 0; i < 200; i++) {
      wall += 500;
      ticks += 500;
      seen.push(clock.now());
    }
    // While the clock is behind, time advances with the timer, not with the wrong clock.
    expect(seen[1]).toBe(1_000_500);
    expect(seen.at(-1)).toBe(1_000_000 + 200 * 500);
    wall += 60_000 + 1000; // the clock is put right (and a second passes): it is believed again
    ticks += 1000;
    seen.push(clock.now());
    expect(seen.at(-1)).toBe(wall);
    wall += 10;
    ticks += 10;
    seen.push(clock.now());
    expect(seen.at(-1)).toBe(wall);
    expect(seen.every((t, i) => i === 0 || t >= seen[i - 1]!)).toBe(true);
  });

  it('a clock set back does not shorten a delay, even across a reopen', async () => {
    const { engine, clock, path } = await seeded();
    for (let i = 0; i < 5; i++) await attempt(engine, 'alice', WRONG);
    const start = clock.ms;
    clock.ms = start - 3600_000; // someone sets the clock back an hour
    expect(await attempt(engine, 'alice', PASSWORD)).toMatchObject({ retryAfter: 30, hashes: 0 });
    clock.advance(31); // 31 s later by the wrong clock: the delay has not run out for real
    const stillRefused = await attempt(engine, 'alice', PASSWORD);
    expect(stillRefused).toMatchObject({ ok: false, hashes: 0 });
    expect(stillRefused.ok === false && stillRefused.retryAfter).toBeGreaterThan(0);
    await engine.close();

    const reopened = await openEngine({ path, clock, hashWorkers: 1 });
    try {
      expect(await attempt(reopened, 'alice', PASSWORD)).toMatchObject({ ok: false, hashes: 0 });
      clock.ms = start + 30_000; // the clock is put right
      expect(await attempt(reopened, 'alice', PASSWORD)).toMatchObject({ ok: true });
    } finally {
      await reopened.close();
    }
  });

  it('a clock set back does not bring an expired access token back', async () => {
    const { engine, clock } = await seeded();
    const { access_token } = await signIn(engine, 'alice', PASSWORD);
    clock.advance(300 + 31); // past exp and the 30 s leeway
    await expect(engine.verifyAccessToken(access_token)).rejects.toMatchObject({ code: 'expired' });
    clock.advance(-600);
    await expect(engine.verifyAccessToken(access_token)).rejects.toMatchObject({ code: 'expired' });
  });
});

describe('password-hash work is capped, with the app first', () => {
  it('refuses other callers past the queue limit with 503 and Retry-After, never the app', async () => {
    const { engine, path } = await seeded({ hashWorkers: 2, policy: { lockout: { maxQueuedChecks: 2 } } });
    const names = Array.from({ length: 8 }, (_, i) => `guess${i}`);
    const other = names.map((name) => attempt(engine, name, WRONG));
    const app = engine.token({ grant_type: 'password', client_id: 'desktop', username: 'alice', password: PASSWORD }, undefined, { priority: 'app' });
    const results = await Promise.all(other);
    const busy = results.filter((r) => r.status === 503);
    expect(busy.length).toBeGreaterThan(0);
    for (const r of busy) {
      expect(r).toMatchObject({
        body: { error: 'server_error', error_description: 'Too many sign-ins are being checked right now; try again in a moment.' },
        retryAfter: 1,
      });
    }
    // Only the checks that ran were counted: a refused one leaves its name untouched.
    const check = new Database(path, { readonly: true });
    const counted = check.prepare('SELECT count(*) FROM throttle WHERE failures = 1').pluck().get();
    check.close();
    expect(counted).toBe(results.length - busy.length);
    expect(engine.hashEvaluations).toBe(1 /* Alice, at seeding */ + (results.length - busy.length) + 1 /* the app */);
    await expect(app).resolves.toMatchObject({ token_type: 'Bearer' });
  });

  it("serves the app's window ahead of queued callers", async () => {
    const { engine } = await seeded({ hashWorkers: 2 });
    // Both workers started first, so no worker's start-up time blurs the order.
    await Promise.all([attempt(engine, 'warm1', WRONG), attempt(engine, 'warm2', WRONG)]);
    const order: string[] = [];
    const track = (label: string, p: Promise<unknown>) => p.then(() => order.push(label), () => order.push(label));
    const others = Array.from({ length: 5 }, (_, i) => track(`other${i}`, attempt(engine, `guess${i}`, WRONG)));
    const app = track('app', engine.token({ grant_type: 'password', client_id: 'desktop', username: 'alice', password: PASSWORD }, undefined, { priority: 'app' }));
    await Promise.all([...others, app]);
    // Other callers never hold both workers, so the app's check starts at once, while the five others
    // wait their turns on the one worker left to them: it ends among the first (the one that was
    // already running may finish just ahead; allow one more for a busy machine).
    expect(order.indexOf('app')).toBeLessThanOrEqual(2);
  });
});

describe('bounded storage for unknown names', () => {
  it('keeps the most recent idle names up to the policy limit, and every delay or lock in force, account or not', async () => {
    const { engine, path, clock } = await seeded({ policy: { lockout: { maxUnknownNames: 100 } } });
    for (let i = 0; i < 5; i++) await attempt(engine, 'alice', WRONG); // alice is now delayed
    await engine.close();
    const db = new Database(path);
    const insert = db.prepare('INSERT INTO throttle (name_hash, failures, delayed_until, locked_until, updated_at) VALUES (?, ?, 0, ?, ?)');
    db.transaction(() => {
      for (let i = 0; i < 250; i++) insert.run(`idle${i}`, 1, null, clock.ms - 1000 + i);
      insert.run('locked-long-ago', 100, clock.ms + 3600_000, clock.ms - 10 * 86_400_000);
    })();
    db.close();

    const reopened = await openEngine({ path, clock, hashWorkers: 1, policy: { lockout: { maxUnknownNames: 100 } } });
    try {
      await reopened.rotateSigningKey(); // daily maintenance runs with each rotation
      const check = new Database(path, { readonly: true });
      const names = check.prepare('SELECT name_hash FROM throttle').pluck().all() as string[];
      check.close();
      const idle = names.filter((n) => n.startsWith('idle'));
      expect(idle).toHaveLength(100);
      expect(idle).toContain('idle249');
      expect(idle).not.toContain('idle0');
      expect(names).toContain('locked-long-ago'); // a lock in force is never dropped to make room
      expect(reopened.users.signInState('alice')).toMatchObject({ failures: 5, delayedUntil: expect.any(Number) });
    } finally {
      await reopened.close();
    }
  });
});

describe('lockout policy', () => {
  it('refuses settings outside NIST limits', async () => {
    await expect(newEngine({ policy: { lockout: { maxFailures: 101 } } })).rejects.toThrow(/maxFailures must be a whole number from 6 to 100/);
    await expect(newEngine({ policy: { lockout: { maxFailures: 5, freeFailures: 5 } } })).rejects.toThrow(RangeError);
    await expect(newEngine({ policy: { lockout: { nope: 1 } as never } })).rejects.toThrow(/unknown setting/);
    const { engine } = await newEngine();
    expect(engine.policy.lockout).toEqual({
      freeFailures: 5,
      initialDelaySeconds: 30,
      maxDelaySeconds: 3600,
      maxFailures: 100,
      lockSeconds: 86400,
      maxUnknownNames: 100000,
      maxQueuedChecks: 32,
    });
  });
});
