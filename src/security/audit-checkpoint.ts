import { toDate, toRfc3339 } from '../clock.js';
import type { AuditCheckpoint } from '../contracts.js';
import { audit, type EngineContext } from '../engine/context.js';
import { v4 } from '../tokens/paseto-v4.js';
import type { SigningKey } from '../tokens/key-ring.js';

/** The PASETO claims of a signed checkpoint: the chain head it vouches for. */
export interface CheckpointClaims {
  typ: 'gatehouse-audit-checkpoint';
  installation: string;
  last_id: number;
  last_hash: string;
  iat: string;
}

/**
 * Signs the chain head (last event id and hash) with the engine's signing key and records it. The
 * key's secret never reaches the database, so whoever can edit the file cannot sign a checkpoint
 * for a rewritten log. Exported copies kept elsewhere also catch a log cut from the end.
 */
export async function writeCheckpoint(ctx: EngineContext, key: SigningKey): Promise<AuditCheckpoint> {
  const now = ctx.clock.now();
  const head = ctx.auditLog.head();
  const claims: CheckpointClaims = {
    typ: 'gatehouse-audit-checkpoint',
    installation: ctx.installationId,
    last_id: head.id,
    last_hash: head.hash.toString('hex'),
    iat: toRfc3339(now),
  };
  const footer = JSON.stringify({ kid: key.pid, paserk: key.paserk });
  const token = await v4.Sign(key.secretKey, { ...claims }, { footer: new TextEncoder().encode(footer), addIssuedAt: false, now: toDate(now) });
  ctx.db.transaction(() => {
    ctx.auditLog.addCheckpoint(now, head.id, head.hash, token);
    ctx.checkpointedId = head.id;
  }).immediate();
  return { lastId: head.id, lastHash: claims.last_hash, at: now, token };
}

/**
 * The routine checkpoint (every policy.audit.checkpointEvery events, and at close) when the log grew
 * since the last one, followed by retention. It is signed with the key this engine signs tokens
 * with; an engine that signs nothing (the CLI) leaves it to one that does.
 */
export async function routineCheckpoint(ctx: EngineContext): Promise<void> {
  const key = ctx.keys.currentKey();
  if (!key || ctx.auditLog.head().id === ctx.checkpointedId) return;
  await writeCheckpoint(ctx, key);
  pruneAudit(ctx);
}

/** Retention: events older than policy.audit.retentionDays, or beyond maxEvents, go. */
export function pruneAudit(ctx: EngineContext): void {
  const now = ctx.clock.now();
  const { retentionDays, maxEvents } = ctx.policy.audit;
  const pruned = ctx.db
    .transaction(() => ctx.auditLog.prune(now - retentionDays * 86_400_000, maxEvents))
    .immediate();
  if (pruned > 0) audit(ctx, { type: 'audit.pruned', outcome: 'success', detail: { events: pruned } });
}
