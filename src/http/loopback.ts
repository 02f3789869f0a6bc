import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { guardRequest } from './guard.js';
import { HttpError } from './http-error.js';
import { errorReply, rawErrorResponse, send, type Reply } from './respond.js';

/** The only address a Gatehouse listener binds: other machines must never reach it. */
const HOST = '127.0.0.1';
/** Header bytes accepted (node answers more with 431, which we give a JSON body). */
const MAX_HEADER_BYTES = 8 * 1024;
/** Slow clients: time to send the headers, and the whole request (checked every second). */
const HEADERS_TIMEOUT_MS = 10_000;
const REQUEST_TIMEOUT_MS = 30_000;
const TIMEOUT_CHECK_MS = 1_000;
/** How long close() lets requests in flight finish before cutting their connections. */
const CLOSE_GRACE_MS = 2_000;

/** What a request on a bound listener can learn about it. */
export interface Listener {
  readonly port: number;
  /** `http://127.0.0.1:PORT`. */
  readonly url: string;
}

/** What every Gatehouse loopback listener is started with. */
export interface ListenerOptions {
  /** TCP port on 127.0.0.1; 0 picks a free one. */
  port: number;
  /** Browser origins (`scheme://host[:port]`, exactly as browsers send Origin) allowed to call; default none. */
  allowedOrigins?: readonly string[] | undefined;
  /** Receives one line (no secrets) per unexpected error; default: a process warning. */
  log?: ((line: string) => void) | undefined;
}

export interface LoopbackOptions extends ListenerOptions {
  /** Names the listener in its default log's warnings. */
  name: string;
  /** Answers a request that passed the Host/Origin guard; throws HttpError or OAuthError to refuse it. */
  handle(req: IncomingMessage, listener: Listener): Promise<Reply>;
  /** Headers every answer to this request carries, refusals included (e.g. CORS for an allowed origin). */
  headersFor?: ((req: IncomingMessage) => Readonly<Record<string, string>> | undefined) | undefined;
}

export interface LoopbackServer extends Listener {
  /** Stops accepting, ends idle connections, lets requests in flight finish (briefly), then resolves. */
  close(): Promise<void>;
}

/** A path's route: the methods it answers, anything else 405 with Allow. */
export interface Routed {
  methods: readonly string[];
}

/**
 * The route for a request, or the refusal: 404 when there is none, 405 (with Allow) when it does
 * not answer this method.
 */
export function routeFor<R extends Routed>(route: R | undefined, method: string | undefined): R {
  if (!route) throw new HttpError(404, 'not_found', 'There is no such endpoint.');
  if (!route.methods.includes(method!)) {
    throw new HttpError(405, 'method_not_allowed', `Use ${route.methods.join(' or ')}.`, { Allow: route.methods.join(', ') });
  }
  return route;
}

/** The parts every Gatehouse loopback listener shares: binding, timeouts, limits, the guard, JSON errors, closing. */
export async function startLoopbackServer(options: LoopbackOptions): Promise<LoopbackServer> {
  const { port: requestedPort, handle, headersFor } = options;
  const allowedOrigins = new Set(options.allowedOrigins ?? []);
  const log = options.log ?? ((line: string) => process.emitWarning(`gatehouse ${options.name}: ${line}`));
  if (!Number.isInteger(requestedPort) || requestedPort < 0 || requestedPort > 65535) {
    throw new RangeError('port must be an integer from 0 to 65535.');
  }
  let closing: Promise<void> | undefined;
  const listener = { port: requestedPort, url: '' };
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
      // Replaced by the connection's next request; a finished one no longer counts (see answering).
      inProgress.set(req.socket, res);
      void answer(req).then((reply) => {
        if (reply && !req.socket.destroyed) send(req, res, reply, closing !== undefined);
      });
    },
  );

  /** The reply to a request; undefined when nobody is left to answer (the client left, or timed out). */
  async function answer(req: IncomingMessage): Promise<Reply | undefined> {
    let reply: Reply;
    try {
      guardRequest(req, listener.port, allowedOrigins);
      reply = await handle(req, listener);
    } catch (error) {
      // A body cut short because the connection went away is the client's doing, not a server fault.
      if (req.socket.destroyed) return undefined;
      reply = errorReply(error, log, `${req.method} ${req.url?.split('?', 1)[0]}`);
    }
    const extra = headersFor?.(req);
    return extra ? { ...reply, headers: { ...reply.headers, ...extra } } : reply;
  }

  // Requests node:http cannot hand us (unparsable, headers too large, too slow): it gives only the
  // socket, so the answer is written as bytes, with the same JSON body as any other error.
  server.on('clientError', (error: NodeJS.ErrnoException, socket: Duplex) => {
    if (error.code === 'ECONNRESET' || !socket.writable || answering(inProgress.get(socket))) {
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
  listener.port = (server.address() as { port: number }).port;
  listener.url = `http://${HOST}:${listener.port}`;

  return {
    port: listener.port,
    url: listener.url,
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

/** Whether a response has begun and not finished: nothing else may be written on its connection. */
function answering(res: ServerResponse | undefined): boolean {
  return res !== undefined && res.headersSent && !res.writableFinished;
}

/** Answers on a connection node:http has given up parsing, then closes it once the answer is out. */
function refuse(socket: Duplex, status: number, description: string): void {
  socket.end(rawErrorResponse(status, 'invalid_request', description), () => socket.destroy());
}
