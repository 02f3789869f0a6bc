import type { GatehouseApi, IpcCallName, SessionView } from '../contracts.js';
import { IPC_CALL_NAMES, ipcChannel, SESSION_CHANGED_CHANNEL } from './ipc-calls.js';

/** Sends one call to main and resolves to its IpcResult (Electron: `ipcRenderer.invoke`). */
export type InvokeIpc = (channel: string, args: unknown) => Promise<unknown>;
/** Listens on a channel main pushes to; returns the unsubscribe (Electron: `ipcRenderer.on`/`off`). */
export type SubscribeIpc = (channel: string, listener: (payload: unknown) => void) => () => void;

const ADMIN_PREFIX = 'admin.';

/**
 * `window.gatehouse`: one named function per IPC call (admin calls under `admin`) and
 * `onSessionChanged`, deep-frozen. Page code can reach only these calls, never a channel of its
 * choosing. Pure: it imports nothing of Node or Electron, so it bundles into the sandboxed preload
 * (and into the test bundle that drives the same object in plain Chromium).
 */
export function createGatehouseApi(invoke: InvokeIpc, subscribe: SubscribeIpc): GatehouseApi {
  const calls: Record<string, unknown> = {};
  const admin: Record<string, unknown> = {};
  for (const name of IPC_CALL_NAMES) {
    const call = callFor(invoke, name);
    if (name.startsWith(ADMIN_PREFIX)) admin[name.slice(ADMIN_PREFIX.length)] = call;
    else calls[name] = call;
  }
  calls['admin'] = Object.freeze(admin);
  calls['onSessionChanged'] = (listener: (session: SessionView) => void) => {
    if (typeof listener !== 'function') throw new TypeError('onSessionChanged takes a function.');
    return subscribe(SESSION_CHANGED_CHANNEL, (payload) => listener(payload as SessionView));
  };
  return Object.freeze(calls) as unknown as GatehouseApi;
}

/** Calls take at most one argument; anything extra is dropped rather than sent. */
function callFor(invoke: InvokeIpc, name: IpcCallName): (args?: unknown) => Promise<unknown> {
  const channel = ipcChannel(name);
  return (args?: unknown) => invoke(channel, args);
}
