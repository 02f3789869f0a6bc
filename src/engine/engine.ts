import { EventEmitter } from 'node:events';
import { setTimeout as delay } from 'node:timers/promises';
import { systemClock, type Clock } from '../clock.js';
import type {
  AccessTokenClaims,
  AuditCheckpoint,
  AuditVerification,
  IntrospectionResponse,
  PublishedKey,
  RequestParams,
  Revocation,
  TokenResponse,
} from '../contracts.js';
import { isRevoked } from '../oauth/access-token-status.js';
import { changePasswordRequest } from '../oauth/change-password.js';
import type { BasicCredentials } from '../oauth/client-auth.js';
import { introspectAccessToken, introspectRequest } from '../oauth/introspect.js';
import { revokeRequest } from '../oauth/revoke.js';
import { tokenRequest } from '../oauth/token-request.js';
import { HashPool, type HashPriority } from '../passwords/hash-pool.js';
import { routineCheckpoint, writeCheckpoint } from '../security/audit-checkpoint.js';
import { verifyAuditChain } from '../security/audit-verify.js';
import { KeyedMutex } from '../security/keyed-mutex.js';
import { MonotonicClock } from '../security/monotonic-clock.js';
import { Throttle } from '../security/throttle.js';
import { ThrottleRepository } from '../store/throttle.js';
import { Durability } from '../store/durability.js';
import { TimeMarkRepository } from '../store/time-mark.js';
import { PasswordHasher } from '../passwords/hasher.js';
import { AuditRepository, checkpointOf, type AuditRow } from '../store/audit.js';
import { ClientRepository } from '../store/clients.js';
import { openDatabase } from '../store/database.js';
import type { StoreError } from '../store/errors.js';
import { markClosedCleanly, type BackgroundCheck } from '../store/sqlite-file.js';
import { asStoreError } from '../store/sqlite-file.js';
import { RevocationRepository } from '../store/revocations.js';
import { SessionRepository } from '../store/sessions.js';
import { SigningKeyRepository } from '../store/signing-keys.js';
import { checkSqliteBinding } from '../store/sqlite-binding.js';
import type { ProvisionedAppSettings } from '../provisioning/schema.js';
import { ProvisioningRepository } from '../store/provisioning.js';
import { UserRepository } from '../store/users.js';
import { AccessTokens, TokenError } from '../tokens/access-tokens.js';
import type { KeyProtector } from '../tokens/key-protector.js';
import { KeyRing } from '../tokens/key-ring.js';
import { ChangeFeed, WATCH_INTERVAL_MS } from './change-feed.js';
import { ClientsAdmin } from './clients-admin.js';
import { AuditAnnouncer } from './audit-announcer.js';
import { assertOpen, audit, MAX_LEEWAY_MS, type EngineContext } from './context.js';
import { pruneExpired } from './maintenance.js';
import { resolvePolicy, type Policy, type PolicyOptions } from './policy.js';
import { startOverAfterRestore, type RestoreOutcome } from './restore.js';
import { PolicySource } from './policy-source.js';
import { SessionsAdmin } from './sessions-admin.js';
import { UsersAdmin } from './users-admin.js';

/** How long close() waits for a background integrity check to finish before cutting it short. */
const CLOSE_CHECK_GRACE_MS = 5000;

export interface EngineOptions {
  /** The SQLite file (created if missing, private to this OS user). */
  path: string;
  /** `iss` of every token; default `urn:gatehouse:<installation id>`. */
  issuer?: string | undefined;
  /** `aud` of every token (the resource service); default `urn:gatehouse:resource:<installation id>`. */
  audience?: string | undefined;
  policy?: PolicyOptions | undefined;
  /** Persist signing keys, protected by this; without one they live in memory only. */
  keyProtector?: KeyProtector | undefined;
  /** Source of time (tests inject a fake one). */
  clock?: Clock | undefined;
  /** Worker threads for argon2id; default: the number of cores, at most 4. */
  hashWorkers?: number | undefined;
  /**
   * Start a signing key while opening (default true), so keys are published before the first
   * token. Administration-only callers (the CLI) pass false: a key is then made only if a token or
   * an audit checkpoint is signed, and the engine runs no retention or pruning (the app or server on
   * the same file does, under its own policy).
   */
  signingKeyAtOpen?: boolean | undefined;
  /**
   * The absolute path of the better_sqlite3.node to load instead of better-sqlite3's own build: a
   * packaged Electron app passes its Electron-ABI copy (node_modules holds Node's). Every SQLite
   * connection uses it: the engine's, its worker threads' and the resource service's records file.
   */
  sqliteBinding?: string | undefined;
}

