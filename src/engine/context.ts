import type { Database } from 'better-sqlite3';
import type { KeyedMutex } from '../security/keyed-mutex.js';
import type { MonotonicClock } from '../security/monotonic-clock.js';
import type { Throttle } from '../security/throttle.js';
import type { Durability } from '../store/durability.js';
import type { TimeMarkRepository } from '../store/time-mark.js';
import type { Revocation } from '../contracts.js';
import type { PasswordHasher } from '../passwords/hasher.js';
import type { AuditEvent, AuditRepository } from '../store/audit.js';
import type { ClientRepository } from '../store/clients.js';
import type { RevocationRepository } from '../store/revocations.js';
import type { SessionRepository } from '../store/sessions.js';
import type { ProvisioningRepository } from '../store/provisioning.js';
import type { UserRepository } from '../store/users.js';
import type { AccessTokens } from '../tokens/access-tokens.js';
import type { KeyRing } from '../tokens/key-ring.js';
import { EngineClosedError } from './engine-closed-error.js';
import { MAX_CLOCK_LEEWAY_SECONDS, type Policy } from './policy.js';

/** What the engine's operations share: the open database, its repositories and the crypto parts. */
export interface EngineContext {
  /** Set when the engine starts closing: no new work may begin. */
  closed: boolean;
  db: Database;
  installationId: string;
  /** Monotonic: never runs backwards, whatever the system clock does. */
  clock: MonotonicClock;
  /** The policy in force now (provisioning by any process may change it): read it where it is used, never keep it. */
  readonly policy: Readonly<Policy>;
  /** This connection committed a provisioned policy: apply it at once. */
  policyChanged(): void;
  provisioning: ProvisioningRepository;
  users: UserRepository;
  clients: ClientRepository;
  sessions: SessionRepository;
  revocations: RevocationRepository;
  auditLog: AuditRepository;
  throttle: Throttle;
  /** Serialises password checks per username key. */
  checks: KeyedMutex;
  timeMark: TimeMarkRepository;
  hasher: PasswordHasher;
  keys: KeyRing;
  accessTokens: AccessTokens;
  /** Tells listeners (e.g. resource services) of revocations, after they are committed. */
  publishRevocations(revocations: readonly Revocation[]): void;
  /** Work that must finish before close (e.g. a rehash after sign-in). */
  track(task: Promise<unknown>): void;
  /**
   * Whether this engine runs retention (pruning sessions, revocations, audit events, throttle
   * records). Administration-only engines (the CLI) do not: the app or server holding the same file
   * may keep things longer under its own policy.
   */
  maintains: boolean;
  /** Group commit: undefined for an in-memory database. */
  durability: Durability | undefined;
  /** The last audit event a checkpoint of this engine vouches for. */
  checkpointedId: number;
  /** Called after each audit event is appended (it is announced, and checkpoints fall due, this way). */
  audited(): void;
  /** Called once a signed checkpoint is committed: it, and the events it vouches for, are announced at once. */
  checkpointed(): void;
}

/** Admin objects can outlive a reference to the engine: each call checks it is still open. */
export function assertOpen(ctx: EngineContext): void {
  if (ctx.closed) throw new EngineClosedError();
}

/**
 * An administrator's write transaction (BEGIN IMMEDIATE), on disk when it returns: synchronous
 * administration (a disable, an unlock, a revoke) cannot wait for a group commit, and it is rare
 * enough to fsync on the calling thread, as synchronous=FULL does.
 */
export function administer<T>(ctx: EngineContext, write: () => T): T {
  const transaction = ctx.db.transaction(write);
  return ctx.durability ? ctx.durability.fullySynced(() => transaction.immediate()) : transaction.immediate();
}

/**
 * Appends to the audit chain (in the caller's write transaction, or its own), and keeps the time
 * mark as high as any time recorded.
 */
export function audit(ctx: EngineContext, event: AuditEvent): void {
  const now = ctx.clock.now();
  const write = () => {
    ctx.auditLog.append(now, event);
    ctx.timeMark.raise(now);
  };
  if (ctx.db.inTransaction) write();
  else ctx.db.transaction(write).immediate();
  ctx.audited();
}

/**
 * The most clock leeway any verifier may allow (the policy's upper bound). Revocations and key
 * validity windows outlast a token's exp by this much, whatever the local policy says, because
 * another process or resource service on the same data may be configured more leniently.
 */
export const MAX_LEEWAY_MS = MAX_CLOCK_LEEWAY_SECONDS * 1000;

/** Sessions whose tokens may still be accepted at `now` ended no earlier than this. */
export function liveSince(now: number): number {
  return now - MAX_LEEWAY_MS;
}
