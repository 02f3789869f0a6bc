import { systemClock, type Clock } from '../clock.js';
import type { CallerContext, IpcCallName, IpcCalls, IpcResult, PolicyEntry, SessionView } from '../contracts.js';
import type { Engine } from '../engine/engine.js';
import { adminCalls } from './admin-calls.js';
import { DEFAULT_APP_POLICY, resolveAppPolicy, type AppPolicy } from './app-policy.js';
import { policyEntries, type EffectivePolicy } from './effective-policy.js';
import { guardedCall, ipcFailure } from './guarded-call.js';
import { IPC_CALL_NAMES } from './ipc-calls.js';
import { callSchemas, type CallRunners } from './ipc-schemas.js';
import { KeptRefreshToken, type SecretStore } from './kept-refresh-token.js';
import { newPasswordCheck } from './password-advice.js';
import { SessionKeeper } from './session-keeper.js';

export type { SecretStore } from './kept-refresh-token.js';

export interface AppHandlersOptions {
  /** An open engine (the caller owns it and closes it). */
  engine: Engine;
  /** The app's own origin, e.g. 'gatehouse://app'; every other caller is refused (forbidden). */
  allowedOrigin: string;
  /** What getServiceUrl answers: the base URL the renderer puts `/api/...` after. */
  serviceUrl: string | (() => string);
  /** Default DEFAULT_APP_POLICY, or effectivePolicy's (give one or the other). */
  appPolicy?: Readonly<AppPolicy>;
  /** The policy in force with each setting's source (effectivePolicy()), for admin.getPolicy. Default: appPolicy, every source `default`. */
  effectivePolicy?: EffectivePolicy;
  /** Default 'gatehouse-app' (a public client with the password and refresh_token grants). */
  clientId?: string;
  /** Where a "stay signed in" refresh token is kept (safeStorage in the app). */
  secretStore?: SecretStore;
  /** Default systemClock. */
  clock?: Clock;
  /** One line per unexpected error; never a secret. Default: process.emitWarning. */
  log?: (line: string) => void;
}

export interface AppHandlers {
  /** Runs call `name` for `caller` with unvalidated `args`. Never throws; unknown names → invalid_argument. */
  handle(name: string, caller: CallerContext, args: unknown): Promise<IpcResult<object>>;
  /** Each new SessionView (sign-in, refresh, lock, unlock, sign-out, revocation); returns unsubscribe. */
  onSessionChanged(listener: (session: SessionView) => void): () => void;
  /** At start: signs in again from a kept refresh token (stay signed in), if policy allows and one is kept. */
  restore(): Promise<SessionView>;
  /** Stops timers and listeners; revokes the session unless it is kept (stay signed in), which stays as it is. */
  close(): Promise<void>;
}

/** Main's side of the renderer API (`window.gatehouse`): one handler per IPC call, over one engine. */
export function createAppHandlers(options: AppHandlersOptions): AppHandlers {
  checkOptions(options);
  const { engine, allowedOrigin, serviceUrl } = options;
  // Validated again (a resolved policy passes unchanged): a hand-made one must not slip through.
  const appPolicy = resolveAppPolicy(options.effectivePolicy?.policy ?? options.appPolicy ?? DEFAULT_APP_POLICY);
  const policyInForce = options.effectivePolicy?.entries ?? policyEntries(appPolicy);
  const clock = options.clock ?? systemClock;
  const log = options.log ?? ((line: string) => process.emitWarning(line));
  const kept = new KeptRefreshToken(options.secretStore, log);
  const staySignedInAllowed = appPolicy.staySignedInAllowed && kept.available;
  const passwordRules = () => engine.policy.password;
  const newPasswordViolations = newPasswordCheck(passwordRules, appPolicy.appName);
  const keeper = new SessionKeeper({
    engine,
    clientId: options.clientId ?? 'gatehouse-app',
    clock,
    idleLockSeconds: appPolicy.idleLockSeconds,
    staySignedInAllowed,
    kept,
    newPasswordViolations,
    log,
  });
  const schemas = callSchemas(passwordRules);
  const calls: CallRunners = {
    getAppInfo: async () => ({
      app: {
        appName: appPolicy.appName,
        helpdeskText: appPolicy.helpdeskText,
        idleLockSeconds: appPolicy.idleLockSeconds,
        staySignedInAllowed,
        passwordMinLength: passwordRules().minLength,
        passwordMaxLength: passwordRules().maxLength,
      },
    }),
    getSession: async () => ({ session: keeper.view() }),
    signIn: async ({ username, password, staySignedIn }) => ({ session: await keeper.signIn(username, password, staySignedIn ?? false) }),
    unlock: async ({ password }) => ({ session: await keeper.unlock(password) }),
    signOut: async (args) => ({ session: await keeper.signOut(args?.everywhere ?? false) }),
    getAccessToken: () => keeper.accessToken(),
    getServiceUrl: async () => ({ url: serviceUrlNow(serviceUrl) }),
    changePassword: async (args) => ({ session: await keeper.changePassword(args) }),
    checkNewPassword: async ({ username, password }) => ({ violations: newPasswordViolations(password, username ?? keeper.username) }),
    reportActivity: async () => {
      keeper.reportActivity();
      return {};
    },
    ...adminCalls(engine, () => keeper.requireScope('admin'), newPasswordViolations, policyInForce),
  };
  const guard = { allowedOrigin, log };
  const run = <K extends IpcCallName>(name: K, caller: CallerContext, args: unknown) =>
    guardedCall<IpcCalls[K]['args'], IpcCalls[K]['result']>(
      guard,
      {
        name,
        schema: schemas[name],
        run: (parsed) => {
          // Every call first notices an idle session, so none answers as if it were still open.
          keeper.checkIdle();
          return calls[name](parsed);
        },
      },
      caller,
      args,
    );
  return {
    handle: (name, caller, args) =>
      isCallName(name) ? run(name, caller, args) : Promise.resolve(ipcFailure('invalid_argument', 'There is no such call.')),
    onSessionChanged: (listener) => {
      if (typeof listener !== 'function') throw new TypeError('onSessionChanged takes a function.');
      return keeper.onChange(listener);
    },
    restore: () => keeper.restore(),
    close: () => keeper.close(),
  };
}

