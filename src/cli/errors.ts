/**
 * A CLI failure: `usage` exits 2, `refused` exits 1; the message is the one line printed on stderr,
 * followed by `details`, one line each (every problem of a refused provisioning file).
 */
export class CliError extends Error {
  override readonly name = 'CliError';
  constructor(
    readonly kind: 'usage' | 'refused',
    message: string,
    readonly details: readonly string[] = [],
  ) {
    super(message);
  }

  get exitCode(): 1 | 2 {
    return this.kind === 'usage' ? 2 : 1;
  }
}
