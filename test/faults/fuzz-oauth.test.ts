import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { startHttpServer } from '../../dist/http/server.js';
import { PASSWORD, SECRET, seeded } from '../helpers.js';
import { expectDocumentedError, readAnswer, report, scaled, SEED } from './fault-kit.js';

// Property-based fuzzing of the loopback adapter's POST endpoints (token, revoke, introspect,
// password) over real loopback HTTP, with the engine in this process so that the share of inputs
// that reach password hashing is counted exactly (engine.hashEvaluations).

const ENDPOINTS = ['/token', '/revoke', '/introspect', '/password'] as const;
const NAMES = ['grant_type', 'client_id', 'client_secret', 'username', 'password', 'new_password', 'scope', 'refresh_token', 'token', 'token_type_hint'];
const CLIENTS = ['desktop', 'tool', 'refresh-only', 'no-refresh', 'nobody', ''];
/** Clients that may use the password grant (desktop, tool, no-refresh): their requests can reach hashing. */
const PASSWORD_CLIENTS = new Set(['desktop', 'tool', 'no-refresh']);
const FUZZ_INPUTS = scaled(4000);
const HASHING_INPUTS = scaled(200);

type Pairs = Array<[string, string]>;
interface Request {
  endpoint: (typeof ENDPOINTS)[number];
  pairs: Pairs;
  /** The body as sent: the pairs form-encoded, or raw text when fuzzing the encoding itself. */
  raw: string | undefined;
  contentType: string | undefined;
  authorization: string | undefined;
}

function arbitraries(tokens: { access: string; refresh: string }) {
  const text = fc.oneof(
    fc.string({ maxLength: 40 }),
    fc.string({ unit: 'binary', maxLength: 80 }),
    fc.string({ unit: 'grapheme', minLength: 200, maxLength: 600 }),
  );
  // What a header can carry at all (fetch refuses control characters): visible ASCII.
  const headerText = fc.string({ unit: 'binary-ascii', maxLength: 60 }).map((t) => t.replace(/[^\x21-\x7e]/g, ''));
  const mutated = (token: string) =>
    fc.tuple(fc.nat(token.length - 1), fc.string({ maxLength: 3 })).map(([at, insert]) => token.slice(0, at) + insert + token.slice(at + 1));
  const value = fc.oneof(
    { weight: 3, arbitrary: text },
    fc.constantFrom('password', 'refresh_token', 'authorization_code', 'client_credentials', 'Alice', 'alice', SECRET, 'records:read', 'records:read admin', 'access_token'),
    fc.constantFrom(...CLIENTS),
    fc.constant(tokens.access),
    mutated(tokens.access),
    mutated(tokens.refresh),
  );
  const pair = fc.tuple(fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...NAMES) }, text), value);
  const authorization = fc.oneof(
    fc.constant(undefined),
    fc.constant(`Basic ${Buffer.from(`tool:${SECRET}`).toString('base64')}`),
    fc.tuple(text, text).map(([id, secret]) => `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64')}`),
    headerText.map((t) => `Basic ${t}`),
    headerText,
  );
  const contentType = fc.oneof(
    { weight: 8, arbitrary: fc.constant('application/x-www-form-urlencoded') },
    fc.constantFrom(undefined, 'application/json', 'application/x-www-form-urlencoded; charset=UTF-8', 'application/x-www-form-urlencoded; charset=latin1', 'text/plain', 'multipart/form-data; boundary=x'),
  );
  const raw = fc.oneof({ weight: 9, arbitrary: fc.constant(undefined) }, fc.string({ unit: 'binary', maxLength: 300 }), fc.constantFrom('%', '%zz', 'a=%ff%fe', '&&&==', 'a'.repeat(17_000)));
  return fc.record({
    endpoint: fc.constantFrom(...ENDPOINTS),
    pairs: fc.array(pair, { maxLength: 8 }),
    raw,
    contentType,
    authorization,
  });
}

/** Whether the engine could check a password for this request (a password-grant client and a password). */
function couldHash({ endpoint, pairs, authorization }: Request): boolean {
  if (endpoint !== '/token' && endpoint !== '/password') return false;
  const clientIds = pairs.filter(([name]) => name === 'client_id').map(([, value]) => value);
  return authorization !== undefined || clientIds.some((id) => PASSWORD_CLIENTS.has(id));
}

