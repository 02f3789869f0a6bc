/** The engine was used after close(). */
export class EngineClosedError extends Error {
  override readonly name = 'EngineClosedError';
  readonly code = 'engine_closed';
  constructor() {
    super('The Gatehouse engine is closed.');
  }
}