function serviceUrlNow(serviceUrl: string | (() => string)): string {
  const url: unknown = typeof serviceUrl === 'function' ? serviceUrl() : serviceUrl;
  if (typeof url !== 'string' || url === '') throw new TypeError('options.serviceUrl gave no URL.');
  return url;
}

function isCallName(name: unknown): name is IpcCallName {
  return (IPC_CALL_NAMES as readonly unknown[]).includes(name);
}

/** Programming mistakes in main's wiring fail at start, loudly (a bad app policy: AppPolicyError). */
function checkOptions(options: AppHandlersOptions): void {
  if (typeof options !== 'object' || options === null) throw new TypeError('createAppHandlers takes an options object.');
  if (typeof options.engine?.token !== 'function') throw new TypeError('options.engine must be an open Engine.');
  if (typeof options.allowedOrigin !== 'string' || !/^[a-z][a-z0-9+.-]*:\/\/[^/\s]+$/i.test(options.allowedOrigin)) {
    throw new TypeError("options.allowedOrigin must be an origin such as 'gatehouse://app'.");
  }
  if (typeof options.serviceUrl !== 'string' && typeof options.serviceUrl !== 'function') {
    throw new TypeError('options.serviceUrl must be a URL string or a function returning one.');
  }
  if (options.clientId !== undefined && (typeof options.clientId !== 'string' || options.clientId === '')) {
    throw new TypeError('options.clientId must be a non-empty string.');
  }
  const store = options.secretStore;
  if (store !== undefined && !(['load', 'save', 'clear'] as const).every((method) => typeof store?.[method] === 'function')) {
    throw new TypeError('options.secretStore must have load(), save(value) and clear() methods.');
  }
  if (options.effectivePolicy !== undefined) checkEffectivePolicy(options.effectivePolicy, options.appPolicy);
  if (options.clock !== undefined && typeof options.clock?.now !== 'function') throw new TypeError('options.clock must have a now() method.');
  if (options.log !== undefined && typeof options.log !== 'function') throw new TypeError('options.log must be a function.');
}

/** An effective policy as effectivePolicy() builds it: one entry per field, in order, holding the policy's value. */
function checkEffectivePolicy(effective: EffectivePolicy, appPolicy: unknown): void {
  if (appPolicy !== undefined) throw new TypeError('Give options.appPolicy or options.effectivePolicy, not both.');
  const policy = (effective?.policy ?? {}) as Record<string, unknown>;
  const entries: unknown = effective?.entries;
  const fields = Object.keys(DEFAULT_APP_POLICY);
  const consistent =
    Array.isArray(entries) &&
    entries.length === fields.length &&
    entries.every((entry: Partial<PolicyEntry> | null, index) => entry?.name === fields[index] && Object.is(entry?.value, policy[fields[index]!]));
  if (!consistent) throw new TypeError('options.effectivePolicy must come from effectivePolicy(): one entry per field, matching its policy.');
}
