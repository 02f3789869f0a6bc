import { createHash } from 'node:crypto';
import { audit, type EngineContext } from '../engine/context.js';
import { HashBusyError, type HashPriority } from '../passwords/hash-pool.js';
import { tooLargeToHash } from '../passwords/policy.js';
import type { ThrottleVerdict } from '../security/throttle.js';
import { usernameKey } from '../store/username-key.js';
import type { UserRow } from '../store/users.js';
import { OAuthError, WRONG_CREDENTIALS } from './errors.js';

/** What a password check is for: it is audited under this name. */
export type PasswordCheck = 'signin' | 'password.change';

export interface PasswordCheckRequest {
  username: string;
  password: string;
  /** The authenticated client that asked; undefined for the local administrator's CLI. */
  clientId: string | undefined;
  purpose: PasswordCheck;
  priority: HashPriority;
}

export interface VerifiedUser {
  /** The account as it was when its password was checked; confirm it before acting on it. */
  user: UserRow;
  needsRehash: boolean;
}

/**
 * Checks a username and password behind the throttle. A throttled or locked name is refused
 * without a check and without counting; otherwise argon2id runs exactly once whatever the outcome
 * (a dummy hash stands in for unknown accounts), and unknown user, wrong password and disabled
 * account all get the same invalid_grant and count as one checked failure. Checks for one name run
 * one at a time, so a burst cannot outrun the delay. The caller must confirmUser() inside the write
 * transaction that acts on the result, since the account may change while the hash runs.
 */
export async function verifyUserPassword(ctx: EngineContext, request: PasswordCheckRequest): Promise<VerifiedUser> {
  const { username, password, clientId, purpose } = request;
  if (tooLargeToHash(password, ctx.policy.password)) {
    throw new OAuthError('invalid_request', 'The password is too long.');
  }
  const key = usernameKey(username);
  return ctx.checks.run(key, async () => {
    const verdict = ctx.throttle.check(key, ctx.clock.now());
    if (!verdict.allowed) throw refusal(verdict);
    const user = ctx.users.findByKey(key);
    let result;
    try {
      result = await ctx.hasher.verify(user?.password_hash, password, request.priority);
    } catch (error) {
      if (!(error instanceof HashBusyError)) failedSignIn(ctx, username, user, clientId, 'hash_unavailable', purpose);
      throw hashingUnavailable(error);
    }
    if (!user || !result.ok || user.disabled === 1) {
      const reason = !user ? 'unknown_user' : !result.ok ? 'wrong_password' : 'disabled';
      ctx.db.transaction(() => countFailure(ctx, key, username, user, clientId, reason, purpose)).immediate();
      throw new OAuthError('invalid_grant', WRONG_CREDENTIALS);
    }
    ctx.throttle.clear(key);
    return { user, needsRehash: result.needsRehash };
  });
}

/** The answer to a refused (unchecked, uncounted) attempt: the same for accounts and unknown names. */
function refusal(verdict: Exclude<ThrottleVerdict, { allowed: true }>): OAuthError {
  if (verdict.locked) {
    return new OAuthError(
      'invalid_grant',
      'Too many failed sign-ins: this username is locked. Ask your administrator to unlock it.',
    );
  }
  const seconds = verdict.retryAfter;
  return new OAuthError('invalid_grant', `Too many failed sign-ins. Try again in ${seconds} second${seconds === 1 ? '' : 's'}.`, {
    retryAfter: seconds,
  });
}

/** Too many checks from other callers are waiting (HashBusyError): come back in a moment. */
function busy(cause: unknown): OAuthError {
  return new OAuthError('server_error', 'Too many sign-ins are being checked right now; try again in a moment.', {
    status: 503,
    retryAfter: 1,
    cause,
  });
}

/**
 * The hasher failed: busy (503 with Retry-After), or a worker died (500); the same answer for every
 * account, revealing nothing.
 */
export function hashingUnavailable(cause: unknown): OAuthError {
  if (cause instanceof HashBusyError) return busy(cause);
  return new OAuthError('server_error', 'Sign-in is temporarily unavailable; try again in a moment.', { cause });
}

/**
 * Inside a write transaction: the account as it is now, if it is still the one whose password was
 * checked (same hash, still enabled); undefined if it changed meanwhile, in this process or another.
 */
export function confirmUser(ctx: EngineContext, verified: UserRow): UserRow | undefined {
  const current = ctx.users.findById(verified.id);
  return current && current.password_hash === verified.password_hash && current.disabled === 0 ? current : undefined;
}

/** Inside a write transaction: one more checked failure for the name, audited with what it caused. */
function countFailure(
  ctx: EngineContext,
  key: string,
  submitted: string,
  user: UserRow | undefined,
  clientId: string | undefined,
  reason: string,
  purpose: PasswordCheck,
): void {
  const outcome = ctx.throttle.failure(key, ctx.clock.now());
  failedSignIn(ctx, submitted, user, clientId, reason, purpose, { failures: outcome.failures });
  const name = auditedName(ctx, submitted, user);
  if (outcome.locked) {
    audit(ctx, { type: 'throttle.locked', outcome: 'failure', username: name, userId: user?.id, detail: { failures: outcome.failures } });
  } else if (outcome.delaySeconds !== undefined) {
    audit(ctx, {
      type: 'throttle.delayed',
      outcome: 'failure',
      username: name,
      userId: user?.id,
      detail: { failures: outcome.failures, delaySeconds: outcome.delaySeconds },
    });
  }
}

/** Audits a refused sign-in. */
export function failedSignIn(
  ctx: EngineContext,
  submitted: string,
  user: UserRow | undefined,
  clientId: string | undefined,
  reason: string,
  type: PasswordCheck = 'signin',
  extra: Record<string, number> = {},
): void {
  audit(ctx, {
    type,
    outcome: 'failure',
    username: auditedName(ctx, submitted, user),
    userId: user?.id,
    clientId,
    detail: { reason, ...extra },
  });
}

/**
 * An account's name as it is; a name that is no account only as a short tag. It may be a password
 * typed into the wrong field, so it is never written down: the tag (24 bits of SHA-256 over the
 * installation and the name) lets IT see that one unknown name is tried again and again, while
 * matching far too many strings to give a password away.
 */
function auditedName(ctx: EngineContext, submitted: string, user: UserRow | undefined): string {
  if (user) return user.username;
  const tag = createHash('sha256').update(`${ctx.installationId}\0${usernameKey(submitted)}`).digest('hex').slice(0, 6);
  return `unknown#${tag}`;
}

/** After a successful check: replace a hash made with weaker parameters than today's. Best effort. */
export function rehashIfWeak(ctx: EngineContext, verified: VerifiedUser, password: string): void {
  if (!verified.needsRehash) return;
  const { user } = verified;
  const task = ctx.hasher.hash(password).then((stronger) => {
    ctx.db.transaction(() => {
      if (ctx.users.upgradeHash(user.id, user.password_hash, stronger)) {
        audit(ctx, { type: 'password.rehashed', outcome: 'success', userId: user.id, username: user.username });
      }
    })();
  });
  ctx.track(task.catch((error: Error) => process.emitWarning(`gatehouse: rehash failed: ${error.message}`)));
}
