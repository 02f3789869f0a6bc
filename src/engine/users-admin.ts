import { randomUUID } from 'node:crypto';
import type { Revocation, SessionEndReason, SignInState, UserInfo } from '../contracts.js';
import { changePassword } from '../oauth/change-password.js';
import { endSessions } from '../oauth/end-sessions.js';
import { formatScope } from '../oauth/scope.js';
import { scopeOf } from './admin-validation.js';
import { isWeaker, parsePhc, type Argon2Hash, type Argon2Params } from '../passwords/phc.js';
import { passwordViolations } from '../passwords/policy.js';
import { usernameKey } from '../store/username-key.js';
import { toUserInfo, type UserRow } from '../store/users.js';
import { AdminError } from './admin-error.js';
import { administer, assertOpen, audit, liveSince, type EngineContext } from './context.js';

export type NewUserInput = {
  username: string;
  displayName?: string | null | undefined;
  scope?: readonly string[] | undefined;
  /** The account must change its password at first sign-in. */
  mustChangePassword?: boolean | undefined;
} & ({ password: string; passwordHash?: undefined } | { passwordHash: string; password?: undefined });

const MAX_USERNAME = 64;
const MAX_DISPLAY_NAME = 128;

/** User administration: what IT does through the CLI, the admin page and provisioning. */
export class UsersAdmin {
  constructor(private readonly ctx: EngineContext) {}

  /** Adds an account with a password (checked against policy) or an argon2id hash made for it. */
  add(input: NewUserInput): Promise<UserInfo> {
    return this.tracked(() => this.addUser(input));
  }

  private async addUser(input: NewUserInput): Promise<UserInfo> {
    if (typeof input !== 'object' || input === null) throw new AdminError('invalid_argument', 'A new user needs a username and a password.');
    const username = checkUsername(input.username);
    const scope = formatScope(scopeOf(input.scope));
    const displayName = checkDisplayName(input.displayName);
    const mustChangePassword = checkFlag(input.mustChangePassword, 'mustChangePassword');
    // Checked again in the transaction; this spares a hash for the common mistake.
    if (this.ctx.users.findByKey(usernameKey(username))) throw exists(username);
    let passwordHash: string;
    if (input.passwordHash !== undefined && input.password !== undefined) {
      throw new AdminError('invalid_argument', 'Give a password or a password hash, not both.');
    }
    if (input.passwordHash !== undefined) {
      passwordHash = checkImportedHash(input.passwordHash, this.ctx.policy.argon2);
    } else {
      if (typeof input.password !== 'string') throw new AdminError('invalid_argument', 'A new user needs a password or a password hash.');
      this.checkPassword(input.password, username);
      passwordHash = await this.ctx.hasher.hash(input.password, 'app');
    }
    const id = randomUUID();
    const now = this.ctx.clock.now();
    administer(this.ctx, () => {
      if (this.ctx.users.findByKey(usernameKey(username))) throw exists(username);
      this.ctx.users.insert({
        id,
        username,
        usernameKey: usernameKey(username),
        displayName,
        passwordHash,
        scope,
        mustChangePassword,
        now,
      });
      audit(this.ctx, { type: 'admin.user_added', outcome: 'success', username, userId: id });
    });
    return toUserInfo(this.find(username));
  }

  list(): UserInfo[] {
    assertOpen(this.ctx);
    return this.ctx.users.list().map(toUserInfo);
  }

  get(username: string): UserInfo {
    assertOpen(this.ctx);
    return toUserInfo(this.find(username));
  }

  /** Sets a new password chosen by IT and ends every session of the account. */
  resetPassword(username: string, password: string, options: { mustChangePassword?: boolean } = {}): Promise<UserInfo> {
    return this.tracked(() => this.reset(username, password, options));
  }

  private async reset(username: string, password: string, options: { mustChangePassword?: boolean }): Promise<UserInfo> {
    const user = this.find(username);
    if (typeof password !== 'string') throw new AdminError('invalid_argument', 'The new password must be a string.');
    const mustChange = checkFlag(options.mustChangePassword, 'mustChangePassword');
    this.checkPassword(password, user.username);
    const hash = await this.ctx.hasher.hash(password, 'app');
    // A reset is how IT helps someone locked out: it lifts the lock too.
    this.change(username, 'admin.password_reset', 'password_reset', (row, now) => {
      this.ctx.users.setPassword(row.id, hash, mustChange, now);
      this.ctx.throttle.clear(row.username_key);
    });
    return toUserInfo(this.find(username));
  }

  /**
   * The user's own password change given the current one, without a client (the CLI's `passwd`).
   * Like the password endpoint: the new password is checked against policy and every session ends.
   */
  changePassword(username: string, currentPassword: string, newPassword: string): Promise<void> {
    return this.tracked(async () => {
      for (const value of [username, currentPassword, newPassword]) {
        if (typeof value !== 'string') throw new AdminError('invalid_argument', 'The username and both passwords must be strings.');
      }
      await changePassword(this.ctx, undefined, { username, currentPassword, newPassword, priority: 'app' });
    });
  }

  setMustChangePassword(username: string, mustChange: boolean): UserInfo {
    assertOpen(this.ctx);
    checkFlag(mustChange, 'mustChange');
    this.change(username, 'admin.must_change_set', undefined, (row, now) => this.ctx.users.setMustChange(row.id, mustChange, now));
    return toUserInfo(this.find(username));
  }

  setScope(username: string, scope: readonly string[]): UserInfo {
    assertOpen(this.ctx);
    const value = formatScope(scopeOf(scope));
    this.change(username, 'admin.scope_set', undefined, (row, now) => this.ctx.users.setScope(row.id, value, now));
    return toUserInfo(this.find(username));
  }

