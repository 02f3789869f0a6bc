import { readFile } from 'node:fs/promises';
import { posix } from 'node:path';
import { resolveAppPolicy, type AppPolicy } from './app-policy.js';
import { checkPolicySettings, type PolicySettings } from './policy-settings.js';

/**
 * The machine policy file IT may place on a computer (one JSON object, the AppPolicy fields). It is
 * read once at start; a missing file means the defaults, and a file that is there but cannot be
 * read or is not valid refuses the start: IT's policy is never ignored in silence.
 */

/** A policy larger than this is not a policy (the whole schema fits in a few hundred bytes). */
const MAX_POLICY_BYTES = 64 * 1024;

/**
 * Where the policy file lives: `/Library/Application Support/Gatehouse/policy.json` on macOS,
 * `/etc/gatehouse/policy.json` on Linux and elsewhere (both writable by administrators only), and
 * none on Windows: any user may create folders in %ProgramData%, so a file there could be planted
 * by the very people the policy governs. Windows machine policy comes from the registry (Group
 * Policy) alone.
 */
export function defaultPolicyFilePath(platform: NodeJS.Platform = process.platform): string | null {
  if (platform === 'win32') return null;
  if (platform === 'darwin') return '/Library/Application Support/Gatehouse/policy.json';
  return posix.join('/etc', 'gatehouse', 'policy.json');
}

/** The policy file exists but cannot be used; `problems` lists every reason, one line each. */
export class PolicyFileError extends Error {
  override readonly name = 'PolicyFileError';
  constructor(
    readonly path: string,
    readonly problems: readonly string[],
  ) {
    super(`The machine policy in ${path} cannot be used: ${problems.join('; ')}`);
  }
}

export interface PolicyFileResult {
  /** The file's settings over the defaults. */
  policy: Readonly<AppPolicy>;
  /** Only what the file sets (for the policy in force: see effective-policy.ts). */
  settings: Readonly<PolicySettings>;
  /** The file the policy came from; undefined when there was none (the defaults). */
  source: string | undefined;
}

/**
 * Reads and validates the policy file at `path` (default: this platform's; null: none, the
 * defaults); throws PolicyFileError.
 */
export async function readPolicyFile(path: string | null = defaultPolicyFilePath()): Promise<PolicyFileResult> {
  if (path === null) return { policy: resolveAppPolicy(), settings: {}, source: undefined };
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (error) {
    const { code, message } = error as NodeJS.ErrnoException;
    if (code === 'ENOENT') return { policy: resolveAppPolicy(), settings: {}, source: undefined };
    throw new PolicyFileError(path, [`the file cannot be read (${code ?? message})`]);
  }
  if (bytes.length > MAX_POLICY_BYTES) throw new PolicyFileError(path, [`the file is larger than ${MAX_POLICY_BYTES / 1024} KiB`]);
  let parsed: unknown;
  try {
    // Windows editors often start UTF-8 files with a byte order mark, which JSON does not allow.
    parsed = JSON.parse(new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(bytes));
  } catch (error) {
    throw new PolicyFileError(path, [`the file is not UTF-8 JSON (${(error as Error).message})`]);
  }
  const { settings, problems } = checkPolicySettings(parsed);
  if (problems.length > 0) throw new PolicyFileError(path, problems);
  return { policy: resolveAppPolicy(settings), settings, source: path };
}
