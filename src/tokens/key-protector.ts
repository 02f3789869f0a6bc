/**
 * Protects signing keys at rest, for deployments that want keys to outlive a restart (e.g. Electron's
 * safeStorage in the app). Without one, signing keys live only in the engine's memory.
 */
export interface KeyProtector {
  /** Encrypts a serialised secret key (a PASERK k4.secret, as UTF-8 bytes) for storage. */
  protect(secret: Uint8Array): Promise<Uint8Array>;
  /** Reverses protect(); throws if the blob cannot be opened. */
  unprotect(blob: Uint8Array): Promise<Uint8Array>;
}
