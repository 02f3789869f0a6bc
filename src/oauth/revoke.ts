import type { RequestParams } from '../contracts.js';
import { audit, MAX_LEEWAY_MS, type EngineContext } from '../engine/context.js';
import { fromRfc3339 } from '../clock.js';
import type { ClientRow } from '../store/clients.js';
import { authenticateClient, clientCredentialsFrom, type BasicCredentials } from './client-auth.js';
import { endSessions } from './end-sessions.js';
import { OAuthError } from './errors.js';
import { readParams, required } from './params.js';
import { hashRefreshToken, looksLikeRefreshToken } from './refresh-tokens.js';

/**
 * RFC 7009. A refresh token ends its whole family, access tokens included; an access token is
 * revoked alone. Unknown or invalid tokens are answered with success (§2.2); a valid token issued
 * to another client is refused with unauthorized_client (§2.1), revoking nothing.
 */
export async function revokeRequest(ctx: EngineContext, input: RequestParams, basic?: BasicCredentials): Promise<void> {
  const params = readParams(input);
  const client = authenticateClient(ctx.clients, clientCredentialsFrom(params, basic));
  await revokeToken(ctx, client, required(params, 'token'));
}

export async function revokeToken(ctx: EngineContext, client: ClientRow, token: string): Promise<void> {
  if (token.startsWith('v4.public.')) {
    const claims = await ctx.accessTokens.verify(token).catch(() => undefined);
    if (!claims) return;
    if (claims.client_id !== client.id) throw notYours();
    const now = ctx.clock.now();
    if (ctx.revocations.isRevoked('jti', claims.jti, now)) return;
    const revocation = {
      kind: 'jti' as const,
      value: claims.jti,
      revokedAt: now,
      expiresAt: Math.max(fromRfc3339(claims.exp), now) + MAX_LEEWAY_MS,
    };
    ctx.db.transaction(() => {
      ctx.revocations.add(revocation);
      audit(ctx, { type: 'token.revoked', outcome: 'success', clientId: client.id, userId: claims.sub, sessionId: claims.sid });
    })();
    ctx.publishRevocations([revocation]);
    return;
  }
  if (!looksLikeRefreshToken(token)) return;
  const revocations = ctx.db.transaction(() => {
    const row = ctx.sessions.findRefreshToken(hashRefreshToken(token));
    if (!row) return [];
    if (row.client_id !== client.id) throw notYours();
    return endSessions(ctx, [row.id], 'signed_out', { clientId: client.id });
  }).immediate();
  ctx.publishRevocations(revocations);
}

function notYours(): OAuthError {
  return new OAuthError('unauthorized_client', 'This token was not issued to this client.');
}