/** Token endpoint parameters, typed for in-process callers (the wire form is any RequestParams). */
export type TokenRequest = { client_id?: string; client_secret?: string; scope?: string } & (
  | { grant_type: 'password'; username: string; password: string }
  | { grant_type: 'refresh_token'; refresh_token: string }
);

export interface EngineEvents {
  /** Sessions or tokens were revoked (committed); resource services must refuse them now. */
  revocation: [revocations: Revocation[]];
  /** The set of signing keys changed (rotation); resource services need the new public key. */
  keys: [keys: PublishedKey[]];
  /**
   * Every audit event committed to the database, by any process (this engine, the CLI, a second
   * engine), in id order, once each, as stored (with chain hashes); at most 1000 per call, on a
   * later turn of the event loop (see AuditAnnouncer). From when the first listener subscribed:
   * earlier events are not replayed.
   */
  audit: [rows: AuditRow[]];
  /**
   * Every audit checkpoint recorded in the database, by any process, in order, after the `audit`
   * events it vouches for; from when the first listener subscribed, as for `audit`.
   */
  checkpoint: [checkpoint: AuditCheckpoint];
  /**
   * The integrity check that runs after an open on a clean-close mark found the file damaged
   * (StoreError `corrupt`). The engine is closing itself: every call after this fails.
   */
  damaged: [error: StoreError];
}

/**
 * The Gatehouse authorization engine over one SQLite file. Every method validates its input and
 * either returns a typed result or throws a typed error (OAuthError for the OAuth operations,
 * AdminError for administration, TokenError from verifyAccessToken).
 */
export class Engine {
  private readonly usersAdmin: UsersAdmin;
  private readonly clientsAdmin: ClientsAdmin;
  private readonly sessionsAdmin: SessionsAdmin;
  private readonly events = new EventEmitter<EngineEvents>();
  private readonly pending = new Set<Promise<unknown>>();
  private closing: Promise<void> | undefined;
  private feed: ChangeFeed | undefined;
  private watchTimer: NodeJS.Timeout | undefined;
  private integrityCheck: BackgroundCheck | undefined;
  private damaged = false;

  /** @internal Use openEngine(). */
  constructor(
    private readonly ctx: EngineContext,
    private readonly auditAnnouncer: AuditAnnouncer,
    readonly installationId: string,
    readonly issuer: string,
    readonly audience: string,
    /** The native module every SQLite connection loads (EngineOptions.sqliteBinding); undefined: better-sqlite3's own. */
    readonly sqliteBinding?: string | undefined,
  ) {
    this.usersAdmin = new UsersAdmin(ctx);
    this.clientsAdmin = new ClientsAdmin(ctx);
    this.sessionsAdmin = new SessionsAdmin(ctx);
  }

  /** User administration (throws EngineClosedError once closed). */
  get users(): UsersAdmin {
    this.assertOpen();
    return this.usersAdmin;
  }

  /** Client registry administration. */
  get clients(): ClientsAdmin {
    this.assertOpen();
    return this.clientsAdmin;
  }

  /** Sign-in sessions: list and revoke. */
  get sessions(): SessionsAdmin {
    this.assertOpen();
    return this.sessionsAdmin;
  }

  get policy(): Readonly<Policy> {
    return this.ctx.policy;
  }

  /** RFC 6749 token endpoint: the password and refresh_token grants. */
  token(params: TokenRequest | RequestParams, basic?: BasicCredentials, options: CallerOptions = {}): Promise<TokenResponse> {
    return this.run(() => tokenRequest(this.ctx, toPairs(params), basic, priorityOf(options)));
  }

  /** RFC 7009 revocation (parameters: token, token_type_hint?, plus client authentication). */
  revoke(params: Record<string, string> | RequestParams, basic?: BasicCredentials): Promise<void> {
    return this.run(() => revokeRequest(this.ctx, toPairs(params), basic));
  }

  /** RFC 7662 introspection, for confidential clients (parameters: token, token_type_hint?). */
  introspect(params: Record<string, string> | RequestParams, basic?: BasicCredentials): Promise<IntrospectionResponse> {
    return this.run(() => introspectRequest(this.ctx, toPairs(params), basic));
  }

