import type { OAuthErrorBody, OAuthErrorCode } from '../contracts.js';

const STATUS: Record<OAuthErrorCode, number> = {
  invalid_request: 400,
  invalid_client: 401,
  invalid_grant: 400,
  unauthorized_client: 400,
  unsupported_grant_type: 400,
  invalid_scope: 400,
  password_change_required: 400,
  server_error: 500,
};

/**
 * An OAuth error as RFC 6749 §5.2 defines it, carrying what any transport needs to answer it:
 * the HTTP status it would have and any headers it requires.
 */
export class OAuthError extends Error {
  override readonly name = 'OAuthError';
  readonly status: number;
  /** Headers the answer must carry (e.g. WWW-Authenticate for a failed Basic client). */
  readonly headers: Readonly<Record<string, string>>;
  /** Seconds until a throttled attempt may be retried. */
  readonly retryAfter: number | undefined;
  /** Why a new password was refused (invalid_request from a password change). */
  readonly policyViolations: string[] | undefined;

  constructor(
    readonly code: OAuthErrorCode,
    readonly description: string,
    options: {
      headers?: Record<string, string>;
      /** Overrides the code's usual status (503 for a server_error that will pass). */
      status?: number;
      retryAfter?: number;
      policyViolations?: string[];
      cause?: unknown;
    } = {},
  ) {
    super(`${code}: ${description}`, options.cause === undefined ? undefined : { cause: options.cause });
    this.status = options.status ?? STATUS[code];
    this.headers = options.headers ?? {};
    this.retryAfter = options.retryAfter;
    this.policyViolations = options.policyViolations;
  }

  /** The §5.2 response body. */
  toJSON(): OAuthErrorBody {
    const body: OAuthErrorBody = { error: this.code, error_description: this.description };
    if (this.policyViolations) body.policy_violations = this.policyViolations;
    return body;
  }
}

/** The one answer for unknown user, wrong password and disabled account (byte-identical). */
export const WRONG_CREDENTIALS = 'The username or password is incorrect.';
