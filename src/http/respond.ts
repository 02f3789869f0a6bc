import { STATUS_CODES, type IncomingMessage, type ServerResponse } from 'node:http';
import { EngineClosedError } from '../engine/engine-closed-error.js';
import { OAuthError } from '../oauth/errors.js';
import { HttpError, type HttpErrorBody } from './http-error.js';

/**
 * Headers on every answer. Token responses must not be cached (RFC 6749 §5.1); nothing here is worth
 * caching, so every answer says so, and none is to be sniffed as anything but what it declares.
 */
const COMMON_HEADERS = {
  'Cache-Control': 'no-store',
  Pragma: 'no-cache',
  'X-Content-Type-Options': 'nosniff',
} as const;
/** The same as names and values in one list, the form writeHead takes without building an object. */
const COMMON_HEADER_LIST: readonly string[] = Object.entries(COMMON_HEADERS).flat();

/** A route's answer: a status and, except for 204, a JSON body. */
export interface Reply {
  status: number;
  body?: unknown;
  /** Headers of this answer besides those `send` writes (caching, type, length, connection). */
  headers?: Readonly<Record<string, string>>;
}

export function send(req: IncomingMessage, res: ServerResponse, reply: Reply, closing: boolean): void {
  const payload = reply.body === undefined ? '' : JSON.stringify(reply.body);
  // One flat list, written as it is: this runs for every request.
  const headers = COMMON_HEADER_LIST.slice();
  if (reply.body !== undefined) headers.push('Content-Type', 'application/json');
  headers.push('Content-Length', String(Buffer.byteLength(payload)));
  for (const name in reply.headers) headers.push(name, reply.headers[name]!);
  // A body left unread (a refusal before reading it) would be read only to be thrown away; and a
  // server shutting down keeps no connection open.
  if (closing || !req.complete) headers.push('Connection', 'close');
  res.writeHead(reply.status, headers);
  res.end(payload);
}

/**
 * The answer for anything a route throws. OAuthError and HttpError say what to answer; a closed
 * engine is 503; anything else is a generic 500 whose cause goes to the log, never to the caller.
 */
export function errorReply(error: unknown, log: (line: string) => void, where: string): Reply {
  if (error instanceof OAuthError) {
    const retry = typeof error.retryAfter === 'number' ? { 'Retry-After': String(Math.ceil(error.retryAfter)) } : {};
    return { status: error.status, body: error.toJSON(), headers: { ...error.headers, ...retry } };
  }
  if (error instanceof HttpError) return { status: error.status, body: error.toJSON(), headers: error.headers };
  if (error instanceof EngineClosedError) return unavailable('The server is shutting down.');
  log(`${where}: ${describe(error)}`);
  const body: HttpErrorBody = { error: 'server_error', error_description: 'The server could not complete the request.' };
  return { status: 500, body };
}

export function unavailable(description: string): Reply {
  const body: HttpErrorBody = { error: 'temporarily_unavailable', error_description: description };
  return { status: 503, body };
}

/**
 * A complete HTTP/1.1 error response as bytes, for the moments node:http gives us only the socket
 * (a request it could not parse): the same JSON body and headers as every other error.
 */
export function rawErrorResponse(status: number, code: string, description: string): string {
  const payload = JSON.stringify({ error: code, error_description: description } satisfies HttpErrorBody);
  const headers = {
    ...COMMON_HEADERS,
    'Content-Type': 'application/json',
    'Content-Length': String(Buffer.byteLength(payload)),
    Connection: 'close',
  };
  const lines = Object.entries(headers).map(([name, value]) => `${name}: ${value}\r\n`);
  return `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\n${lines.join('')}\r\n${payload}`;
}

/** One line about an unexpected error: its kind and message, never its stack or the request. */
function describe(error: unknown): string {
  if (!(error instanceof Error)) return 'a non-Error value was thrown';
  const code = (error as { code?: unknown }).code;
  const message = error.message.split('\n')[0]!.slice(0, 200);
  return `${error.name}${typeof code === 'string' ? ` (${code})` : ''}: ${message}`;
}
