import { readFile } from 'node:fs/promises';
import { isAbsolute, posix, win32 } from 'node:path';
import { AppPolicyError, resolveAppPolicy, type AppPolicy } from './app-policy.js';

/**
 * The machine policy file IT may place on a computer (one JSON object, the AppPolicy fields). It is
 * read once at start; a missing file means the defaults, and a file that is there but cannot be
 * read or is not valid refuses the start: IT's policy is never ignored in silence.
 */

/** A policy larger than this is not a policy (the whole schema fits in a few hundred bytes). */
const MAX_POLICY_BYTES = 64 * 1024;

/**
 * Where the policy file lives: `%ProgramData%\Gatehouse\policy.json` on Windows,
 * `/Library/Application Support/Gatehouse/policy.json` on macOS, `/etc/gatehouse/policy.json` elsewhere.
 */
export function defaultPolicyFilePath(platform: NodeJS.Platform = process.platform, env: NodeJS.ProcessEnv = process.env): string {
  if (platform === 'win32') return win32.join(env.ProgramData || env.ALLUSERSPROFILE || 'C:\\ProgramData', 'Gatehouse', 'policy.json');
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
  policy: Readonly<AppPolicy>;
  /** The file the policy came from; undefined when there was none (the defaults). */
  source: string | undefined;
}

/** Reads and validates the policy file at `path` (default: this platform's); throws PolicyFileError. */
export async function readPolicyFile(path: string = defaultPolicyFilePath()): Promise<PolicyFileResult> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (error) {
    const { code, message } = error as NodeJS.ErrnoException;
    if (code === 'ENOENT') return { policy: resolveAppPolicy(), source: undefined };
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
  const problems: string[] = [];
  let policy: Readonly<AppPolicy> | undefined;
  try {
    policy = resolveAppPolicy(parsed);
  } catch (error) {
    if (!(error instanceof AppPolicyError)) throw error;
    problems.push(...error.problems);
  }
  // A relative folder would depend on where the app happened to be started from.
  const { dataDirectory } = (typeof parsed === 'object' && parsed !== null ? parsed : {}) as { dataDirectory?: unknown };
  if (typeof dataDirectory === 'string' && dataDirectory !== '' && !isAbsolute(dataDirectory)) problems.push('dataDirectory: must be an absolute path');
  if (!policy || problems.length > 0) throw new PolicyFileError(path, problems);
  return { policy, source: path };
}
