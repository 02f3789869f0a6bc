import { randomBytes } from 'node:crypto';
import { mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { KeyProtector } from '../tokens/key-protector.js';

/**
 * Electron's safeStorage, as far as Gatehouse uses it: the asynchronous API only (the synchronous
 * one is deprecated and blocks the main process on the OS keychain).
 */
export interface AsyncSafeStorage {
  isAsyncEncryptionAvailable(): Promise<boolean>;
  encryptStringAsync(plainText: string): Promise<Uint8Array>;
  decryptStringAsync(encrypted: Buffer): Promise<{ result: string }>;
  /** Linux only: which secret store holds the key. */
  getSelectedStorageBackend(): string;
}

/** safeStorage cannot protect secrets on this machine; `message` says why and what follows. */
export class SafeStorageUnavailableError extends Error {
  override readonly name = 'SafeStorageUnavailableError';
}

/**
 * Why safeStorage must not be used here, or undefined when it may. On Linux its `basic_text`
 * backend encrypts with a key written in the program itself, which protects nothing: it is refused.
 * Call it after the app is ready (before, the backend is still `unknown`).
 */
export async function safeStorageProblem(safeStorage: AsyncSafeStorage, platform: NodeJS.Platform = process.platform): Promise<string | undefined> {
  const consequence = 'signing keys stay in memory only and "stay signed in" is off';
  if (platform === 'linux') {
    const backend = safeStorage.getSelectedStorageBackend();
    if (backend === 'basic_text') {
      return `safeStorage would use Linux's basic_text backend, whose key is not secret; ${consequence} (a running GNOME Keyring or KWallet, or --password-store=gnome-libsecret|kwallet6, enables them).`;
    }
    if (backend === 'unknown') return `safeStorage was asked before the app was ready; ${consequence}.`;
  }
  if (!(await safeStorage.isAsyncEncryptionAvailable())) return `safeStorage has no OS encryption available; ${consequence}.`;
  return undefined;
}

async function requireSafeStorage(safeStorage: AsyncSafeStorage, platform: NodeJS.Platform): Promise<void> {
  const problem = await safeStorageProblem(safeStorage, platform);
  if (problem) throw new SafeStorageUnavailableError(problem);
}

/**
 * The engine's KeyProtector over safeStorage, for `persistentSigningKeys`. Rejects with
 * SafeStorageUnavailableError where safeStorage protects nothing (see safeStorageProblem).
 */
export async function safeStorageKeyProtector(safeStorage: AsyncSafeStorage, platform: NodeJS.Platform = process.platform): Promise<KeyProtector> {
  await requireSafeStorage(safeStorage, platform);
  return {
    protect: async (secret) => safeStorage.encryptStringAsync(new TextDecoder('utf-8', { fatal: true }).decode(secret)),
    unprotect: async (blob) => new TextEncoder().encode((await safeStorage.decryptStringAsync(Buffer.from(blob))).result),
  };
}

/** One secret kept in a file, encrypted by safeStorage (the app's "stay signed in" refresh token). */
export interface SecretFile {
  /** The secret, or null when there is none (no file, or one that could not be read: it is then removed). */
  load(): Promise<string | null>;
  /** Replaces the secret; the file is written whole or not at all, readable by this OS user only. */
  save(value: string): Promise<void>;
  clear(): Promise<void>;
}

export interface SecretFileOptions {
  /** Told once per file found unreadable and removed; default: a process warning. */
  log?: ((line: string) => void) | undefined;
  platform?: NodeJS.Platform | undefined;
}

const FORMAT = 'gatehouse-secret/1';
/** Far above a refresh token; a bound so that a stray huge value is refused, not written. */
const MAX_SECRET_LENGTH = 16 * 1024;
const MAX_FILE_BYTES = 4 * MAX_SECRET_LENGTH;

/**
 * A SecretStore over safeStorage and one file. Rejects with SafeStorageUnavailableError where
 * safeStorage protects nothing (see safeStorageProblem).
 */
export async function safeStorageSecretStore(safeStorage: AsyncSafeStorage, filePath: string, options: SecretFileOptions = {}): Promise<SecretFile> {
  if (typeof filePath !== 'string' || filePath === '') throw new TypeError('filePath must name the file that keeps the secret.');
  await requireSafeStorage(safeStorage, options.platform ?? process.platform);
  const log = options.log ?? ((line: string) => process.emitWarning(`gatehouse: ${line}`));

  const discard = async (why: string) => {
    await rm(filePath, { force: true });
    log(`${filePath} ${why}; it was removed, so the next start asks for the password again.`);
    return null;
  };

  return {
    load: async () => {
      let text: string;
      try {
        const bytes = await readFile(filePath);
        if (bytes.length > MAX_FILE_BYTES) return await discard('is too large to be a saved secret');
        text = bytes.toString('utf8');
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
        throw error;
      }
      const ciphertext = readEnvelope(text);
      if (!ciphertext) return await discard('is not a saved secret (damaged or of another format)');
      let value: string;
      try {
        value = (await safeStorage.decryptStringAsync(ciphertext)).result;
      } catch {
        // Another user's, another machine's, or a keychain entry that was reset.
        return await discard('could not be decrypted by safeStorage');
      }
      if (value === '' || value.length > MAX_SECRET_LENGTH) return await discard('held no usable secret');
      return value;
    },
    save: async (value) => {
      if (typeof value !== 'string' || value === '' || value.length > MAX_SECRET_LENGTH) {
        throw new TypeError(`The secret must be a non-empty string of at most ${MAX_SECRET_LENGTH} characters.`);
      }
      const ciphertext = Buffer.from(await safeStorage.encryptStringAsync(value));
      await writeAtomically(filePath, JSON.stringify({ format: FORMAT, ciphertext: ciphertext.toString('base64') }));
    },
    clear: () => rm(filePath, { force: true }),
  };
}

function readEnvelope(text: string): Buffer | undefined {
  try {
    const parsed: unknown = JSON.parse(text);
    if (typeof parsed !== 'object' || parsed === null) return undefined;
    const { format, ciphertext } = parsed as Record<string, unknown>;
    if (format !== FORMAT || typeof ciphertext !== 'string' || !/^[A-Za-z0-9+/]+={0,2}$/.test(ciphertext)) return undefined;
    return Buffer.from(ciphertext, 'base64');
  } catch {
    return undefined;
  }
}

/** Writes a new file private to this OS user beside the target, flushes it, then renames it over the target. */
async function writeAtomically(filePath: string, contents: string): Promise<void> {
  const dir = dirname(filePath);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const temp = join(dir, `.${basename(filePath)}.${randomBytes(6).toString('hex')}.tmp`);
  const handle = await open(temp, 'wx', 0o600);
  try {
    try {
      await handle.writeFile(contents);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, filePath);
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
}