  /** Password change (parameters: username, password, new_password, plus client authentication). */
  changePassword(params: Record<string, string> | RequestParams, basic?: BasicCredentials, options: CallerOptions = {}): Promise<void> {
    return this.run(() => changePasswordRequest(this.ctx, toPairs(params), basic, priorityOf(options)));
  }

  /**
   * Verifies an access token as a resource server would, plus what only the engine knows: throws
   * TokenError unless the signature, issuer, audience and times are right and it is not revoked.
   */
  verifyAccessToken(token: string): Promise<AccessTokenClaims> {
    return this.run(async () => {
      const claims = await this.ctx.accessTokens.verify(token);
      if (isRevoked(this.ctx, claims, this.ctx.clock.now())) throw new TokenError('revoked', 'The token has been revoked.');
      return claims;
    });
  }

  /**
   * RFC 7662's answer for an access token, without client authentication: for trusted callers in
   * this process only (the resource service's supervisor answers its service's fallback questions
   * with it). Anything that is not a valid, unrevoked access token is `{ active: false }`.
   */
  introspectAccessToken(token: string): Promise<IntrospectionResponse> {
    if (typeof token !== 'string') throw new TypeError('introspectAccessToken takes the token as a string.');
    return this.run(() => introspectAccessToken(this.ctx, token));
  }

  /** Public keys that may still verify tokens (what `/keys` publishes). */
  publishedKeys(): PublishedKey[] {
    this.assertOpen();
    return this.ctx.keys.published();
  }

  /** Starts a new signing key now; tokens signed by the previous one still verify until they expire. */
  rotateSigningKey(): Promise<PublishedKey[]> {
    return this.run(async () => {
      await this.ctx.keys.rotate();
      return this.ctx.keys.published();
    });
  }

  /**
   * For `gatehouse restore`, on the restored file before any host opens it: ends every session
   * (reason `restored`) and every recorded signing key, audited. See startOverAfterRestore.
   */
  startOverAfterRestore(): RestoreOutcome {
    this.assertOpen();
    return startOverAfterRestore(this.ctx);
  }

  /** Every revocation still in force: the snapshot a resource service starts from. */
  revocations(): Revocation[] {
    this.assertOpen();
    return this.ctx.revocations.list(this.ctx.clock.now());
  }

  /** The audit log, oldest first: every event after `afterId`, at most `limit` of them. */
  auditLog(options: { afterId?: number; limit?: number } = {}): AuditRow[] {
    this.assertOpen();
    const { afterId = 0, limit = -1 } = options;
    if (!Number.isSafeInteger(afterId) || afterId < 0 || !Number.isSafeInteger(limit) || limit < -1) {
      throw new RangeError('auditLog: afterId must be a whole number ≥ 0 and limit a whole number ≥ -1.');
    }
    return this.ctx.auditLog.list(afterId, limit);
  }

  /**
   * Signs and records a checkpoint of the audit chain head now, and returns it: keep the copy
   * somewhere else (the OS log, a ticket) and `verifyAuditLog` it later to prove nothing was cut.
   */
  auditCheckpoint(): Promise<AuditCheckpoint> {
    return this.run(async () => writeCheckpoint(this.ctx, await this.ctx.keys.signingKey()));
  }

  /** The signed checkpoints recorded in the database, oldest first. */
  auditCheckpoints(): AuditCheckpoint[] {
    this.assertOpen();
    return this.ctx.auditLog.checkpoints().map(checkpointOf);
  }

  /** Checks the audit chain and its checkpoints (and any exported ones given) for tampering. */
  verifyAuditLog(exported: readonly AuditCheckpoint[] = []): Promise<AuditVerification> {
    return this.run(() =>
      verifyAuditChain(this.ctx.auditLog, this.ctx.installationId, (pid) => this.ctx.keys.isRecorded(pid), checkCheckpoints(exported)),
    );
  }

  /**
   * Looks at once for revocations and key changes that other processes (the CLI, a second engine)
   * committed, and emits them, and has their audit events and checkpoints emitted on the next turn
   * of the event loop; the engine also looks on its own every quarter second.
   */
  checkForChanges(): void {
    this.assertOpen();
    this.feed?.sync();
  }

  /**
   * The app settings the last provisioning file set (helpdesk text and the like), for the app to
   * merge under machine policy; empty if no file was applied.
   */
  provisionedAppSettings(): ProvisionedAppSettings {
    this.assertOpen();
    return JSON.parse(this.ctx.provisioning.read()?.app_settings ?? '{}') as ProvisionedAppSettings;
  }

