import type { IpcCallName } from '../contracts.js';

/**
 * The IPC calls at run time, in one list that main (to register handlers) and the preload (to build
 * `window.gatehouse`) both read. It has no imports beyond types, so it bundles into the sandboxed
 * preload as it is.
 */
export const IPC_CALL_NAMES = [
  'getAppInfo',
  'getSession',
  'signIn',
  'unlock',
  'signOut',
  'getAccessToken',
  'getServiceUrl',
  'changePassword',
  'checkNewPassword',
  'reportActivity',
  'admin.listUsers',
  'admin.createUser',
  'admin.setUserDisabled',
  'admin.unlockUser',
  'admin.resetPassword',
  'admin.listSessions',
  'admin.revokeSession',
  'admin.rotateSigningKey',
  'admin.getPolicy',
] as const satisfies readonly IpcCallName[];

// Fails to compile when a call of the contract is missing from the list above.
type Missing = Exclude<IpcCallName, (typeof IPC_CALL_NAMES)[number]>;
const everyCallListed: [Missing] extends [never] ? true : Missing = true;
void everyCallListed;

/** The invoke/handle channel of a call. */
export function ipcChannel(name: IpcCallName): `gatehouse:${IpcCallName}` {
  return `gatehouse:${name}`;
}

/** The channel main pushes each new SessionView on. */
export const SESSION_CHANGED_CHANNEL = 'gatehouse:session-changed';
