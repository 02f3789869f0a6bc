import { pruneAudit } from '../security/audit-checkpoint.js';
import type { EngineContext } from './context.js';

/**
 * Drops revocations no token can need any more, sessions ended longer ago than retention, audit
 * events past retention, and throttle records of the least recent names that are no account.
 */
export function pruneExpired(ctx: EngineContext): void {
  const now = ctx.clock.now();
  ctx.db.transaction(() => {
    ctx.sessions.prune(now, now - ctx.policy.sessionRetentionSeconds * 1000);
    ctx.revocations.prune(now);
    ctx.throttle.prune(now);
  })();
  pruneAudit(ctx);
}
