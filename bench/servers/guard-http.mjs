// Diagnostic for api_vs_bare (--diagnose): the bearer guard alone behind a bare node:http handler —
// guard.authenticate() on the Authorization header, then the /api/me body — without the shared
// loopback listener (Host/Origin guard, routing, reply shaping). Splits the API's cost per request
// into the guard's and the HTTP layer's.
//   BENCH_RESOURCE='{"issuer","audience","key","revocations"}' node bench/servers/guard-http.mjs
import { createServer } from 'node:http';
import { importDist } from '../lib/resource.mjs';
import { serveUntilStopped } from './cpu.mjs';

const config = JSON.parse(process.env.BENCH_RESOURCE);
const { BearerGuard } = await importDist('resource/index.js');
const guard = new BearerGuard({ issuer: config.issuer, audience: config.audience });
guard.loadSnapshot({ issuer: config.issuer, audience: config.audience, keys: [config.key], revocations: config.revocations });

const server = createServer(async (req, res) => {
  const result = await guard.authenticate(req.headers.authorization);
  if (!result.ok) {
    res.writeHead(result.status, { 'www-authenticate': result.challenge });
    res.end();
    return;
  }
  const { claims, scope } = result;
  res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' });
  res.end(JSON.stringify({ sub: claims.sub, username: claims.username, scope, exp: claims.exp }));
});
serveUntilStopped(server);
