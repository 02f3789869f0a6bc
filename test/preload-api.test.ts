import { describe, expect, it } from 'vitest';
import { createGatehouseApi } from '../dist/electron/preload-api.js';
import { IPC_CALL_NAMES, SESSION_CHANGED_CHANNEL } from '../dist/electron/ipc-calls.js';

// The object the preload exposes as `window.gatehouse`, over recording stand-ins for ipcRenderer
// (the Electron binary cannot run here; the built preload itself runs in Chromium in renderer-e2e).

function recorded() {
  const invoked: Array<[string, unknown]> = [];
  const listeners = new Map<string, Set<(payload: unknown) => void>>();
  const api = createGatehouseApi(
    async (channel, args) => {
      invoked.push([channel, args]);
      return { ok: true, channel };
    },
    (channel, listener) => {
      const set = listeners.get(channel) ?? new Set();
      listeners.set(channel, set);
      set.add(listener);
      return () => set.delete(listener);
    },
  );
  const push = (channel: string, payload: unknown) => listeners.get(channel)?.forEach((listener) => listener(payload));
  return { api, invoked, push };
}

describe('createGatehouseApi', () => {
  it('has one function per call, admin calls under admin, each invoking its own channel with its one argument', async () => {
    const { api, invoked } = recorded();
    const own = Object.keys(api).filter((key) => key !== 'admin' && key !== 'onSessionChanged').sort();
    expect(own).toEqual(IPC_CALL_NAMES.filter((name) => !name.startsWith('admin.')).sort());
    expect(Object.keys(api.admin).sort()).toEqual(IPC_CALL_NAMES.filter((name) => name.startsWith('admin.')).map((name) => name.slice(6)).sort());

    expect(await api.signIn({ username: 'alice', password: 'pw' })).toEqual({ ok: true, channel: 'gatehouse:signIn' });
    await api.getSession();
    await api.admin.createUser({ username: 'bob', password: 'x', scopes: [], mustChangePassword: true });
    // Extra arguments are not sent.
    await (api.signOut as (...args: unknown[]) => Promise<unknown>)({ everywhere: true }, 'extra');
    expect(invoked).toEqual([
      ['gatehouse:signIn', { username: 'alice', password: 'pw' }],
      ['gatehouse:getSession', undefined],
      ['gatehouse:admin.createUser', { username: 'bob', password: 'x', scopes: [], mustChangePassword: true }],
      ['gatehouse:signOut', { everywhere: true }],
    ]);
  });

  it('is deep-frozen: nothing can be added, replaced or removed', () => {
    const { api } = recorded();
    expect(Object.isFrozen(api)).toBe(true);
    expect(Object.isFrozen(api.admin)).toBe(true);
    expect(() => Object.assign(api, { invoke: () => undefined })).toThrow(TypeError);
    expect(() => Object.assign(api.admin, { listUsers: () => undefined })).toThrow(TypeError);
    expect(Object.values(api).every((value) => typeof value === 'function' || value === api.admin)).toBe(true);
  });

  it('delivers session changes from the session channel only, until unsubscribed', () => {
    const { api, push } = recorded();
    const seen: unknown[] = [];
    const unsubscribe = api.onSessionChanged((session) => seen.push(session));
    push(SESSION_CHANGED_CHANNEL, { state: 'locked' });
    push('gatehouse:other', { state: 'signed_in' });
    unsubscribe();
    push(SESSION_CHANGED_CHANNEL, { state: 'signed_out' });
    expect(seen).toEqual([{ state: 'locked' }]);
    expect(() => api.onSessionChanged('not a function' as never)).toThrow(TypeError);
  });
});
