import { endSessions } from '../oauth/end-sessions.js';
import { administer, audit, liveSince, type EngineContext } from './context.js';

/** What `Engine.startOverAfterRestore()` did. */
export interface RestoreOutcome {
  /** Sessions ended with reason `restored` (their refresh tokens refused, their access tokens revoked). */
  sessionsRevoked: number;
  /** Signing keys ended for signing and verifying: no token they signed is accepted any more. */
  keysEnded: number;
}

/**
 * After a database file is restored from a backup: every session it holds ends (reason `restored`)
 * and every signing key it records stops signing and verifying, so no token issued from the copy
 * (or before it was taken) is honoured; the next host to start makes a new key (audited
 * `key.started`). One transaction, audited as `database.restored`.
 */
export function startOverAfterRestore(ctx: EngineContext): RestoreOutcome {
  const { outcome, revocations } = administer(ctx, () => {
    const revocations = endSessions(ctx, ctx.sessions.liveIds(liveSince(ctx.clock.now())), 'restored');
    const keysEnded = ctx.keys.endAll();
    const outcome: RestoreOutcome = { sessionsRevoked: revocations.length, keysEnded };
    audit(ctx, { type: 'database.restored', outcome: 'success', detail: { ...outcome } });
    return { outcome, revocations };
  });
  ctx.publishRevocations(revocations);
  return outcome;
}
