import { usernameKey } from '../store/username-key.js';

export interface PasswordRules {
  /** Minimum length in Unicode code points after NFKC (NIST SP 800-63B-4: 15 for single-factor). */
  minLength: number;
  /** Maximum length in code points; at least 64 (NIST). */
  maxLength: number;
  /** Maximum UTF-8 size, so nobody can make the server hash megabytes. */
  maxBytes: number;
  /** Words of this service a password must not contain (the app's name, the organisation's). */
  contextWords: string[];
}

/**
 * Checks a new password against the length rules of NIST SP 800-63B-4 §3.1.1.2 (no composition
 * rules), after NFKC normalisation, counting code points. Returns every reason it is refused.
 */
export function passwordViolations(password: string, rules: PasswordRules, context: { username?: string } = {}): string[] {
  const violations: string[] = [];
  const normalised = password.normalize('NFKC');
  const length = [...normalised].length;
  if (length < rules.minLength) violations.push(`Use at least ${rules.minLength} characters (this has ${length}).`);
  if (length > rules.maxLength) violations.push(`Use at most ${rules.maxLength} characters (this has ${length}).`);
  else if (Buffer.byteLength(normalised, 'utf8') > rules.maxBytes) violations.push(`Use at most ${rules.maxBytes} bytes.`);
  if (context.username !== undefined && usernameKey(normalised) === usernameKey(context.username)) {
    violations.push('Do not use your username as your password.');
  }
  return violations;
}

/** Whether a password presented at sign-in is too large to be worth hashing. */
export function tooLargeToHash(password: string, rules: PasswordRules): boolean {
  // Normalising composes at most a few code points into one: far past the cap needs no normalising.
  if (password.length > 4 * rules.maxBytes) return true;
  return Buffer.byteLength(password.normalize('NFKC'), 'utf8') > rules.maxBytes;
}
