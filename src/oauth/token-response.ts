import type { TokenResponse } from '../contracts.js';
import type { EngineContext } from '../engine/context.js';
import { formatScope, sameScope } from './scope.js';

/** Signs the access token and shapes the RFC 6749 §5.1 response. */
export async function tokenResponse(
  ctx: EngineContext,
  subject: { userId: string; username: string; clientId: string; sessionId: string },
  granted: readonly string[],
  requested: readonly string[] | undefined,
  refreshToken: string | undefined,
): Promise<TokenResponse> {
  const { token } = await ctx.accessTokens.issue({ ...subject, scope: formatScope(granted) });
  const response: TokenResponse = {
    access_token: token,
    token_type: 'Bearer',
    expires_in: ctx.policy.accessTokenTtlSeconds,
  };
  if (refreshToken !== undefined) response.refresh_token = refreshToken;
  // §5.1: scope is required when it differs from what was asked (and helpful when nothing was).
  if (requested === undefined || !sameScope(requested, granted)) response.scope = formatScope(granted);
  return response;
}
