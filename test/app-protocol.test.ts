import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { APP_SECURITY_HEADERS, createAppProtocolHandler, type AppProtocolHandler } from '../dist/electron/index.js';
import { tempDir } from './helpers.js';

// The app origin's handler as Electron's protocol.handle calls it: WHATWG Requests in, Responses
// out, over real files in a temp dir and a real loopback server standing for the resource service.

const ORIGIN = 'gatehouse://app';

const servers: Server[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) await new Promise((resolve) => server.close(resolve));
});

/** A built renderer in a temp dir, with a secret file beside it that must never be served. */
function rendererDir(): string {
  const dir = tempDir();
  const renderer = join(dir, 'renderer');
  mkdirSync(join(renderer, 'chunks'), { recursive: true });
  writeFileSync(join(renderer, 'index.html'), '<!doctype html><title>t</title>');
  writeFileSync(join(renderer, 'main.js'), 'console.log(1)');
  writeFileSync(join(renderer, 'styles.css'), 'body{}');
  writeFileSync(join(renderer, 'chunks', 'lazy-AB12.js'), 'export const x = 1');
  writeFileSync(join(renderer, 'notes.exe'), 'MZ');
  writeFileSync(join(dir, 'secret.txt'), 'top secret');
  writeFileSync(join(dir, 'secret.js'), 'top secret');
  symlinkSync(join(dir, 'secret.js'), join(renderer, 'linked.js'));
  return renderer;
}

interface Seen {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
}

/** A loopback server that records each request and answers as `reply` says. */
async function service(reply: (seen: Seen, res: import('node:http').ServerResponse) => void): Promise<{ url: string; seen: Seen[] }> {
  const seen: Seen[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk));
    req.on('end', () => {
      const request = { method: req.method!, url: req.url!, headers: req.headers, body };
      seen.push(request);
      reply(request, res);
    });
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen };
}

function expectSecurityHeaders(response: Response): void {
  for (const [name, value] of Object.entries(APP_SECURITY_HEADERS)) expect(response.headers.get(name)).toBe(value);
}

const get = (handler: AppProtocolHandler, path: string, init?: RequestInit) => handler(new Request(`${ORIGIN}${path}`, init));

