import type { Database } from 'better-sqlite3';
import type { Clock } from '../clock.js';
import type { Revocation } from '../contracts.js';
import type { PasswordHasher } from '../passwords/hasher.js';
import type { AuditEvent, AuditRepository } from '../store/audit.js';
import type { ClientRepository } from '../store/clients.js';
import type { RevocationRepository } from '../store/revocations.js';
import type { SessionRepository } from '../store/sessions.js';
import type { UserRepository } from '../store/users.js';
import type { AccessTokens } from '../tokens/access-tokens.js';
import type { KeyRing } from '../tokens/key-ring.js';
import type { Policy } from './policy.js';

/** What the engine's operations share: the open database, its repositories and the crypto parts. */
export interface EngineContext {
  db: Database;
  clock: Clock;
  policy: Policy;
  users: UserRepository;
  clients: ClientRepository;
  sessions: SessionRepository;
  revocations: RevocationRepository;
  auditLog: AuditRepository;
  hasher: PasswordHasher;
  keys: KeyRing;
  accessTokens: AccessTokens;
  /** Tells listeners (e.g. resource services) of revocations, after they are committed. */
  publishRevocations(revocations: readonly Revocation[]): void;
  /** Work that must finish before close (e.g. a rehash after sign-in). */
  track(task: Promise<unknown>): void;
}

export function audit(ctx: EngineContext, event: AuditEvent): void {
  ctx.auditLog.append(ctx.clock.now(), event);
}

/** Milliseconds during which an access token issued now can still be accepted somewhere. */
export function tokenHorizonMs(policy: Policy): number {
  return (policy.accessTokenTtlSeconds + policy.clockLeewaySeconds) * 1000;
}
