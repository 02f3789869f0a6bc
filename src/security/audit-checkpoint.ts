import { toRfc3339 } from '../clock.js';
import type { AuditCheckpoint } from '../contracts.js';
import { audit, type EngineContext } from '../engine/context.js';
import { v4 } from '../tokens/paseto-v4.js';
import type { SigningKey } from '../tokens/key-ring.js';

/**
 * The PASETO claims of a signed checkpoint: the chain head it vouches for. It proves a chain, not a
 * time, so it carries no registered time claims (no exp, no iat) that a verifier's clock could
 * judge; `signed_at` is information only.
 */
export interface CheckpointClaims {
  typ: 'gatehouse-audit-checkpoint';
  installation: string;
  last_id: number;
  last_hash: string;
  signed_at: string;
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
    signed_at: toRfc3339(now),
  };
  const footer = JSON.stringify({ kid: key.pid, paserk: key.paserk });
  const token = await v4.Sign(key.secretKey, { ...claims }, { footer: new TextEncoder().encode(footer), addIssuedAt: false, nonExpiring: true });
  ctx.db.transaction(() => {
    ctx.auditLog.addCheckpoint(now, head.id, head.hash, key.pid, token);
    ctx.checkpointedId = head.id;
  }).immediate();
  const checkpoint = { lastId: head.id, lastHash: claims.last_hash, at: now, token };
  ctx.checkpointed();
  return checkpoint;
}

/**
 * The routine checkpoint (every policy.audit.checkpointEvery events, and at close) when the log grew
 * since the last one, followed by retention. It is signed with the key this engine signs tokens
 * with; an engine that signs nothing (the CLI) leaves it to one that does.
 */
export async function routineCheckpoint(ctx: EngineContext): Promise<void> {
  if (!ctx.keys.signs || ctx.auditLog.head().id === ctx.checkpointedId) return;
  await writeCheckpoint(ctx, await ctx.keys.signingKey());
  if (ctx.maintains) pruneAudit(ctx);
}

/**
 * Retention: events older than policy.audit.retentionDays, or beyond maxEvents, go. The event that
 * records the cut names the last event removed and its hash, in the same transaction, so the anchor
 * the chain now starts from is itself vouched for by the chain.
 */
export function pruneAudit(ctx: EngineContext): void {
  const now = ctx.clock.now();
  const { retentionDays, maxEvents } = ctx.policy.audit;
  ctx.db
    .transaction(() => {
      const cut = ctx.auditLog.prune(now - retentionDays * 86_400_000, maxEvents);
      if (!cut) return;
      audit(ctx, {
        type: 'audit.pruned',
        outcome: 'success',
        detail: { events: cut.events, throughId: cut.anchor.id, throughHash: cut.anchor.hash.toString('hex') },
      });
    })
    .immediate();
}
