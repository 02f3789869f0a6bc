import type { IncomingMessage } from 'node:http';
import type { Engine } from '../engine/engine.js';
import { badRequest } from './http-error.js';
import { routeFor, startLoopbackServer, type Listener, type ListenerOptions, type LoopbackServer } from './loopback.js';
import { unavailable, type Reply } from './respond.js';
import { ROUTES } from './routes.js';

export interface HttpServerOptions extends ListenerOptions {
  /**
   * Awaited after the engine has answered a request and before the answer is sent; must not reject.
   * `serve` waits here until its resource service has applied what the request changed (a
   * revocation), so that the client's very next request there is judged by it.
   */
  beforeReply?: (() => Promise<void>) | undefined;
}

export interface HttpServer extends LoopbackServer {
  /**
   * Starts answering with this engine. Until then every request gets 503: the listener exists
   * first so that an engine whose issuer is this URL can be opened on the port actually bound.
   */
  attach(engine: Engine): void;
}

/** Starts the loopback HTTP adapter (RFC 6749 token, RFC 7009, RFC 7662, RFC 8414, keys, password). */
export async function startHttpServer(options: HttpServerOptions): Promise<HttpServer> {
  const { beforeReply = () => Promise.resolve(), ...listenerOptions } = options;
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

  const server = await startLoopbackServer({ ...listenerOptions, name: 'http', handle });
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
