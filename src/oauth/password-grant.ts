import { randomUUID } from 'node:crypto';
import type { TokenResponse } from '../contracts.js';
import { audit, type EngineContext } from '../engine/context.js';
import { tooLargeToHash } from '../passwords/policy.js';
import { clientGrants, type ClientRow } from '../store/clients.js';
import { usernameKey } from '../store/username-key.js';
import type { UserRow } from '../store/users.js';
import { OAuthError, WRONG_CREDENTIALS } from './errors.js';
import { newRefreshToken } from './refresh-tokens.js';
import { storedScope } from './scope.js';
import { tokenResponse } from './token-response.js';

export interface PasswordGrantInput {
  username: string;
  password: string;
  /** Parsed requested scope, if the client sent one. */
  scope?: string[] | undefined;
}

/**
 * Checks a username and password, evaluating argon2id exactly once whatever the outcome, and
 * re-reading the account afterwards so a change made meanwhile (by this or another process) wins.
 * Unknown user, wrong password and disabled account all get the same invalid_grant.
 */
export async function checkPassword(
  ctx: EngineContext,
  username: string,
  password: string,
  clientId: string,
): Promise<UserRow> {
  if (tooLargeToHash(password, ctx.policy.password)) {
    throw new OAuthError('invalid_request', 'The password is too long.');
  }
  const before = ctx.users.findByKey(usernameKey(username));
  const { ok, needsRehash } = await ctx.hasher.verify(before?.password_hash, password);
  const user = before && ctx.users.findById(before.id);
  const valid = ok && user !== undefined && user.password_hash === before!.password_hash && user.disabled === 0;
  if (!valid) {
    audit(ctx, {
      type: 'signin',
      outcome: 'failure',
      username,
      userId: user?.id,
      clientId,
      detail: { reason: !user ? 'unknown_user' : !ok ? 'wrong_password' : user.disabled ? 'disabled' : 'changed_meanwhile' },
    });
    throw new OAuthError('invalid_grant', WRONG_CREDENTIALS);
  }
  if (needsRehash) {
    // Best effort: the sign-in has succeeded either way; the next one retries.
    ctx.track(rehash(ctx, user, password).catch((error: Error) => process.emitWarning(`gatehouse: rehash failed: ${error.message}`)));
  }
  return user;
}

/** Replaces a hash made with weaker parameters than today's, once the password is known right. */
async function rehash(ctx: EngineContext, user: UserRow, password: string): Promise<void> {
  const stronger = await ctx.hasher.hash(password);
  ctx.users.upgradeHash(user.id, user.password_hash, stronger);
  audit(ctx, { type: 'password.rehashed', outcome: 'success', userId: user.id, username: user.username });
}

/** RFC 6749 §4.3: the resource owner password credentials grant. */
export async function passwordGrant(ctx: EngineContext, client: ClientRow, input: PasswordGrantInput): Promise<TokenResponse> {
  const clientScope = storedScope(client.scope);
  const outside = input.scope?.filter((token) => !clientScope.includes(token)) ?? [];
  if (outside.length > 0) {
    throw new OAuthError('invalid_scope', `This client may not request: ${outside.join(' ')}.`);
  }
  const user = await checkPassword(ctx, input.username, input.password, client.id);
  if (user.must_change_password === 1) {
    audit(ctx, { type: 'signin', outcome: 'failure', username: user.username, userId: user.id, clientId: client.id, detail: { reason: 'password_change_required' } });
    throw new OAuthError('password_change_required', 'The password is correct but must be changed before signing in.');
  }
  const userScope = storedScope(user.scope);
  const granted = (input.scope ?? clientScope).filter((token) => userScope.includes(token));
  if (input.scope !== undefined && granted.length === 0) {
    throw new OAuthError('invalid_scope', 'None of the requested scopes is granted to this account.');
  }

  await ctx.keys.signingKey(); // rotate first, if due, so nothing fails after the commit
  const now = ctx.clock.now();
  const sessionId = randomUUID();
  const refresh = clientGrants(client).includes('refresh_token') ? newRefreshToken() : undefined;
  ctx.db.transaction(() => {
    ctx.sessions.create({
      id: sessionId,
      userId: user.id,
      clientId: client.id,
      scope: granted.join(' '),
      now,
      expiresAt: now + ctx.policy.refreshAbsoluteSeconds * 1000,
    });
    if (refresh) ctx.sessions.addRefreshToken(refresh.hash, sessionId, now);
    audit(ctx, { type: 'signin', outcome: 'success', username: user.username, userId: user.id, clientId: client.id, sessionId });
  })();
  return tokenResponse(
    ctx,
    { userId: user.id, username: user.username, clientId: client.id, sessionId },
    granted,
    input.scope,
    refresh?.token,
  );
}
