import { realpath, readFile, stat } from 'node:fs/promises';
import { extname, join, resolve, sep } from 'node:path';

/**
 * The app's own origin (`gatehouse://app` under Electron's `protocol.handle`): the built renderer's
 * files, and the records API forwarded to the resource service so that the page's data requests are
 * same-origin and web content never addresses a loopback port (Chromium's Local Network Access rules;
 * see docs/security-model.md). Plain WHATWG Request/Response, so it runs under Node as it is.
 */
export interface AppProtocolOptions {
  /** The built renderer (index.html and its bundles). */
  rendererDir: string;
  /** `http://127.0.0.1:PORT` of the resource service, read at each request (it may restart elsewhere). */
  serviceUrl: () => string;
  /** Largest request body forwarded to the service, in bytes (default 1 MiB; records are at most ~64 KiB). */
  maxBodyBytes?: number;
  /** How long the service may take to answer before the page gets 504, in ms (default 10 s). */
  serviceTimeoutMs?: number;
}

export type AppProtocolHandler = (request: Request) => Promise<Response>;

/** Every answer carries these, errors included. Nothing inline, nothing from elsewhere. */
export const APP_SECURITY_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  'Content-Security-Policy': [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "connect-src 'self'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; '),
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
});

/** Only files of these kinds are served; anything else is answered 404 like a missing file. */
const CONTENT_TYPES: Readonly<Record<string, string>> = Object.freeze({
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
});

const API_PREFIX = '/api/';
const FORWARDED_METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);
/** Request headers the service needs; cookies, origin and the like stay behind. */
const FORWARDED_REQUEST_HEADERS = ['authorization', 'content-type', 'accept'];
/** Answer headers the page acts on; hop-by-hop and encoding headers are the transport's business. */
const FORWARDED_RESPONSE_HEADERS = ['content-type', 'www-authenticate', 'location', 'retry-after', 'cache-control', 'pragma', 'allow'];
const DEFAULT_MAX_BODY_BYTES = 1024 * 1024;
const DEFAULT_SERVICE_TIMEOUT_MS = 10_000;
/** A status that must be answered without a body (the Response constructor refuses one). */
const NULL_BODY_STATUSES = new Set([101, 204, 205, 304]);

export function createAppProtocolHandler(options: AppProtocolOptions): AppProtocolHandler {
  if (typeof options?.rendererDir !== 'string' || options.rendererDir === '') throw new TypeError('rendererDir must name the built renderer folder.');
  if (typeof options.serviceUrl !== 'function') throw new TypeError('serviceUrl must be a function answering the resource service URL.');
  const maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const timeoutMs = options.serviceTimeoutMs ?? DEFAULT_SERVICE_TIMEOUT_MS;
  if (!Number.isSafeInteger(maxBodyBytes) || maxBodyBytes < 0) throw new RangeError('maxBodyBytes must be a whole number of bytes.');
  if (!Number.isSafeInteger(timeoutMs) || timeoutMs <= 0) throw new RangeError('serviceTimeoutMs must be a positive whole number of ms.');
  const root = resolve(options.rendererDir);

  return async (request) => {
    let url: URL;
    try {
      url = new URL(request.url);
    } catch {
      return problem(400, 'invalid_request', 'The request URL is not valid.');
    }
    // The raw path as the page sent it decides the route: `/api` itself is not an API path.
    if (url.pathname.startsWith(API_PREFIX)) return forward(request, url, options.serviceUrl, maxBodyBytes, timeoutMs);
    return serveFile(request, url.pathname, root);
  };
}

async function serveFile(request: Request, pathname: string, root: string): Promise<Response> {
  if (request.method !== 'GET' && request.method !== 'HEAD') {
    return problem(405, 'method_not_allowed', 'Only GET and HEAD are served here.', { Allow: 'GET, HEAD' });
  }
  const segments = safeSegments(pathname === '/' ? '/index.html' : pathname);
  if (!segments) return problem(404, 'not_found', 'There is no such file.');
  const contentType = CONTENT_TYPES[extname(segments[segments.length - 1]!).toLowerCase()];
  if (!contentType) return problem(404, 'not_found', 'There is no such file.');
  const path = join(root, ...segments);
  try {
    // A link inside the folder must not lead out of it. (The folder is resolved at each request:
    // it may be replaced, or not exist yet, while the handler is installed.)
    const [real, realRoot] = await Promise.all([realpath(path), realpath(root)]);
    if (!real.startsWith(realRoot + sep) || !(await stat(real)).isFile()) return problem(404, 'not_found', 'There is no such file.');
    const body = await readFile(real);
    const headers = { ...APP_SECURITY_HEADERS, 'Content-Type': contentType, 'Content-Length': String(body.length), 'Cache-Control': 'no-cache' };
    return new Response(request.method === 'HEAD' ? null : body, { status: 200, headers });
  } catch {
    return problem(404, 'not_found', 'There is no such file.');
  }
}

