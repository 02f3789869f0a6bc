import type { TokenResponse } from '../contracts.js';
import type { EngineContext } from '../engine/context.js';
import type { AccessTokenSubject } from '../tokens/access-tokens.js';
import { formatScope, sameScope } from './scope.js';

export interface Grant {
  granted: readonly string[];
  requested: readonly string[] | undefined;
  refreshToken: string | undefined;
  /** The time the grant was decided (inside its transaction): the token's iat. */
  issuedAt: number;
}

/** Signs the access token and shapes the RFC 6749 §5.1 response. */
export async function tokenResponse(
  ctx: EngineContext,
  subject: Omit<AccessTokenSubject, 'scope'>,
  grant: Grant,
): Promise<TokenResponse> {
  const { token } = await ctx.accessTokens.issue({ ...subject, scope: formatScope(grant.granted) }, grant.issuedAt);
  const response: TokenResponse = {
    access_token: token,
    token_type: 'Bearer',
    expires_in: ctx.policy.accessTokenTtlSeconds,
  };
  if (grant.refreshToken !== undefined) response.refresh_token = grant.refreshToken;
  // §5.1: scope is required when it differs from what was asked (and helpful when nothing was).
  if (grant.requested === undefined || !sameScope(grant.requested, grant.granted)) response.scope = formatScope(grant.granted);
  return response;
}
