import type { IncomingMessage } from 'node:http';
import { hasMediaType, readBody } from '../http/body.js';
import { FORM, readForm } from '../http/form.js';
import { badRequest } from '../http/http-error.js';
import { routeFor, startLoopbackServer, type ListenerOptions, type LoopbackServer } from '../http/loopback.js';
import { unavailable, type Reply } from '../http/respond.js';
import { bearerFailure, guardFailureBody } from './challenge.js';
import { corsHeaders, preflight } from './cors.js';
import type { BearerGuard, GuardFailure } from './guard.js';
import type { RecordStore } from './records.js';
import { resolveRoute } from './routes.js';
import { MAX_RECORD_BODY_BYTES } from './validation.js';

/** `allowedOrigins`: the desktop app's own origin (e.g. `app://gatehouse`), which also gets CORS. */
export interface ResourceServerOptions extends ListenerOptions {
  guard: BearerGuard;
  records: RecordStore;
}

/** close() leaves the records store open: its owner closes it. */
export type ResourceServer = LoopbackServer;

/** A record body is at most 64 KiB of text; JSON may escape it to several times that. */
const MAX_JSON_BYTES = 4 * MAX_RECORD_BODY_BYTES;
const JSON_TYPE = 'application/json';
const UTF8 = new TextDecoder('utf-8', { fatal: true });

/** Starts the records API (`/api/records`, `/api/me`) on 127.0.0.1, behind the bearer guard. */
export async function startResourceServer(options: ResourceServerOptions): Promise<ResourceServer> {
  const { guard, records } = options;
  const allowedOrigins = new Set(options.allowedOrigins ?? []);

  async function handle(req: IncomingMessage): Promise<Reply> {
    if (!guard.ready) return { ...unavailable('The service is starting.'), headers: { 'Retry-After': '1' } };
    const { resolved, query } = target(req.url!);
    if (resolved && req.method === 'OPTIONS') return preflight(resolved.route.methods);
    const { route, id } = resolved ?? {};
    const handler = routeFor(route, req.method).handlers[req.method!]!;
    // RFC 6750 §2: this service takes the token from the Authorization header only.
    if (query.has('access_token')) return bearerReply(tokenOutsideHeader());
    if (hasMediaType(req, FORM)) {
      if ([...(await readForm(req))].some(([name]) => name === 'access_token')) return bearerReply(tokenOutsideHeader());
    }
    const result = await guard.authenticate(req.headers.authorization, handler.scope ? [handler.scope] : []);
    if (!result.ok) return bearerReply(result);
    return handler.run({
      req,
      query,
      claims: result.claims,
      scope: result.scope,
      records,
      id: id!,
      json: () => readJson(req),
    });
  }

  const { port, log } = options;
  return startLoopbackServer({ port, allowedOrigins: options.allowedOrigins, log, name: 'resource', handle, headersFor: (req) => corsHeaders(req, allowedOrigins) });
}

/** A path URL parsing leaves as it is: no query, dot segments, escapes or other characters it rewrites. */
const PLAIN_PATH = /^[\w/-]+$/;

/**
 * The route of a request target and its query. A plain path (the common case) is taken as it is;
 * anything else is parsed as a URL, which normalises the path.
 */
function target(requestTarget: string): { resolved: ReturnType<typeof resolveRoute>; query: URLSearchParams } {
  if (PLAIN_PATH.test(requestTarget) && !requestTarget.startsWith('//')) {
    return { resolved: resolveRoute(requestTarget), query: new URLSearchParams() };
  }
  // Appended to the origin, not resolved against it: resolved, a target starting with `//` would be
  // read as a host name (and `//` alone throws).
  const url = new URL(`http://127.0.0.1${requestTarget}`);
  return { resolved: resolveRoute(url.pathname), query: url.searchParams };
}

function bearerReply(failure: GuardFailure): Reply {
  return { status: failure.status, body: guardFailureBody(failure), headers: { 'WWW-Authenticate': failure.challenge } };
}

function tokenOutsideHeader(): GuardFailure {
  return bearerFailure(400, 'invalid_request', 'Send the access token in the Authorization header only, not in the URL or body.');
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const bytes = await readBody(req, JSON_TYPE, MAX_JSON_BYTES);
  try {
    return JSON.parse(UTF8.decode(bytes));
  } catch {
    throw badRequest('The request body is not valid JSON (UTF-8).');
  }
}
