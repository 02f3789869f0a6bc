import { passwordViolations, type PasswordRules } from '../passwords/policy.js';
import { usernameKey } from '../store/username-key.js';
import { IpcCallError } from './ipc-errors.js';

/** Every reason a new password is refused, for the account `username` when known. */
export type NewPasswordCheck = (password: string, username: string | undefined) => string[];

/**
 * The engine's password rules with the app's name as one more context word (NIST SP 800-63B-4
 * §3.1.1.2: no words of the service), so the app refuses what it advises against. The rules are
 * read at each check: provisioning may change them while the app runs.
 */
export function newPasswordCheck(rules: () => Readonly<PasswordRules>, appName: string): NewPasswordCheck {
  const name = appName.trim();
  return (password, username) => {
    const current = rules();
    const known = current.contextWords.map(usernameKey);
    const extra = name.length >= 3 && !known.includes(usernameKey(name)) ? [name] : [];
    const appRules: PasswordRules = { ...current, contextWords: [...current.contextWords, ...extra] };
    return passwordViolations(password, appRules, username === undefined ? {} : { username });
  };
}

/** Throws policy_violation, with every reason, unless `check` accepts the new password. */
export function refuseWeakPassword(check: NewPasswordCheck, password: string, username: string): void {
  const violations = check(password, username);
  if (violations.length === 0) return;
  const description = `The new password was refused: ${violations.join(' ')}`;
  throw new IpcCallError({ code: 'policy_violation', description, policyViolations: violations });
}