describe('the app protocol: the built renderer', () => {
  const noService = () => 'http://127.0.0.1:9';

  it('serves index.html for /, the bundles with their content types, and HEAD without a body', async () => {
    const handler = createAppProtocolHandler({ rendererDir: rendererDir(), serviceUrl: noService });
    const index = await get(handler, '/');
    expect(index.status).toBe(200);
    expect(index.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(await index.text()).toBe('<!doctype html><title>t</title>');
    expectSecurityHeaders(index);
    expect(index.headers.get('content-security-policy')).toContain("default-src 'none'");
    expect(index.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect(index.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");

    const script = await get(handler, '/main.js');
    expect(script.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(await script.text()).toBe('console.log(1)');
    expect((await get(handler, '/styles.css')).headers.get('content-type')).toBe('text/css; charset=utf-8');
    expect(await (await get(handler, '/chunks/lazy-AB12.js?v=1')).text()).toBe('export const x = 1');

    const head = await get(handler, '/main.js', { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers.get('content-length')).toBe('14');
    expect(await head.text()).toBe('');
  });

  it('answers 404 for missing files, folders, kinds it does not serve and a folder not built yet, and 405 for other methods', async () => {
    const handler = createAppProtocolHandler({ rendererDir: rendererDir(), serviceUrl: noService });
    for (const path of ['/nope.js', '/chunks', '/chunks/', '/notes.exe', '/api', '/index.html/']) {
      const response = await get(handler, path);
      expect(response.status, path).toBe(404);
      expectSecurityHeaders(response);
      expect(await response.json()).toEqual({ error: 'not_found', error_description: 'There is no such file.' });
    }
    const missingFolder = createAppProtocolHandler({ rendererDir: join(tempDir(), 'not-built-yet'), serviceUrl: noService });
    expect((await get(missingFolder, '/')).status).toBe(404);
    const post = await get(handler, '/index.html', { method: 'POST', body: 'x' });
    expect(post.status).toBe(405);
    expect(post.headers.get('allow')).toBe('GET, HEAD');
  });

  it('refuses every way out of the folder: dot segments, encoded ones, separators, NUL, drive letters, links', async () => {
    const handler = createAppProtocolHandler({ rendererDir: rendererDir(), serviceUrl: noService });
    const attempts = [
      '/../secret.txt',
      '/chunks/../../secret.js',
      '/%2e%2e/secret.js',
      '/%2E%2E%2Fsecret.js',
      '/..%2fsecret.js',
      '/..%5csecret.js',
      '/chunks%2f..%2f..%2fsecret.js',
      '/%252e%252e/secret.js',
      '//etc/passwd.js',
      '/C:%5cWindows%5cwin.js',
      '/main.js%00.css',
      '/%ff.js',
      '/linked.js',
    ];
    for (const path of attempts) {
      const response = await get(handler, path);
      expect(response.status, path).toBe(404);
      expect(await response.text(), path).not.toContain('top secret');
    }
    // A request that names the file outside through an absolute URL path still resolves inside.
    const absolute = await handler(new Request('gatehouse://app/%2Ftmp%2Fsecret.js'));
    expect(absolute.status).toBe(404);
  });

  it('checks its options', () => {
    expect(() => createAppProtocolHandler({ rendererDir: '', serviceUrl: noService })).toThrow(/rendererDir/);
    expect(() => createAppProtocolHandler({ rendererDir: '/x', serviceUrl: 'http://x' as never })).toThrow(/serviceUrl/);
    expect(() => createAppProtocolHandler({ rendererDir: '/x', serviceUrl: noService, maxBodyBytes: -1 })).toThrow(/maxBodyBytes/);
  });
});

describe('the app protocol: /api/* forwarded to the resource service', () => {
  it('forwards method, path and query, Authorization, Content-Type and the body; passes the answer back', async () => {
    const upstream = await service((_seen, res) => {
      res.writeHead(201, { 'Content-Type': 'application/json', Location: '/api/records/r1', 'Set-Cookie': 'a=b', 'X-Internal': 'no' });
      res.end('{"id":"r1"}');
    });
    const handler = createAppProtocolHandler({ rendererDir: rendererDir(), serviceUrl: () => upstream.url });
    const response = await get(handler, '/api/records?limit=5&cursor=abc', {
      method: 'POST',
      headers: { Authorization: 'Bearer v4.public.token', 'Content-Type': 'application/json', Cookie: 'session=1', Origin: 'https://evil.example' },
      body: '{"title":"t","body":"b"}',
    });
    expect(response.status).toBe(201);
    expect(await response.json()).toEqual({ id: 'r1' });
    expect(response.headers.get('location')).toBe('/api/records/r1');
    expect(response.headers.get('content-type')).toBe('application/json');
    expect(response.headers.get('set-cookie')).toBeNull();
    expect(response.headers.get('x-internal')).toBeNull();
    expectSecurityHeaders(response);

    const [seen] = upstream.seen;
    expect(seen).toMatchObject({ method: 'POST', url: '/api/records?limit=5&cursor=abc', body: '{"title":"t","body":"b"}' });
    expect(seen!.headers.authorization).toBe('Bearer v4.public.token');
    expect(seen!.headers['content-type']).toBe('application/json');
    expect(seen!.headers.cookie).toBeUndefined();
    expect(seen!.headers.origin).toBeUndefined();
    expect(seen!.headers.host).toBe(new URL(upstream.url).host);
  });

  it('passes errors and their challenge back, and 204 without a body', async () => {
    const upstream = await service((seen, res) => {
      if (seen.method === 'DELETE') {
        res.writeHead(204).end();
        return;
      }
      res.writeHead(401, { 'Content-Type': 'application/json', 'WWW-Authenticate': 'Bearer error="invalid_token"' });
      res.end('{"error":"invalid_token"}');
    });
    const handler = createAppProtocolHandler({ rendererDir: rendererDir(), serviceUrl: () => upstream.url });
    const refused = await get(handler, '/api/me');
    expect(refused.status).toBe(401);
    expect(refused.headers.get('www-authenticate')).toBe('Bearer error="invalid_token"');
    expect(await refused.json()).toEqual({ error: 'invalid_token' });
    const deleted = await get(handler, '/api/records/r1', { method: 'DELETE', headers: { Authorization: 'Bearer t' } });
    expect(deleted.status).toBe(204);
    expect(await deleted.text()).toBe('');
    expect(upstream.seen.map((seen) => `${seen.method} ${seen.url}`)).toEqual(['GET /api/me', 'DELETE /api/records/r1']);
  });

  it('refuses a body over the cap with 413 without forwarding it, even when it does not declare its length', async () => {
    const upstream = await service((_seen, res) => res.writeHead(200).end('{}'));
    const handler = createAppProtocolHandler({ rendererDir: rendererDir(), serviceUrl: () => upstream.url, maxBodyBytes: 16 });
    const declared = await get(handler, '/api/records', { method: 'POST', body: 'x'.repeat(17) });
    expect(declared.status).toBe(413);
    const streamed = await get(handler, '/api/records', {
      method: 'POST',
      body: new ReadableStream({
        start(controller) {
          controller.enqueue(new TextEncoder().encode('x'.repeat(10)));
          controller.enqueue(new TextEncoder().encode('x'.repeat(10)));
          controller.close();
        },
      }),
      duplex: 'half',
    } as RequestInit);
    expect(streamed.status).toBe(413);
    expectSecurityHeaders(streamed);
    const fits = await get(handler, '/api/records', { method: 'POST', body: 'x'.repeat(16) });
    expect(fits.status).toBe(200);
    expect(upstream.seen.map((seen) => seen.body)).toEqual(['x'.repeat(16)]);
  });

  it('answers 502 when the service cannot be reached, 503 without a service URL, 405 for methods it does not forward', async () => {
    const upstream = await service((_seen, res) => res.writeHead(200).end());
    const port = new URL(upstream.url).port;
    await new Promise((resolve) => servers.pop()!.close(resolve));
    const gone = createAppProtocolHandler({ rendererDir: rendererDir(), serviceUrl: () => `http://127.0.0.1:${port}` });
    const unreachable = await get(gone, '/api/me');
    expect(unreachable.status).toBe(502);
    expect(await unreachable.json()).toMatchObject({ error: 'service_unavailable' });
    const none = createAppProtocolHandler({ rendererDir: rendererDir(), serviceUrl: () => '' });
    expect((await get(none, '/api/me')).status).toBe(503);
    expect((await get(gone, '/api/me', { method: 'PROPFIND' })).status).toBe(405);
  });
});
