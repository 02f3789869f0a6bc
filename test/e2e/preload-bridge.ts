import type { GatehouseApi } from '../../src/contracts.js';
import { createGatehouseApi } from '../../src/electron/preload-api.js';
import { SESSION_CHANGED_CHANNEL } from '../../src/electron/ipc-calls.js';

/**
 * Entry of dist-app/test/preload-api.js: the preload's API over what a Playwright test provides
 * instead of Electron's IPC. `__gatehouseInvoke(name, args)` is the test's exposeBinding (it sees the
 * calling frame, as main sees the sender); `__gatehouseSessionChanged(session)` is how the test
 * pushes a session change, as main does on `gatehouse:session-changed`.
 */
interface TestHost {
  __gatehouseInvoke(name: string, args: unknown): Promise<unknown>;
  __gatehouseSessionChanged?: (payload: unknown) => void;
  gatehouse?: GatehouseApi;
}

const host = globalThis as unknown as TestHost;
const CHANNEL_PREFIX = 'gatehouse:';
const listeners = new Set<(payload: unknown) => void>();

host.__gatehouseSessionChanged = (payload) => {
  for (const listener of [...listeners]) listener(payload);
};
host.gatehouse = createGatehouseApi(
  (channel, args) => host.__gatehouseInvoke(channel.slice(CHANNEL_PREFIX.length), args),
  (channel, listener) => {
    if (channel !== SESSION_CHANGED_CHANNEL) throw new Error(`no pushes on ${channel} in this test bridge`);
    listeners.add(listener);
    return () => listeners.delete(listener);
  },
);
