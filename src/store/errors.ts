/** Why a database could not be opened. The file is left exactly as it was. */
export type StoreErrorCode = 'not_a_database' | 'corrupt' | 'foreign' | 'too_new' | 'unavailable';

export class StoreError extends Error {
  override readonly name = 'StoreError';
  constructor(
    readonly code: StoreErrorCode,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}
