import type { ServerResponse } from 'node:http';
import type { GuardFailure } from './guard.js';

/** The realm of every challenge (RFC 6750 §3). */
export const REALM = 'gatehouse';

/** The JSON body error code of a 401 without credentials, whose challenge carries no error (RFC 6750 §3.1). */
const UNAUTHORIZED = 'unauthorized';

/** A refusal for a request that carries no Bearer credentials: the challenge names no error (RFC 6750 §3.1). */
export function noCredentials(description: string): GuardFailure {
  return { ok: false, status: 401, description, challenge: `Bearer realm="${REALM}"` };
}

/** A refusal with an RFC 6750 §3.1 error code; `scope` (for insufficient_scope) is the scope needed. */
export function bearerFailure(
  status: 400 | 401 | 403,
  error: 'invalid_request' | 'invalid_token' | 'insufficient_scope',
  description: string,
  scope?: readonly string[],
): GuardFailure {
  const text = headerSafe(description);
  const scopeParameter = scope === undefined ? '' : `, scope="${headerSafe(scope.join(' '))}"`;
  return {
    ok: false,
    status,
    error,
    description: text,
    challenge: `Bearer realm="${REALM}", error="${error}", error_description="${text}"${scopeParameter}`,
  };
}

/** The JSON body of a refusal: `error` is the RFC 6750 code, or `unauthorized` when the challenge has none. */
export function guardFailureBody(failure: GuardFailure): { error: string; error_description: string } {
  return { error: failure.error ?? UNAUTHORIZED, error_description: failure.description };
}

/**
 * Answers a refused request on a node:http response: the status, the WWW-Authenticate challenge and
 * a JSON body `{error, error_description}`, not to be cached.
 */
export function sendGuardFailure(res: ServerResponse, failure: GuardFailure): void {
  const payload = JSON.stringify(guardFailureBody(failure));
  res.writeHead(failure.status, {
    'WWW-Authenticate': failure.challenge,
    'Content-Type': 'application/json',
    'Content-Length': String(Buffer.byteLength(payload)),
    'Cache-Control': 'no-store',
  });
  res.end(payload);
}

/**
 * RFC 6750 §3 allows only %x20-21 / %x23-5B / %x5D-7E inside these quoted values (no `"` or `\`,
 * nothing outside printable ASCII): anything else becomes `?`, so a value can never break the header.
 */
function headerSafe(text: string): string {
  return text.replace(/[^\x20-\x21\x23-\x5b\x5d-\x7e]/g, '?');
}
