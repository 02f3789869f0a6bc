import { audit, type EngineContext } from '../engine/context.js';
import { tooLargeToHash } from '../passwords/policy.js';
import { usernameKey } from '../store/username-key.js';
import type { UserRow } from '../store/users.js';
import { OAuthError, WRONG_CREDENTIALS } from './errors.js';

/** What a password check is for: it is audited under this name. */
export type PasswordCheck = 'signin' | 'password.change';

export interface VerifiedUser {
  /** The account as it was when its password was checked; confirm it before acting on it. */
  user: UserRow;
  needsRehash: boolean;
}

const MAX_AUDITED_NAME = 64;

/**
 * Checks a username and password, evaluating argon2id exactly once whatever the outcome (a dummy
 * hash stands in for unknown accounts). Unknown user, wrong password and disabled account all get
 * the same invalid_grant. The caller must confirmUser() inside the write transaction that acts on
 * the result, since the account may change while the hash runs.
 */
export async function verifyUserPassword(
  ctx: EngineContext,
  username: string,
  password: string,
  clientId: string | undefined,
  purpose: PasswordCheck = 'signin',
): Promise<VerifiedUser> {
  if (tooLargeToHash(password, ctx.policy.password)) {
    throw new OAuthError('invalid_request', 'The password is too long.');
  }
  const user = ctx.users.findByKey(usernameKey(username));
  let result;
  try {
    result = await ctx.hasher.verify(user?.password_hash, password);
  } catch (error) {
    failedSignIn(ctx, username, user, clientId, 'hash_unavailable', purpose);
    throw hashingUnavailable(error);
  }
  if (!user || !result.ok || user.disabled === 1) {
    failedSignIn(ctx, username, user, clientId, !user ? 'unknown_user' : !result.ok ? 'wrong_password' : 'disabled', purpose);
    throw new OAuthError('invalid_grant', WRONG_CREDENTIALS);
  }
  return { user, needsRehash: result.needsRehash };
}

/** The hasher failed (a worker died): the same answer for every account, revealing nothing. */
export function hashingUnavailable(cause: unknown): OAuthError {
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

/**
 * Audits a refused sign-in. An unknown name is recorded normalised and shortened: it may be a
 * password typed into the wrong field.
 */
export function failedSignIn(
  ctx: EngineContext,
  submitted: string,
  user: UserRow | undefined,
  clientId: string | undefined,
  reason: string,
  type: PasswordCheck = 'signin',
): void {
  audit(ctx, {
    type,
    outcome: 'failure',
    username: user?.username ?? [...usernameKey(submitted)].slice(0, MAX_AUDITED_NAME).join(''),
    userId: user?.id,
    clientId,
    detail: { reason },
  });
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
