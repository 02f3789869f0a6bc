import { describe, expect, it } from 'vitest';
import { startHttpServer, type HttpServer } from '../dist/http/server.js';
import { newEngine } from './helpers.js';

// The HTTP module in-process, as an embedding process (the desktop app, if policy enables it) uses it.

async function started(options: Partial<Parameters<typeof startHttpServer>[0]> = {}): Promise<HttpServer> {
  return startHttpServer({ port: 0, ...options });
}

async function getJson(url: string, headers: Record<string, string> = {}): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(url, { headers });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

describe('startHttpServer', () => {
  it('binds 127.0.0.1 and answers 503 until an engine is attached', async () => {
    const http = await started();
    try {
      expect(http.url).toBe(`http://127.0.0.1:${http.port}`);
      expect(http.port).toBeGreaterThan(0);
      expect(await getJson(`${http.url}/keys`)).toEqual({
        status: 503,
        body: { error: 'temporarily_unavailable', error_description: 'The server is starting.' },
      });
      const { engine } = await newEngine();
      http.attach(engine);
      expect((await getJson(`${http.url}/keys`)).status).toBe(200);
      expect(() => http.attach(engine)).toThrow(/already attached/);
    } finally {
      await http.close();
    }
  });

  it('answers 503 once its engine is closed', async () => {
    const http = await started();
    try {
      const { engine } = await newEngine();
      http.attach(engine);
      await engine.close();
      expect(await getJson(`${http.url}/keys`)).toEqual({
        status: 503,
        body: { error: 'temporarily_unavailable', error_description: 'The server is shutting down.' },
      });
    } finally {
      await http.close();
    }
  });

  it('lets in browser origins that are allowed, exactly, and no others', async () => {
    const http = await started({ allowedOrigins: ['app://gatehouse'] });
    try {
      http.attach((await newEngine()).engine);
      expect((await getJson(`${http.url}/keys`, { Origin: 'app://gatehouse' })).status).toBe(200);
      for (const origin of ['app://gatehouse/', 'APP://gatehouse', 'https://gatehouse']) {
        expect((await getJson(`${http.url}/keys`, { Origin: origin })).body.error).toBe('access_denied');
      }
    } finally {
      await http.close();
    }
  });

  it('stops listening on close()', async () => {
    const http = await started();
    http.attach((await newEngine()).engine);
    expect((await getJson(`${http.url}/keys`)).status).toBe(200); // leaves an idle keep-alive connection
    await http.close();
    await expect(fetch(`${http.url}/keys`)).rejects.toMatchObject({ cause: { code: 'ECONNREFUSED' } });
    await expect(http.close()).resolves.toBeUndefined();
  });

  it('sends an engine answer only once beforeReply has resolved, refusals included', async () => {
    const order: string[] = [];
    let release!: () => void;
    let called!: () => void;
    const waiting = new Promise<void>((resolve) => (called = resolve));
    const http = await started({
      beforeReply: () => {
        order.push('beforeReply');
        called();
        return new Promise<void>((resolve) => (release = resolve));
      },
    });
    try {
      http.attach((await newEngine()).engine);
      const answered = fetch(`${http.url}/token`, { method: 'POST', body: new URLSearchParams({ grant_type: 'password' }) }).then(
        (response) => {
          order.push('answered');
          return response.status;
        },
      );
      await waiting;
      order.push('released');
      release();
      expect(await answered).toBe(401); // invalid_client: a refusal by the engine
      expect(order).toEqual(['beforeReply', 'released', 'answered']);
      // Transport refusals do not wait for it: the engine was not asked.
      expect((await getJson(`${http.url}/nowhere`)).status).toBe(404);
      expect(order).toEqual(['beforeReply', 'released', 'answered']);
    } finally {
      await http.close();
    }
  });

  it('refuses a port that is not one', async () => {
    for (const port of [-1, 65536, 1.5, Number.NaN]) {
      await expect(startHttpServer({ port })).rejects.toThrow(RangeError);
    }
  });
});
