/** The JSON body of every error answer: RFC 6749 §5.2's shape, also for refusals OAuth has no code for. */
export interface HttpErrorBody {
  error: string;
  error_description: string;
}

/**
 * A request refused by the transport itself, before the engine sees it (Host, Origin, method, media
 * type, size). The engine's own refusals are OAuthErrors and carry their status the same way.
 */
export class HttpError extends Error {
  override readonly name = 'HttpError';
  constructor(
    readonly status: number,
    readonly code: string,
    readonly description: string,
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(`${code}: ${description}`);
  }

  toJSON(): HttpErrorBody {
    return { error: this.code, error_description: this.description };
  }
}

/** 400 invalid_request: the request is malformed (RFC 6749 §5.2 uses the same code). */
export function badRequest(description: string): HttpError {
  return new HttpError(400, 'invalid_request', description);
}
