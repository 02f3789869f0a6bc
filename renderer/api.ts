import type { GatehouseApi, IpcError } from '../src/contracts.js';
import { strings } from './strings.js';

declare global {
  interface Window {
    /** Exposed by the preload (main/preload.ts); the page's only way to main. */
    readonly gatehouse: GatehouseApi;
  }
}

let api: GatehouseApi | undefined;

/**
 * `window.gatehouse`, with every call's promise made to resolve: the contract says calls never
 * throw, but a call main has no handler for (or a torn-down channel) rejects, and a screen waiting
 * on it must still get an answer it can show rather than stay busy.
 */
export function gatehouse(): GatehouseApi {
  api ??= neverRejecting(window.gatehouse);
  return api;
}

type AnyCall = (...args: unknown[]) => Promise<unknown>;

function neverRejecting(exposed: GatehouseApi): GatehouseApi {
  const failed = { ok: false, error: { code: 'internal', description: 'The app did not answer.' } };
  const wrapAll = (calls: object) =>
    Object.fromEntries(
      Object.entries(calls)
        .filter(([name]) => name !== 'admin' && name !== 'onSessionChanged')
        .map(([name, call]) => [name, (...args: unknown[]) => Promise.resolve().then(() => (call as AnyCall)(...args)).catch(() => failed)]),
    );
  return Object.freeze({ ...wrapAll(exposed), admin: Object.freeze(wrapAll(exposed.admin)), onSessionChanged: exposed.onSessionChanged }) as unknown as GatehouseApi;
}

/** The translated text of an IPC error. */
export function errorText(error: IpcError): string {
  return strings.errors[error.code] ?? strings.errors.internal;
}

/**
 * For `throttled` and `busy` (which carry `retryAfter`): shows the wait counting down on `lines`,
 * then says a retry may be made and calls `ready`. Returns its stop function, or undefined for any
 * other error (which the caller shows itself).
 */
export function retryCountdown(error: IpcError, lines: { fail(text: string): void; say(text: string): void }, ready: () => void): (() => void) | undefined {
  if ((error.code !== 'throttled' && error.code !== 'busy') || error.retryAfter === undefined) return undefined;
  const text = error.code === 'throttled' ? strings.signIn.throttled : strings.signIn.serverBusy;
  return countdown(error.retryAfter, (left) => lines.fail(text(left)), () => {
    ready();
    lines.say(strings.signIn.canRetry);
  });
}

/**
 * Counts `seconds` down once a second, calling `tick` with what is left (first at once), then
 * `done`. Returns a stop function. The renderer keeps no clock of its own: it just counts.
 */
function countdown(seconds: number, tick: (left: number) => void, done: () => void): () => void {
  let left = Math.max(1, Math.ceil(seconds));
  tick(left);
  const timer = setInterval(() => {
    left -= 1;
    if (left > 0) return tick(left);
    clearInterval(timer);
    done();
  }, 1000);
  return () => clearInterval(timer);
}
