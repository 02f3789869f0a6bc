import type { Database, Statement } from 'better-sqlite3';
import type { UserInfo } from '../contracts.js';
import { splitList } from './space-list.js';

export interface UserRow {
  id: string;
  username: string;
  username_key: string;
  display_name: string | null;
  password_hash: string;
  scope: string;
  must_change_password: number;
  disabled: number;
  created_at: number;
  updated_at: number;
  password_changed_at: number;
}

export interface NewUser {
  id: string;
  username: string;
  usernameKey: string;
  displayName: string | null;
  passwordHash: string;
  scope: string;
  mustChangePassword: boolean;
  now: number;
}

/** Users table. Every read goes to the database: another process may have just changed a row. */
export class UserRepository {
  private readonly byKey: Statement<[string], UserRow>;
  private readonly byId: Statement<[string], UserRow>;
  private readonly all: Statement<[], UserRow>;
  private readonly insertRow: Statement;
  private readonly setHash: Statement;
  private readonly upgradeStmt: Statement;
  private readonly setDisabledStmt: Statement;
  private readonly setMustChangeStmt: Statement;
  private readonly setScopeStmt: Statement;
  private readonly setDisplayNameStmt: Statement;
  private readonly deleteRow: Statement;

  constructor(db: Database) {
    this.byKey = db.prepare('SELECT * FROM users WHERE username_key = ?');
    this.byId = db.prepare('SELECT * FROM users WHERE id = ?');
    this.all = db.prepare('SELECT * FROM users ORDER BY username_key');
    this.insertRow = db.prepare(
      `INSERT INTO users (id, username, username_key, display_name, password_hash, scope, must_change_password,
         disabled, created_at, updated_at, password_changed_at)
       VALUES (@id, @username, @usernameKey, @displayName, @passwordHash, @scope, @mustChange, 0, @now, @now, @now)`,
    );
    this.setHash = db.prepare(
      `UPDATE users SET password_hash = ?, must_change_password = ?, password_changed_at = ?, updated_at = ?
       WHERE id = ?`,
    );
    // Only if unchanged since it was verified: a concurrent password change must win.
    this.upgradeStmt = db.prepare('UPDATE users SET password_hash = ? WHERE id = ? AND password_hash = ?');
    this.setDisabledStmt = db.prepare('UPDATE users SET disabled = ?, updated_at = ? WHERE id = ?');
    this.setMustChangeStmt = db.prepare('UPDATE users SET must_change_password = ?, updated_at = ? WHERE id = ?');
    this.setScopeStmt = db.prepare('UPDATE users SET scope = ?, updated_at = ? WHERE id = ?');
    this.setDisplayNameStmt = db.prepare('UPDATE users SET display_name = ?, updated_at = ? WHERE id = ?');
    this.deleteRow = db.prepare('DELETE FROM users WHERE id = ?');
  }

  findByKey(usernameKey: string): UserRow | undefined {
    return this.byKey.get(usernameKey);
  }

  findById(id: string): UserRow | undefined {
    return this.byId.get(id);
  }

  list(): UserRow[] {
    return this.all.all();
  }

  insert(user: NewUser): void {
    this.insertRow.run({ ...user, mustChange: user.mustChangePassword ? 1 : 0 });
  }

  setPassword(id: string, passwordHash: string, mustChange: boolean, now: number): void {
    this.setHash.run(passwordHash, mustChange ? 1 : 0, now, now, id);
  }

  /** Replaces the stored hash with a stronger one of the same password; nothing else changes. */
  /** False if the hash changed meanwhile (the other change wins). */
  upgradeHash(id: string, expectedOldHash: string, newHash: string): boolean {
    return this.upgradeStmt.run(newHash, id, expectedOldHash).changes === 1;
  }

  setDisabled(id: string, disabled: boolean, now: number): void {
    this.setDisabledStmt.run(disabled ? 1 : 0, now, id);
  }

  setMustChange(id: string, mustChange: boolean, now: number): void {
    this.setMustChangeStmt.run(mustChange ? 1 : 0, now, id);
  }

  setScope(id: string, scope: string, now: number): void {
    this.setScopeStmt.run(scope, now, id);
  }

  setDisplayName(id: string, displayName: string | null, now: number): void {
    this.setDisplayNameStmt.run(displayName, now, id);
  }

  remove(id: string): void {
    this.deleteRow.run(id);
  }
}

export function toUserInfo(row: UserRow): UserInfo {
  return {
    id: row.id,
    username: row.username,
    displayName: row.display_name,
    scope: splitList(row.scope),
    mustChangePassword: row.must_change_password === 1,
    disabled: row.disabled === 1,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    passwordChangedAt: row.password_changed_at,
  };
}
