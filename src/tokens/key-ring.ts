import type { Clock } from '../clock.js';
import type { PublishedKey } from '../contracts.js';
import type { SigningKeyRepository } from '../store/signing-keys.js';
import type { KeyProtector } from './key-protector.js';
import { v4, type PublicKey, type SecretKey } from './paseto-v4.js';

export interface SigningKey {
  pid: `k4.pid.${string}`;
  paserk: `k4.public.${string}`;
  secretKey: SecretKey;
  activeUntil: number;
  /** Tokens it signed verify until then; extended when a longer token lifetime comes into force. */
  verifyUntil: number;
  /** The longest token horizon (ms) in force while it signed: retiring it must not cut a token short. */
  horizonMs: number;
}

export interface KeyRingOptions {
  /** How long one key signs before the next replaces it (ms). */
  rotationMs: number;
  /** Longest time a token signed now can stay valid, leeway included (ms); may change while it runs. */
  tokenHorizonMs: number;
  protector?: KeyProtector | undefined;
}

/**
 * Ed25519 signing keys. The secret half lives in memory only (unless a protector is given); the public
 * half is recorded with its validity window, so tokens signed before a rotation or restart verify
 * until they expire, in this process and any other reading the same database.
 */
export class KeyRing {
  private current: SigningKey | undefined;
  private rotating: Promise<SigningKey> | undefined;
  private readonly publicKeys = new Map<string, { key: PublicKey; verifyUntil: number }>();
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  /** Only the engine's first key may be a persisted one; every later key is new. */
  private started = false;

  constructor(
    private readonly repository: SigningKeyRepository,
    private readonly clock: Clock,
    private readonly options: KeyRingOptions,
    private readonly onChange: (startedPid: `k4.pid.${string}`) => void,
    /** A key's verification window was extended (see covering). */
    private readonly onExtended: () => void,
  ) {}

  /** The key to sign with now, rotating first if its signing window has passed. */
  async signingKey(): Promise<SigningKey> {
    let key = this.current;
    if (!key || this.clock.now() >= key.activeUntil) {
      this.rotating ??= this.nextKey().finally(() => {
        this.rotating = undefined;
      });
      key = await this.rotating;
    }
    return this.covering(key);
  }

  /**
   * A token signed now must verify for its whole life: when a longer token lifetime has come into
   * force since the key started (provisioning), the key's window is extended to its signing window
   * plus the new horizon, once, and announced.
   */
  private covering(key: SigningKey): SigningKey {
    const horizon = this.options.tokenHorizonMs;
    key.horizonMs = Math.max(key.horizonMs, horizon);
    if (this.clock.now() + horizon <= key.verifyUntil) return key;
    const verifyUntil = key.activeUntil + horizon;
    try {
      this.repository.extendVerification(key.pid, verifyUntil);
    } catch (error) {
      // This may run after a grant's commit, where nothing may fail: the token is still signed and
      // verifies until the window on record (earlier than its exp, never later); the next signature
      // tries again.
      process.emitWarning(`gatehouse: extending signing key ${key.pid}'s verification window failed: ${(error as Error).message}`);
      return key;
    }
    key.verifyUntil = verifyUntil;
    const cached = this.publicKeys.get(key.pid);
    if (cached) cached.verifyUntil = verifyUntil;
    this.onExtended();
    return key;
  }

  /** Another process changed recorded windows: read them again when next needed. */
  forgetWindows(): void {
    this.publicKeys.clear();
  }

  /** The key signing now, if this engine has started one and its window has not passed. */
  currentKey(): SigningKey | undefined {
    const key = this.current;
    return key && this.clock.now() < key.activeUntil ? key : undefined;
  }

  /** Starts a new signing key now; the previous one keeps verifying until its tokens expire. */
  async rotate(): Promise<SigningKey> {
    const previous = this.current;
    if (previous) {
      const now = this.clock.now();
      this.repository.retire(previous.pid, now, now + this.horizonOf(previous));
      this.publicKeys.delete(previous.pid);
      this.current = undefined;
    }
    return this.signingKey();
  }

  /**
   * Ends every recorded key now, for signing and verifying (a restored database must not honour the
   * tokens of the copy it came from); the next key is a new one. Returns how many were in use.
   */
  endAll(): number {
    const ended = this.repository.endAll(this.clock.now());
    this.current = undefined;
    this.publicKeys.clear();
    return ended;
  }

  /** The public key for a k4.pid, if it is known and may still verify tokens. */
  async publicKey(pid: string): Promise<PublicKey | undefined> {
    const now = this.clock.now();
    const cached = this.publicKeys.get(pid);
    if (cached) return cached.verifyUntil > now ? cached.key : undefined;
    const row = this.repository.find(pid);
    if (!row || row.verify_until <= now) return undefined;
    const key = await v4.ImportPublicKey(row.paserk);
    this.publicKeys.set(pid, { key, verifyUntil: row.verify_until });
    return key;
  }

