export type AdminErrorCode =
  | 'invalid_argument'
  | 'password_policy'
  | 'user_exists'
  | 'user_not_found'
  | 'client_exists'
  | 'client_not_found'
  | 'session_not_found';

/** A refused administrative operation; nothing was changed. */
export class AdminError extends Error {
  override readonly name = 'AdminError';
  constructor(
    readonly code: AdminErrorCode,
    message: string,
    /** With password_policy: each reason the password was refused. */
    readonly violations: string[] = [],
  ) {
    super(message);
  }
}
