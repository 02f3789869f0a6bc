/**
 * gatehouse/electron: the Electron main-process helpers (never imports 'electron'; the real
 * objects fit the structural types). See docs/api.md.
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
export { AppPolicyError, DEFAULT_APP_POLICY, resolveAppPolicy, type AppPolicy } from './app-policy.js';
