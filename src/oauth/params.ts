import type { RequestParams } from '../contracts.js';
import { OAuthError } from './errors.js';

/** Longest value accepted for any one parameter (tokens, passwords and scopes are far shorter). */
const MAX_VALUE_LENGTH = 16 * 1024;

/**
 * Reads request parameters per RFC 6749 §3.1/§3.2: a parameter sent without a value is treated as
 * omitted, and one sent more than once makes the request invalid.
 */
export function readParams(input: RequestParams): Map<string, string> {
  const seen = new Set<string>();
  const params = new Map<string, string>();
  for (const [name, value] of input) {
    if (typeof name !== 'string' || typeof value !== 'string') {
      throw new OAuthError('invalid_request', 'Request parameters must be strings.');
    }
    if (seen.has(name)) throw new OAuthError('invalid_request', `The "${printable(name)}" parameter is repeated.`);
    seen.add(name);
    if (value.length > MAX_VALUE_LENGTH) {
      throw new OAuthError('invalid_request', `The "${printable(name)}" parameter is too long.`);
    }
    if (value !== '') params.set(name, value);
  }
  return params;
}

export function required(params: Map<string, string>, name: string): string {
  const value = params.get(name);
  if (value === undefined) throw new OAuthError('invalid_request', `The "${name}" parameter is missing.`);
  return value;
}

/** A parameter name safe to echo in a description: visible ASCII, bounded. */
function printable(name: string): string {
  const clean = name.replace(/[^\x21-\x7e]/g, '?');
  return clean.length > 40 ? `${clean.slice(0, 40)}…` : clean;
}
