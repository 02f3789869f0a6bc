import type { IncomingMessage } from 'node:http';
import type { RequestParams } from '../contracts.js';
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

type FormOperation = (engine: Engine, params: RequestParams, basic: BasicCredentials | undefined) => Promise<Reply>;

export const ROUTES: ReadonlyMap<string, Route> = new Map<string, Route>([
  [PATHS.metadata, document(authorizationServerMetadata)],
  [PATHS.keys, document(keysDocument)],
  [PATHS.token, form(async (engine, params, basic) => ok(await engine.token(params, basic)))],
  [
    PATHS.revoke,
    form(async (engine, params, basic) => {
      await engine.revoke(params, basic);
      // RFC 7009 §2.2: 200 whether or not there was anything to revoke. Clients ignore the body, but
      // some parse every answer as JSON (simple-oauth2), so it is an empty object.
      return ok({});
    }),
  ],
  [PATHS.introspect, form(async (engine, params, basic) => ok(await engine.introspect(params, basic)))],
  [
    PATHS.password,
    form(async (engine, params, basic) => {
      await engine.changePassword(params, basic);
      return { status: 204 };
    }),
  ],
]);

/** A GET endpoint answering a JSON document. */
function document(make: (engine: Engine, baseUrl: string) => unknown): Route {
  return { methods: ['GET', 'HEAD'], handle: async (engine, _req, baseUrl) => ok(make(engine, baseUrl)) };
}

/** A POST endpoint: the form parameters and any Basic credentials go to one engine operation. */
function form(operation: FormOperation): Route {
  return { methods: ['POST'], handle: async (engine, req) => operation(engine, await readForm(req), basicCredentials(req)) };
}

function ok(body: unknown): Reply {
  return { status: 200, body };
}

/** client_secret_basic; any other Authorization scheme is not client authentication and is ignored. */
function basicCredentials(req: IncomingMessage): BasicCredentials | undefined {
  const header = req.headers.authorization;
  return header === undefined ? undefined : parseBasicAuthorization(header);
}
