import type { AccessTokenClaims } from '../contracts.js';
import type { EngineContext } from '../engine/context.js';

/**
 * Whether a token with a good signature is still honoured: not revoked by itself or with its
 * session, its session not ended or gone, its account present and enabled. Reads the database, so
 * changes made by any process count at once.
 */
export function isRevoked(ctx: EngineContext, claims: AccessTokenClaims, now: number): boolean {
  if (ctx.revocations.isRevoked('jti', claims.jti, now) || ctx.revocations.isRevoked('sid', claims.sid, now)) return true;
  const session = ctx.sessions.find(claims.sid);
  if (!session || session.revoked_at !== null) return true;
  const user = ctx.users.findById(claims.sub);
  return !user || user.disabled === 1;
}
