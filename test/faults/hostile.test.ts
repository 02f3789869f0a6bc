import fc from 'fast-check';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PASSWORD } from '../helpers.js';
import { fileTempDir, rawRequest, startServe, type Served } from '../serve-process.js';
import { APP_CLIENT, childPids, eventually, expectDocumentedError, postForm, prepareDatabase, report, rssBytes, scaled, SEED } from './fault-kit.js';

// Hostile local callers against a real `gatehouse serve` and its resource service: foreign Host
// values (DNS rebinding), cross-site Origins, oversized headers and bodies, slow-loris connections.
// Each is refused, the server keeps serving, and its memory stays bounded.

const HOST_INPUTS = scaled(1500);
const ORIGIN_INPUTS = scaled(800);
const OVERSIZED = scaled(2000);
const SLOW_CONNECTIONS = scaled(200);
const MEMORY_BOUND = 100 * 1024 * 1024;

let served: Served;
let servicePid: number;
let accessToken: string;
/** Both listeners: the OAuth adapter and the resource service, with a request each answers 2xx/401 when let in. */
let listeners: Array<{ name: string; port: number; path: string }>;

beforeAll(async () => {
  const db = join(fileTempDir(), 'auth.db');
  await prepareDatabase(db, ['ada']);
  served = await startServe(['--db', db, '--port', '0']);
  [servicePid] = childPids(served.child.pid!) as [number];
  const issued = await postForm(`${served.url}/token`, { grant_type: 'password', client_id: APP_CLIENT, username: 'ada', password: PASSWORD });
  accessToken = issued.body.access_token;
  listeners = [
    { name: 'oauth', port: served.port, path: '/keys' },
    { name: 'resource', port: served.resourcePort, path: '/api/me' },
  ];
});

afterAll(async () => {
  expect(await served.stop('SIGTERM')).toEqual({ code: 0, signal: null });
});

/** Both listeners still answer ordinary requests. */
async function expectServing(): Promise<void> {
  expect((await fetch(`${served.url}/keys`)).status).toBe(200);
  expect((await fetch(`${served.resourceUrl}/api/me`, { headers: { authorization: `Bearer ${accessToken}` } })).status).toBe(200);
}

function request(path: string, headerLines: string): string {
  return `GET ${path} HTTP/1.1\r\n${headerLines}Connection: close\r\n\r\n`;
}

