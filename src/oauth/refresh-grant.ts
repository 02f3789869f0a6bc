import type { Revocation, TokenResponse } from '../contracts.js';
import { audit, type EngineContext } from '../engine/context.js';
import { clientGrants, type ClientRow } from '../store/clients.js';
import { invalidClient } from './client-auth.js';
import type { RefreshTokenRow } from '../store/sessions.js';
import type { UserRow } from '../store/users.js';
import { endSessions } from './end-sessions.js';
import { OAuthError } from './errors.js';
import { hashRefreshToken, newRefreshToken } from './refresh-tokens.js';
import { splitList } from '../store/space-list.js';
import { tokenResponse } from './token-response.js';

export interface RefreshGrantInput {
  refreshToken: string;
  scope?: string[] | undefined;
}

const INVALID = 'The refresh token is invalid, expired or revoked.';

type Decision =
  | { ok: true; row: RefreshTokenRow; user: UserRow; granted: string[]; next: string; now: number }
  | { ok: false; error: OAuthError; revocations: Revocation[] };

/**
 * RFC 6749 §6 with rotation: every use returns a new refresh token, and presenting a used one ends
 * the whole family (RFC 9700 §4.14). The decision is one BEGIN IMMEDIATE transaction, so two
 * presentations of one token, from any two processes on the same file, cannot both succeed.
 */
export async function refreshGrant(ctx: EngineContext, client: ClientRow, input: RefreshGrantInput): Promise<TokenResponse> {
  const decide = ctx.db.transaction((): Decision => {
    const now = ctx.clock.now();
    const fail = (description = INVALID, revocations: Revocation[] = []): Decision => ({
      ok: false,
      error: new OAuthError('invalid_grant', description),
      revocations,
    });
    const hash = hashRefreshToken(input.refreshToken);
    const row = ctx.sessions.findRefreshToken(hash);
    if (!row) return fail();
    // A token issued to another client is simply invalid for this one (§6); it proves no theft.
    if (row.client_id !== client.id) return fail();
    if (row.revoked_at !== null) return fail();
    if (row.used_at !== null) {
      const revocations = endSessions(ctx, [row.id], 'reuse_detected', { clientId: client.id });
      audit(ctx, { type: 'refresh.reuse_detected', outcome: 'failure', userId: row.user_id, clientId: client.id, sessionId: row.id });
      return fail(INVALID, revocations);
    }
    const idleDeadline = row.last_used_at + ctx.policy.refreshIdleSeconds * 1000;
    if (now >= row.expires_at || now >= idleDeadline) return fail();
    const user = ctx.users.findById(row.user_id);
    if (!user || user.disabled === 1) return fail();
    if (user.must_change_password === 1) {
      return {
        ok: false,
        error: new OAuthError('password_change_required', 'The password must be changed before signing in again.'),
        revocations: [],
      };
    }
    const sessionScope = splitList(row.scope);
    const widened = input.scope?.filter((token) => !sessionScope.includes(token)) ?? [];
    if (widened.length > 0) {
      return {
        ok: false,
        error: new OAuthError('invalid_scope', `A refresh cannot add scope beyond the sign-in: ${widened.join(' ')}.`),
        revocations: [],
      };
    }
    // Whatever the account and client may still hold today bounds what the family keeps.
    const userScope = splitList(user.scope);
    // Re-read: the client's registration may have changed since it authenticated.
    const current = ctx.clients.find(client.id);
    if (!current || !clientGrants(current).includes('refresh_token')) {
      return { ok: false, error: invalidClient('The client is no longer registered for this grant.'), revocations: [] };
    }
    const clientScope = splitList(current.scope);
    const granted = (input.scope ?? sessionScope).filter((t) => userScope.includes(t) && clientScope.includes(t));
    if (input.scope !== undefined && granted.length === 0) {
      return {
        ok: false,
        error: new OAuthError('invalid_scope', 'None of the requested scopes is still granted to this account.'),
        revocations: [],
      };
    }
    ctx.sessions.markUsed(hash, now);
    const next = newRefreshToken();
    ctx.sessions.addRefreshToken(next.hash, row.id, now);
    ctx.sessions.touch(row.id, now, now + ctx.policy.accessTokenTtlSeconds * 1000);
    audit(ctx, { type: 'refresh', outcome: 'success', username: user.username, userId: user.id, clientId: client.id, sessionId: row.id });
    return { ok: true, row, user, granted, next: next.token, now };
  });

  // Rotate the signing key first, if due, so nothing can fail once the old refresh token is spent.
  await ctx.keys.signingKey();
  const decision = decide.immediate();
  if (!decision.ok) {
    ctx.publishRevocations(decision.revocations);
    throw decision.error;
  }
  const { row, user, granted, next, now } = decision;
  return tokenResponse(
    ctx,
    { userId: user.id, username: user.username, clientId: client.id, sessionId: row.id },
    { granted, requested: input.scope, refreshToken: next, issuedAt: now },
  );
}