  /** The version of the provisioning file applied last and when (undefined: none). */
  provisionedVersion(): { version: number; appliedAt: number } | undefined {
    this.assertOpen();
    const row = this.ctx.provisioning.read();
    return row && { version: row.version, appliedAt: row.applied_at };
  }

  /** @internal Runs work of this package's own modules (provisioning) on the engine's context. */
  withContext<T>(work: (ctx: EngineContext) => Promise<T>): Promise<T> {
    return this.run(() => work(this.ctx));
  }

  /** argon2id evaluations started by this engine (for tests and metrics). */
  get hashEvaluations(): number {
    return this.ctx.hasher.evaluations;
  }

  on<E extends keyof EngineEvents>(event: E, listener: (...args: EngineEvents[E]) => void): () => void {
    this.events.on(event, listener as never);
    this.listenersChanged(event);
    return () => {
      this.events.off(event, listener as never);
      this.listenersChanged(event);
    };
  }

  /** The audit announcer reads the audit tables only while someone listens. */
  private listenersChanged(event: keyof EngineEvents): void {
    if (event === 'audit' || event === 'checkpoint') this.auditAnnouncer.follow(event, this.events.listenerCount(event) > 0);
  }

  /** Waits for background work (rehashes), stops the hash workers and closes the database. */
  close(): Promise<void> {
    this.closing ??= this.shutDown();
    return this.closing;
  }

  private async shutDown(): Promise<void> {
    this.ctx.closed = true;
    clearInterval(this.watchTimer);
    await this.settleIntegrityCheck();
    await this.ctx.keys.stop();
    // Work may start more work (a sign-in schedules a rehash): wait until none is left.
    while (this.pending.size > 0) await Promise.all([...this.pending]);
    await routineCheckpoint(this.ctx).catch((error: Error) => process.emitWarning(`gatehouse: audit checkpoint failed: ${error.message}`));
    this.ctx.keys.retireUnsaved();
    await this.ctx.hasher.close();
    await this.ctx.durability?.close();
    try {
      // A damaged file gets no more writes, and no mark that would vouch for it.
      if (!this.damaged) {
        this.ctx.timeMark.raise(this.ctx.clock.mark);
        // Only a file checked whole (before the open, or by a background check that finished) is
        // vouched for: a check cut short by close must run again at the next open.
        const checked = this.integrityCheck === undefined || this.integrityCheck.intact;
        if (this.ctx.durability && checked) markClosedCleanly(this.ctx.db, this.ctx.durability.path);
      }
    } finally {
      // The last events are announced (this never throws), and nothing is read once the file is closed.
      this.auditAnnouncer.close();
      // A last write that fails (a full disk) is reported by close(), but the file is let go all the same.
      this.ctx.db.close();
    }
  }

  /**
   * Lets a background integrity check finish, so that this close may vouch for the file; one that
   * would hold the close up longer is cut short (the next open then checks before it opens).
   */
  private async settleIntegrityCheck(): Promise<void> {
    const check = this.integrityCheck;
    if (!check) return;
    const grace = new AbortController();
    const finished = await Promise.race([
      check.outcome.then(
        () => true,
        () => true,
      ),
      delay(CLOSE_CHECK_GRACE_MS, false, { signal: grace.signal }).catch(() => false),
    ]);
    grace.abort();
    if (!finished) await check.stop();
  }

  /** @internal Closes the engine if the integrity check running after its open finds damage. */
  watchIntegrity(check: BackgroundCheck): void {
    this.integrityCheck = check;
    check.outcome.catch((error: StoreError) => {
      process.emitWarning(`gatehouse: ${error.message}`);
      if (error.code !== 'corrupt') return;
      this.damaged = true;
      this.emit('damaged', error);
      void this.close().catch((closing: Error) => process.emitWarning(`gatehouse: closing after damage failed: ${closing.message}`));
    });
  }

  /** @internal */
  emit<E extends keyof EngineEvents>(event: E, ...args: EngineEvents[E]): void {
    // A listener's failure must not undo or hide a committed change.
    for (const listener of this.events.listeners(event)) {
      try {
        (listener as (...a: EngineEvents[E]) => void)(...args);
      } catch (error) {
        process.emitWarning(`gatehouse ${event} listener failed: ${(error as Error).message}`);
      }
    }
  }

