import { OAuthError } from './errors.js';

/** RFC 6749 §3.3 scope-token: visible ASCII but space, double quote and backslash. */
export const SCOPE_TOKEN = /^[\x21\x23-\x5b\x5d-\x7e]+$/;

/** Parses an RFC 6749 §3.3 scope string (space-delimited scope-tokens), de-duplicated, in order. */
export function parseScope(value: string): string[] {
  const tokens = value.split(' ');
  if (tokens.some((token) => !SCOPE_TOKEN.test(token))) {
    throw new OAuthError('invalid_scope', 'The scope is malformed: use scope names separated by single spaces.');
  }
  return [...new Set(tokens)];
}

export function formatScope(scope: readonly string[]): string {
  return scope.join(' ');
}

/** Validates scope names given by an administrator; throws RangeError naming the bad one. */
export function checkScopeNames(scope: readonly string[]): string[] {
  for (const token of scope) {
    if (!SCOPE_TOKEN.test(token)) throw new RangeError(`"${token}" is not a valid scope name (RFC 6749 §3.3).`);
  }
  return [...new Set(scope)];
}

export function sameScope(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((token) => b.includes(token));
}
