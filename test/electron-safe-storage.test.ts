import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  safeStorageKeyProtector,
  safeStorageProblem,
  safeStorageSecretStore,
  SafeStorageUnavailableError,
  type AsyncSafeStorage,
} from '../dist/electron/safe-storage.js';
import { tempDir } from './helpers.js';

// There is no Electron here, so no OS keychain. The secret file's own behaviour (atomic writes,
// permissions, damaged files) is tested with AES-256-GCM standing in for safeStorage's cipher; the
// refusal of unusable backends with an object that reports them and must never be asked to encrypt.

/** AES-256-GCM under a random key, shaped like Electron's safeStorage (a stand-in for the OS keychain). */
function aesGcmStandIn(backend = 'gnome_libsecret'): AsyncSafeStorage & { failNextEncrypt(): void } {
  const key = randomBytes(32);
  let failEncrypt = false;
  return {
    isAsyncEncryptionAvailable: async () => true,
    getSelectedStorageBackend: () => backend,
    failNextEncrypt: () => (failEncrypt = true),
    encryptStringAsync: async (plainText) => {
      if (failEncrypt) throw new Error('the keychain is locked');
      const iv = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', key, iv);
      const body = Buffer.concat([cipher.update(plainText, 'utf8'), cipher.final()]);
      return Buffer.concat([iv, cipher.getAuthTag(), body]);
    },
    decryptStringAsync: async (encrypted) => {
      const decipher = createDecipheriv('aes-256-gcm', key, encrypted.subarray(0, 12));
      decipher.setAuthTag(encrypted.subarray(12, 28));
      return { result: Buffer.concat([decipher.update(encrypted.subarray(28)), decipher.final()]).toString('utf8'), shouldReEncrypt: false };
    },
  };
}

/** Reports a backend and availability; fails the test if it is ever asked to encrypt or decrypt. */
function unusable(backend: string, available = true): AsyncSafeStorage {
  const never = async () => {
    throw new Error('safeStorage was used although it must be refused');
  };
  return { getSelectedStorageBackend: () => backend, isAsyncEncryptionAvailable: async () => available, encryptStringAsync: never, decryptStringAsync: never };
}

const TOKEN = 'rt_' + 'x'.repeat(43);

