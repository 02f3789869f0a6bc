// api_vs_bare: throughput of the resource service's GET /api/me over loopback HTTP (bearer guard,
// Host/Origin checks, routing, JSON) ÷ a bare node:http handler answering the same body. Each
// server runs in a process of its own; autocannon drives both from this process with the same
// connections, every request carrying the same access token (the app reuses its token for its 5
// minutes, so the guard's cache is warm after the first request: the common case).
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { scratchDir } from './lib/fixtures.mjs';
import { drive, startServer } from './lib/load.mjs';
import { mintTokens, resourceMissing, someRevocations } from './lib/resource.mjs';
import { median, round, summary } from './lib/stats.mjs';

export const figures = [
  {
    id: 'api_vs_bare',
    what: 'resource API GET /api/me throughput over loopback HTTP ÷ a bare node:http handler',
    unit: '×',
    target: { min: 0.5 },
  },
];

export const unavailable = () => resourceMissing(['resource/index.js', 'resource/server.js', 'resource/records.js']);

const CONNECTIONS = 8;

export async function measure({ quick, profile, diagnose }) {
  const rounds = quick ? 2 : 4;
  const seconds = quick ? 2 : 3;
  const installation = randomUUID();
  const issuer = `urn:gatehouse:${installation}`;
  const audience = `urn:gatehouse:resource:${installation}`;
  const { tokens, key } = await mintTokens(1, { issuer, audience, ttlSeconds: 3600 });
  const config = { issuer, audience, key, revocations: someRevocations(200), records: join(scratchDir('api'), 'data.db') };
  const api = await startServer('resource-api.mjs', [], { profile, env: { BENCH_RESOURCE: JSON.stringify(config) } });
  const bare = await startServer('bare-http.mjs', [], { profile });
  // --diagnose: the guard alone behind bare node:http, to split the API's cost.
  const guardOnly = diagnose ? await startServer('guard-http.mjs', [], { profile, env: { BENCH_RESOURCE: JSON.stringify(config) } }) : undefined;
  const servers = { api, bare, ...(guardOnly ? { guard: guardOnly } : {}) };
  const names = Object.keys(servers);
  const runs = Object.fromEntries(names.map((n) => [n, []]));
  const served = Object.fromEntries(names.map((n) => [n, 0]));
  const cpuMs = {};
  try {
    const go = async (name, duration) => {
      const server = servers[name];
      const result = await drive({ url: server.url, path: '/api/me', headers: { authorization: `Bearer ${tokens[0]}` }, connections: CONNECTIONS, duration });
      if (result.non2xx > 0 || result.errors > 0) throw new Error(`${name}: ${result.non2xx} non-2xx answers, ${result.errors} errors: ${server.stderr()}`);
      served[name] += result.requests;
      return result;
    };
    for (const name of names) await go(name, 1);
    for (let r = 0; r < rounds; r++) {
      for (const name of r % 2 === 0 ? names : [...names].reverse()) runs[name].push(await go(name, seconds));
    }
  } finally {
    for (const name of names) cpuMs[name] = await servers[name].stop();
  }
  const rps = (name) => runs[name].map((r) => r.rps);
  // Cost per request, from each server's own CPU time: what the ratio would be if each server had
  // a core to itself and the client were free (the load generator shares this machine's 2 cores).
  const cpuUs = (name) => (cpuMs[name] * 1000) / served[name];
  const clientUs = (name) => median(runs[name].map((r) => r.clientCpuUs));
  return {
    api_vs_bare: {
      value: round(median(rps('api')) / median(rps('bare')), 3),
      api_rps: summary(rps('api'), 0),
      bare_rps: summary(rps('bare'), 0),
      api_latency_p50_ms: summary(runs.api.map((r) => r.latencyP50), 2),
      bare_latency_p50_ms: summary(runs.bare.map((r) => r.latencyP50), 2),
      server_cpu_us_per_request: { api: round(cpuUs('api'), 1), bare: round(cpuUs('bare'), 1) },
      client_cpu_us_per_request: { api: round(clientUs('api'), 1), bare: round(clientUs('bare'), 1) },
      cpu_capacity_ratio: round(cpuUs('bare') / cpuUs('api'), 3),
      ...(guardOnly
        ? {
            diagnose_guard_only: {
              rps: summary(rps('guard'), 0),
              vs_bare: round(median(rps('guard')) / median(rps('bare')), 3),
              server_cpu_us_per_request: round(cpuUs('guard'), 1),
            },
          }
        : {}),
      rounds,
      seconds_per_round: seconds,
      connections: CONNECTIONS,
      summary:
        `${rounds} alternating ${seconds} s rounds over ${CONNECTIONS} keep-alive connections, one warm token: ` +
        `GET /api/me ${round(median(rps('api')), 0)}/s vs bare node:http ${round(median(rps('bare')), 0)}/s. ` +
        `Server CPU per request: ${round(cpuUs('api'), 1)} µs vs ${round(cpuUs('bare'), 1)} µs (ratio ${round(cpuUs('bare') / cpuUs('api'), 3)}); ` +
        `the load generator's: ${round(clientUs('api'), 1)} vs ${round(clientUs('bare'), 1)} µs.` +
        (guardOnly
          ? ` Diagnostic: the guard alone behind bare node:http ${round(median(rps('guard')), 0)}/s (${round(median(rps('guard')) / median(rps('bare')), 3)} of bare), ${round(cpuUs('guard'), 1)} µs CPU per request.`
          : ''),
    },
  };
}