  /** @internal Starts announcing what other processes commit (see ChangeFeed). */
  startWatching(): void {
    this.feed = new ChangeFeed(
      this.ctx,
      (revocations) => this.emit('revocation', revocations),
      (keys) => this.emit('keys', keys),
      () => this.auditAnnouncer.schedule(),
    );
    this.watchTimer = setInterval(() => {
      try {
        if (!this.ctx.closed) this.feed?.poll();
      } catch (error) {
        process.emitWarning(`gatehouse: looking for other processes' changes failed: ${(error as Error).message}`);
      }
    }, WATCH_INTERVAL_MS);
    this.watchTimer.unref();
  }

  /** @internal This engine's own revocations, committed: tell listeners once. */
  announceRevocations(revocations: readonly Revocation[]): void {
    if (revocations.length === 0) return;
    this.feed?.noteRevocations(revocations);
    this.emit('revocation', [...revocations]);
  }

  /** @internal This engine started a signing key, or extended one's window. */
  announceKeys(keys: PublishedKey[]): void {
    this.feed?.noteKeys(keys);
    this.emit('keys', keys);
  }

  /** @internal Work close() waits for; its failure is the caller's to handle, not close()'s. */
  track(task: Promise<unknown>): void {
    const settled = task.then(
      () => undefined,
      () => undefined,
    );
    this.pending.add(settled);
    void settled.finally(() => this.pending.delete(settled));
  }

  private assertOpen(): void {
    assertOpen(this.ctx);
  }

  /**
   * Runs an operation that close() will wait for. One that wrote answers only once its writes are
   * on disk (see Durability), failures included: a counted failed sign-in is as durable as a session.
   */
  private async run<T>(operation: () => Promise<T>): Promise<T> {
    this.assertOpen();
    const { durability } = this.ctx;
    const before = durability?.changes();
    const result = (async () => {
      try {
        return await operation();
      } finally {
        if (durability && durability.changes() !== before) await durability.flush();
      }
    })();
    this.track(result);
    return result;
  }
}

