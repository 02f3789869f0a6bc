import type { IncomingMessage } from 'node:http';
import { fromRfc3339 } from '../clock.js';
import type { AccessTokenClaims, MeResponse, RecordItem } from '../contracts.js';
import { badRequest, HttpError } from '../http/http-error.js';
import type { Routed } from '../http/loopback.js';
import type { Reply } from '../http/respond.js';
import { InvalidCursorError, type RecordStore } from './records.js';
import { parseNewRecord, parsePageQuery, parseRecordChanges } from './validation.js';

/** What a handler gets once the guard let the request in. */
export interface Call {
  req: IncomingMessage;
  query: URLSearchParams;
  claims: AccessTokenClaims;
  scope: string[];
  records: RecordStore;
  /** The `:id` of /api/records/:id. */
  id: string;
  /** The request body, read as JSON (400 unless it is; 415, 413 as readBody says). */
  json(): Promise<unknown>;
}

export interface Handler {
  /** The scope this needs; none: any valid token. */
  scope: string | undefined;
  run(call: Call): Reply | Promise<Reply>;
}

export interface ResourceRoute extends Routed {
  handlers: Readonly<Record<string, Handler>>;
}

const READ = 'records:read';
const WRITE = 'records:write';
const RECORD_PATH = /^\/api\/records\/([^/]+)$/;

const ME: ResourceRoute = route({
  GET: { scope: undefined, run: ({ claims, scope }) => ok(me(claims, scope)) },
});

const RECORDS: ResourceRoute = route({
  GET: {
    scope: READ,
    run: ({ records, claims, query }) => {
      const { limit, cursor } = parsePageQuery(query);
      try {
        return ok(records.list(claims.sub, cursor, limit));
      } catch (error) {
        if (error instanceof InvalidCursorError) throw badRequest(`cursor: ${error.message}`);
        throw error;
      }
    },
  },
  POST: {
    scope: WRITE,
    run: async ({ records, claims, json }) => {
      const record = records.create(claims.sub, parseNewRecord(await json()));
      return { status: 201, body: record, headers: { Location: `/api/records/${record.id}` } };
    },
  },
});

const RECORD: ResourceRoute = route({
  GET: { scope: READ, run: ({ records, claims, id }) => ok(found(records.get(claims.sub, id))) },
  PATCH: {
    scope: WRITE,
    run: async ({ records, claims, id, json }) => ok(found(records.update(claims.sub, id, parseRecordChanges(await json())))),
  },
  DELETE: {
    scope: WRITE,
    run: ({ records, claims, id }) => {
      if (!records.delete(claims.sub, id)) throw noSuchRecord();
      return { status: 204 };
    },
  },
});

/** The route for a path, with its `:id` if it has one. */
export function resolveRoute(path: string): { route: ResourceRoute; id: string } | undefined {
  if (path === '/api/me') return { route: ME, id: '' };
  if (path === '/api/records') return { route: RECORDS, id: '' };
  const match = RECORD_PATH.exec(path);
  return match ? { route: RECORD, id: match[1]! } : undefined;
}

function route(handlers: Record<string, Handler>): ResourceRoute {
  return { methods: Object.keys(handlers), handlers };
}

function ok(body: unknown): Reply {
  return { status: 200, body };
}

/** Someone else's record is answered exactly like one that does not exist. */
function found(record: RecordItem | undefined): RecordItem {
  if (!record) throw noSuchRecord();
  return record;
}

function noSuchRecord(): HttpError {
  return new HttpError(404, 'not_found', 'There is no such record.');
}

function me(claims: AccessTokenClaims, scope: string[]): MeResponse {
  return { sub: claims.sub, username: claims.username, scope, exp: Math.floor(fromRfc3339(claims.exp) / 1000) };
}
