import type { z } from 'zod';
import type { CallerContext, IpcError, IpcErrorCode, IpcResult } from '../contracts.js';
import { toIpcError } from './ipc-errors.js';
import { describeIssues } from './ipc-schemas.js';

export interface CallGuard {
  /** The only origin whose main frame may call. */
  allowedOrigin: string;
  log: (line: string) => void;
}

export interface GuardedCall<A, R extends object> {
  name: string;
  schema: z.ZodType<A>;
  run: (args: A) => Promise<R>;
}

/** A failed answer. */
export function ipcFailure(code: IpcErrorCode, description: string): { ok: false; error: IpcError } {
  return { ok: false, error: { code, description } };
}

const FORBIDDEN = 'This call is only answered for the app’s own window.';

/**
 * The one path of every call: the caller must be the app's own main frame, the argument must match
 * the call's schema (a plain object, nothing more), and whatever the handler throws becomes an
 * IpcError. Never throws.
 */
export async function guardedCall<A, R extends object>(
  guard: CallGuard,
  call: GuardedCall<A, R>,
  caller: CallerContext,
  args: unknown,
): Promise<IpcResult<R>> {
  try {
    if (!isAllowedCaller(caller, guard.allowedOrigin)) return ipcFailure('forbidden', FORBIDDEN);
    if (typeof args === 'object' && args !== null && !isPlainObject(args)) {
      return ipcFailure('invalid_argument', `The argument of ${call.name} must be a plain object.`);
    }
    const parsed = call.schema.safeParse(args);
    if (!parsed.success) return ipcFailure('invalid_argument', describeIssues(call.name, parsed.error));
    return { ok: true, ...(await call.run(parsed.data)) };
  } catch (error) {
    return { ok: false, error: toIpcError(error, call.name, guard.log) };
  }
}

function isAllowedCaller(caller: unknown, allowedOrigin: string): boolean {
  if (typeof caller !== 'object' || caller === null) return false;
  const { origin, mainFrame } = caller as Partial<CallerContext>;
  return typeof origin === 'string' && origin === allowedOrigin && mainFrame === true;
}

/**
 * What structured clone delivers: an object of Object's prototype (or none). Others (arrays, class
 * instances, objects inheriting fields) could pass a schema on what they inherit.
 */
function isPlainObject(value: object): boolean {
  const prototype: unknown = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null;
}