  /** Whether a key was ever recorded here (and is still on record, e.g. for an audit checkpoint). */
  isRecorded(pid: string): boolean {
    return this.repository.find(pid) !== undefined;
  }

  /** Every key that may still verify a token, newest first. */
  published(): PublishedKey[] {
    const now = this.clock.now();
    return this.repository.listVerifiable(now).map((row) => ({
      paserk: row.paserk,
      pid: row.pid,
      status: row.active_until > now ? 'active' : 'retiring',
      verifyUntil: row.verify_until,
    }));
  }

  private async nextKey(): Promise<SigningKey> {
    const now = this.clock.now();
    this.repository.prune(now);
    for (const [pid, entry] of this.publicKeys) if (entry.verifyUntil <= now) this.publicKeys.delete(pid);
    const reused = this.started ? undefined : await this.reuseProtected(now);
    const key = reused ?? (await this.generate(now));
    this.started = true;
    this.current = key;
    this.schedule(key.activeUntil - now);
    this.onChange(key.pid);
    return key;
  }

  /** Whether this engine has started signing (an administration-only engine never does). */
  get signs(): boolean {
    return this.started;
  }

  /**
   * The engine has closed: a key held only in memory can sign no more, so it is recorded as
   * retiring (its tokens still verify until they expire). A protected key is kept for the next start.
   */
  retireUnsaved(): void {
    const key = this.current;
    if (!key || this.options.protector) return;
    const now = this.clock.now();
    this.repository.retire(key.pid, now, now + this.horizonOf(key));
    this.current = undefined;
  }

  /** How long after now a token `key` signed may still be valid (a shorter lifetime may be in force since). */
  private horizonOf(key: SigningKey): number {
    return Math.max(key.horizonMs, this.options.tokenHorizonMs);
  }

  /** Stops scheduled rotation and waits for one under way (the engine is closing). */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.rotating?.catch(() => undefined);
  }

  /**
   * Rotates on schedule even when nothing is being signed, so published keys never lapse. Signing
   * also checks the window, which is what counts when the injected clock is not the real one.
   */
  private schedule(delayMs: number): void {
    clearTimeout(this.timer);
    if (this.stopped) return;
    // setTimeout cannot wait longer than about 24.8 days: a longer window is waited for in steps.
    const delay = Math.min(Math.max(delayMs, 1000), 2 ** 31 - 1);
    this.timer = setTimeout(() => {
      const key = this.current;
      const now = this.clock.now();
      if (key && now < key.activeUntil) return this.schedule(key.activeUntil - now);
      this.signingKey().catch((error: Error) => process.emitWarning(`gatehouse: key rotation failed: ${error.message}`));
    }, delay);
    this.timer.unref();
  }

  private async generate(now: number): Promise<SigningKey> {
    const protector = this.options.protector;
    const { publicKey, secretKey } = await v4.GenerateKeyPair({ extractable: protector !== undefined });
    const paserk = await v4.ExportPublicKey(publicKey);
    const pid = await v4.PublicKeyID(paserk);
    const activeUntil = now + this.options.rotationMs;
    const protectedSecret = protector
      ? Buffer.from(await protector.protect(new TextEncoder().encode(await v4.ExportSecretKey(secretKey))))
      : null;
    this.repository.insert({
      pid,
      paserk,
      created_at: now,
      active_until: activeUntil,
      verify_until: activeUntil + this.options.tokenHorizonMs,
      protected_secret: protectedSecret,
    });
    const horizonMs = this.options.tokenHorizonMs;
    const verifyUntil = activeUntil + horizonMs;
    this.publicKeys.set(pid, { key: publicKey, verifyUntil });
    return { pid, paserk, secretKey, activeUntil, verifyUntil, horizonMs };
  }

  /** With a protector, a restart keeps signing with the persisted key while its window lasts. */
  private async reuseProtected(now: number): Promise<SigningKey | undefined> {
    const protector = this.options.protector;
    if (!protector) return undefined;
    const row = this.repository.findReusable(now);
    if (!row?.protected_secret) return undefined;
    const paserk = new TextDecoder().decode(await protector.unprotect(row.protected_secret));
    if (!paserk.startsWith('k4.secret.')) throw new Error('The key protector returned something that is not a k4.secret key.');
    const secretKey = await v4.ImportSecretKey(paserk as `k4.secret.${string}`);
    // A blob that opens to another key would sign tokens nobody can verify: start a new key instead.
    const publicPaserk = await v4.ExportPublicKey(await v4.GetPublicKey(secretKey));
    const pid = await v4.PublicKeyID(publicPaserk);
    if (pid !== row.pid) {
      process.emitWarning(`gatehouse: the protected signing key ${row.pid} does not match its record; starting a new key.`);
      return undefined;
    }
    // Its window on record tells the longest horizon it was given before this start.
    return { pid, paserk: publicPaserk, secretKey, activeUntil: row.active_until, verifyUntil: row.verify_until, horizonMs: row.verify_until - row.active_until };
  }
}