describe('hostile local callers', () => {
  it(`refuses ${HOST_INPUTS} foreign or malformed Host values on both listeners (DNS rebinding) (seed ${SEED})`, async () => {
    const visible = fc.string({ unit: 'binary-ascii', maxLength: 40 }).map((text) => text.replace(/[^\x20-\x7e]/g, ''));
    const port = fc.oneof(fc.constantFrom(served.port, served.resourcePort), fc.integer({ min: 0, max: 70000 }));
    const host = fc.oneof(
      fc.tuple(fc.domain(), fc.option(port)).map(([name, p]) => (p === null ? name : `${name}:${p}`)),
      fc.tuple(fc.constantFrom('127.0.0.1', 'localhost', 'LOCALHOST', 'localhost.', '127.1', '0.0.0.0', '[::1]', '127.0.0.2', '127.0.0.1.nip.io', 'LocalHost'), port).map(([name, p]) => `${name}:${p}`),
      fc.constantFrom('127.0.0.1', 'localhost', '', ' ', `127.0.0.1:${served.port} `, `localhost:${served.port}:1`, `127.0.0.1:0${served.port}`),
      visible,
    );
    const counts = { refused: 0, admitted: 0 };
    await fc.assert(
      fc.asyncProperty(host, fc.constantFrom(0, 1), async (value, which) => {
        const listener = listeners[which]!;
        const answer = await rawRequest(listener.port, request(listener.path, `Host: ${value}\r\n`));
        const trimmed = value.trim().toLowerCase();
        if (trimmed === `127.0.0.1:${listener.port}` || trimmed === `localhost:${listener.port}`) {
          expect(answer.status, value).toBe(listener.name === 'oauth' ? 200 : 401);
          counts.admitted++;
        } else {
          expect(answer.status, value).toBe(400);
          expect(JSON.parse(answer.body).error).toBe('invalid_request');
          counts.refused++;
        }
      }),
      { numRuns: HOST_INPUTS, seed: SEED },
    );
    await expectServing();
    report('hostile.host', { inputs: HOST_INPUTS, ...counts });
  });

  it(`refuses ${ORIGIN_INPUTS} cross-site Origins 403 on both listeners (seed ${SEED})`, async () => {
    const origin = fc.oneof(
      fc.webUrl().map((url) => new URL(url).origin),
      fc.constantFrom('null', `http://127.0.0.1:${served.port}`, `http://localhost:${served.resourcePort}`, 'app://gatehouse', 'file://'),
    );
    await fc.assert(
      fc.asyncProperty(origin, fc.constantFrom(0, 1), async (value, which) => {
        const listener = listeners[which]!;
        const answer = await rawRequest(listener.port, request(listener.path, `Host: 127.0.0.1:${listener.port}\r\nOrigin: ${value}\r\nAuthorization: Bearer ${accessToken}\r\n`));
        expect(answer.status, value).toBe(403);
        expect(JSON.parse(answer.body).error).toBe('access_denied');
        expect(answer.headers['access-control-allow-origin']).toBeUndefined();
      }),
      { numRuns: ORIGIN_INPUTS, seed: SEED },
    );
    await expectServing();
    report('hostile.origin', { inputs: ORIGIN_INPUTS, refused: ORIGIN_INPUTS });
  });

  it(`refuses ${OVERSIZED} oversized headers and ${OVERSIZED} oversized bodies, keeps serving, memory bounded`, async () => {
    const before = { serve: rssBytes(served.child.pid!), service: rssBytes(servicePid) };
    const bigHeader = `X-Filler: ${'h'.repeat(9 * 1024)}\r\n`;
    const oauth = listeners[0]!;
    const resource = listeners[1]!;
    const post = (listener: { port: number }, path: string, headers: string, body: string): [number, string] => [
      listener.port,
      `POST ${path} HTTP/1.1\r\nHost: 127.0.0.1:${listener.port}\r\n${headers}\r\n${body}`,
    ];
    const chunk = `400\r\n${'a'.repeat(1024)}\r\n`;
    // Raw requests, so that the answer is read even though the server refuses before the body ends.
    const kinds = [
      // Headers over 8 KiB: 431 from both listeners.
      (i: number): [number, string] => {
        const { port, path } = listeners[i % 2]!;
        return [port, request(path, `Host: 127.0.0.1:${port}\r\n${bigHeader}`)];
      },
      // A declared body over the limit (16 KiB at /token, 256 KiB at the records API), of which 1 KiB is sent.
      (i: number) =>
        i % 2 === 0
          ? post(oauth, '/token', 'Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 20480\r\n', 'p'.repeat(1024))
          : post(resource, '/api/records', `Authorization: Bearer ${accessToken}\r\nContent-Type: application/json\r\nContent-Length: 307200\r\n`, '{'.repeat(1024)),
      // A chunked body (no Content-Length) that goes past 16 KiB while it is read.
      () => post(oauth, '/token', 'Content-Type: application/x-www-form-urlencoded\r\nTransfer-Encoding: chunked\r\n', chunk.repeat(17)),
    ];
    const statuses = new Map<number, number>();
    const batch = 25;
    for (let start = 0; start < OVERSIZED * 2; start += batch) {
      await Promise.all(
        Array.from({ length: batch }, async (_, k) => {
          const i = start + k;
          const raw = await rawRequest(...kinds[i % 3]!(i));
          const answer = { status: raw.status, body: JSON.parse(raw.body) };
          statuses.set(answer.status, (statuses.get(answer.status) ?? 0) + 1);
          expect([413, 431]).toContain(answer.status);
          expectDocumentedError(answer, `oversized request ${i}`);
        }),
      );
    }
    await expectServing();
    const after = { serve: rssBytes(served.child.pid!), service: rssBytes(servicePid) };
    expect(after.serve - before.serve).toBeLessThan(MEMORY_BOUND);
    expect(after.service - before.service).toBeLessThan(MEMORY_BOUND);
    report('hostile.oversized', {
      requests: OVERSIZED * 2,
      statuses: [...statuses].map(([status, n]) => `${status}:${n}`).join(','),
      serveRssMiB: `${(before.serve / 2 ** 20).toFixed(0)}->${(after.serve / 2 ** 20).toFixed(0)}`,
      serviceRssMiB: `${(before.service / 2 ** 20).toFixed(0)}->${(after.service / 2 ** 20).toFixed(0)}`,
    });
  });

  it(`cuts ${SLOW_CONNECTIONS} slow-loris connections per listener while serving others, memory bounded`, async () => {
    const before = { serve: rssBytes(served.child.pid!), service: rssBytes(servicePid) };
    const sockets: Array<{ socket: Socket; closed: boolean; answer: string }> = [];
    for (const listener of listeners) {
      for (let n = 0; n < SLOW_CONNECTIONS; n++) {
        const entry = { socket: connect(listener.port, '127.0.0.1'), closed: false, answer: '' };
        entry.socket.on('data', (chunk: Buffer) => (entry.answer += chunk.toString('latin1')));
        entry.socket.on('error', () => {});
        entry.socket.on('close', () => (entry.closed = true));
        entry.socket.write(`GET ${listener.path} HTTP/1.1\r\nHost: 127.0.0.1:${listener.port}\r\n`);
        sockets.push(entry);
      }
    }
    // Each trickles one more header line a second and never finishes; meanwhile others are served.
    const trickle = setInterval(() => {
      for (const entry of sockets) if (!entry.closed) entry.socket.write(`X-Slow-${Math.random().toString(36).slice(2)}: 1\r\n`);
    }, 1000);
    let served200 = 0;
    try {
      const serving = (async () => {
        while (sockets.some((entry) => !entry.closed)) {
          await expectServing();
          served200 += 2;
          await new Promise((resolve) => setTimeout(resolve, 200));
        }
      })();
      await eventually(() => sockets.every((entry) => entry.closed), 'every slow connection was cut by the server', 60_000);
      await serving;
    } finally {
      clearInterval(trickle);
      for (const entry of sockets) entry.socket.destroy();
    }
    const timedOut = sockets.filter((entry) => entry.answer.startsWith('HTTP/1.1 408')).length;
    expect(timedOut).toBe(sockets.length);
    const after = { serve: rssBytes(served.child.pid!), service: rssBytes(servicePid) };
    expect(after.serve - before.serve).toBeLessThan(MEMORY_BOUND);
    expect(after.service - before.service).toBeLessThan(MEMORY_BOUND);
    report('hostile.slow-loris', { connections: sockets.length, answered408: timedOut, servedMeanwhile: served200 });
  });
});
