import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Engine } from '../engine/engine.js';
import { guardRequest } from './guard.js';
import { badRequest, HttpError } from './http-error.js';
import { errorReply, rawErrorResponse, send, unavailable, type Reply } from './respond.js';
import { ROUTES } from './routes.js';

/** The only address the adapter binds: other machines must never reach it. */
const HOST = '127.0.0.1';
/** Header bytes accepted (node answers more with 431, which we give a JSON body). */
const MAX_HEADER_BYTES = 8 * 1024;
/** Slow clients: time to send the headers, and the whole request (checked every second). */
const HEADERS_TIMEOUT_MS = 10_000;
const REQUEST_TIMEOUT_MS = 30_000;
const TIMEOUT_CHECK_MS = 1_000;
/** How long close() lets requests in flight finish before cutting their connections. */
const CLOSE_GRACE_MS = 2_000;

export interface HttpServerOptions {
  /** TCP port on 127.0.0.1; 0 picks a free one. */
  port: number;
  /** Browser origins (`scheme://host[:port]`, exactly as browsers send Origin) allowed to call; default none. */
  allowedOrigins?: readonly string[] | undefined;
  /** Receives one line (no secrets) per unexpected error; default: a process warning. */
  log?: ((line: string) => void) | undefined;
  /**
   * Awaited after the engine has answered a request and before the answer is sent; must not reject.
   * `serve` waits here until its resource service has applied what the request changed (a
   * revocation), so that the client's very next request there is judged by it.
   */
  beforeReply?: (() => Promise<void>) | undefined;
}

export interface HttpServer {
  readonly port: number;
  /** `http://127.0.0.1:PORT`, the base of every endpoint. */
  readonly url: string;
  /**
   * Starts answering with this engine. Until then every request gets 503: the listener exists
   * first so that an engine whose issuer is this URL can be opened on the port actually bound.
   */
  attach(engine: Engine): void;
  /** Stops accepting, ends idle connections, lets requests in flight finish (briefly), then resolves. */
  close(): Promise<void>;
}

/** Starts the loopback HTTP adapter (RFC 6749 token, RFC 7009, RFC 7662, RFC 8414, keys, password). */
export async function startHttpServer(options: HttpServerOptions): Promise<HttpServer> {
  const { port: requestedPort } = options;
  if (!Number.isInteger(requestedPort) || requestedPort < 0 || requestedPort > 65535) {
    throw new RangeError('port must be an integer from 0 to 65535.');
  }
  const allowedOrigins = new Set(options.allowedOrigins ?? []);
  const log = options.log ?? ((line: string) => process.emitWarning(`gatehouse http: ${line}`));
  const beforeReply = options.beforeReply ?? (() => Promise.resolve());
  let engine: Engine | undefined;
  let closing: Promise<void> | undefined;
  let port = requestedPort;
  let url = '';
  // The response in progress on each connection, so a socket-level error never writes into it.
  const inProgress = new WeakMap<Duplex, ServerResponse>();

  const server = createServer(
    {
      maxHeaderSize: MAX_HEADER_BYTES,
      headersTimeout: HEADERS_TIMEOUT_MS,
      requestTimeout: REQUEST_TIMEOUT_MS,
      connectionsCheckingInterval: TIMEOUT_CHECK_MS,
      // A missing Host is refused by our guard, with a JSON body like every other error.
      requireHostHeader: false,
    },
    (req, res) => {
      inProgress.set(req.socket, res);
      res.once('finish', () => inProgress.get(req.socket) === res && inProgress.delete(req.socket));
      void answer(req).then((reply) => {
        if (reply && !req.socket.destroyed) send(req, res, reply, closing !== undefined);
      });
    },
  );

  /** The reply to a request; undefined when nobody is left to answer (the client left, or timed out). */
  async function answer(req: IncomingMessage): Promise<Reply | undefined> {
    const path = req.url?.split('?', 1)[0];
    try {
      guardRequest(req, port, allowedOrigins);
      const route = ROUTES.get(path!);
      if (!route) throw new HttpError(404, 'not_found', 'There is no such endpoint.');
      if (!route.methods.includes(req.method!)) {
        throw new HttpError(405, 'method_not_allowed', `Use ${route.methods.join(' or ')}.`, { Allow: route.methods.join(', ') });
      }
      // Parameters in a URL end up in logs and histories; RFC 6749 §3.2 puts them in the body.
      if (req.url!.includes('?')) throw badRequest('Send parameters in the request body, not in the URL.');
      if (!engine) return unavailable('The server is starting.');
      try {
        return await route.handle(engine, req, url);
      } finally {
        // Refusals too: reuse of a refresh token is refused and revokes its session.
        await beforeReply();
      }
    } catch (error) {
      // A body cut short because the connection went away is the client's doing, not a server fault.
      if (req.socket.destroyed) return undefined;
      return errorReply(error, log, `${req.method} ${path}`);
    }
  }

  // Requests node:http cannot hand us (unparsable, headers too large, too slow): it gives only the
  // socket, so the answer is written as bytes, with the same JSON body as any other error.
  server.on('clientError', (error: NodeJS.ErrnoException, socket: Duplex) => {
    if (error.code === 'ECONNRESET' || !socket.writable || inProgress.get(socket)?.headersSent) {
      socket.destroy();
      return;
    }
    if (error.code === 'HPE_HEADER_OVERFLOW') refuse(socket, 431, `The request headers are larger than ${MAX_HEADER_BYTES} bytes.`);
    else if (error.code === 'ERR_HTTP_REQUEST_TIMEOUT') refuse(socket, 408, 'The request took too long to arrive.');
    else refuse(socket, 400, 'The request is not valid HTTP/1.1.');
  });
  // CONNECT (proxy tunnelling) never reaches the request handler; answer it too rather than hang up.
  server.on('connect', (_req: IncomingMessage, socket: Duplex) => {
    refuse(socket, 400, 'The request target must be a path (origin-form).');
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ port: requestedPort, host: HOST, exclusive: true }, () => {
      server.off('error', reject);
      resolve();
    });
  });
  port = (server.address() as { port: number }).port;
  url = `http://${HOST}:${port}`;

  return {
    port,
    url,
    attach(value) {
      if (engine) throw new Error('An engine is already attached to this HTTP server.');
      engine = value;
    },
    close() {
      closing ??= new Promise<void>((resolve) => {
        const cut = setTimeout(() => server.closeAllConnections(), CLOSE_GRACE_MS).unref();
        // Stops listening and ends idle connections now; calls back once every connection has ended.
        server.close(() => {
          clearTimeout(cut);
          resolve();
        });
      });
      return closing;
    },
  };
}

/** Answers on a connection node:http has given up parsing, then closes it once the answer is out. */
function refuse(socket: Duplex, status: number, description: string): void {
  socket.end(rawErrorResponse(status, 'invalid_request', description), () => socket.destroy());
}
