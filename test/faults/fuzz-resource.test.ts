import fc from 'fast-check';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BearerGuard } from 'gatehouse/resource';
import { PASSWORD, seeded } from '../helpers.js';
import { fileTempDir, startServe, type Served } from '../serve-process.js';
import { APP_CLIENT, expectDocumentedError, postForm, prepareDatabase, readAnswer, report, scaled, SEED } from './fault-kit.js';

// Property-based fuzzing of the resource side: the records API of a real `gatehouse serve` (its
// resource service process) with arbitrary methods, paths, queries, headers and JSON, and the bearer
// guard in this process with tens of thousands of mutated tokens.

const API_INPUTS = scaled(4000);
const GUARD_INPUTS = scaled(20000);
const METHODS = ['GET', 'POST', 'PATCH', 'DELETE', 'PUT', 'OPTIONS'];
const B64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

/** Ways to spoil a token: change, drop or add characters; splice two tokens; swap the footer. */
function mutations(token: string, other: string) {
  const at = fc.nat(token.length - 1);
  return fc.oneof(
    fc.tuple(at, fc.constantFrom(...B64URL)).map(([i, c]) => token.slice(0, i) + c + token.slice(i + 1)),
    fc.tuple(at, fc.integer({ min: 1, max: 20 })).map(([i, n]) => token.slice(0, i) + token.slice(i + n)),
    fc.tuple(at, fc.string({ minLength: 1, maxLength: 8 })).map(([i, s]) => token.slice(0, i) + s + token.slice(i)),
    fc.tuple(at, fc.nat(other.length - 1)).map(([i, j]) => token.slice(0, i) + other.slice(j)),
    fc.string({ unit: 'binary-ascii', maxLength: 40 }).map((footer) => `${token.split('.').slice(0, 3).join('.')}.${Buffer.from(footer).toString('base64url')}`),
    fc.constantFrom(token.toUpperCase(), `${token}=`, `${token}.`, token.replace('v4.public.', 'v4.local.'), token.split('.').slice(0, 3).join('.')),
  );
}

describe('fuzzing the bearer guard with mutated tokens', () => {
  it(`refuses every one of ${GUARD_INPUTS} mutated tokens and accepts the unmutated one (seed ${SEED})`, async () => {
    const { engine, clock } = await seeded();
    const guard = new BearerGuard({ issuer: engine.issuer, audience: engine.audience, clock });
    guard.loadSnapshot({ issuer: engine.issuer, audience: engine.audience, keys: engine.publishedKeys(), revocations: engine.revocations() });
    const issue = async () =>
      (await engine.token({ grant_type: 'password', client_id: 'desktop', username: 'Alice', password: PASSWORD })).access_token;
    const [token, other] = [await issue(), await issue()];
    const outcomes = new Map<string, number>();
    await fc.assert(
      fc.asyncProperty(mutations(token, other), fc.constantFrom('Bearer ', 'Bearer  ', 'bearer '), async (mutated, scheme) => {
        const result = await guard.authenticate(`${scheme}${mutated}`, ['records:read']);
        if (mutated === token || mutated === other) {
          expect(result.ok).toBe(true);
          return;
        }
        expect(result.ok, mutated).toBe(false);
        if (result.ok) return;
        const outcome = `${result.status} ${result.error}`;
        expect(['400 invalid_request', '401 invalid_token']).toContain(outcome);
        outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
      }),
      { numRuns: GUARD_INPUTS, seed: SEED },
    );
    report('fuzz.guard-mutated-tokens', { inputs: GUARD_INPUTS, accepted: 0, ...Object.fromEntries(outcomes) });
  });
});

