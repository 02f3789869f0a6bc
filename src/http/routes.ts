import type { IncomingMessage } from 'node:http';
import type { Engine } from '../engine/engine.js';
import { parseBasicAuthorization, type BasicCredentials } from '../oauth/client-auth.js';
import { readForm } from './form.js';
import { authorizationServerMetadata, keysDocument, PATHS } from './metadata.js';
import type { Reply } from './respond.js';

export interface Route {
  /** Methods answered; any other gets 405 with these in Allow. */
  methods: readonly string[];
  handle(engine: Engine, req: IncomingMessage, baseUrl: string): Promise<Reply>;
}

const GET = ['GET', 'HEAD'] as const;
const POST = ['POST'] as const;

export const ROUTES: ReadonlyMap<string, Route> = new Map<string, Route>([
  [PATHS.metadata, { methods: GET, handle: async (engine, _req, baseUrl) => ok(authorizationServerMetadata(engine, baseUrl)) }],
  [PATHS.keys, { methods: GET, handle: async (engine) => ok(keysDocument(engine)) }],
  [
    PATHS.token,
    { methods: POST, handle: async (engine, req) => ok(await engine.token(await readForm(req), basicCredentials(req))) },
  ],
  [
    PATHS.revoke,
    {
      methods: POST,
      handle: async (engine, req) => {
        await engine.revoke(await readForm(req), basicCredentials(req));
        // RFC 7009 §2.2: 200 whether or not there was anything to revoke. Clients ignore the body, but
        // some parse every answer as JSON (simple-oauth2), so it is an empty object.
        return ok({});
      },
    },
  ],
  [
    PATHS.introspect,
    { methods: POST, handle: async (engine, req) => ok(await engine.introspect(await readForm(req), basicCredentials(req))) },
  ],
  [
    PATHS.password,
    {
      methods: POST,
      handle: async (engine, req) => {
        await engine.changePassword(await readForm(req), basicCredentials(req));
        return { status: 204 };
      },
    },
  ],
]);

function ok(body: unknown): Reply {
  return { status: 200, body };
}

/** client_secret_basic; any other Authorization scheme is not client authentication and is ignored. */
function basicCredentials(req: IncomingMessage): BasicCredentials | undefined {
  const header = req.headers.authorization;
  return header === undefined ? undefined : parseBasicAuthorization(header);
}
