import type { PublishedKey, Revocation } from '../contracts.js';
import type { EngineContext } from './context.js';

/** How often the engine looks for commits by other processes (the CLI, a second engine). */
export const WATCH_INTERVAL_MS = 250;

/**
 * Notices what other processes commit to the same database and turns it into the engine's
 * `revocation` and `keys` events, so resource services learn of a `gatehouse users disable` run
 * elsewhere as they learn of this engine's own changes; and has the audit events and checkpoints
 * committed elsewhere announced. `PRAGMA data_version` changes only when another connection
 * commits, so an idle poll costs one cheap read of shared memory.
 */
export class ChangeFeed {
  private dataVersion: number;
  /** Every revocation listeners have been told of, with the expiry they were told. */
  private readonly told = new Map<string, number>();
  private keysTold: string;

  constructor(
    private readonly ctx: EngineContext,
    private readonly emitRevocations: (revocations: Revocation[]) => void,
    private readonly emitKeys: (keys: PublishedKey[]) => void,
    /** Asks for the audit rows committed since the last announcement (see AuditAnnouncer). */
    private readonly announceAudit: () => void,
  ) {
    this.dataVersion = this.readDataVersion();
    this.noteRevocations(ctx.revocations.list(ctx.clock.now()));
    this.keysTold = signature(ctx.keys.published());
  }

  /** This engine's own revocations, already announced: not to be announced again. */
  noteRevocations(revocations: readonly Revocation[]): void {
    for (const r of revocations) this.told.set(key(r), Math.max(r.expiresAt, this.told.get(key(r)) ?? 0));
  }

  noteKeys(keys: readonly PublishedKey[]): void {
    this.keysTold = signature(keys);
  }

  /** Announces what other processes committed since the last look, if anything. */
  poll(): void {
    const version = this.readDataVersion();
    if (version === this.dataVersion) return;
    this.dataVersion = version;
    this.sync();
  }

  /** Compares the database with what was announced and announces the difference. */
  sync(): void {
    const now = this.ctx.clock.now();
    const live = this.ctx.revocations.list(now);
    const fresh = live.filter((r) => (this.told.get(key(r)) ?? 0) < r.expiresAt);
    // Forget what has expired, so the map stays as small as the live list.
    const liveKeys = new Set(live.map(key));
    for (const k of this.told.keys()) if (!liveKeys.has(k)) this.told.delete(k);
    if (fresh.length > 0) {
      this.noteRevocations(fresh);
      this.emitRevocations(fresh);
    }
    const keys = this.ctx.keys.published();
    if (signature(keys) !== this.keysTold) {
      this.ctx.keys.forgetWindows();
      this.noteKeys(keys);
      this.emitKeys(keys);
    }
    this.announceAudit();
  }

  private readDataVersion(): number {
    return this.ctx.db.pragma('data_version', { simple: true }) as number;
  }
}

function key(r: Revocation): string {
  return `${r.kind}:${r.value}`;
}

function signature(keys: readonly PublishedKey[]): string {
  return keys.map((k) => `${k.pid}:${k.status}:${k.verifyUntil}`).join(',');
}
