import { fromRfc3339, type Clock } from '../clock.js';
import type { Revocation, SessionView, TokenResponse } from '../contracts.js';
import type { Engine } from '../engine/engine.js';
import { OAuthError } from '../oauth/errors.js';
import { KeyedMutex } from '../security/keyed-mutex.js';
import { usernameKey } from '../store/username-key.js';
import { IpcCallError, ipcError, oneLine } from './ipc-errors.js';
import type { KeptRefreshToken } from './kept-refresh-token.js';
import { refuseWeakPassword, type NewPasswordCheck } from './password-advice.js';

export interface SessionKeeperOptions {
  engine: Engine;
  clientId: string;
  clock: Clock;
  /** 0: never lock. */
  idleLockSeconds: number;
  /** Policy allows "stay signed in" and a store exists. */
  staySignedInAllowed: boolean;
  kept: KeptRefreshToken;
  newPasswordViolations: NewPasswordCheck;
  log: (line: string) => void;
}

/** One sign-in session as main holds it; the refresh token never leaves this object. */
interface LiveSession {
  refreshToken: string;
  accessToken: string;
  issuedAt: number;
  expiresAt: number;
  scopes: string[];
  readonly username: string;
  readonly subject: string;
  readonly sid: string;
  staySignedIn: boolean;
  locked: boolean;
  /** After a refresh failed for a passing reason, the timer waits until then. */
  retryAt: number;
  /** A password change of ours is ending this family: its revocation is expected, not an end. */
  replacing: boolean;
  /** Its family was revoked (seen while `replacing`). */
  revoked: boolean;
}

/** Refresh once this share of the access token's lifetime has passed. */
const REFRESH_AT = 0.8;
const RETRY_AFTER_FAILURE_MS = 15_000;
/** How often the timer looks for a due refresh or an idle lock (by the injected clock). */
const TICK_MS = 1000;

const NOT_SIGNED_IN = 'Sign in first.';
const LOCKED = 'The session is locked: enter your password to unlock it.';

/**
 * The main-side sign-in session: signs in for the app's client, keeps the refresh token, refreshes
 * the access token before it expires, locks when idle, and ends the session the moment its family
 * is revoked, by whatever path. Operations that change the session run one at a time, so a
 * refresh token is never presented twice (which would end the family as reuse).
 */
export class SessionKeeper {
  private session: LiveSession | undefined;
  private lastActivity: number;
  private readonly serial = new KeyedMutex();
  private readonly listeners = new Set<(view: SessionView) => void>();
  private lastPushed = JSON.stringify({ state: 'signed_out' });
  private readonly timer: NodeJS.Timeout;
  private readonly stopListening: () => void;
  private ticking = false;

  constructor(private readonly o: SessionKeeperOptions) {
    this.lastActivity = o.clock.now();
    this.stopListening = o.engine.on('revocation', (revocations) => this.onRevocation(revocations));
    this.timer = setInterval(() => void this.tick(), TICK_MS);
    this.timer.unref();
  }

  view(): SessionView {
    const s = this.session;
    if (!s) return { state: 'signed_out' };
    return {
      state: s.locked ? 'locked' : 'signed_in',
      username: s.username,
      subject: s.subject,
      scopes: [...s.scopes],
      admin: s.scopes.includes('admin'),
      accessExpiresAt: s.expiresAt,
      staySignedIn: s.staySignedIn,
    };
  }

  /** The session's username (signed in or locked), if any. */
  get username(): string | undefined {
    return this.session?.username;
  }