/**
 * The path's segments, decoded, or undefined when any could step outside the folder or name
 * something other than a plain relative file: `.`/`..` (also when encoded), separators or NUL inside
 * a segment, drive letters and empty segments.
 */
function safeSegments(pathname: string): string[] | undefined {
  if (!pathname.startsWith('/')) return undefined;
  const segments: string[] = [];
  for (const raw of pathname.slice(1).split('/')) {
    let segment: string;
    try {
      segment = decodeURIComponent(raw);
    } catch {
      return undefined;
    }
    if (segment === '' || segment === '.' || segment === '..' || /[\\/:\0]/.test(segment)) return undefined;
    segments.push(segment);
  }
  return segments;
}

async function forward(request: Request, url: URL, serviceUrl: () => string, maxBodyBytes: number, timeoutMs: number): Promise<Response> {
  if (!FORWARDED_METHODS.has(request.method)) return problem(405, 'method_not_allowed', `${request.method} is not forwarded.`);
  let target: URL;
  try {
    // Only the path and query are the page's: the scheme, host and port are always the service's.
    target = new URL(serviceUrl());
    target.pathname = url.pathname;
    target.search = url.search;
  } catch {
    return problem(503, 'service_unavailable', 'The data service is not available.');
  }
  const headers: Record<string, string> = {};
  for (const name of FORWARDED_REQUEST_HEADERS) {
    const value = request.headers.get(name);
    if (value !== null) headers[name] = value;
  }
  let body: Uint8Array | undefined;
  if (request.method !== 'GET' && request.method !== 'HEAD' && request.body) {
    const read = await readCapped(request, maxBodyBytes);
    if (read === 'too_large') return problem(413, 'payload_too_large', `The request body is larger than ${maxBodyBytes} bytes.`);
    body = read;
  }
  let answer: Response;
  try {
    answer = await fetch(target, {
      method: request.method,
      headers,
      ...(body ? { body } : {}),
      redirect: 'manual',
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (error) {
    const timedOut = error instanceof DOMException && error.name === 'TimeoutError';
    return timedOut
      ? problem(504, 'service_timeout', 'The data service did not answer in time.')
      : problem(502, 'service_unavailable', 'The data service could not be reached.');
  }
  const passed: Record<string, string> = { ...APP_SECURITY_HEADERS };
  for (const name of FORWARDED_RESPONSE_HEADERS) {
    const value = answer.headers.get(name);
    if (value !== null) passed[name] = value;
  }
  const payload = NULL_BODY_STATUSES.has(answer.status) || request.method === 'HEAD' ? null : await answer.arrayBuffer();
  if (payload === null) await answer.body?.cancel();
  return new Response(payload, { status: answer.status, statusText: answer.statusText, headers: passed });
}

/** The body, or 'too_large' as soon as it passes the cap (a lying Content-Length changes nothing). */
async function readCapped(request: Request, maxBytes: number): Promise<Uint8Array | 'too_large'> {
  const declared = Number(request.headers.get('content-length'));
  if (Number.isFinite(declared) && declared > maxBytes) return 'too_large';
  const reader = request.body!.getReader();
  const chunks: Uint8Array[] = [];
  let length = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    length += value.byteLength;
    if (length > maxBytes) {
      await reader.cancel();
      return 'too_large';
    }
    chunks.push(value);
  }
  const body = new Uint8Array(length);
  let offset = 0;
  for (const chunk of chunks) {
    body.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return body;
}

/** A JSON error in the shape the resource service uses, with the security headers. */
function problem(status: number, error: string, description: string, extra: Record<string, string> = {}): Response {
  const body = JSON.stringify({ error, error_description: description });
  return new Response(body, { status, headers: { ...APP_SECURITY_HEADERS, ...extra, 'Content-Type': 'application/json; charset=utf-8' } });
}
