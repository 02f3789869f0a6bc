import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';

const PROFILES = fileURLToPath(new URL('../profiles/', import.meta.url));

/**
 * Starts `node bench/servers/<script> …args` and waits for its ready line (one JSON object with
 * `url`). With `profile`, the server writes a V8 CPU profile to bench/profiles/ when it stops.
 */
export async function startServer(script, args = [], { profile = false, env = {} } = {}) {
  const file = fileURLToPath(new URL(`../servers/${script}`, import.meta.url));
  const execArgv = profile ? ['--cpu-prof', `--cpu-prof-dir=${PROFILES}`, `--cpu-prof-name=${script.replace(/\.mjs$/, '')}-${Date.now()}.cpuprofile`] : [];
  const child = spawn(process.execPath, [...execArgv, file, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...env },
  });
  let stderr = '';
  child.stderr.on('data', (chunk) => (stderr += chunk));
  let stdout = '';
  const ready = await new Promise((resolve, reject) => {
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
      const nl = stdout.indexOf('\n');
      if (nl >= 0) resolve(JSON.parse(stdout.slice(0, nl)));
    });
    child.once('exit', (code) => reject(new Error(`${script} exited (${code}) before it was ready: ${stderr}`)));
  });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  return {
    ...ready,
    stderr: () => stderr,
    /**
     * SIGTERM, then waits for the exit (the server closes its listener and database first).
     * Resolves to the CPU time (ms, all threads) the server used while it was up.
     */
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
      const last = stdout.trim().split('\n').at(-1);
      try {
        return JSON.parse(last).cpuMs;
      } catch {
        return undefined;
      }
    },
  };
}

/**
 * Drives one endpoint with autocannon over loopback keep-alive connections. `body()` (optional)
 * makes each request's body, so every request can carry a token of its own. Stops after `amount`
 * requests, or after `duration` seconds. Throughput is 2xx answers per second of wall time.
 */
export async function drive({ url, method = 'GET', path = '/', headers = {}, body, connections = 8, amount, duration }) {
  const request = { method, path, headers };
  if (body) request.setupRequest = (req) => ({ ...req, body: body() });
  const options = { url, connections, pipelining: 1, requests: [request], ...(amount ? { amount } : { duration }) };
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const result = await new Promise((resolve, reject) => {
    autocannon(options, (error, res) => (error ? reject(error) : resolve(res)));
  });
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const ok = result['2xx'];
  return {
    rps: ok / seconds,
    ok,
    non2xx: result.non2xx,
    errors: result.errors + result.timeouts,
    seconds,
    latencyP50: result.latency.p50,
    latencyP99: result.latency.p99,
    /** CPU time of this (client) process per answered request, in µs. */
    clientCpuUs: ((cpu.user + cpu.system) / Math.max(1, result.requests.total)),
    requests: result.requests.total,
  };
}
