import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { argon2Verify, argon2id as referenceArgon2id } from 'hash-wasm';
import { describe, expect, it } from 'vitest';
import { openEngine, AdminError } from '../dist/index.js';
import { HashPool } from '../dist/passwords/hash-pool.js';
import { PasswordHasher } from '../dist/passwords/hasher.js';
import { formatPhc, OWASP_ARGON2ID, parsePhc } from '../dist/passwords/phc.js';
import { FakeClock, newEngine, PASSWORD, tempDir } from './helpers.js';

const bin = fileURLToPath(new URL('../bin/gatehouse.js', import.meta.url));

function hasher(params = OWASP_ARGON2ID) {
  return new PasswordHasher(params, new HashPool(2));
}

describe('argon2id PHC strings', () => {
  it('use OWASP parameters and verify with an independent argon2 implementation', async () => {
    const h = hasher();
    try {
      const phc = await h.hash(PASSWORD);
      expect(phc).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$/);
      expect(await argon2Verify({ password: PASSWORD, hash: phc })).toBe(true);
      expect(await argon2Verify({ password: `${PASSWORD}!`, hash: phc })).toBe(false);
    } finally {
      await h.close();
    }
  });

  it('verify hashes made by an independent implementation', async () => {
    const h = hasher();
    try {
      const salt = new Uint8Array(16).fill(7);
      const reference = await referenceArgon2id({ password: PASSWORD, salt, parallelism: 1, iterations: 2, memorySize: 19456, hashLength: 32, outputType: 'encoded' });
      expect(await h.verify(reference, PASSWORD)).toEqual({ ok: true, needsRehash: false });
      expect(await h.verify(reference, 'not it')).toEqual({ ok: false, needsRehash: false });
    } finally {
      await h.close();
    }
  });

  it('parse only well-formed argon2id strings', () => {
    const good = formatPhc({ params: OWASP_ARGON2ID, salt: new Uint8Array(16), hash: new Uint8Array(32) });
    expect(parsePhc(good)?.params).toEqual(OWASP_ARGON2ID);
    for (const bad of [
      '',
      good.replace('argon2id', 'argon2i'),
      good.replace('v=19', 'v=16'),
      good.replace('p=1', 'p=0'),
      '$2b$12$abcdefghijklmnopqrstuu5ykVAlK6wT2Kcd1eXYH3Rkwq9M1c6ZS',
      `${good}$extra`,
    ]) {
      expect(parsePhc(bad), bad).toBeUndefined();
    }
  });

  it('refuse parameters below OWASP guidance', () => {
    expect(() => hasher({ m: 4096, t: 2, p: 1 })).toThrow(RangeError);
    expect(() => hasher({ m: 19456, t: 1, p: 1 })).toThrow(RangeError);
    expect(() => hasher({ m: 12288, t: 3, p: 1 })).toThrow(RangeError); // OWASP's equivalents are not enough here
    expect(() => hasher({ m: 19456, t: 2, p: 0 })).toThrow(RangeError);
  });
});

