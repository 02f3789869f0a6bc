import type { IncomingMessage } from 'node:http';
import { badRequest, HttpError } from './http-error.js';

/**
 * Headers a request may carry once only. Node keeps the first of a repeated Host or Authorization
 * and drops the rest, so a proxy or a browser could act on a different one than we do (RFC 9112
 * §3.2 makes a repeated Host a 400); we refuse rather than guess.
 */
const SINGLE_HEADERS = ['host', 'authorization', 'content-type', 'content-length', 'content-encoding', 'origin'];

/**
 * What a request must pass before any route runs. Loopback is reachable from every local process
 * and, through DNS rebinding, from web pages: only our own Host names are accepted, and browser
 * requests (they carry Origin) only from allowed origins.
 */
export function guardRequest(req: IncomingMessage, port: number, allowedOrigins: ReadonlySet<string>): void {
  for (const name of SINGLE_HEADERS) {
    if (countHeader(req, name) > 1) throw badRequest(`The ${name} header is repeated.`);
  }
  const host = req.headers.host?.toLowerCase();
  if (host !== `127.0.0.1:${port}` && host !== `localhost:${port}`) {
    throw badRequest(`The Host header must be 127.0.0.1:${port} or localhost:${port}.`);
  }
  // Only origin-form ("/path"): an absolute-form target could name another host than Host does.
  if (!req.url?.startsWith('/')) throw badRequest('The request target must be a path (origin-form).');
  const origin = req.headers.origin;
  if (origin !== undefined && !allowedOrigins.has(origin)) {
    throw new HttpError(403, 'access_denied', 'Requests from web pages are not accepted.');
  }
}

function countHeader(req: IncomingMessage, name: string): number {
  let count = 0;
  for (let i = 0; i < req.rawHeaders.length; i += 2) {
    if (req.rawHeaders[i]!.toLowerCase() === name) count++;
  }
  return count;
}
