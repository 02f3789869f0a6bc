import { z } from 'zod';
import type { IpcCallName, IpcCalls } from '../contracts.js';
import { isAllowedUsername, USERNAME_RULE } from '../engine/users-admin.js';
import { tooLargeToHash, type PasswordRules } from '../passwords/policy.js';

/** The argument schema of every call: strict objects, every string capped before any work. */
export type CallSchemas = { readonly [K in IpcCallName]: z.ZodType<IpcCalls[K]['args']> };

/** What runs each call once its caller and argument are checked. */
export type CallRunners = { readonly [K in IpcCallName]: (args: IpcCalls[K]['args']) => Promise<IpcCalls[K]['result']> };

const MAX_SCOPES = 64;
const MAX_SCOPE_NAME = 128;
/** The engine's own rule (128 characters after NFKC) is checked by it; this only bounds the work. */
const MAX_DISPLAY_NAME = 512;
/** Session ids are UUIDs. */
const MAX_SESSION_ID = 64;

const noArgument = z.undefined();

/**
 * Builds the schemas for an engine's password rules (read at each check: provisioning may change
 * them while the app runs): a password larger than the engine would hash is refused here, before
 * it reaches a worker.
 */
export function callSchemas(rules: () => Readonly<PasswordRules>): CallSchemas {
  const username = z.string().refine(isAllowedUsername, USERNAME_RULE);
  const password = z.string().superRefine((value, ctx) => {
    const current = rules();
    if (tooLargeToHash(value, current)) ctx.addIssue({ code: 'custom', message: `must be at most ${current.maxBytes} bytes` });
  });
  const presented = password.refine((value) => value !== '', 'must not be empty');
  const scopes = z.array(z.string().min(1).max(MAX_SCOPE_NAME)).max(MAX_SCOPES);
  const usernameOnly = z.strictObject({ username });
  return {
    getAppInfo: noArgument,
    getSession: noArgument,
    signIn: z.strictObject({ username, password: presented, staySignedIn: z.boolean().exactOptional() }),
    unlock: z.strictObject({ password: presented }),
    signOut: z.strictObject({ everywhere: z.boolean().exactOptional() }).optional(),
    getAccessToken: noArgument,
    getServiceUrl: noArgument,
    changePassword: z.strictObject({ username: username.exactOptional(), currentPassword: presented, newPassword: presented }),
    checkNewPassword: z.strictObject({ username: username.exactOptional(), password }),
    reportActivity: noArgument,
    'admin.listUsers': noArgument,
    'admin.createUser': z.strictObject({
      username,
      displayName: z.string().max(MAX_DISPLAY_NAME).exactOptional(),
      password: presented,
      scopes,
      mustChangePassword: z.boolean(),
    }),
    'admin.setUserDisabled': z.strictObject({ username, disabled: z.boolean() }),
    'admin.unlockUser': usernameOnly,
    'admin.resetPassword': z.strictObject({ username, password: presented, mustChangePassword: z.boolean() }),
    'admin.listSessions': z.strictObject({ username: username.exactOptional() }).optional(),
    'admin.revokeSession': z.strictObject({ sessionId: z.string().min(1).max(MAX_SESSION_ID) }),
    'admin.rotateSigningKey': noArgument,
    'admin.getPolicy': noArgument,
  };
}

/** One sentence naming what was wrong with the arguments (paths and zod's wording; never the values). */
export function describeIssues(call: string, error: z.ZodError): string {
  const problems = error.issues.slice(0, 3).map((issue) => {
    const where = issue.path.length > 0 ? `${issue.path.map(String).join('.')}: ` : '';
    const text = `${where}${issue.message}`;
    return text.length > 120 ? `${text.slice(0, 120)}…` : text;
  });
  const more = error.issues.length > 3 ? ` (and ${error.issues.length - 3} more)` : '';
  return `The arguments of ${call} are not valid: ${problems.join('; ')}${more}.`;
}
