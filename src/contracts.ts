/**
 * The wire contracts of Gatehouse in one place (see docs/api.md). Adapters (HTTP, IPC, CLI) and
 * embedding code import these types rather than restating them.
 */

/** RFC 6749 §5.2 error codes, plus the Gatehouse extension `password_change_required`. */
export type OAuthErrorCode =
  | 'invalid_request'
  | 'invalid_client'
  | 'invalid_grant'
  | 'unauthorized_client'
  | 'unsupported_grant_type'
  | 'invalid_scope'
  | 'password_change_required'
  | 'server_error';

/** RFC 6749 §5.2 error response body. */
export interface OAuthErrorBody {
  error: OAuthErrorCode;
  error_description: string;
  /** With invalid_request from a password change: each reason the new password was refused. */
  policy_violations?: string[];
}

/** RFC 6749 §5.1 successful token response. */
export interface TokenResponse {
  access_token: string;
  token_type: 'Bearer';
  /** Lifetime of the access token in seconds. */
  expires_in: number;
  refresh_token?: string;
  /** Present when the granted scope differs from the requested one (or none was requested). */
  scope?: string;
}

/** RFC 7662 introspection response. Times are seconds since the epoch. */
export type IntrospectionResponse =
  | { active: false }
  | {
      active: true;
      /** Which kind of token this is (as Ory Hydra names it); RFC 7662 leaves it to the server. */
      token_use: 'access_token' | 'refresh_token';
      /** RFC 7662 §2.2: the RFC 6749 token type, for access tokens. */
      token_type?: 'Bearer';
      scope: string;
      client_id: string;
      username: string;
      sub: string;
      sid: string;
      exp: number;
      iat: number;
      nbf?: number;
      iss?: string;
      aud?: string;
      jti?: string;
    };

/** Claims of a Gatehouse access token (a `v4.public.` PASETO). Times are RFC 3339 strings. */
export interface AccessTokenClaims {
  iss: string;
  sub: string;
  aud: string;
  exp: string;
  iat: string;
  nbf: string;
  jti: string;
  scope: string;
  client_id: string;
  sid: string;
  username: string;
}

/** The footer every Gatehouse access token carries: the PASERK k4.pid of its signing key. */
export interface AccessTokenFooter {
  kid: `k4.pid.${string}`;
}

/** A public signing key as published on `/keys` and pushed to resource services. */
export interface PublishedKey {
  paserk: `k4.public.${string}`;
  pid: `k4.pid.${string}`;
  status: 'active' | 'retiring';
  /** Epoch ms after which no token signed with this key can still be valid. */
  verifyUntil: number;
}

/** A revocation a resource service must honour until `expiresAt` (epoch ms). */
export interface Revocation {
  kind: 'sid' | 'jti';
  value: string;
  revokedAt: number;
  expiresAt: number;
}

/** Why a sign-in session (refresh family) ended. */
export type SessionEndReason =
  | 'signed_out'
  | 'reuse_detected'
  | 'password_changed'
  | 'password_reset'
  | 'user_disabled'
  | 'user_removed'
  | 'client_removed'
  | 'admin_revoked'
  /** The database was restored from a backup (`gatehouse restore`): every earlier session ends. */
  | 'restored';

/** How a client proved who it is at the token, revocation and introspection endpoints. */
export type ClientCredentials =
  | { method: 'client_secret_basic'; clientId: string; clientSecret: string }
  | { method: 'client_secret_post'; clientId: string; clientSecret: string }
  | { method: 'none'; clientId: string };

/**
 * Request parameters as a transport delivered them, before validation: an ordered list of
 * name/value pairs (what URLSearchParams iterates), so repeated parameters can be detected.
 */
export type RequestParams = Iterable<readonly [string, string]>;

/** A user account as administration shows it (never the password hash). Times are epoch ms. */
export interface UserInfo {
  id: string;
  username: string;
  displayName: string | null;
  scope: string[];
  mustChangePassword: boolean;
  disabled: boolean;
  createdAt: number;
  updatedAt: number;
  passwordChangedAt: number;
}

