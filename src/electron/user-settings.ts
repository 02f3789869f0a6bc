import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import type { PolicySettings } from './policy-settings.js';

/**
 * The person's own settings: a small JSON file in the app's userData folder (`settings.json`) for
 * what a person may choose. Only `idleLockSeconds` is theirs, and not 0 (turning the idle lock off is
 * IT's choice); the rest is IT's. Every other source (provisioning, machine policy) wins over it.
 * Since it is the person's own preference and not IT's policy, a file that cannot be used is
 * ignored (logged), so a typo never keeps someone out of the app.
 */

export const USER_SETTINGS_FILE = 'settings.json';
const MAX_BYTES = 16 * 1024;

const userSettingsSchema = z.strictObject({ idleLockSeconds: z.number().int().min(1).max(86_400).exactOptional() });

export interface UserSettingsResult {
  settings: Readonly<PolicySettings>;
  /** Why the file was ignored, for the log; undefined when it was used or is missing. */
  ignored: string | undefined;
}

/** Reads the settings file at `path`; never throws (a missing or unusable file sets nothing). */
export async function readUserSettings(path: string): Promise<UserSettingsResult> {
  const ignore = (reason: string): UserSettingsResult => ({ settings: {}, ignored: `${path} is ignored: ${reason}` });
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (error) {
    const { code, message } = error as NodeJS.ErrnoException;
    return code === 'ENOENT' ? { settings: {}, ignored: undefined } : ignore(`it cannot be read (${code ?? message})`);
  }
  if (bytes.length > MAX_BYTES) return ignore(`it is larger than ${MAX_BYTES / 1024} KiB`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(bytes));
  } catch (error) {
    return ignore(`it is not UTF-8 JSON (${(error as Error).message})`);
  }
  const checked = userSettingsSchema.safeParse(parsed);
  if (!checked.success) return ignore(checked.error.issues.map((issue) => `${issue.path.join('.') || '(settings)'}: ${issue.message}`).join('; '));
  return { settings: Object.freeze({ ...checked.data }), ignored: undefined };
}
