import { usernameKey } from '../store/username-key.js';
import { predictability } from './blocklist.js';

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
 * Checks a new password as NIST SP 800-63B-4 §3.1.1.2 asks, after NFKC normalisation: length in
 * code points, the blocklist (common, repetitive, sequential), and words of this context (the
 * username, the app's name); no composition rules. Returns every reason it is refused.
 */
export function passwordViolations(password: string, rules: PasswordRules, context: { username?: string } = {}): string[] {
  const violations: string[] = [];
  const normalised = password.normalize('NFKC');
  const length = [...normalised].length;
  if (length < rules.minLength) violations.push(`Use at least ${rules.minLength} characters (this has ${length}).`);
  if (length > rules.maxLength) violations.push(`Use at most ${rules.maxLength} characters (this has ${length}).`);
  else if (Buffer.byteLength(normalised, 'utf8') > rules.maxBytes) violations.push(`Use at most ${rules.maxBytes} bytes.`);
  // Past the size limits a password is refused anyway: spare the pattern checks.
  if (violations.length > 0 && length > rules.maxLength) return violations;
  const folded = usernameKey(normalised);
  const username = context.username === undefined ? '' : usernameKey(context.username);
  if (username.length >= 3 && folded.includes(username)) violations.push('Do not use your username in your password.');
  for (const word of rules.contextWords) {
    if (folded.includes(usernameKey(word))) violations.push(`Do not use the word "${word}" in your password.`);
  }
  const predictable = predictability(normalised);
  if (predictable) violations.push(predictable);
  return violations;
}

/** Whether a password presented at sign-in is too large to be worth hashing. */
export function tooLargeToHash(password: string, rules: PasswordRules): boolean {
  // Normalising composes at most a few code points into one: far past the cap needs no normalising.
  if (password.length > 4 * rules.maxBytes) return true;
  return Buffer.byteLength(password.normalize('NFKC'), 'utf8') > rules.maxBytes;
}
