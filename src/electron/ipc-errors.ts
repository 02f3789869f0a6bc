import { AdminError, type AdminErrorCode } from '../engine/admin-error.js';
import type { IpcError, IpcErrorCode } from '../contracts.js';
import { OAuthError } from '../oauth/errors.js';

/** A refusal a handler decides itself (not signed in, locked, forbidden…), answered as it is. */
export class IpcCallError extends Error {
  override readonly name = 'IpcCallError';
  constructor(readonly error: IpcError) {
    super(`${error.code}: ${error.description}`);
  }
}

export function ipcError(code: IpcErrorCode, description: string): IpcCallError {
  return new IpcCallError({ code, description });
}

const ADMIN_CODES: Record<Exclude<AdminErrorCode, 'password_policy'>, IpcErrorCode> = {
  invalid_argument: 'invalid_argument',
  user_exists: 'conflict',
  client_exists: 'conflict',
  user_not_found: 'not_found',
  client_not_found: 'not_found',
  session_not_found: 'not_found',
};

const INTERNAL = 'Something went wrong in the app; try again, and tell your administrator if it keeps happening.';

/**
 * What the renderer is told about an error a call threw. Errors the engine explains (OAuthError,
 * AdminError) keep their description, which the engine words for people and never fills with
 * secrets; anything else is `internal`, described generically and logged here, once.
 */
export function toIpcError(error: unknown, call: string, log: (line: string) => void): IpcError {
  if (error instanceof IpcCallError) return error.error;
  if (error instanceof OAuthError) {
    const known = fromOAuthError(error);
    if (known) return known;
  }
  if (error instanceof AdminError) {
    if (error.code === 'password_policy') {
      return { code: 'policy_violation', description: error.message, policyViolations: [...error.violations] };
    }
    return { code: ADMIN_CODES[error.code], description: error.message };
  }
  log(`gatehouse: ${call} failed: ${oneLine(error)}`);
  return { code: 'internal', description: INTERNAL };
}

function fromOAuthError(error: OAuthError): IpcError | undefined {
  const { description, retryAfter } = error;
  switch (error.code) {
    case 'invalid_grant':
      return retryAfter === undefined ? { code: 'invalid_credentials', description } : { code: 'throttled', description, retryAfter };
    case 'password_change_required':
      return { code: 'password_change_required', description };
    case 'invalid_request':
      return error.policyViolations
        ? { code: 'policy_violation', description, policyViolations: [...error.policyViolations] }
        : { code: 'invalid_argument', description };
    case 'server_error':
      return error.status === 503 && retryAfter !== undefined ? { code: 'busy', description, retryAfter } : undefined;
    default:
      // invalid_client, invalid_scope…: the app's own client is misconfigured, which the person cannot fix.
      return undefined;
  }
}

/** One line naming the error, bounded, without stack or line breaks. */
export function oneLine(error: unknown): string {
  const text = error instanceof Error ? `${error.name}: ${error.message}` : `a thrown ${typeof error}`;
  const line = text.replace(/\s+/g, ' ');
  return line.length > 300 ? `${line.slice(0, 300)}…` : line;
}
