import type { IncomingMessage } from 'node:http';
import type { Reply } from '../http/respond.js';

/** How long a browser may reuse a preflight's answer, in seconds. */
const PREFLIGHT_MAX_AGE_SECONDS = 600;

/**
 * CORS for the desktop app's own origin only (others were refused by the Host/Origin guard before
 * anything here runs). Every answer to that origin, refusals included, lets the app read it, and
 * the headers a client acts on: the challenge, where a new record is, when to retry.
 */
export function corsHeaders(req: IncomingMessage, allowedOrigins: ReadonlySet<string>): Readonly<Record<string, string>> | undefined {
  const origin = req.headers.origin;
  if (origin === undefined || !allowedOrigins.has(origin)) return undefined;
  return {
    'Access-Control-Allow-Origin': origin,
    'Access-Control-Expose-Headers': 'WWW-Authenticate, Location, Retry-After',
    Vary: 'Origin',
  };
}

/** The answer to OPTIONS on a path: what it allows, and for a browser's preflight what it may send. */
export function preflight(methods: readonly string[]): Reply {
  const allowed = [...methods, 'OPTIONS'].join(', ');
  return {
    status: 204,
    headers: {
      Allow: allowed,
      'Access-Control-Allow-Methods': allowed,
      'Access-Control-Allow-Headers': 'Authorization, Content-Type',
      'Access-Control-Max-Age': String(PREFLIGHT_MAX_AGE_SECONDS),
    },
  };
}
