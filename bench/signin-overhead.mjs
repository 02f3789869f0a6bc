// signin_overhead: what a sign-in costs beyond its one argon2id evaluation. Sign-ins run one at a
// time through the library (engine.token, priority 'app'), alternating with bare argon2id runs at
// the same parameters on this thread, so both see the same machine at the same moments.
import { join } from 'node:path';
import { argon2id } from '@noble/hashes/argon2.js';
import { DEFAULT_POLICY } from '../dist/index.js';
import { defaultPoolSize, HashPool } from '../dist/passwords/hash-pool.js';
import { addUsers, benchEngine, CLIENT_ID, PASSWORD, phcHash, scratchDir } from './lib/fixtures.mjs';
import { instrumentSqlite } from './lib/sqlite-timing.mjs';
import { bootstrapInterval, median, round, summary } from './lib/stats.mjs';

export const figures = [
  {
    id: 'signin_overhead',
    what: 'sign-in latency p50 ÷ bare argon2id time at the same parameters (same run, interleaved)',
    unit: '×',
    target: { max: 1.15 },
  },
];

export async function measure({ quick }) {
  const samples = quick ? 6 : 24;
  const params = DEFAULT_POLICY.argon2;
  const sqlite = instrumentSqlite();
  const engine = await benchEngine(join(scratchDir('signin'), 'auth.db'));
  // The engine's own pool, driven bare: a derivation on a worker, with the message round trip.
  const pool = new HashPool(defaultPoolSize());
  try {
    const names = Array.from({ length: samples + 3 }, (_, i) => `user${i}`);
    await addUsers(engine, names, phcHash());
    const signIn = (username) =>
      engine.token({ grant_type: 'password', client_id: CLIENT_ID, username, password: PASSWORD }, undefined, { priority: 'app' });
    const bareHere = () => argon2id(PASSWORD, new Uint8Array(16), { ...params, dkLen: 32 });
    const bareWorker = () => pool.derive(PASSWORD, new Uint8Array(16), params, 32, 'app');
    // Warm-up: the JIT of this thread and of the first worker (sequential sign-ins use worker 1).
    for (let i = 0; i < 3; i++) {
      bareHere();
      await bareWorker();
      await signIn(names[samples + i]);
    }

    // Wall time is what the figure is about; process CPU time (all threads) is kept beside it,
    // because on a loaded machine wall time mostly measures waiting for a core.
    const timed = async (fn) => {
      const cpu0 = process.cpuUsage();
      const t0 = performance.now();
      await fn();
      const ms = performance.now() - t0;
      const cpu = process.cpuUsage(cpu0);
      return { ms, cpuMs: (cpu.user + cpu.system) / 1000 };
    };
    const signin = [];
    const here = [];
    const worker = [];
    const writes = [];
    for (let i = 0; i < samples; i++) {
      const bare = async () => here.push(await timed(bareHere));
      const one = async () => {
        sqlite.clear();
        signin.push(
          await timed(async () => {
            const result = await signIn(names[i]);
            if (typeof result.access_token !== 'string') throw new Error('sign-in failed');
          }),
        );
        writes.push(sqlite.events.reduce((s, e) => s + e.ms, 0));
      };
      // Alternate which comes first; the pool-worker variant (a diagnostic) after both.
      if (i % 2 === 0) await bare().then(one);
      else await one().then(bare);
      worker.push(await timed(bareWorker));
    }
    const ms = (list) => list.map((x) => x.ms);
    const cpu = (list) => list.map((x) => x.cpuMs);
    const value = median(ms(signin)) / median(ms(here));
    const paired = signin.map((s, i) => s.ms / here[i].ms);
    const pick = (list, indices) => indices.map((i) => list[i]);
    const interval = bootstrapInterval(samples, (ix) => median(ms(pick(signin, ix))) / median(ms(pick(here, ix))));
    const cpuRatio = median(cpu(signin)) / median(cpu(here));
    return {
      signin_overhead: {
        value: round(value, 3),
        signin_ms: summary(ms(signin), 1),
        bare_argon2id_ms: summary(ms(here), 1),
        bare_argon2id_in_pool_worker_ms: summary(ms(worker), 1),
        paired_ratio: summary(paired, 3),
        bootstrap_95: interval.map((x) => round(x, 3)),
        signin_vs_pool_worker: round(median(ms(signin)) / median(ms(worker)), 3),
        cpu_ms: { signin: summary(cpu(signin), 1), bare: summary(cpu(here), 1), pool_worker: summary(cpu(worker), 1) },
        cpu_ratio: round(cpuRatio, 3),
        sqlite_writes_per_signin_ms: summary(writes, 2),
        params,
        summary:
          `p50 of ${samples} sequential sign-ins ${round(median(ms(signin)), 0)} ms ÷ p50 bare argon2id (m=${params.m}, t=${params.t}, p=${params.p}) ` +
          `on this thread ${round(median(ms(here)), 0)} ms, interleaved (median of paired ratios ${round(median(paired), 3)}; ` +
          `95% bootstrap interval of the figure ${round(interval[0], 3)}–${round(interval[1], 3)}); ` +
          `the same hash on the engine's pool worker: ${round(median(ms(worker)), 0)} ms (sign-in ÷ that: ${round(median(ms(signin)) / median(ms(worker)), 3)}). ` +
          `CPU time (all threads): sign-in ${round(median(cpu(signin)), 0)} ms ÷ bare ${round(median(cpu(here)), 0)} ms = ${round(cpuRatio, 3)}; ` +
          `SQLite writes (on the loop) per sign-in p50 ${round(median(writes), 2)} ms.`,
      },
    };
  } finally {
    sqlite.restore();
    await pool.close();
    await engine.close();
  }
}
