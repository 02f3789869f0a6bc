import type { Revocation, SessionEndReason } from '../contracts.js';
import { audit, tokenHorizonMs, type EngineContext } from '../engine/context.js';

/**
 * Ends sign-in sessions inside the caller's transaction: the refresh family stops working and its
 * access tokens are listed as revoked until they would have expired. Returns the revocations to
 * publish once the transaction has committed.
 */
export function endSessions(
  ctx: EngineContext,
  sessionIds: readonly string[],
  reason: SessionEndReason,
  actor: { username?: string; clientId?: string } = {},
): Revocation[] {
  const now = ctx.clock.now();
  const revocations: Revocation[] = [];
  for (const id of sessionIds) {
    if (!ctx.sessions.revoke(id, now, reason)) continue;
    const revocation: Revocation = { kind: 'sid', value: id, revokedAt: now, expiresAt: now + tokenHorizonMs(ctx.policy) };
    ctx.revocations.add(revocation);
    revocations.push(revocation);
    audit(ctx, { type: 'session.revoked', outcome: 'success', sessionId: id, ...actor, detail: { reason } });
  }
  return revocations;
}