describe('fuzzing the records API of gatehouse serve', () => {
  let served: Served;
  const tokens: Record<'write' | 'read', string> = { write: '', read: '' };
  let recordId = '';

  beforeAll(async () => {
    const db = join(fileTempDir(), 'auth.db');
    await prepareDatabase(db, ['ada']);
    served = await startServe(['--db', db, '--port', '0']);
    for (const [kind, scope] of [['write', 'records:read records:write'], ['read', 'records:read']] as const) {
      const issued = await postForm(`${served.url}/token`, { grant_type: 'password', client_id: APP_CLIENT, username: 'ada', password: PASSWORD, scope });
      expect(issued.status, JSON.stringify(issued.body)).toBe(200);
      tokens[kind] = issued.body.access_token;
    }
    const created = await fetch(`${served.resourceUrl}/api/records`, {
      method: 'POST',
      headers: { authorization: `Bearer ${tokens.write}`, 'content-type': 'application/json' },
      body: JSON.stringify({ title: 'kept', body: 'kept' }),
    });
    recordId = ((await created.json()) as { id: string }).id;
  });

  afterAll(async () => {
    expect(await served.stop('SIGTERM')).toEqual({ code: 0, signal: null });
    expect(served.stderr(), 'no unexpected error was logged').not.toMatch(/resource service: |Error/);
  });

  it(`answers ${API_INPUTS} arbitrary requests with documented answers only (seed ${SEED})`, async () => {
    const text = fc.oneof(fc.string({ maxLength: 30 }), fc.string({ unit: 'binary', maxLength: 300 }));
    const json = fc.oneof(
      fc.record({ title: fc.oneof(text, fc.string({ minLength: 190, maxLength: 210 })), body: text }, { requiredKeys: [] }),
      fc.dictionary(fc.constantFrom('title', 'body', 'owner', 'id', '__proto__', 'constructor'), fc.jsonValue({ maxDepth: 2 })),
      fc.jsonValue({ maxDepth: 3 }),
    );
    const request = fc.record({
      method: fc.constantFrom(...METHODS),
      path: fc.oneof(
        { weight: 8, arbitrary: fc.constantFrom('/api/me', '/api/records', `/api/records/${recordId}`) },
        fc.constantFrom('/api/records/', '/api/records/x/y', '/API/me', '/api/records/%00', '//', '//127.0.0.1/api/me'),
        fc.string({ unit: 'binary-ascii', maxLength: 30 }).map((p) => `/api/records/${encodeURIComponent(p)}`),
        fc.webPath(),
      ),
      query: fc.oneof(
        fc.constant(''),
        fc.constantFrom('?limit=0', '?limit=101', '?limit=1', '?limit=-1', '?limit=1e2', '?cursor=abc', '?access_token=x', '?limit=5&limit=6'),
        fc.webQueryParameters().map((q) => `?${q}`),
      ),
      auth: fc.constantFrom('write', 'read', 'none', 'garbage', 'basic'),
      contentType: fc.oneof(
        { weight: 4, arbitrary: fc.constant('application/json') },
        fc.constantFrom(undefined, 'application/json; charset=utf-8', 'text/plain', 'application/x-www-form-urlencoded'),
      ),
      body: fc.oneof({ weight: 4, arbitrary: json.map((value) => JSON.stringify(value)) }, text, fc.constant('access_token=x')),
    });
    const statuses = new Map<number, number>();
    await fc.assert(
      fc.asyncProperty(request, async ({ method, path, query, auth, contentType, body }) => {
        const headers: Record<string, string> = {};
        if (auth === 'write' || auth === 'read') headers.authorization = `Bearer ${tokens[auth]}`;
        if (auth === 'garbage') headers.authorization = 'Bearer v4.public.garbage';
        if (auth === 'basic') headers.authorization = 'Basic YTpi';
        if (contentType) headers['content-type'] = contentType;
        const withBody = method !== 'GET' && method !== 'OPTIONS';
        const answer = await readAnswer(await fetch(`${served.resourceUrl}${path}${query}`, { method, headers, ...(withBody ? { body } : {}) }));
        statuses.set(answer.status, (statuses.get(answer.status) ?? 0) + 1);
        const context = `${method} ${path}${query} ${auth} ${contentType} ${body.slice(0, 200)}`;
        if (method === 'OPTIONS' && answer.status === 204) {
          // A CORS preflight is answered on every known path without credentials (docs/api.md).
          expect(path.startsWith('/api/'), context).toBe(true);
          return;
        }
        if (answer.status >= 200 && answer.status < 300) {
          // Only a token with the scope gets through, and a write only with records:write.
          expect(auth === 'write' || (auth === 'read' && method === 'GET'), context).toBe(true);
          return;
        }
        expectDocumentedError(answer, context);
      }),
      { numRuns: API_INPUTS, seed: SEED },
    );
    // The valid tokens did get through (the property is not vacuous).
    expect(statuses.get(200)).toBeGreaterThan(0);
    // The record made before the fuzzing is still there unless a fuzzed DELETE of its id removed it.
    const kept = await fetch(`${served.resourceUrl}/api/records/${recordId}`, { headers: { authorization: `Bearer ${tokens.read}` } });
    expect([200, 404], JSON.stringify(await kept.json().catch(() => null))).toContain(kept.status);
    report('fuzz.records-api', {
      inputs: API_INPUTS,
      statuses: [...statuses].sort(([a], [b]) => a - b).map(([status, n]) => `${status}:${n}`).join(','),
      fiveHundreds: 0,
    });
  });
});
