import { randomBytes } from 'node:crypto';
import { open, rm } from 'node:fs/promises';
import { resolve } from 'node:path';
import { AdminError } from './admin-error.js';
import type { Engine } from './engine.js';

/**
 * What a new installation needs before anyone can sign in, shared by `gatehouse serve` and the
 * desktop app: the app's own client, and a first administrator.
 */

/** The app's own public client, for the password and refresh_token grants. */
export const FIRST_PARTY_CLIENT_ID = 'gatehouse-app';
const ALL_SCOPES = ['admin', 'records:read', 'records:write'];

/** Registers the first-party client unless it exists (as IT may have changed it, it is left alone). */
export function ensureFirstPartyClient(engine: Engine): void {
  try {
    engine.clients.get(FIRST_PARTY_CLIENT_ID);
  } catch (error) {
    if (!(error instanceof AdminError && error.code === 'client_not_found')) throw error;
    engine.clients.add({ id: FIRST_PARTY_CLIENT_ID, secret: 'none', scope: ALL_SCOPES, grants: ['password', 'refresh_token'] });
  }
}

/** The first administrator could not be created; nothing was changed. */
export class FirstRunError extends Error {
  override readonly name = 'FirstRunError';
}

/**
 * On a database without any user, creates `admin` with a random one-time password that must be
 * changed at first sign-in. The password goes only into a new file beside the database, private to
 * this OS user; the file is written before the account exists, so the password is never lost.
 * Returns the file's path, or undefined when there was nothing to do.
 */
export async function bootstrapAdmin(engine: Engine, dbPath: string): Promise<string | undefined> {
  if (engine.users.list().length > 0) return undefined;
  const file = resolve(`${dbPath}.admin-password`);
  // 144 random bits, 24 base64url characters: above the 15-character minimum.
  const password = randomBytes(18).toString('base64url');
  const handle = await open(file, 'wx', 0o600).catch((error: NodeJS.ErrnoException) => {
    if (error.code !== 'EEXIST') throw error;
    throw new FirstRunError(`${file} already exists; move it away (it may hold an earlier one-time password) and start again.`);
  });
  try {
    await handle.writeFile(`${password}\n`);
    await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    await engine.users.add({ username: 'admin', password, scope: ALL_SCOPES, mustChangePassword: true });
  } catch (error) {
    await rm(file, { force: true });
    throw error;
  }
  return file;
}