/** The throttle's view of a username: failed sign-ins in a row, and any delay or lock (epoch ms). */
export interface SignInState {
  failures: number;
  /** Attempts are refused unchecked until then. */
  delayedUntil: number | null;
  /** Locked until then, unless an administrator unlocks it first. */
  lockedUntil: number | null;
}

/** A registered client as administration shows it (never the secret or its hash). */
export interface ClientInfo {
  id: string;
  confidential: boolean;
  scope: string[];
  grants: GrantType[];
  createdAt: number;
}

export type GrantType = 'password' | 'refresh_token';

/** A sign-in session (one refresh-token family). Times are epoch ms. */
export interface SessionInfo {
  id: string;
  userId: string;
  username: string;
  clientId: string;
  scope: string[];
  createdAt: number;
  lastUsedAt: number;
  expiresAt: number;
  revokedAt: number | null;
  revokedReason: SessionEndReason | null;
}

/** A signed checkpoint of the audit chain head, as recorded and exported. */
export interface AuditCheckpoint {
  /** The last event it vouches for (0: an empty log). */
  lastId: number;
  /** That event's chain hash, hex. */
  lastHash: string;
  /** When it was made, epoch ms. */
  at: number;
  /** A v4.public PASETO over the same facts; its footer carries the signing key (k4.public) and k4.pid. */
  token: string;
}

/** What `audit verify` found. */
export interface AuditVerification {
  ok: boolean;
  /** Events checked. */
  events: number;
  /** Checkpoints whose signature verified. */
  checkpoints: number;
  /** The last event id in the log. */
  lastId: number;
  /** The chain head's hash, hex. */
  headHash: string;
  /** Events up to this id were removed by retention (0: none). */
  prunedThrough: number;
  /** One sentence for each problem found; empty when ok. */
  problems: string[];
}

/** What a resource service needs before it may answer: whose tokens to accept and what is revoked. */
export interface ResourceSnapshot {
  issuer: string;
  audience: string;
  keys: PublishedKey[];
  revocations: Revocation[];
}

/**
 * Messages from the process hosting the engine to its resource service (over the Node child-process
 * IPC channel, or Electron's utilityProcess port). Messages arrive in order: an `ack` answers a
 * `sync` only after everything sent before it was applied.
 */
export type ToResourceService =
  | { type: 'snapshot'; snapshot: ResourceSnapshot }
  | { type: 'keys'; keys: PublishedKey[] }
  | { type: 'revocations'; revocations: Revocation[] }
  | { type: 'sync'; seq: number }
  | { type: 'introspection'; id: number; result: IntrospectionResponse }
  /**
   * Stop: close the listener and the records store, then exit. A message rather than a signal, so
   * that stopping is graceful on every platform and over either transport (Windows has no SIGTERM;
   * utilityProcess.kill() ends a process at once).
   */
  | { type: 'shutdown' };

/** Messages from a resource service to the process hosting the engine. */
export type FromResourceService =
  | { type: 'listening'; port: number }
  /** The snapshot is applied: from now on the service answers requests. */
  | { type: 'ready' }
  | { type: 'ack'; seq: number }
  /** Fallback only (e.g. a token signed by a key the service has not been sent): ask the engine. */
  | { type: 'introspect'; id: number; token: string }
  /**
   * The service could not start (before `listening`) and is exiting: why, in one line, and the
   * system error code when there is one (`EADDRINUSE`), so the parent can say so itself.
   */
  | { type: 'failed'; message: string; code?: string };

/** The records API of the bundled resource service (see docs/api.md). Times are epoch ms. */
export interface RecordItem {
  id: string;
  title: string;
  body: string;
  /** The `sub` (user id) of the token that created it. */
  owner: string;
  createdAt: number;
  updatedAt: number;
}

export interface RecordPage {
  items: RecordItem[];
  /** Pass as `?cursor=` for the next page; null on the last page. */
  next: string | null;
}

/** `GET /api/me`: who the token speaks for. `exp` is epoch seconds. */
export interface MeResponse {
  sub: string;
  username: string;
  scope: string[];
  exp: number;
}