  onChange(listener: (view: SessionView) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  signIn(username: string, password: string, staySignedIn: boolean): Promise<SessionView> {
    return this.exclusive(async () => {
      await this.replace(await this.grant(username, password, staySignedIn && this.o.staySignedInAllowed));
      return this.view();
    });
  }

  /** A fresh password grant for the locked account; the new session replaces (and revokes) the old one. */
  unlock(password: string): Promise<SessionView> {
    return this.exclusive(async () => {
      const s = this.session;
      if (!s) throw ipcError('not_signed_in', NOT_SIGNED_IN);
      if (!s.locked) return this.view();
      await this.replace(await this.grant(s.username, password, s.staySignedIn));
      return this.view();
    });
  }

  /** Revokes this session's family (and with `everywhere`, every live session of the account). */
  signOut(everywhere: boolean): Promise<SessionView> {
    return this.exclusive(async () => {
      const s = this.session;
      try {
        if (s) await this.o.engine.revoke({ token: s.refreshToken, client_id: this.o.clientId });
        if (s && everywhere) this.revokeEverySession(s.username);
      } finally {
        // Even if the engine failed, this app forgets the session, and any kept sign-in (awaited
        // here: the revocation's own announcement may have ended the session already).
        if (s) await this.end(s);
        await this.o.kept.clear();
      }
      return this.view();
    });
  }

  /** The current access token, refreshed first when it is due. */
  async accessToken(): Promise<{ accessToken: string; expiresAt: number }> {
    const s = this.usable();
    if (this.refreshDue(s, true)) {
      try {
        await this.exclusive(() => this.refresh(s));
      } catch (error) {
        if (this.o.clock.now() >= s.expiresAt) throw error;
        this.o.log(`gatehouse: refreshing the session failed (the current token is still valid): ${oneLine(error)}`);
      }
    }
    const current = this.usable();
    return { accessToken: current.accessToken, expiresAt: current.expiresAt };
  }

  /**
   * Changes a password given the current one. Signed in: the session's own account, then a fresh
   * sign-in with the new password (the engine ended every session of the account). Signed out:
   * the named account (the must-change flow), and the session stays signed out.
   */
  changePassword(args: { username?: string; currentPassword: string; newPassword: string }): Promise<SessionView> {
    return this.exclusive(async () => {
      const s = this.session;
      if (s?.locked) throw ipcError('locked', LOCKED);
      if (s && args.username !== undefined && usernameKey(args.username) !== usernameKey(s.username)) {
        throw ipcError('invalid_argument', 'Signed in, you can change only your own password: leave out the username.');
      }
      const username = s?.username ?? args.username;
      if (username === undefined) throw ipcError('invalid_argument', 'Give the username of the account whose password to change.');
      refuseWeakPassword(this.o.newPasswordViolations, args.newPassword, username);
      const change = () =>
        this.o.engine.changePassword(
          { client_id: this.o.clientId, username, password: args.currentPassword, new_password: args.newPassword },
          undefined,
          { priority: 'app' },
        );
      if (!s) {
        await change();
        return this.view();
      }
      s.replacing = true;
      try {
        await change();
      } catch (error) {
        s.replacing = false;
        if (s.revoked) await this.end(s);
        throw error;
      }
      try {
        await this.replace(await this.grant(username, args.newPassword, s.staySignedIn));
      } catch (error) {
        this.o.log(`gatehouse: signing in again after a password change failed: ${oneLine(error)}`);
        await this.end(s);
      }
      return this.view();
    });
  }

  /** The person is active: postpones the idle lock (a locked session stays locked). */
  reportActivity(): void {
    this.checkIdle();
    if (!this.session?.locked) this.lastActivity = this.o.clock.now();
  }

  /** Locks the session when no activity was reported for the policy's idle time. */
  checkIdle(): void {
    const s = this.session;
    if (!s || s.locked || this.o.idleLockSeconds === 0) return;
    if (this.o.clock.now() - this.lastActivity < this.o.idleLockSeconds * 1000) return;
    s.locked = true;
    this.push();
  }

  /** Refuses unless a signed-in (not locked) session holds `scope` and its token still verifies. */
  async requireScope(scope: string): Promise<void> {
    const refusal = ipcError('forbidden', `This needs a signed-in session with the "${scope}" scope.`);
    const s = this.session;
    if (!s || s.locked || !s.scopes.includes(scope)) throw refusal;
    const { accessToken } = await this.accessToken().catch((error: unknown) => {
      // Ended or locked meanwhile: refused like any other caller without the scope.
      throw error instanceof IpcCallError ? refusal : error;
    });
    // Catches a revocation by another process before its announcement arrives.
    const claims = await this.o.engine.verifyAccessToken(accessToken).catch(() => undefined);
    if (!claims || !claims.scope.split(' ').includes(scope)) throw refusal;
    // The account must still hold the scope now: one taken away (by provisioning, say) counts at
    // once, not when the token expires.
    if (!this.accountScope(claims.username).includes(scope)) throw refusal;
  }

  private accountScope(username: string): readonly string[] {
    try {
      return this.o.engine.users.get(username).scope;
    } catch {
      return [];
    }
  }

  /** At start: a new session from the kept refresh token, if policy allows and one is kept. Never throws. */
  restore(): Promise<SessionView> {
    return this.exclusive(async () => {
      if (this.session) return this.view();
      const token = await this.o.kept.load();
      if (token === null) return this.view();
      if (!this.o.staySignedInAllowed) {
        await this.revokeQuietly(token, 'a kept sign-in');
        await this.o.kept.clear();
        return this.view();
      }
      let response: TokenResponse;
      try {
        response = await this.o.engine.token({ grant_type: 'refresh_token', client_id: this.o.clientId, refresh_token: token });
      } catch (error) {
        if (!isPassing(error)) await this.o.kept.clear();
        else this.o.log(`gatehouse: restoring the kept sign-in failed: ${oneLine(error)}`);
        return this.view();
      }
      await this.replace(await this.open(response, true));
      return this.view();
    }).catch((error: unknown) => {
      this.o.log(`gatehouse: restoring the kept sign-in failed: ${oneLine(error)}`);
      return this.view();
    });
  }

  /**
   * Stops the timer and the revocation listener once work in progress is done. A kept session
   * (stay signed in) stays as it is; any other is revoked, since its refresh token dies with this
   * process and a live family nobody can resume would only linger in the sessions list.
   */
  async close(): Promise<void> {
    clearInterval(this.timer);
    this.stopListening();
    await this.exclusive(async () => {
      const s = this.session;
      if (s && !s.staySignedIn) await this.revokeQuietly(s.refreshToken, 'the session at close');
    });
    this.listeners.clear();
  }

  private exclusive<T>(task: () => Promise<T>): Promise<T> {
    return this.serial.run('session', task);
  }

  /** The session, if signed in and not locked; otherwise the call's refusal. */
  private usable(): LiveSession {
    this.checkIdle();
    const s = this.session;
    if (!s) throw ipcError('not_signed_in', NOT_SIGNED_IN);
    if (s.locked) throw ipcError('locked', LOCKED);
    return s;
  }

  private async grant(username: string, password: string, staySignedIn: boolean): Promise<LiveSession> {
    const response = await this.o.engine.token(
      { grant_type: 'password', client_id: this.o.clientId, username, password },
      undefined,
      { priority: 'app' },
    );
    return this.open(response, staySignedIn);
  }

  /** A session from a token response, with the facts read from its access token's claims. */
  private async open(response: TokenResponse, staySignedIn: boolean): Promise<LiveSession> {
    const refreshToken = response.refresh_token;
    if (refreshToken === undefined) {
      throw new Error(`The client "${this.o.clientId}" is not registered for the refresh_token grant; the app needs it.`);
    }
    const claims = await this.o.engine.verifyAccessToken(response.access_token).catch(async (error: unknown) => {
      await this.revokeQuietly(refreshToken, 'a session that could not be read');
      throw error;
    });
    return {
      refreshToken,
      accessToken: response.access_token,
      issuedAt: fromRfc3339(claims.iat),
      expiresAt: fromRfc3339(claims.exp),
      scopes: claims.scope.split(' ').filter((token) => token !== ''),
      username: claims.username,
      subject: claims.sub,
      sid: claims.sid,
      staySignedIn,
      locked: false,
      retryAt: 0,
      replacing: false,
      revoked: false,
    };
  }

  /** Makes `next` the session: the previous one's family is revoked, the kept token follows. */
  private async replace(next: LiveSession): Promise<void> {
    const previous = this.session;
    this.session = next;
    this.lastActivity = this.o.clock.now();
    this.push();
    if (previous && !previous.revoked) await this.revokeQuietly(previous.refreshToken, 'the replaced session');
    if (next.staySignedIn) await this.keep(next);
    else await this.o.kept.clear();
  }

  /** Revokes a refresh token's family; a failure is logged, as the caller has moved on anyway. */
  private async revokeQuietly(token: string, what: string): Promise<void> {
    await this.o.engine
      .revoke({ token, client_id: this.o.clientId })
      .catch((error: unknown) => this.o.log(`gatehouse: revoking ${what} failed: ${oneLine(error)}`));
  }

  private async keep(s: LiveSession): Promise<void> {
    if (await this.o.kept.save(s.refreshToken)) return;
    s.staySignedIn = false;
    this.push();
  }

  private async end(s: LiveSession): Promise<void> {
    if (this.session !== s) return;
    this.session = undefined;
    this.push();
    if (s.staySignedIn) await this.o.kept.clear();
  }

  private revokeEverySession(username: string): void {
    const now = this.o.clock.now();
    for (const info of this.o.engine.sessions.list(username)) {
      if (info.revokedAt === null && info.expiresAt > now) this.o.engine.sessions.revoke(info.id);
    }
  }

  private refreshDue(s: LiveSession, lazy: boolean): boolean {
    const now = this.o.clock.now();
    if (now < s.issuedAt + REFRESH_AT * (s.expiresAt - s.issuedAt)) return false;
    // A lazy caller needing a token that has expired tries at once, whatever the timer's back-off.
    return now >= s.retryAt || (lazy && now >= s.expiresAt);
  }

  /** Rotates the refresh token; a refusal (revoked, reused, expired) ends the session. */
  private async refresh(s: LiveSession): Promise<void> {
    if (this.session !== s || s.locked || !this.refreshDue(s, true)) return;
    let response: TokenResponse;
    try {
      response = await this.o.engine.token({ grant_type: 'refresh_token', client_id: this.o.clientId, refresh_token: s.refreshToken });
    } catch (error) {
      if (!isPassing(error)) return this.end(s);
      s.retryAt = this.o.clock.now() + RETRY_AFTER_FAILURE_MS;
      throw error;
    }
    const next = await this.open(response, s.staySignedIn);
    // Ended meanwhile (its family was revoked): the new tokens belong to that ended family.
    if (this.session !== s) return;
    const { refreshToken, accessToken, issuedAt, expiresAt, scopes } = next;
    Object.assign(s, { refreshToken, accessToken, issuedAt, expiresAt, scopes, retryAt: 0 });
    this.push();
    if (s.staySignedIn) await this.keep(s);
  }

  private onRevocation(revocations: readonly Revocation[]): void {
    const s = this.session;
    if (!s || !revocations.some((r) => r.kind === 'sid' && r.value === s.sid)) return;
    s.revoked = true;
    if (!s.replacing) void this.end(s);
  }

  private async tick(): Promise<void> {
    if (this.ticking) return;
    this.ticking = true;
    try {
      this.checkIdle();
      const s = this.session;
      if (s && !s.locked && this.refreshDue(s, false)) await this.exclusive(() => this.refresh(s));
    } catch (error) {
      this.o.log(`gatehouse: refreshing the session failed: ${oneLine(error)}`);
    } finally {
      this.ticking = false;
    }
  }

  /** Tells listeners of a new view (not of the same one twice in a row). */
  private push(): void {
    const view = this.view();
    const json = JSON.stringify(view);
    if (json === this.lastPushed) return;
    this.lastPushed = json;
    for (const listener of this.listeners) {
      try {
        listener(view);
      } catch (error) {
        this.o.log(`gatehouse: a session listener failed: ${oneLine(error)}`);
      }
    }
  }
}

/** A failure that may pass (busy, engine trouble) rather than a refusal of the token itself. */
function isPassing(error: unknown): boolean {
  return !(error instanceof OAuthError) || error.code === 'server_error';
}
