import { randomUUID } from 'node:crypto';
import type { TokenResponse } from '../contracts.js';
import { audit, type EngineContext } from '../engine/context.js';
import { clientGrants, type ClientRow } from '../store/clients.js';
import { splitList } from '../store/space-list.js';
import type { UserRow } from '../store/users.js';
import type { HashPriority } from '../passwords/hash-pool.js';
import { invalidClient } from './client-auth.js';
import { OAuthError, WRONG_CREDENTIALS } from './errors.js';
import { newRefreshToken } from './refresh-tokens.js';
import { tokenResponse } from './token-response.js';
import { confirmUser, failedSignIn, rehashIfWeak, verifyUserPassword } from './user-authentication.js';

export interface PasswordGrantInput {
  username: string;
  password: string;
  /** Parsed requested scope, if the client sent one. */
  scope?: string[] | undefined;
  priority: HashPriority;
}

type Decision =
  | { ok: true; user: UserRow; granted: string[]; sessionId: string; refreshToken: string | undefined; now: number }
  | { ok: false; error: OAuthError };

/**
 * RFC 6749 §4.3: the resource owner password credentials grant. The password is checked first (one
 * argon2id evaluation); then one write transaction re-reads the account and the client, so a change
 * made by anyone while the hash ran wins, and creates the session.
 */
export async function passwordGrant(ctx: EngineContext, client: ClientRow, input: PasswordGrantInput): Promise<TokenResponse> {
  const outside = input.scope?.filter((token) => !splitList(client.scope).includes(token)) ?? [];
  if (outside.length > 0) {
    throw new OAuthError('invalid_scope', `This client may not request: ${outside.join(' ')}.`);
  }
  const verified = await verifyUserPassword(ctx, {
    username: input.username,
    password: input.password,
    clientId: client.id,
    purpose: 'signin',
    priority: input.priority,
  });
  await ctx.keys.signingKey(); // rotate first, if due, so nothing can fail after the commit

  const decide = ctx.db.transaction((): Decision => {
    const now = ctx.clock.now();
    const user = confirmUser(ctx, verified.user);
    if (!user) {
      failedSignIn(ctx, input.username, verified.user, client.id, 'changed_meanwhile');
      return { ok: false, error: new OAuthError('invalid_grant', WRONG_CREDENTIALS) };
    }
    const current = ctx.clients.find(client.id);
    if (!current || !clientGrants(current).includes('password')) {
      return { ok: false, error: invalidClient('The client is no longer registered for this grant.') };
    }
    if (user.must_change_password === 1) {
      failedSignIn(ctx, input.username, user, client.id, 'password_change_required');
      return {
        ok: false,
        error: new OAuthError('password_change_required', 'The password is correct but must be changed before signing in.'),
      };
    }
    const allowed = splitList(current.scope);
    const held = splitList(user.scope);
    const granted = (input.scope ?? allowed).filter((token) => allowed.includes(token) && held.includes(token));
    if (input.scope !== undefined && granted.length === 0) {
      return { ok: false, error: new OAuthError('invalid_scope', 'None of the requested scopes is granted to this account.') };
    }
    const sessionId = randomUUID();
    const refresh = clientGrants(current).includes('refresh_token') ? newRefreshToken() : undefined;
    ctx.sessions.create({
      id: sessionId,
      userId: user.id,
      clientId: client.id,
      scope: granted.join(' '),
      now,
      expiresAt: now + ctx.policy.refreshAbsoluteSeconds * 1000,
      accessExpiresAt: now + ctx.policy.accessTokenTtlSeconds * 1000,
    });
    if (refresh) ctx.sessions.addRefreshToken(refresh.hash, sessionId, now);
    audit(ctx, { type: 'signin', outcome: 'success', username: user.username, userId: user.id, clientId: client.id, sessionId });
    return { ok: true, user, granted, sessionId, refreshToken: refresh?.token, now };
  });

  const decision = decide.immediate();
  if (!decision.ok) throw decision.error;
  rehashIfWeak(ctx, verified, input.password);
  const { user, granted, sessionId, refreshToken, now } = decision;
  return tokenResponse(
    ctx,
    { userId: user.id, username: user.username, clientId: client.id, sessionId },
    { granted, requested: input.scope, refreshToken, issuedAt: now },
  );
}
