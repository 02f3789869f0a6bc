// bounded: the token and audit tables (and the file) stay bounded over a long run of refreshes.
// A fake clock (the engine's `clock` option) plays days of use in seconds: a few users keep a
// session each and refresh it every 5 minutes, as the app does before its access token expires;
// when a session reaches its absolute lifetime, its user signs in again. Retention is short, so
// pruning (at each signing-key rotation) and audit retention (after each routine checkpoint) run
// many times during the run. Row counts and file size are sampled along the way.
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { OAuthError } from '../dist/index.js';
import { addUsers, benchEngine, CLIENT_ID, PASSWORD, phcHash, scratchDir } from './lib/fixtures.mjs';
import { statSync } from 'node:fs';
import { round } from './lib/stats.mjs';

export const figures = [
  {
    id: 'bounded',
    what: 'peak rows and file size in the last third of a long run of refreshes ÷ in the middle third (short retention)',
    unit: '×',
  },
];

const POLICY = {
  refreshAbsoluteSeconds: 12 * 3600,
  refreshIdleSeconds: 3600,
  keyRotationSeconds: 3600,
  sessionRetentionSeconds: 3600,
  audit: { retentionDays: 1, maxEvents: 1000, checkpointEvery: 250 },
};
const TABLES = ['refresh_tokens', 'sessions', 'revocations', 'audit_events', 'audit_checkpoints', 'signing_keys', 'throttle'];
const USERS = 4;
const TICK_SECONDS = 300;

export async function measure({ quick }) {
  const ticks = quick ? 300 : 1500;
  const every = 5;
  const printEvery = ticks / 10;
  const clock = { ms: Date.UTC(2026, 0, 5, 8), now() { return this.ms; } };
  const path = join(scratchDir('bounded'), 'auth.db');
  const engine = await benchEngine(path, { clock, policy: POLICY, hashWorkers: 2 });
  const samples = [];
  let closeReader = () => {};
  let refreshes = 0;
  let signIns = 0;
  const t0 = performance.now();
  try {
    const names = Array.from({ length: USERS }, (_, i) => `member${i}`);
    await addUsers(engine, names, phcHash());
    const signIn = async (username) => {
      signIns++;
      return (await engine.token({ grant_type: 'password', client_id: CLIENT_ID, username, password: PASSWORD }, undefined, { priority: 'app' })).refresh_token;
    };
    const tokens = await Promise.all(names.map(signIn));
    const reader = new Database(path, { readonly: true });
    const counters = TABLES.map((t) => [t, reader.prepare(`SELECT count(*) FROM ${t}`).pluck()]);
    const size = (file) => {
      try {
        return statSync(file).size;
      } catch {
        return 0;
      }
    };
    const sample = (tick) =>
      samples.push({
        tick,
        simulated_hours: round((tick * TICK_SECONDS) / 3600, 1),
        refreshes,
        sign_ins: signIns,
        ...Object.fromEntries(counters.map(([t, stmt]) => [t, stmt.get()])),
        db_bytes: size(path),
        wal_bytes: size(`${path}-wal`),
        bytes: size(path) + size(`${path}-wal`),
      });
    sample(0);
    closeReader = () => reader.close();
    for (let tick = 1; tick <= ticks; tick++) {
      clock.ms += TICK_SECONDS * 1000;
      const expired = [];
      for (let u = 0; u < USERS; u++) {
        try {
          tokens[u] = (await engine.token({ grant_type: 'refresh_token', client_id: CLIENT_ID, refresh_token: tokens[u] })).refresh_token;
          refreshes++;
        } catch (error) {
          // The session reached its absolute lifetime: the user signs in again.
          if (!(error instanceof OAuthError) || error.code !== 'invalid_grant') throw error;
          expired.push(u);
        }
      }
      const fresh = await Promise.all(expired.map((u) => signIn(names[u])));
      expired.forEach((u, i) => (tokens[u] = fresh[i]));
      if (tick % every === 0) sample(tick);
    }
  } finally {
    closeReader();
    await engine.close();
  }
  // Sessions end and start again every 144 ticks, so counts saw-tooth: compare the peaks of the
  // middle and last third of the run (each longer than a session's life, and past the first
  // filling of the audit log), table by table and for the file.
  const third = (middle) => samples.filter((s) => (middle ? s.tick > ticks / 3 && s.tick <= (2 * ticks) / 3 : s.tick > (2 * ticks) / 3));
  const peak = (list, key) => Math.max(...list.map((s) => s[key]));
  const peaks = Object.fromEntries(
    [...TABLES, 'db_bytes', 'wal_bytes', 'bytes'].map((key) => [key, { middle_third: peak(third(true), key), last_third: peak(third(false), key) }]),
  );
  const growth = Object.fromEntries(Object.entries(peaks).map(([k, p]) => [k, p.middle_third === 0 ? (p.last_third === 0 ? 1 : Infinity) : p.last_third / p.middle_third]));
  // The figure: the growth of the tables that grow with use, and of the file. (Tables holding a
  // handful of rows — keys, checkpoints — are listed too, where 2 → 3 is not growth.)
  const value = Math.max(growth.refresh_tokens, growth.sessions, growth.audit_events, growth.bytes);
  const first = samples[0];
  const end = samples.at(-1);
  const mid = samples[Math.floor(samples.length / 2)];
  return {
    bounded: {
      value: round(value, 3),
      growth_last_vs_middle_third_peak: Object.fromEntries(Object.entries(growth).map(([k, g]) => [k, round(g, 3)])),
      peaks,
      bytes_before: first.db_bytes + first.wal_bytes,
      bytes_mid: mid.db_bytes + mid.wal_bytes,
      bytes_after: end.db_bytes + end.wal_bytes,
      refreshes,
      sign_ins: signIns,
      simulated_days: round((ticks * TICK_SECONDS) / 86400, 1),
      seconds: round((performance.now() - t0) / 1000, 1),
      policy: POLICY,
      samples: samples.filter((x) => x.tick % printEvery === 0),
      summary:
        `${refreshes} refreshes and ${signIns} sign-ins over ${round((ticks * TICK_SECONDS) / 86400, 1)} simulated days (${USERS} users refreshing every 5 min, ` +
        `12 h sessions, 1 h key rotation and session retention, audit kept to 1000 events): ` +
        `peak rows, middle third → last third of the run: refresh_tokens ${peaks.refresh_tokens.middle_third} → ${peaks.refresh_tokens.last_third}, ` +
        `sessions ${peaks.sessions.middle_third} → ${peaks.sessions.last_third}, audit_events ${peaks.audit_events.middle_third} → ${peaks.audit_events.last_third}, ` +
        `revocations ${peaks.revocations.middle_third} → ${peaks.revocations.last_third}; ` +
        `file ${kib(first.db_bytes)} + WAL ${kib(first.wal_bytes)} at start, ${kib(mid.db_bytes)} + ${kib(mid.wal_bytes)} mid-run, ${kib(end.db_bytes)} + ${kib(end.wal_bytes)} at the end.`,
    },
  };
}

const kib = (bytes) => `${Math.round(bytes / 1024)} KiB`;
