import { setImmediate as nextTurn } from 'node:timers/promises';
import { pruneAudit } from '../security/audit-checkpoint.js';
import type { EngineContext } from './context.js';
import { MAX_ACCESS_TOKEN_TTL_SECONDS } from './policy.js';

/** Sessions whose token hashes one transaction drops at most (a few milliseconds of work). */
const TOKEN_PRUNE_BATCH = 1000;

/**
 * Drops revocations no token can need any more, sessions ended longer ago than retention, token
 * hashes of ended sessions, audit events past retention, and throttle records of the least recent
 * names that are no account. A backlog of token hashes (a database from before the index on
 * sessions' ends) is dropped in batches afterwards, the event loop free between them.
 */
export function pruneExpired(ctx: EngineContext): void {
  const now = ctx.clock.now();
  const next = ctx.db.transaction(() => {
    ctx.sessions.pruneSessionsEndedBefore(now - ctx.policy.sessionRetentionSeconds * 1000);
    ctx.revocations.prune(now);
    ctx.throttle.prune(now);
    return pruneTokens(ctx, now);
  })();
  pruneAudit(ctx);
  if (next !== undefined) {
    ctx.track(pruneTokenBacklog(ctx, now, next).catch((error: Error) => process.emitWarning(`gatehouse: pruning token hashes failed: ${error.message}`)));
  }
}

function pruneTokens(ctx: EngineContext, now: number, from?: number): number | undefined {
  return ctx.sessions.pruneEndedTokens(now, TOKEN_PRUNE_BATCH, MAX_ACCESS_TOKEN_TTL_SECONDS * 1000, from);
}

async function pruneTokenBacklog(ctx: EngineContext, now: number, from: number): Promise<void> {
  const batch = ctx.db.transaction((start: number) => pruneTokens(ctx, now, start));
  let next: number | undefined = from;
  while (next !== undefined) {
    await nextTurn();
    if (ctx.closed) return;
    next = batch(next);
  }
}
