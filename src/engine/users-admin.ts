import { randomUUID } from 'node:crypto';
import type { Revocation, SessionEndReason, UserInfo } from '../contracts.js';
import { endSessions } from '../oauth/end-sessions.js';
import { checkScopeNames, formatScope } from '../oauth/scope.js';
import { parsePhc } from '../passwords/phc.js';
import { passwordViolations } from '../passwords/policy.js';
import { usernameKey } from '../store/username-key.js';
import { toUserInfo, type UserRow } from '../store/users.js';
import { AdminError } from './admin-error.js';
import { audit, type EngineContext } from './context.js';

export type NewUserInput = {
  username: string;
  displayName?: string | null | undefined;
  scope?: readonly string[] | undefined;
  /** The account must change its password at first sign-in. */
  mustChangePassword?: boolean | undefined;
} & ({ password: string; passwordHash?: undefined } | { passwordHash: string; password?: undefined });

const MAX_USERNAME = 64;

/** User administration: what IT does through the CLI, the admin page and provisioning. */
export class UsersAdmin {
  constructor(private readonly ctx: EngineContext) {}

  async add(input: NewUserInput): Promise<UserInfo> {
    const username = checkUsername(input.username);
    const scope = formatScope(scopeOf(input.scope));
    let passwordHash: string;
    if (input.passwordHash !== undefined) {
      if (!parsePhc(input.passwordHash)) {
        throw new AdminError(
          'invalid_argument',
          'The password hash is not an argon2id PHC string ($argon2id$v=19$m=…,t=…,p=…$salt$hash) within the allowed parameters.',
        );
      }
      passwordHash = input.passwordHash;
    } else {
      this.checkPassword(input.password, username);
      passwordHash = await this.ctx.hasher.hash(input.password);
    }
    const id = randomUUID();
    const now = this.ctx.clock.now();
    this.ctx.db.transaction(() => {
      if (this.ctx.users.findByKey(usernameKey(username))) {
        throw new AdminError('user_exists', `A user named "${username}" already exists.`);
      }
      this.ctx.users.insert({
        id,
        username,
        usernameKey: usernameKey(username),
        displayName: input.displayName ?? null,
        passwordHash,
        scope,
        mustChangePassword: input.mustChangePassword ?? false,
        now,
      });
      audit(this.ctx, { type: 'admin.user_added', outcome: 'success', username, userId: id });
    }).immediate();
    return this.get(username);
  }

  list(): UserInfo[] {
    return this.ctx.users.list().map(toUserInfo);
  }

  get(username: string): UserInfo {
    return toUserInfo(this.find(username));
  }

  /** Sets a new password chosen by IT and ends every session of the account. */
  async resetPassword(username: string, password: string, options: { mustChangePassword?: boolean } = {}): Promise<UserInfo> {
    const user = this.find(username);
    this.checkPassword(password, user.username);
    const hash = await this.ctx.hasher.hash(password);
    this.change(username, 'admin.password_reset', 'password_reset', (row, now) => {
      this.ctx.users.setPassword(row.id, hash, options.mustChangePassword ?? false, now);
    });
    return this.get(username);
  }

  setMustChangePassword(username: string, mustChange: boolean): UserInfo {
    this.change(username, 'admin.must_change_set', undefined, (row, now) => this.ctx.users.setMustChange(row.id, mustChange, now));
    return this.get(username);
  }

  setScope(username: string, scope: readonly string[]): UserInfo {
    const value = formatScope(scopeOf(scope));
    this.change(username, 'admin.scope_set', undefined, (row, now) => this.ctx.users.setScope(row.id, value, now));
    return this.get(username);
  }

  /** Disables the account and ends its sessions at once. */
  disable(username: string): UserInfo {
    this.change(username, 'admin.user_disabled', 'user_disabled', (row, now) => this.ctx.users.setDisabled(row.id, true, now));
    return this.get(username);
  }

  enable(username: string): UserInfo {
    this.change(username, 'admin.user_enabled', undefined, (row, now) => this.ctx.users.setDisabled(row.id, false, now));
    return this.get(username);
  }

  remove(username: string): void {
    this.change(username, 'admin.user_removed', 'user_removed', (row) => this.ctx.users.remove(row.id));
  }

  private find(username: string): UserRow {
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
    const revocations = this.ctx.db.transaction((): Revocation[] => {
      const row = this.find(username);
      const now = this.ctx.clock.now();
      const ended = endReason
        ? endSessions(this.ctx, this.ctx.sessions.liveSessionsOf(row.id, now).map((s) => s.id), endReason, { username: row.username })
        : [];
      apply(row, now);
      audit(this.ctx, { type: event, outcome: 'success', username: row.username, userId: row.id });
      return ended;
    }).immediate();
    this.ctx.publishRevocations(revocations);
  }
}

function checkUsername(raw: string): string {
  const username = typeof raw === 'string' ? raw.normalize('NFKC') : '';
  const length = [...username].length;
  if (length === 0 || length > MAX_USERNAME || username !== username.trim() || /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/u.test(username)) {
    throw new AdminError(
      'invalid_argument',
      `A username must be 1 to ${MAX_USERNAME} characters, without control characters or surrounding spaces.`,
    );
  }
  return username;
}

function scopeOf(scope: readonly string[] | undefined): string[] {
  try {
    return checkScopeNames(scope ?? []);
  } catch (error) {
    throw new AdminError('invalid_argument', (error as Error).message);
  }
}
