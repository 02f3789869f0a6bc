import type { IntrospectionResponse, RequestParams } from '../contracts.js';
import { fromRfc3339 } from '../clock.js';
import type { EngineContext } from '../engine/context.js';
import type { ClientRow } from '../store/clients.js';
import { authenticateClient, clientCredentialsFrom, invalidClient, type BasicCredentials } from './client-auth.js';
import { isRevoked } from './access-token-status.js';
import { readParams, required } from './params.js';
import { hashRefreshToken, looksLikeRefreshToken } from './refresh-tokens.js';

const INACTIVE: IntrospectionResponse = { active: false };

/** RFC 7662, for confidential clients only (resource servers). Times in the answer are seconds. */
export async function introspectRequest(
  ctx: EngineContext,
  input: RequestParams,
  basic?: BasicCredentials,
): Promise<IntrospectionResponse> {
  const params = readParams(input);
  const client = authenticateClient(ctx.clients, clientCredentialsFrom(params, basic));
  if (client.secret_hash === null) throw invalidClient('Introspection needs a confidential client.');
  return introspectToken(ctx, client, required(params, 'token'));
}

export async function introspectToken(ctx: EngineContext, client: ClientRow, token: string): Promise<IntrospectionResponse> {
  if (token.startsWith('v4.public.')) return introspectAccessToken(ctx, token);
  const now = ctx.clock.now();
  if (!looksLikeRefreshToken(token)) return INACTIVE;
  const row = ctx.sessions.findRefreshToken(hashRefreshToken(token));
  // A refresh token is only described to the client it was issued to.
  if (!row || row.client_id !== client.id || row.used_at !== null || row.revoked_at !== null) return INACTIVE;
  const exp = Math.min(row.expires_at, row.last_used_at + ctx.policy.refreshIdleSeconds * 1000);
  const user = ctx.users.findById(row.user_id);
  if (now >= exp || !user || user.disabled === 1) return INACTIVE;
  return {
    active: true,
    token_use: 'refresh_token',
    scope: row.scope,
    client_id: row.client_id,
    username: user.username,
    sub: user.id,
    sid: row.id,
    exp: seconds(exp),
    iat: seconds(row.token_created_at),
  };
}

/**
 * The RFC 7662 answer for an access token. Needs no client: refresh tokens, which are described only
 * to their own client, never come this way.
 */
export async function introspectAccessToken(ctx: EngineContext, token: string): Promise<IntrospectionResponse> {
  const claims = await ctx.accessTokens.verify(token).catch(() => undefined);
  if (!claims || isRevoked(ctx, claims, ctx.clock.now())) return INACTIVE;
  return {
    active: true,
    token_use: 'access_token',
    token_type: 'Bearer',
    scope: claims.scope,
    client_id: claims.client_id,
    username: claims.username,
    sub: claims.sub,
    sid: claims.sid,
    exp: seconds(fromRfc3339(claims.exp)),
    iat: seconds(fromRfc3339(claims.iat)),
    nbf: seconds(fromRfc3339(claims.nbf)),
    iss: claims.iss,
    aud: claims.aud,
    jti: claims.jti,
  };
}

function seconds(ms: number): number {
  return Math.floor(ms / 1000);
}
