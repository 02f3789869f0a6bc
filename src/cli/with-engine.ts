import { existsSync } from 'node:fs';
import { AdminError } from '../engine/admin-error.js';
import { openEngine, type Engine } from '../engine/engine.js';
import { OAuthError } from '../oauth/errors.js';
import { announceChange } from '../store/change-signal.js';
import { StoreError } from '../store/errors.js';
import { CliError } from './errors.js';

/**
 * Opens the engine on the command's database for administration (no signing key, one hash worker),
 * runs `work` and always closes the engine. Then it nudges every running host of the file (serve,
 * the app) to look for changes and waits until they have, so what the command changed applies to
 * their very next request. Refusals from the engine become CliErrors (exit 1).
 * Only commands that add a user or a client may create the database: any other command on a missing
 * file is refused, so a mistyped path never leaves an empty database behind.
 */
export async function withEngine<T>(db: string, mayCreate: boolean, work: (engine: Engine) => T | Promise<T>): Promise<T> {
  if (!mayCreate && !existsSync(db)) {
    throw new CliError('refused', `No database at ${db} (create it with "gatehouse users add" or "gatehouse serve").`);
  }
  let engine: Engine | undefined;
  try {
    engine = await openEngine({ path: db, signingKeyAtOpen: false, hashWorkers: 1 });
    return await work(engine);
  } catch (error) {
    throw refusal(error);
  } finally {
    if (engine) {
      await engine.close();
      await announceChange(db);
    }
  }
}

function refusal(error: unknown): unknown {
  if (error instanceof OAuthError) return new CliError('refused', error.description);
  if (error instanceof AdminError || error instanceof StoreError) return new CliError('refused', error.message);
  return error;
}
