import { isAbsolute } from 'node:path';
import { appPolicySchema, type AppPolicy } from './app-policy.js';

/** The AppPolicy fields one source sets (those it leaves out come from lower sources). */
export type PolicySettings = Partial<AppPolicy>;

/**
 * Checks what one source sets against the app policy's schema (unknown fields refused) and, for a
 * machine source, that `dataDirectory` is absolute (a relative folder would depend on where the app
 * happened to start; `absolute` is the path rule of the source's platform). Every problem is listed, one line each (`idleLockSeconds: …`).
 */
export function checkPolicySettings(input: unknown, absolute: (path: string) => boolean = isAbsolute): { settings: PolicySettings; problems: string[] } {
  const parsed = appPolicySchema.safeParse(input);
  const problems = parsed.success ? [] : parsed.error.issues.map((issue) => `${issue.path.join('.') || '(policy)'}: ${issue.message}`);
  const { dataDirectory } = (typeof input === 'object' && input !== null ? input : {}) as { dataDirectory?: unknown };
  if (typeof dataDirectory === 'string' && dataDirectory !== '' && !absolute(dataDirectory)) problems.push('dataDirectory: must be an absolute path');
  if (!parsed.success || problems.length > 0) return { settings: {}, problems };
  const settings = Object.fromEntries(Object.entries(parsed.data).filter(([, value]) => value !== undefined)) as PolicySettings;
  return { settings: Object.freeze(settings), problems };
}
