import type { RequestParams } from '../contracts.js';
import type { HashPriority } from '../passwords/hash-pool.js';
import { audit, liveSince, type EngineContext } from '../engine/context.js';
import { passwordViolations } from '../passwords/policy.js';
import { authenticateClient, clientCredentialsFrom, requireGrant, type BasicCredentials } from './client-auth.js';
import { endSessions } from './end-sessions.js';
import { OAuthError, WRONG_CREDENTIALS } from './errors.js';
import { readParams, required } from './params.js';
import { confirmUser, hashingUnavailable, verifyUserPassword } from './user-authentication.js';

export interface ChangePasswordInput {
  username: string;
  currentPassword: string;
  newPassword: string;
  priority: HashPriority;
}

/** The password-change endpoint: username, password, new_password, with client authentication. */
export async function changePasswordRequest(
  ctx: EngineContext,
  input: RequestParams,
  basic: BasicCredentials | undefined,
  priority: HashPriority,
): Promise<void> {
  const params = readParams(input);
  const client = authenticateClient(ctx.clients, clientCredentialsFrom(params, basic));
  requireGrant(client, 'password');
  await changePassword(ctx, client.id, {
    username: required(params, 'username'),
    currentPassword: required(params, 'password'),
    newPassword: required(params, 'new_password'),
    priority,
  });
}

/**
 * Changes a password given the current one. This is also how a must-change account becomes usable.
 * A refused new password changes nothing and says why; a successful change ends every session of
 * the user (the request itself belongs to none). `clientId` is the authenticated client that asked,
 * or undefined for the local administrator's CLI.
 */
export async function changePassword(ctx: EngineContext, clientId: string | undefined, input: ChangePasswordInput): Promise<void> {
  const { user } = await verifyUserPassword(ctx, {
    username: input.username,
    password: input.currentPassword,
    clientId,
    purpose: 'password.change',
    priority: input.priority,
  });
  const violations = passwordViolations(input.newPassword, ctx.policy.password, { username: user.username });
  if (input.newPassword.normalize('NFKC') === input.currentPassword.normalize('NFKC')) {
    violations.push('Choose a password different from the current one.');
  }
  if (violations.length > 0) {
    throw new OAuthError('invalid_request', `The new password was refused: ${violations.join(' ')}`, { policyViolations: violations });
  }
  const newHash = await ctx.hasher.hash(input.newPassword, input.priority).catch((error: unknown) => {
    throw hashingUnavailable(error);
  });
  const revocations = ctx.db.transaction(() => {
    // Changed or disabled while we were hashing: the other change wins (nothing was written yet).
    if (!confirmUser(ctx, user)) throw new OAuthError('invalid_grant', WRONG_CREDENTIALS);
    const now = ctx.clock.now();
    ctx.users.setPassword(user.id, newHash, false, now);
    const live = ctx.sessions.liveSessionsOf(user.id, liveSince(now));
    const ended = endSessions(ctx, live.map((s) => s.id), 'password_changed', { username: user.username, clientId });
    audit(ctx, { type: 'password.changed', outcome: 'success', username: user.username, userId: user.id, clientId });
    return ended;
  }).immediate();
  ctx.publishRevocations(revocations);
}