describe('password verification', () => {
  it('normalises with NFKC, so composed and decomposed forms are one password', async () => {
    const { engine } = await newEngine();
    engine.clients.add({ id: 'desktop', secret: 'none' });
    const composed = 'caf\u00e9 au lait, bien chaud';
    await engine.users.add({ username: 'zoé', password: composed });
    const decomposed = composed.normalize('NFD');
    expect(decomposed).not.toBe(composed);
    await expect(engine.token({ grant_type: 'password', client_id: 'desktop', username: 'zoe\u0301', password: decomposed })).resolves.toMatchObject({
      token_type: 'Bearer',
    });
  });

  it('an unparsable stored hash never verifies, yet costs one evaluation', async () => {
    const h = hasher();
    try {
      expect(await h.verify('$2b$12$notargon', PASSWORD)).toEqual({ ok: false, needsRehash: false });
      expect(await h.verify(undefined, PASSWORD)).toEqual({ ok: false, needsRehash: false });
      expect(h.evaluations).toBe(2);
    } finally {
      await h.close();
    }
  });

  it('rehashes at sign-in when the stored parameters are weaker than policy', async () => {
    const path = join(tempDir(), 'auth.db');
    const clock = new FakeClock();
    const weak = await openEngine({ path, clock, hashWorkers: 1 });
    weak.clients.add({ id: 'desktop', secret: 'none' });
    const legacy = await referenceArgon2id({ password: PASSWORD, salt: new Uint8Array(16).fill(1), parallelism: 1, iterations: 2, memorySize: 19456, hashLength: 32, outputType: 'encoded' });
    await weak.users.add({ username: 'alice', passwordHash: legacy });
    await weak.close();

    const strong = await openEngine({ path, clock, hashWorkers: 1, policy: { argon2: { m: 19456, t: 3, p: 1 } } });
    await strong.token({ grant_type: 'password', client_id: 'desktop', username: 'alice', password: PASSWORD });
    await strong.close(); // waits for the background rehash
    const reopened = await openEngine({ path, clock, hashWorkers: 1, policy: { argon2: { m: 19456, t: 3, p: 1 } } });
    try {
      expect(reopened.auditLog().map((e) => e.type)).toContain('password.rehashed');
      const before = reopened.hashEvaluations;
      await reopened.token({ grant_type: 'password', client_id: 'desktop', username: 'alice', password: PASSWORD });
      expect(reopened.hashEvaluations - before).toBe(1); // already strong: no second rehash
    } finally {
      await reopened.close();
    }
  });

  it('runs in worker threads: many concurrent verifications all resolve correctly', async () => {
    const h = hasher();
    try {
      const phc = await h.hash(PASSWORD);
      const results = await Promise.all(Array.from({ length: 6 }, (_, i) => h.verify(phc, i % 2 === 0 ? PASSWORD : 'wrong password here')));
      expect(results.map((r) => r.ok)).toEqual([true, false, true, false, true, false]);
    } finally {
      await h.close();
    }
    await expect(h.hash(PASSWORD)).rejects.toThrow(/closed/);
  });
});

describe('password rules for new passwords', () => {
  it('are applied when IT adds a user or resets a password', async () => {
    const { engine } = await newEngine();
    const error = await engine.users.add({ username: 'dave', password: 'dave' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AdminError);
    expect((error as AdminError).violations).toEqual([
      'Use at least 15 characters (this has 4).',
      'Do not use your username in your password.',
      'This password is on a list of commonly used passwords.',
    ]);
    await engine.users.add({ username: 'dave', password: PASSWORD });
    await expect(engine.users.resetPassword('dave', 'x'.repeat(300))).rejects.toMatchObject({ code: 'password_policy' });
    // 64 characters of emoji are fine: length counts code points, not bytes.
    const emoji = Array.from({ length: 64 }, (_, i) => String.fromCodePoint(0x1f400 + 3 * i)).join('');
    await expect(engine.users.resetPassword('dave', emoji)).resolves.toMatchObject({ username: 'dave' });
  });
});

describe('gatehouse hash-password', () => {
  it('reads the password on stdin and prints a PHC string that verifies', async () => {
    const run = spawnSync(process.execPath, [bin, 'hash-password'], { input: `${PASSWORD}\r\n`, encoding: 'utf8' });
    expect(run.status).toBe(0);
    const phc = run.stdout.trim();
    expect(await argon2Verify({ password: PASSWORD, hash: phc })).toBe(true);
    const json = spawnSync(process.execPath, [bin, 'hash-password', '--json'], { input: PASSWORD, encoding: 'utf8' });
    expect(json.status).toBe(0);
    expect(await argon2Verify({ password: PASSWORD, hash: (JSON.parse(json.stdout) as { hash: string }).hash })).toBe(true);
  });

  it('exits 1 for a refused password and 2 for usage errors, with one line on stderr', () => {
    const refused = spawnSync(process.execPath, [bin, 'hash-password'], { input: 'shrt\n', encoding: 'utf8' });
    expect([refused.status, refused.stdout]).toEqual([1, '']);
    expect(refused.stderr).toBe('gatehouse: The password was refused: Use at least 15 characters (this has 4).\n');
    for (const args of [[], ['no-such-command'], ['hash-password', '--nope'], ['hash-password', 'extra']]) {
      const usage = spawnSync(process.execPath, [bin, ...args], { input: '', encoding: 'utf8' });
      expect(usage.status, args.join(' ')).toBe(2);
      expect(usage.stderr.split('\n').filter(Boolean)).toHaveLength(1);
    }
  });
});
