/**
 * `gatehouse/electron`: what an Electron main process needs around the engine — the IPC handlers
 * (session kept in main, validated calls) and their adapter, the window's security defaults,
 * safeStorage, the resource service as a utility process, the machine policy file, first-run
 * setup, the app origin's protocol handler and the preload's API. None of it imports electron: the real objects are passed in (their types fit). See
 * docs/api.md, "gatehouse/electron".
 */
export { createAppHandlers, type AppHandlers, type AppHandlersOptions, type SecretStore } from './app-handlers.js';
export {
  callerOf,
  forwardSessionChanges,
  registerIpcHandlers,
  type FrameLike,
  type IpcInvokeEventLike,
  type IpcMainLike,
  type SessionChangeTarget,
} from './electron-ipc.js';
export { IPC_CALL_NAMES, ipcChannel, SESSION_CHANGED_CHANNEL } from './ipc-calls.js';
export { createGatehouseApi, type InvokeIpc, type SubscribeIpc } from './preload-api.js';
export { createAppProtocolHandler, APP_SECURITY_HEADERS, type AppProtocolHandler, type AppProtocolOptions } from './app-protocol.js';
export { AppPolicyError, DEFAULT_APP_POLICY, resolveAppPolicy, type AppPolicy } from './app-policy.js';
export {
  secureWebPreferences,
  lockDownWebContents,
  denyPermissions,
  isAppUrl,
  normalizeAppOrigin,
  externalLinkTarget,
  permissionAllowed,
  type SecureWebPreferences,
  type LockableWebContents,
  type LockDownOptions,
  type PermissionSession,
  type PermissionExceptions,
} from './window-defaults.js';
export {
  safeStorageProblem,
  safeStorageKeyProtector,
  safeStorageSecretStore,
  SafeStorageUnavailableError,
  type AsyncSafeStorage,
  type SecretFile,
  type SecretFileOptions,
} from './safe-storage.js';
export { utilityProcessLauncher, type UtilityChild, type UtilityProcessModule } from './utility-process.js';
export { readPolicyFile, defaultPolicyFilePath, PolicyFileError, type PolicyFileResult } from './policy-file.js';
export { superviseResourceService, type ResourceService, type ResourceServiceOptions } from '../resource/supervisor.js';
export { ResourceServiceError, type ServiceProcess } from '../resource/service-instance.js';
export { SERVICE_ENTRY, dataPathFor, type ServiceConfig } from '../resource/service-config.js';
export { FIRST_PARTY_CLIENT_ID, ensureFirstPartyClient, bootstrapAdmin, FirstRunError } from '../engine/first-run.js';
