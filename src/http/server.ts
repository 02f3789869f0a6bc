import type { IncomingMessage } from 'node:http';
import type { Engine } from '../engine/engine.js';
import { badRequest } from './http-error.js';
import { routeFor, startLoopbackServer, type Listener } from './loopback.js';
import { unavailable, type Reply } from './respond.js';
import { ROUTES } from './routes.js';

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
  const beforeReply = options.beforeReply ?? (() => Promise.resolve());
  let engine: Engine | undefined;

  async function handle(req: IncomingMessage, listener: Listener): Promise<Reply> {
    const route = routeFor(ROUTES.get(req.url!.split('?', 1)[0]!), req.method);
    // Parameters in a URL end up in logs and histories; RFC 6749 §3.2 puts them in the body.
    if (req.url!.includes('?')) throw badRequest('Send parameters in the request body, not in the URL.');
    if (!engine) return unavailable('The server is starting.');
    try {
      return await route.handle(engine, req, listener.url);
    } finally {
      // Refusals too: reuse of a refresh token is refused and revokes its session.
      await beforeReply();
    }
  }

  const server = await startLoopbackServer({
    port: options.port,
    allowedOrigins: new Set(options.allowedOrigins ?? []),
    log: options.log ?? ((line: string) => process.emitWarning(`gatehouse http: ${line}`)),
    handle,
  });
  return {
    port: server.port,
    url: server.url,
    attach(value) {
      if (engine) throw new Error('An engine is already attached to this HTTP server.');
      engine = value;
    },
    close: () => server.close(),
  };
}