describe('safeStorageSecretStore, with AES-256-GCM standing in for the OS keychain (no Electron here)', () => {
  it('saves and loads the secret; the file is private to this OS user and holds no plain text', async () => {
    const dir = tempDir();
    const file = join(dir, 'session.secret');
    const store = await safeStorageSecretStore(aesGcmStandIn(), file, { platform: 'linux' });
    expect(await store.load()).toBeNull();
    await store.save(TOKEN);
    expect(await store.load()).toBe(TOKEN);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(readFileSync(file, 'utf8')).not.toContain(TOKEN);
    await store.save('a second token');
    expect(await store.load()).toBe('a second token');
    expect(readdirSync(dir)).toEqual(['session.secret']);
    await store.clear();
    expect(existsSync(file)).toBe(false);
    expect(await store.load()).toBeNull();
    await store.clear();
  });

  it('writes whole or not at all: a failed save leaves the previous secret and no temporary file', async () => {
    const dir = tempDir();
    const file = join(dir, 'session.secret');
    const storage = aesGcmStandIn();
    const store = await safeStorageSecretStore(storage, file, { platform: 'linux' });
    await store.save(TOKEN);
    storage.failNextEncrypt();
    await expect(store.save('the next token')).rejects.toThrow('the keychain is locked');
    expect(await store.load()).toBe(TOKEN);
    expect(readdirSync(dir)).toEqual(['session.secret']);
  });

  it('creates a missing directory private to this OS user', async () => {
    const dir = join(tempDir(), 'profile');
    const store = await safeStorageSecretStore(aesGcmStandIn(), join(dir, 'session.secret'), { platform: 'linux' });
    await store.save(TOKEN);
    expect(statSync(dir).mode & 0o777).toBe(0o700);
  });

  it.each([
    ['is not a saved secret (damaged or of another format)', 'not json at all'],
    ['is not a saved secret (damaged or of another format)', JSON.stringify({ format: 'other/1', ciphertext: 'AAAA' })],
    ['is not a saved secret (damaged or of another format)', JSON.stringify({ format: 'gatehouse-secret/1', ciphertext: '%%%' })],
    ['could not be decrypted by safeStorage', JSON.stringify({ format: 'gatehouse-secret/1', ciphertext: randomBytes(60).toString('base64') })],
  ])('a file that %s is removed with a message naming it, and loads as no secret', async (why, contents) => {
    const file = join(tempDir(), 'session.secret');
    writeFileSync(file, contents, { mode: 0o600 });
    const lines: string[] = [];
    const store = await safeStorageSecretStore(aesGcmStandIn(), file, { platform: 'linux', log: (line) => lines.push(line) });
    expect(await store.load()).toBeNull();
    expect(existsSync(file)).toBe(false);
    expect(lines).toEqual([`${file} ${why}; it was removed, so the next start asks for the password again.`]);
  });

  it("a file written under another key (another user's or a reset keychain) is removed too", async () => {
    const file = join(tempDir(), 'session.secret');
    await (await safeStorageSecretStore(aesGcmStandIn(), file, { platform: 'linux' })).save(TOKEN);
    const lines: string[] = [];
    const other = await safeStorageSecretStore(aesGcmStandIn(), file, { platform: 'linux', log: (line) => lines.push(line) });
    expect(await other.load()).toBeNull();
    expect(lines).toEqual([`${file} could not be decrypted by safeStorage; it was removed, so the next start asks for the password again.`]);
  });

  it('refuses to save an empty or oversized secret, keeping what was there', async () => {
    const file = join(tempDir(), 'session.secret');
    const store = await safeStorageSecretStore(aesGcmStandIn(), file, { platform: 'linux' });
    await store.save(TOKEN);
    await expect(store.save('')).rejects.toThrow('The secret must be a non-empty string of at most 16384 characters.');
    await expect(store.save('x'.repeat(16 * 1024 + 1))).rejects.toThrow(TypeError);
    expect(await store.load()).toBe(TOKEN);
  });

  it('a directory where the file should be is an error, not a missing secret', async () => {
    const file = join(tempDir(), 'session.secret');
    mkdirSync(file);
    const store = await safeStorageSecretStore(aesGcmStandIn(), file, { platform: 'linux' });
    await expect(store.load()).rejects.toThrow(/EISDIR/);
  });
});

describe('safeStorage refusal (objects reporting each backend; there is no Electron here)', () => {
  it("refuses Linux's basic_text backend, saying what the app does instead", async () => {
    const problem = await safeStorageProblem(unusable('basic_text'), 'linux');
    expect(problem).toBe(
      `safeStorage would use Linux's basic_text backend, whose key is not secret; signing keys stay in memory only and "stay signed in" is off (a running GNOME Keyring or KWallet, or --password-store=gnome-libsecret|kwallet6, enables them).`,
    );
    await expect(safeStorageKeyProtector(unusable('basic_text'), 'linux')).rejects.toThrow(new SafeStorageUnavailableError(problem!));
    await expect(safeStorageSecretStore(unusable('basic_text'), join(tempDir(), 's'), { platform: 'linux' })).rejects.toBeInstanceOf(SafeStorageUnavailableError);
  });

  it('refuses before the app is ready, and where no OS encryption is available', async () => {
    expect(await safeStorageProblem(unusable('unknown'), 'linux')).toMatch(/^safeStorage was asked before the app was ready; /);
    expect(await safeStorageProblem(unusable('kwallet6', false), 'linux')).toMatch(/^safeStorage has no OS encryption available; /);
    expect(await safeStorageProblem(unusable('n/a', false), 'win32')).toMatch(/^safeStorage has no OS encryption available; /);
  });

  it('accepts a real keyring on Linux, and asks for no Linux backend elsewhere', async () => {
    expect(await safeStorageProblem(unusable('gnome_libsecret'), 'linux')).toBeUndefined();
    const noBackendCall: AsyncSafeStorage = {
      ...unusable('n/a'),
      getSelectedStorageBackend: () => {
        throw new Error('getSelectedStorageBackend exists on Linux only');
      },
    };
    expect(await safeStorageProblem(noBackendCall, 'darwin')).toBeUndefined();
    expect(await safeStorageProblem(noBackendCall, 'win32')).toBeUndefined();
  });
});
