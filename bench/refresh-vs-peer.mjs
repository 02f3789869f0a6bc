// refresh_vs_peer: refresh-grant throughput over loopback HTTP with durable SQLite writes.
// Gatehouse: its HTTP adapter and engine in one server process (bench/servers/gatehouse-http.mjs,
// what `gatehouse serve` runs). Peer: node:http + @node-oauth/oauth2-server 5 with a better-sqlite3
// model under the same pragmas (bench/servers/peer-oauth2-server.mjs). Both are driven by autocannon
// from this process with the same connections and request count; every request presents a refresh
// token never used before, from a pool written into each database before the round, so every
// answer is a real rotation: the old token spent, a new one stored durably (fsync), new tokens
// returned. Throughput = 200 answers ÷ wall time of the round. Rounds alternate between the two.
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { addUsers, benchEngine, CLIENT_ID, insertSessions, phcHash, SCOPE, scratchDir } from './lib/fixtures.mjs';
import { drive, startServer } from './lib/load.mjs';
import { median, round, summary } from './lib/stats.mjs';
import { seedPeer } from './servers/peer-schema.mjs';

export const figures = [
  {
    id: 'refresh_vs_peer',
    what: 'refresh-grant throughput over loopback HTTP (durable, rotating) ÷ @node-oauth/oauth2-server 5 + better-sqlite3',
    unit: '×',
    target: { min: 1.0 },
  },
];

const CONNECTIONS = 8;
const USERS = 10;

