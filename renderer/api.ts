import type { GatehouseApi, IpcError } from '../src/contracts.js';
import { strings } from './strings.js';

declare global {
  interface Window {
    /** Exposed by the preload (main/preload.ts); the page's only way to main. */
    readonly gatehouse: GatehouseApi;
  }
}

export function gatehouse(): GatehouseApi {
  return window.gatehouse;
}

/** The translated text of an IPC error. */
export function errorText(error: IpcError): string {
  return strings.errors[error.code] ?? strings.errors.internal;
}

/**
 * Counts `seconds` down once a second, calling `tick` with what is left (first at once), then
 * `done`. Returns a stop function. The renderer keeps no clock of its own: it just counts.
 */
export function countdown(seconds: number, tick: (left: number) => void, done: () => void): () => void {
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