/** Keeps fuzzing away from password hashing: a request that could hash loses its password fields. */
function withoutHashing(request: Request): Request {
  if (!couldHash(request)) return request;
  return { ...request, raw: undefined, pairs: request.pairs.filter(([name]) => name !== 'password' && name !== 'new_password') };
}

async function send(base: string, request: Request) {
  const headers: Record<string, string> = {};
  if (request.contentType !== undefined) headers['content-type'] = request.contentType;
  if (request.authorization !== undefined) headers.authorization = request.authorization;
  const body = request.raw ?? new URLSearchParams(request.pairs).toString();
  return readAnswer(await fetch(`${base}${request.endpoint}`, { method: 'POST', headers, body }));
}

/** A success must be the endpoint's documented one; anything else a documented error, never a 5xx. */
function expectDocumented(request: Request, answer: { status: number; body: any }): void {
  const context = `${request.endpoint} ${JSON.stringify(request).slice(0, 400)}`;
  if (answer.status === 200 && request.endpoint === '/token') expect(answer.body.token_type, context).toBe('Bearer');
  else if (answer.status === 200 && request.endpoint === '/revoke') expect(answer.body, context).toEqual({});
  else if (answer.status === 200 && request.endpoint === '/introspect') expect(typeof answer.body.active, context).toBe('boolean');
  else if (answer.status === 204) expect(request.endpoint, context).toBe('/password');
  else expectDocumentedError(answer, context);
}

describe('fuzzing the OAuth endpoints over loopback HTTP', () => {
  it(`answers ${FUZZ_INPUTS} + ${HASHING_INPUTS} arbitrary requests with documented answers only (seed ${SEED})`, async () => {
    const { engine } = await seeded();
    const logged: string[] = [];
    const http = await startHttpServer({ port: 0, log: (line) => logged.push(line) });
    http.attach(engine);
    try {
      const signIn = await engine.token({ grant_type: 'password', client_id: 'desktop', username: 'Alice', password: PASSWORD });
      const tokens = { access: signIn.access_token, refresh: signIn.refresh_token! };
      const statuses = new Map<number, number>();
      const count = (status: number) => statuses.set(status, (statuses.get(status) ?? 0) + 1);
      const before = engine.hashEvaluations;

      await fc.assert(
        fc.asyncProperty(arbitraries(tokens).map(withoutHashing), async (request) => {
          const answer = await send(http.url, request);
          count(answer.status);
          expectDocumented(request, answer);
        }),
        { numRuns: FUZZ_INPUTS, seed: SEED },
      );
      // Without a password nothing is hashed: the fuzzing above cost no argon2id evaluation at all.
      expect(engine.hashEvaluations - before).toBe(0);

      // Sign-ins and password changes that do reach hashing: a password client, fuzzed names and passwords.
      const hashing = fc.record({
        endpoint: fc.constantFrom('/token' as const, '/password' as const),
        client: fc.constantFrom('desktop', 'no-refresh'),
        username: fc.oneof(fc.constantFrom('Alice', 'alice', 'ALICE'), fc.string({ unit: 'binary', maxLength: 30 })),
        password: fc.oneof(fc.constant(PASSWORD), fc.string({ unit: 'binary', maxLength: 80 })),
        newPassword: fc.string({ unit: 'binary', maxLength: 100 }),
      });
      await fc.assert(
        fc.asyncProperty(hashing, async ({ endpoint, client, username, password, newPassword }) => {
          const pairs: Pairs = [['client_id', client], ['username', username], ['password', password]];
          pairs.push(endpoint === '/token' ? ['grant_type', 'password'] : ['new_password', newPassword]);
          const request: Request = { endpoint, pairs, raw: undefined, contentType: 'application/x-www-form-urlencoded', authorization: undefined };
          const answer = await send(http.url, request);
          count(answer.status);
          expectDocumented(request, answer);
        }),
        { numRuns: HASHING_INPUTS, seed: SEED },
      );
      const hashes = engine.hashEvaluations - before;
      expect(hashes).toBeLessThanOrEqual(HASHING_INPUTS);
      expect(logged, 'no unexpected error (5xx) was logged').toEqual([]);
      expect([...statuses.keys()].every((status) => status < 500)).toBe(true);
      report('fuzz.oauth-endpoints', {
        inputs: FUZZ_INPUTS + HASHING_INPUTS,
        reachedHashing: hashes,
        statuses: [...statuses].sort(([a], [b]) => a - b).map(([status, n]) => `${status}:${n}`).join(','),
        fiveHundreds: 0,
      });
    } finally {
      await http.close();
    }
  });
});
