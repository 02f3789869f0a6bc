import type { Revocation, SessionEndReason } from '../contracts.js';
import { audit, MAX_LEEWAY_MS, type EngineContext } from '../engine/context.js';

/**
 * Ends sign-in sessions inside the caller's transaction: the refresh family stops working and its
 * access tokens are listed as revoked until the last one issued would have expired anywhere (its
 * exp, recorded on the session, plus the most leeway any verifier allows). Returns the
 * revocations to publish once the transaction has committed.
 */
export function endSessions(
  ctx: EngineContext,
  sessionIds: readonly string[],
  reason: SessionEndReason,
  actor: { username?: string | undefined; clientId?: string | undefined } = {},
): Revocation[] {
  const now = ctx.clock.now();
  const revocations: Revocation[] = [];
  for (const id of sessionIds) {
    const session = ctx.sessions.find(id);
    if (!session || !ctx.sessions.revoke(id, now, reason)) continue;
    const expiresAt = Math.max(now, session.access_expires_at) + MAX_LEEWAY_MS;
    const revocation: Revocation = { kind: 'sid', value: id, revokedAt: now, expiresAt };
    ctx.revocations.add(revocation);
    revocations.push(revocation);
    audit(ctx, { type: 'session.revoked', outcome: 'success', sessionId: id, ...actor, detail: { reason } });
  }
  return revocations;
}