export async function measure({ quick, profile }) {
  const rounds = quick ? 2 : 4;
  const seconds = quick ? 2 : 3;
  const dir = scratchDir('refresh');
  const ghPath = join(dir, 'gatehouse.db');
  const peerPath = join(dir, 'peer.db');
  const engine = await benchEngine(ghPath);
  const userIds = await addUsers(engine, Array.from({ length: USERS }, (_, i) => `member${i}`), phcHash());
  await engine.close();
  seedPeer(peerPath, { clientId: CLIENT_ID, users: USERS, count: 0, scope: SCOPE.join(' ') });

  const gatehouse = await startServer('gatehouse-http.mjs', [ghPath], { profile });
  const peer = await startServer('peer-oauth2-server.mjs', [peerPath], { profile });
  const sides = {
    gatehouse: { server: gatehouse, pool: (n) => insertSessions(ghPath, { userIds, count: n }), runs: [], all: [] },
    peer: { server: peer, pool: (n) => seedPeer(peerPath, { clientId: CLIENT_ID, users: USERS, count: n, scope: SCOPE.join(' ') }), runs: [], all: [] },
  };
  // A round lasts `seconds`; its pool holds three times what the warm-up rate would use, and never
  // less than 1500 a second (fsync times, and so rates, swing with the machine's other work). A
  // round that still runs out is not counted: it is run again with a pool twice as large.
  let poolSize = 0;
  const round1 = async (name, { requests, duration }) => {
    const side = sides[name];
    // Spare tokens: autocannon may build a request per connection that it never sends.
    const tokens = side.pool((requests ?? poolSize) + 4 * CONNECTIONS);
    let next = 0;
    const result = await drive({
      url: side.server.url,
      method: 'POST',
      path: '/token',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: () => `grant_type=refresh_token&client_id=${CLIENT_ID}&refresh_token=${tokens[next++]}`,
      connections: CONNECTIONS,
      ...(requests ? { amount: requests } : { duration }),
    });
    if (next > tokens.length) {
      // Its successes were rotations all the same: kept for the reconciliation below.
      side.all.push(result);
      side.extraRounds = (side.extraRounds ?? 0) + 1;
      return { ranOut: true };
    }
    if (result.non2xx > 0 || result.errors > 0) {
      throw new Error(`${name}: ${result.non2xx} non-2xx answers and ${result.errors} errors in ${result.ok} refreshes: ${side.server.stderr()}`);
    }
    side.all.push(result);
    return result;
  };
  try {
    // Warm-up (JIT, page cache, first key use), not counted; it also sizes the pools.
    const warm = [await round1('gatehouse', { requests: 1000 }), await round1('peer', { requests: 1000 })];
    poolSize = Math.ceil(Math.max(1500, 3 * Math.max(...warm.map((w) => w.rps))) * seconds);
    for (let r = 0; r < rounds; r++) {
      const order = r % 2 === 0 ? ['gatehouse', 'peer'] : ['peer', 'gatehouse'];
      for (const name of order) {
        let result = await round1(name, { duration: seconds });
        for (let retry = 0; result.ranOut && retry < 3; retry++) {
          poolSize *= 2;
          result = await round1(name, { duration: seconds });
        }
        if (result.ranOut) throw new Error(`${name}: the pool of refresh tokens ran out even at ${poolSize}`);
        sides[name].runs.push(result);
      }
    }
  } finally {
    sides.gatehouse.cpuMs = await gatehouse.stop();
    sides.peer.cpuMs = await peer.stop();
  }
  // Every 200 was a rotation: the presented token is marked used and a successor is stored.
  const db = new Database(ghPath, { readonly: true });
  const used = db.prepare('SELECT count(*) FROM refresh_tokens WHERE used_at IS NOT NULL').pluck().get();
  db.close();
  // And the peer's: one access token stored per refresh it answered. A timed round ends with up to
  // one request per connection in flight, done by the server but not counted by the client.
  const peerDb = new Database(peerPath, { readonly: true });
  const peerIssued = peerDb.prepare('SELECT count(*) FROM access_tokens').pluck().get();
  peerDb.close();
  const answered = (name) => sides[name].all.reduce((n, r) => n + r.ok, 0);
  const uncounted = (stored, name) =>
    stored - answered(name) < 0 || stored - answered(name) > CONNECTIONS * (sides[name].runs.length + (sides[name].extraRounds ?? 0));
  if (uncounted(used, 'gatehouse') || uncounted(peerIssued, 'peer')) {
    throw new Error(`answers and stored rotations disagree: gatehouse ${answered('gatehouse')} vs ${used}, peer ${answered('peer')} vs ${peerIssued}`);
  }

  const rps = (name) => sides[name].runs.map((r) => r.rps);
  // Each server's own CPU time per request (all its threads), and the load generator's.
  const cpuUs = (name) => (sides[name].cpuMs * 1000) / sides[name].all.reduce((n, r) => n + r.requests, 0);
  const clientUs = (name) => median(sides[name].runs.map((r) => r.clientCpuUs));
  const p50 = (name) => sides[name].runs.map((r) => r.latencyP50);
  const value = median(rps('gatehouse')) / median(rps('peer'));
  return {
    refresh_vs_peer: {
      value: round(value, 3),
      gatehouse_rps: summary(rps('gatehouse'), 0),
      peer_rps: summary(rps('peer'), 0),
      gatehouse_latency_p50_ms: summary(p50('gatehouse'), 1),
      peer_latency_p50_ms: summary(p50('peer'), 1),
      rotations_recorded: { gatehouse: used, peer: peerIssued },
      rounds,
      seconds_per_round: seconds,
      refreshes: { gatehouse: sides.gatehouse.runs.reduce((n, r) => n + r.ok, 0), peer: sides.peer.runs.reduce((n, r) => n + r.ok, 0) },
      connections: CONNECTIONS,
      commits_per_refresh: { gatehouse: 1, peer: 2 },
      server_cpu_us_per_refresh: { gatehouse: round(cpuUs('gatehouse'), 0), peer: round(cpuUs('peer'), 0) },
      client_cpu_us_per_refresh: { gatehouse: round(clientUs('gatehouse'), 0), peer: round(clientUs('peer'), 0) },
      summary:
        `${rounds} alternating ${seconds} s rounds over ${CONNECTIONS} keep-alive connections: Gatehouse ${round(median(rps('gatehouse')), 0)}/s ` +
        `(p50 ${round(median(p50('gatehouse')), 1)} ms) vs oauth2-server ${round(median(rps('peer')), 0)}/s (p50 ${round(median(p50('peer')), 1)} ms); ` +
        `server CPU per refresh ${round(cpuUs('gatehouse'), 0)} vs ${round(cpuUs('peer'), 0)} µs. ` +
        `Per refresh Gatehouse commits once (rotation, reuse-detection state, session touch and audit event in one BEGIN IMMEDIATE) and signs a PASETO; ` +
        `the peer commits twice (DELETE the old token; INSERT access + refresh) and returns opaque tokens.`,
    },
  };
}