// ---------------------------------------------------------------------------------------------
// IPC: the renderer API (`window.gatehouse`, exposed by the preload). Main, preload and renderer
// all import these types. Every call takes at most one argument (an object) and resolves to an
// IpcResult: a plain, structured-cloneable value. Nothing is thrown across the boundary.
// ---------------------------------------------------------------------------------------------

/** Why an IPC call failed. One code per outcome the renderer shows differently. */
export type IpcErrorCode =
  /** The arguments did not match the call's schema (wrong type, missing field, too long). */
  | 'invalid_argument'
  /** The caller is not the app's own main frame, or the session lacks the scope the call needs. */
  | 'forbidden'
  /** Wrong username or password (also an unknown or disabled account: the same answer for all three). */
  | 'invalid_credentials'
  /** Too many failed attempts: retry after `retryAfter` seconds (delays and locks answer alike). */
  | 'throttled'
  /** The password is right but must be changed first (changePassword with the same username). */
  | 'password_change_required'
  /** The new password was refused by policy: `policyViolations` says why, one reason each. */
  | 'policy_violation'
  /** The call needs a signed-in session and there is none (or it has ended). */
  | 'not_signed_in'
  /** The session is idle-locked: `unlock` with the password first. */
  | 'locked'
  /** Sign-ins are momentarily at capacity: retry after `retryAfter` seconds. */
  | 'busy'
  /** Administration: no such user or session. */
  | 'not_found'
  /** Administration: the name is taken, or the change conflicts with the current state. */
  | 'conflict'
  /** Anything else: described, never a stack trace. */
  | 'internal';

export interface IpcError {
  code: IpcErrorCode;
  /** One sentence a person can read (the renderer may show its own translated text instead). */
  description: string;
  /** Seconds until a retry can succeed (`throttled`, `busy`). */
  retryAfter?: number;
  /** With `policy_violation`: each reason the new password was refused. */
  policyViolations?: string[];
}

/** Every IPC answer. `T` holds the call's result fields. */
export type IpcResult<T extends object = Record<never, never>> = ({ ok: true } & T) | { ok: false; error: IpcError };

/** The sign-in session as the renderer may see it: never a refresh token. Times are epoch ms. */
export type SessionView =
  | { state: 'signed_out' }
  | {
      /** `locked`: idle-locked; the account is remembered, its access token is withheld until `unlock`. */
      state: 'signed_in' | 'locked';
      username: string;
      /** The account's user id (the tokens' `sub`). */
      subject: string;
      scopes: string[];
      /** Whether the admin page is available (the session holds the `admin` scope). */
      admin: boolean;
      /** When the current access token expires (main refreshes it before then). */
      accessExpiresAt: number;
      /** Whether this session is kept across restarts (policy must allow it). */
      staySignedIn: boolean;
    };

/** What the renderer needs to know about the installation's rules (from policy; no secrets). */
export interface AppInfo {
  appName: string;
  /** Text from IT telling people whom to ask for help (null: none configured). */
  helpdeskText: string | null;
  /** Idle lock after this many seconds without activity (0: never). */
  idleLockSeconds: number;
  /** Whether policy lets people choose "stay signed in". */
  staySignedInAllowed: boolean;
  /** The password rules a new password must meet, for the change form's hints. */
  passwordMinLength: number;
  passwordMaxLength: number;
}

/** A user row on the admin page: the account and its throttle state. */
export interface AdminUserView extends UserInfo {
  signIn: SignInState;
}

/**
 * Where a setting of the app policy in force came from, lowest to highest precedence: the built-in
 * default, the person's own settings file, provisioning, user Group Policy (HKCU), the machine policy
 * file, machine Group Policy (HKLM).
 */
export type PolicySource = 'default' | 'user' | 'provisioning' | 'user-registry' | 'machine-file' | 'machine-registry';

/** One app policy setting in force (the admin page's "Policy in force"). */
export interface PolicyEntry {
  /** The AppPolicy field, e.g. `idleLockSeconds`. */
  name: string;
  value: string | number | boolean | null;
  source: PolicySource;
}

/**
 * Every IPC call: its argument and the fields of its successful result. The channel of call `K` is
 * `gatehouse:K`; session changes are pushed on `gatehouse:session-changed` with a SessionView.
 */
