// The reference of api_vs_bare: a bare node:http handler answering what GET /api/me answers (the
// token's subject, username, scopes and expiry as JSON), with no token check at all.
//   node bench/servers/bare-http.mjs     prints {"url": …} once it answers
import { createServer } from 'node:http';
import { serveUntilStopped } from './cpu.mjs';

const body = JSON.stringify({
  sub: '0d4f5b7e-9a55-4f0e-8a39-3f7c1c1f2b6d',
  username: 'member0',
  scope: ['records:read', 'records:write'],
  exp: '2026-01-15T09:05:00Z',
});
const server = createServer((req, res) => {
  res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' });
  res.end(body);
});
serveUntilStopped(server);
