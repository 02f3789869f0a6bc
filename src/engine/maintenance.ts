import type { EngineContext } from './context.js';

/** Drops revocations no token can need any more, and sessions ended longer ago than retention. */
export function pruneExpired(ctx: EngineContext): void {
  const now = ctx.clock.now();
  ctx.db.transaction(() => {
    ctx.sessions.prune(now, now - ctx.policy.sessionRetentionSeconds * 1000);
    ctx.revocations.prune(now);
  })();
}