/** Opens the engine on a database file, creating and migrating it as needed. */
export async function openEngine(options: EngineOptions): Promise<Engine> {
  if (!options || typeof options.path !== 'string' || options.path === '') {
    throw new TypeError('openEngine needs options.path, the database file.');
  }
  for (const name of ['issuer', 'audience'] as const) {
    const value = options[name];
    if (value !== undefined && (typeof value !== 'string' || value.trim() === '' || value.length > 512)) {
      throw new TypeError(`options.${name} must be a non-empty string of at most 512 characters.`);
    }
  }
  if (options.signingKeyAtOpen !== undefined && typeof options.signingKeyAtOpen !== 'boolean') {
    throw new TypeError('options.signingKeyAtOpen must be true or false.');
  }
  if (options.clock !== undefined && typeof options.clock?.now !== 'function') {
    throw new TypeError('options.clock must have a now() method returning epoch milliseconds.');
  }
  // The options alone first: the hash pool needs them before the database is open.
  const sqliteBinding = checkSqliteBinding(options.sqliteBinding, 'options.sqliteBinding');
  const policy = resolvePolicy(options.policy);
  const pool = new HashPool(options.hashWorkers, policy.lockout.maxQueuedChecks);
  const { db, installationId, backgroundCheck } = await openDatabase(options.path, sqliteBinding);
  const issuer = options.issuer ?? `urn:gatehouse:${installationId}`;
  const audience = options.audience ?? `urn:gatehouse:resource:${installationId}`;
  let engine: Engine | undefined;
  let prepared = false;
  const durability = options.path === ':memory:' ? undefined : new Durability(db, options.path, (m) => process.emitWarning(`gatehouse: ${m}`), sqliteBinding);
  try {
    const timeMark = new TimeMarkRepository(db);
    const clock = new MonotonicClock(options.clock ?? systemClock, timeMark.read());
    const auditLog = new AuditRepository(db, installationId);
    const provisioning = new ProvisioningRepository(db);
    const policySource = new PolicySource(db, provisioning, options.policy ?? {}, (m) => process.emitWarning(`gatehouse: ${m}`));
    const keys = new KeyRing(
      new SigningKeyRepository(db),
      clock,
      {
        rotationMs: policy.keyRotationSeconds * 1000,
        // Provisioning may change the token lifetime while the engine runs.
        get tokenHorizonMs() {
          return ctx.policy.accessTokenTtlSeconds * 1000 + MAX_LEEWAY_MS;
        },
        protector: options.keyProtector,
      },
      (pid) => {
        audit(ctx, { type: 'key.started', outcome: 'success', detail: { pid } });
        // Rotation is daily by default: a good moment to drop what has expired, too.
        if (ctx.maintains) pruneExpired(ctx);
        engine?.announceKeys(keys.published());
      },
      () => engine?.announceKeys(keys.published()),
    );
    let sinceCheckpoint = 0;
    const ctx: EngineContext = {
      closed: false,
      db,
      installationId,
      clock,
      timeMark,
      throttle: new Throttle(new ThrottleRepository(db), () => ctx.policy.lockout, installationId),
      checks: new KeyedMutex(),
      get policy() {
        return policySource.current();
      },
      policyChanged: () => policySource.reload(),
      provisioning,
      users: new UserRepository(db),
      clients: new ClientRepository(db),
      sessions: new SessionRepository(db),
      revocations: new RevocationRepository(db),
      auditLog,
      hasher: new PasswordHasher(policy.argon2, pool),
      keys,
      accessTokens: new AccessTokens(keys, clock, {
        issuer,
        audience,
        get ttlSeconds() {
          return ctx.policy.accessTokenTtlSeconds;
        },
        leewaySeconds: policy.clockLeewaySeconds,
      }),
      // The announcer reads in batches and holds a checkpoint back until the events it covers are out.
      checkpointed: () => announcer.schedule(),
      publishRevocations: (revocations) => engine?.announceRevocations(revocations),
      track: (task) => engine?.track(task),
      maintains: options.signingKeyAtOpen !== false,
      durability,
      checkpointedId: auditLog.lastCheckpointedId(),
      audited: () => {
        announcer.schedule();
        if (++sinceCheckpoint < policy.audit.checkpointEvery) return;
        sinceCheckpoint = 0;
        // After the event's transaction commits, and only while the engine is open.
        setImmediate(() => {
          if (!ctx.closed) engine?.track(routineCheckpoint(ctx).catch((error: Error) => process.emitWarning(`gatehouse: audit checkpoint failed: ${error.message}`)));
        });
      },
    };
    const announcer = new AuditAnnouncer(auditLog, {
      events: (rows) => engine?.emit('audit', rows),
      checkpoint: (checkpoint) => engine?.emit('checkpoint', checkpoint),
    });
    engine = new Engine(ctx, announcer, installationId, issuer, audience, sqliteBinding);
    prepared = true;
    if (options.signingKeyAtOpen !== false) await keys.signingKey();
    // Damage found while the engine was starting: refuse the file, as an open that waited would.
    if (backgroundCheck?.failure?.code === 'corrupt') throw backgroundCheck.failure;
    engine.startWatching();
    if (backgroundCheck) engine.watchIntegrity(backgroundCheck);
    return engine;
  } catch (error) {
    await backgroundCheck?.stop();
    await durability?.close();
    db.close();
    // Until every statement is prepared nothing has been written: a failure then is the file's.
    throw !prepared && isSqliteError(error) ? asStoreError(error, options.path) : error;
  }
}

function isSqliteError(error: unknown): boolean {
  const code = (error as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' && code.startsWith('SQLITE_');
}

/** Who is asking, for the engine's scheduling of password checks. */
export interface CallerOptions {
  /**
   * `app` for the app's own window (its checks go first when hashing is busy); `other` (the default)
   * for every other caller, such as the HTTP adapter, which may wait or be told to retry.
   */
  priority?: HashPriority | undefined;
}

function priorityOf(options: CallerOptions): HashPriority {
  const priority = options?.priority ?? 'other';
  if (priority !== 'app' && priority !== 'other') throw new TypeError("options.priority must be 'app' or 'other'.");
  return priority;
}

function checkCheckpoints(exported: readonly AuditCheckpoint[]): readonly AuditCheckpoint[] {
  if (!Array.isArray(exported) || !exported.every((c) => typeof c?.token === 'string' && c.token.length < 4096)) {
    throw new TypeError('verifyAuditLog takes a list of exported checkpoints, each with its token.');
  }
  return exported;
}

function toPairs(params: Record<string, string> | RequestParams): RequestParams {
  if (Symbol.iterator in params) return params as RequestParams;
  const pairs: Array<[string, string]> = [];
  for (const [name, value] of Object.entries(params)) {
    if (value === undefined) continue;
    if (typeof value !== 'string') throw new TypeError(`Parameter "${name}" must be a string.`);
    pairs.push([name, value]);
  }
  return pairs;
}