export interface IpcCalls {
  getAppInfo: { args: undefined; result: { app: AppInfo } };
  getSession: { args: undefined; result: { session: SessionView } };
  signIn: { args: { username: string; password: string; staySignedIn?: boolean }; result: { session: SessionView } };
  /** Re-enter the locked session's password; a new session replaces the old one, which is revoked. */
  unlock: { args: { password: string }; result: { session: SessionView } };
  /** `everywhere`: end every session of this account, on every device; otherwise this one. */
  signOut: { args: { everywhere?: boolean } | undefined; result: { session: SessionView } };
  /** The current access token for the resource service (refreshed by main before it expires). */
  getAccessToken: { args: undefined; result: { accessToken: string; expiresAt: number } };
  /** Base URL of the records API (`${url}/api/records`, `${url}/api/me`). */
  getServiceUrl: { args: undefined; result: { url: string } };
  /**
   * Change a password. Signed in: the session's own account (`username` omitted); the app signs in
   * again with the new password, so the session continues. Signed out (must-change flow): `username`
   * names the account; no session results until signIn.
   */
  changePassword: {
    args: { username?: string; currentPassword: string; newPassword: string };
    result: { session: SessionView };
  };
  /** Policy feedback while typing a new password (cheap: no hashing). */
  checkNewPassword: { args: { username?: string; password: string }; result: { violations: string[] } };
  /** The person is active (input events, throttled by the renderer): postpones the idle lock. */
  reportActivity: { args: undefined; result: Record<never, never> };
  'admin.listUsers': { args: undefined; result: { users: AdminUserView[] } };
  'admin.createUser': {
    args: { username: string; displayName?: string; password: string; scopes: string[]; mustChangePassword: boolean };
    result: { user: AdminUserView };
  };
  'admin.setUserDisabled': { args: { username: string; disabled: boolean }; result: { user: AdminUserView } };
  'admin.unlockUser': { args: { username: string }; result: { user: AdminUserView } };
  'admin.resetPassword': {
    args: { username: string; password: string; mustChangePassword: boolean };
    result: { user: AdminUserView };
  };
  'admin.listSessions': { args: { username?: string } | undefined; result: { sessions: SessionInfo[] } };
  'admin.revokeSession': { args: { sessionId: string }; result: Record<never, never> };
  'admin.rotateSigningKey': { args: undefined; result: { keys: PublishedKey[] } };
  /** The app policy in force, every setting with where it came from. */
  'admin.getPolicy': { args: undefined; result: { policy: PolicyEntry[] } };
}

export type IpcCallName = keyof IpcCalls;

/** A call's function on `window.gatehouse`: calls without arguments take none. */
type IpcFunction<K extends IpcCallName> = IpcCalls[K]['args'] extends undefined
  ? () => Promise<IpcResult<IpcCalls[K]['result']>>
  : undefined extends IpcCalls[K]['args']
    ? (args?: IpcCalls[K]['args']) => Promise<IpcResult<IpcCalls[K]['result']>>
    : (args: IpcCalls[K]['args']) => Promise<IpcResult<IpcCalls[K]['result']>>;

type AdminCallName = Extract<IpcCallName, `admin.${string}`>;

/** `window.gatehouse`: a frozen object of named functions (admin calls under `admin`). */
export type GatehouseApi = { readonly [K in Exclude<IpcCallName, AdminCallName>]: IpcFunction<K> } & {
  readonly admin: { readonly [K in AdminCallName as K extends `admin.${infer N}` ? N : never]: IpcFunction<K> };
  /** Called with each new SessionView (sign-in, refresh, lock, sign-out, revocation); returns an unsubscribe. */
  readonly onSessionChanged: (listener: (session: SessionView) => void) => () => void;
};

/**
 * Who made an IPC call, as the Electron adapter reads it from the event (handlers take only this,
 * so they run under Node unchanged).
 */
export interface CallerContext {
  /** The calling frame's origin (`gatehouse://app` in the app). */
  origin: string;
  /** Whether the calling frame is its window's main frame (subframes are always refused). */
  mainFrame: boolean;
}