  /** Lifts a lock and clears the failure count and any delay of the account's username. */
  unlock(username: string): UserInfo {
    assertOpen(this.ctx);
    this.change(username, 'admin.user_unlocked', undefined, (row) => this.ctx.throttle.clear(row.username_key));
    return toUserInfo(this.find(username));
  }

  /** The account's failed sign-ins in a row, and any delay or lock in force (epoch ms). */
  signInState(username: string): SignInState {
    assertOpen(this.ctx);
    const row = this.find(username);
    return this.ctx.throttle.state(row.username_key, this.ctx.clock.now());
  }

  /** Disables the account and ends its sessions at once. */
  disable(username: string): UserInfo {
    assertOpen(this.ctx);
    this.change(username, 'admin.user_disabled', 'user_disabled', (row, now) => this.ctx.users.setDisabled(row.id, true, now));
    return toUserInfo(this.find(username));
  }

  enable(username: string): UserInfo {
    assertOpen(this.ctx);
    this.change(username, 'admin.user_enabled', undefined, (row, now) => this.ctx.users.setDisabled(row.id, false, now));
    return toUserInfo(this.find(username));
  }

  remove(username: string): void {
    assertOpen(this.ctx);
    this.change(username, 'admin.user_removed', 'user_removed', (row) => this.ctx.users.remove(row.id));
  }

  /** Async work that close() waits for. */
  private tracked<T>(work: () => Promise<T>): Promise<T> {
    const task = (async () => {
      assertOpen(this.ctx);
      return work();
    })();
    this.ctx.track(task);
    return task;
  }

  private find(username: string): UserRow {
    if (typeof username !== 'string') throw new AdminError('invalid_argument', 'A username must be a string.');
    const row = this.ctx.users.findByKey(usernameKey(username));
    if (!row) throw new AdminError('user_not_found', `No user is named "${username}".`);
    return row;
  }

  private checkPassword(password: string, username: string): void {
    const violations = passwordViolations(password, this.ctx.policy.password, { username });
    if (violations.length > 0) {
      throw new AdminError('password_policy', `The password was refused: ${violations.join(' ')}`, violations);
    }
  }

  /** One audited write transaction on one user, ending their sessions first when asked. */
  private change(
    username: string,
    event: string,
    endReason: SessionEndReason | undefined,
    apply: (row: UserRow, now: number) => void,
  ): void {
    const revocations = administer(this.ctx, (): Revocation[] => {
      const row = this.find(username);
      const now = this.ctx.clock.now();
      const ended = endReason
        ? endSessions(this.ctx, this.ctx.sessions.liveSessionsOf(row.id, liveSince(now)).map((s) => s.id), endReason, {
            username: row.username,
          })
        : [];
      apply(row, now);
      audit(this.ctx, { type: event, outcome: 'success', username: row.username, userId: row.id });
      return ended;
    });
    this.ctx.publishRevocations(revocations);
  }
}

function exists(username: string): AdminError {
  return new AdminError('user_exists', `A user named "${username}" already exists.`);
}

function checkFlag(value: boolean | undefined, name: string): boolean {
  if (value !== undefined && typeof value !== 'boolean') throw new AdminError('invalid_argument', `${name} must be true or false.`);
  return value ?? false;
}

/** What every username must be; adapters (IPC) refuse other names before any work. */
export const USERNAME_RULE = `A username must be 1 to ${MAX_USERNAME} characters, without control characters or surrounding spaces.`;

/** Whether `raw` is a name an account may have (after NFKC): see USERNAME_RULE. */
export function isAllowedUsername(raw: unknown): raw is string {
  if (typeof raw !== 'string' || raw.length > 4 * MAX_USERNAME) return false;
  const username = raw.normalize('NFKC');
  const length = [...username].length;
  return length > 0 && length <= MAX_USERNAME && username === username.trim() && !/[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/u.test(username);
}

function checkUsername(raw: string): string {
  if (!isAllowedUsername(raw)) throw new AdminError('invalid_argument', USERNAME_RULE);
  return raw.normalize('NFKC');
}

function checkDisplayName(raw: string | null | undefined): string | null {
  if (raw === undefined || raw === null) return null;
  const name = typeof raw === 'string' ? raw.normalize('NFKC').trim() : '';
  if (name === '' || [...name].length > MAX_DISPLAY_NAME || /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/u.test(name)) {
    throw new AdminError('invalid_argument', `A display name must be 1 to ${MAX_DISPLAY_NAME} characters, without control characters.`);
  }
  return name;
}

/**
 * A hash imported from provisioning must be an argon2id PHC string at least as strong as policy
 * (so it answers in the same time as every other account) and at most four times its cost (so it
 * cannot be used to make every sign-in attempt expensive).
 */
function checkImportedHash(phc: string, policy: Argon2Params): string {
  const parsed = typeof phc === 'string' ? parsePhc(phc) : undefined;
  if (!parsed || isWeaker(parsed, policy) || tooCostly(parsed, policy)) {
    throw new AdminError(
      'invalid_argument',
      `The password hash must be an argon2id PHC string with m=${policy.m}..${4 * policy.m}, t=${policy.t}..${4 * policy.t}, ` +
        `p=${policy.p}..${4 * policy.p} (make one with: gatehouse hash-password).`,
    );
  }
  return phc;
}

function tooCostly({ params }: Argon2Hash, policy: Argon2Params): boolean {
  return params.m > 4 * policy.m || params.t > 4 * policy.t || params.p > 4 * policy.p;
}
