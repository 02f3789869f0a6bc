// scale: sign-in and refresh p50 on a database holding 100,000 accounts and 1,000,000 refresh-token
// rows, ÷ the same on an empty one, in the same run; and the time openEngine takes (open, vet,
// migrate, first key, retention) on the full file.
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { openEngine } from '../dist/index.js';
import { openDatabase } from '../dist/store/database.js';
import { SessionRepository } from '../dist/store/sessions.js';
import { markClosedCleanly } from '../dist/store/sqlite-file.js';
import { fillAuthDatabase } from './lib/fill.mjs';
import { addUsers, benchEngine, CLIENT_ID, fileBytes, insertSessions, PASSWORD, phcHash, SCOPE, scratchDir } from './lib/fixtures.mjs';
import { instrumentDatasync } from './lib/datasync-timing.mjs';
import { instrumentSqlite } from './lib/sqlite-timing.mjs';
import { median, round, summary } from './lib/stats.mjs';

export const figures = [
  {
    id: 'scale',
    what: 'sign-in and refresh p50 at 100k users / 1M token rows ÷ empty database; openEngine time at that size',
    rows: [
      { id: 'scale', label: 'scale (p50 ratio)', key: 'value', unit: '×', target: { max: 1.1 } },
      { id: 'scale', label: 'scale: open + migrate', key: 'open_migrate_ms', unit: 'ms', target: { max: 50 } },
    ],
  },
];

const SIZE = { users: 100_000, liveSessions: 200_000, tokensPerSession: 5, endedSessions: 800_000 };

export async function measure({ quick }) {
  // Two sign-ins at once on 2 cores: 16 pairs gave sign-in ratios from 0.83 to 1.06; 40 settle it.
  const signInPairs = quick ? 4 : 40;
  // A refresh's time is mostly its WAL write and fdatasync, whose distributions have two modes on
  // this disk, and which mode a file is in drifts over seconds: 400 samples gave ratios from 1.003
  // to 1.126 between runs of the same code. So: thousands of samples, in rounds spread over the
  // run, after a warm-up that brings both WAL files into their steady cycle.
  const warmups = quick ? 50 : 300;
  const rounds = quick ? 2 : 8;
  const perRound = quick ? 100 : 1000;
  const refreshes = warmups + rounds * perRound;
  const opens = 3;
  const dir = scratchDir('scale');
  const fullPath = join(dir, 'full.db');
  const emptyPath = join(dir, 'empty.db');
  const hash = phcHash();

  // The full database: schema and client by the engine, then rows straight through SQLite.
  await (await benchEngine(fullPath)).close();
  let t0 = performance.now();
  const { kept } = fillAuthDatabase(fullPath, {
    ...SIZE,
    clientId: CLIENT_ID,
    scope: SCOPE.join(' '),
    passwordHash: hash,
    keep: refreshes + 20,
  });
  const fillSeconds = (performance.now() - t0) / 1000;
  const counts = rowCountsOf(fullPath);

  // The empty database: the same client, just the accounts and sessions the samples use.
  const emptyEngine = await benchEngine(emptyPath);
  const emptyUsers = Array.from({ length: signInPairs + 2 }, (_, i) => `user${i}`);
  const emptyUserIds = await addUsers(emptyEngine, emptyUsers, hash);
  await emptyEngine.close();
  const emptyTokens = insertSessions(emptyPath, { userIds: emptyUserIds, count: refreshes + 20 });

  // The first open of each file is as after a crash: the bench deletes the clean-close mark the
  // engine left (the fill kept it: it changes the file in place and leaves no WAL), so that open
  // waits for the whole-file quick_check. Then openEngine on each, closed again at once, three times —
  // the figure: an app restarting after a clean shutdown. Then its parts, on the same files:
  // openDatabase (vet, open, pragmas, migrate; each closed with the engine's clean-close mark), and
  // the quick_check worker alone (what an open after an unclean close waits for). What openEngine
  // adds to openDatabase is the first signing key with its retention prune.
  const firstOpen = {};
  for (const [name, path] of [['full', fullPath], ['empty', emptyPath]]) {
    const db = new Database(path);
    db.prepare("DELETE FROM meta WHERE key = 'closed_cleanly'").run();
    db.close();
    t0 = performance.now();
    const engine = await openEngine({ path, hashWorkers: 1 });
    firstOpen[name] = round(performance.now() - t0, 0);
    await engine.close();
  }
  const openTimes = { full: [], empty: [] };
  const dbTimes = { full: [], empty: [] };
  const checkTimes = { full: [], empty: [] };
  for (let i = 0; i < opens; i++) {
    for (const [name, path] of [['full', fullPath], ['empty', emptyPath]]) {
      t0 = performance.now();
      const engine = await openEngine({ path, hashWorkers: 1 });
      openTimes[name].push(performance.now() - t0);
      await engine.close();
    }
  }
  for (let i = 0; i < opens; i++) {
    for (const [name, path] of [['full', fullPath], ['empty', emptyPath]]) {
      t0 = performance.now();
      const { db } = await openDatabase(path);
      dbTimes[name].push(performance.now() - t0);
      markClosedCleanly(db, path);
      db.close();
      checkTimes[name].push(await quickCheckWorker(path));
    }
  }
  const partsOf = (name) => ({
    first_open_without_mark: firstOpen[name],
    open_engine: round(median(openTimes[name]), 0),
    open_database: round(median(dbTimes[name]), 0),
    quick_check_worker: round(median(checkTimes[name]), 0),
    first_key_and_prune: round(median(openTimes[name]) - median(dbTimes[name]), 0),
  });
  const parts = { ...partsOf('full'), ...pruneStatements(fullPath) };
  const emptyParts = partsOf('empty');

  // Both engines open side by side, one hash worker each.
  const full = await openEngine({ path: fullPath, hashWorkers: 1 });
  const empty = await openEngine({ path: emptyPath, hashWorkers: 1 });
  try {
    const signIn = (engine, username) =>
      engine.token({ grant_type: 'password', client_id: CLIENT_ID, username, password: PASSWORD }, undefined, { priority: 'app' });
    const refresh = (engine, token) => engine.token({ grant_type: 'refresh_token', client_id: CLIENT_ID, refresh_token: token });
    const timed = async (fn) => {
      const start = performance.now();
      await fn();
      return performance.now() - start;
    };
    // Warm-up: each engine's worker and first token.
    await Promise.all([signIn(full, 'user99999'), signIn(empty, emptyUsers.at(-1))]);
    await refresh(full, kept.at(-1).token);
    await refresh(empty, emptyTokens.at(-1));

    // Sign-ins in pairs started together (one per engine, each on its own worker): argon2id
    // dominates and the machine is noisy, so both sides must see the same moments.
    const signIns = { full: [], empty: [] };
    for (let i = 0; i < signInPairs; i++) {
      const [a, b] = await Promise.all([
        timed(() => signIn(full, `user${(1000 + i * 7919) % SIZE.users}`)),
        timed(() => signIn(empty, emptyUsers[i])),
      ]);
      signIns.full.push(a);
      signIns.empty.push(b);
    }
    // Refreshes one at a time, alternating; each presents a token never used before. Its parts are
    // timed too: the write transaction's statements (which a bigger B-tree could slow), its commit
    // (the WAL write) and the fdatasync it waits for (neither depends on the size), and the rest.
    const refreshTimes = { full: [], empty: [] };
    const statements = { full: [], empty: [] };
    const commits = { full: [], empty: [] };
    const datasyncs = { full: [], empty: [] };
    const rest = { full: [], empty: [] };
    const roundRatios = [];
    const sqlite = instrumentSqlite();
    const datasync = await instrumentDatasync();
    for (let i = 0; i < refreshes; i++) {
      const measured = i >= warmups;
      const order = i % 2 === 0 ? ['full', 'empty'] : ['empty', 'full'];
      for (const name of order) {
        const engine = name === 'full' ? full : empty;
        const token = name === 'full' ? kept[i].token : emptyTokens[i];
        sqlite.clear();
        datasync.clear();
        const ms = await timed(() => refresh(engine, token));
        if (!measured) continue;
        const txn = sqlite.events.find((e) => e.kind === 'transaction');
        refreshTimes[name].push(ms);
        statements[name].push(txn.ms - txn.commitMs);
        commits[name].push(txn.commitMs);
        datasyncs[name].push(datasync.ms);
        rest[name].push(ms - txn.ms - datasync.ms);
      }
      if (measured && (i - warmups + 1) % perRound === 0) {
        const last = (name) => refreshTimes[name].slice(-perRound);
        roundRatios.push(round(median(last('full')) / median(last('empty')), 3));
      }
    }
    sqlite.restore();
    datasync.restore();
    const sidesOf = (samples) => ({ full: summary(samples.full, 3), empty: summary(samples.empty, 3) });
    const signInRatio = median(signIns.full) / median(signIns.empty);
    const refreshRatio = median(refreshTimes.full) / median(refreshTimes.empty);
    const openMs = median(openTimes.full);
    return {
      scale: {
        value: round(Math.max(signInRatio, refreshRatio), 3),
        signin_ratio: round(signInRatio, 3),
        refresh_ratio: round(refreshRatio, 3),
        open_migrate_ms: round(openMs, 0),
        open_ms: { full: openTimes.full.map((x) => round(x, 0)), empty: openTimes.empty.map((x) => round(x, 0)) },
        open_parts_ms: { full: parts, empty: emptyParts },
        signin_ms: { full: summary(signIns.full, 1), empty: summary(signIns.empty, 1) },
        refresh_ms: { full: summary(refreshTimes.full, 2), empty: summary(refreshTimes.empty, 2) },
        refresh_round_ratios: roundRatios,
        refresh_statements_ms: sidesOf(statements),
        refresh_commit_ms: sidesOf(commits),
        refresh_datasync_ms: sidesOf(datasyncs),
        refresh_rest_ms: sidesOf(rest),
        signin_paired_ratio: round(median(signIns.full.map((f, i) => f / signIns.empty[i])), 3),
        database: { ...counts, bytes: fileBytes(fullPath), fill_seconds: round(fillSeconds, 1) },
        summary:
          `${counts.users} users, ${counts.refresh_tokens} refresh-token rows, ${counts.sessions} sessions (${(fileBytes(fullPath) / 2 ** 20).toFixed(0)} MiB) vs empty: ` +
          `sign-in p50 ${round(median(signIns.full), 0)} vs ${round(median(signIns.empty), 0)} ms (${signInPairs} pairs, ratio ${round(signInRatio, 3)}), ` +
          `refresh p50 ${round(median(refreshTimes.full), 2)} vs ${round(median(refreshTimes.empty), 2)} ms (${rounds} × ${perRound} each after ${warmups} unmeasured, ratio ${round(refreshRatio, 3)}; by round ${roundRatios.join(', ')}; ` +
          `p50s of its parts: the transaction's statements ${round(median(statements.full), 3)} vs ${round(median(statements.empty), 3)} ms, its commit ${round(median(commits.full), 3)} vs ${round(median(commits.empty), 3)} ms, ` +
          `the fdatasync waited for ${round(median(datasyncs.full), 3)} vs ${round(median(datasyncs.empty), 3)} ms, the rest ${round(median(rest.full), 3)} vs ${round(median(rest.empty), 3)} ms). ` +
          `openEngine after a clean close ${round(openMs, 0)} ms at that size (empty file: ${emptyParts.open_engine} ms; ` +
          `the first open, without the mark (as after a crash), with the whole-file check: ${parts.first_open_without_mark} ms, empty ${emptyParts.first_open_without_mark} ms): openDatabase ${parts.open_database} ms ` +
          `(${emptyParts.open_database}), of which its quick_check worker ${parts.quick_check_worker} ms (${emptyParts.quick_check_worker}); ` +
          `first signing key with retention prune ${parts.first_key_and_prune} ms (${emptyParts.first_key_and_prune}), (its prune statements timed apart on the same file: ${parts.prune} ms; ` +
          `a token backlog from before the index: ${parts.token_backlog_batch_of_1000} ms a batch, ${parts.token_backlog_at_once} ms at once).`,
      },
    };
  } finally {
    await full.close();
    await empty.close();
  }
}

/** The engine's own vetting step alone: its quick_check worker started, run and answered. */
function quickCheckWorker(path) {
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const worker = new Worker(new URL('../dist/store/quick-check-worker.js', import.meta.url), { workerData: { path } });
    worker.once('message', () => resolve(performance.now() - t0));
    worker.once('error', reject);
  });
}

function rowCountsOf(path) {
  const db = new Database(path, { readonly: true });
  try {
    const count = (table) => db.prepare(`SELECT count(*) FROM ${table}`).pluck().get();
    return { users: count('users'), sessions: count('sessions'), refresh_tokens: count('refresh_tokens') };
  } finally {
    db.close();
  }
}

/**
 * The retention statements that run when the engine starts its first signing key, timed in
 * transactions rolled back here, so nothing changes: the session prune, and the token prune as
 * the engine finds it (from the mark the fill left), then from the start of time — a database from
 * before the index — its first batch and the whole backlog in one go.
 */
function pruneStatements(path) {
  const db = new Database(path);
  const sessions = new SessionRepository(db);
  const now = Date.now();
  const timedRolledBack = (fn) => {
    db.exec('BEGIN IMMEDIATE');
    try {
      const start = performance.now();
      fn();
      return round(performance.now() - start, 1);
    } finally {
      db.exec('ROLLBACK');
    }
  };
  const fromStart = () => db.prepare("DELETE FROM meta WHERE key = 'tokens_pruned_from'").run();
  try {
    const pruneSessions = timedRolledBack(() => sessions.pruneSessionsEndedBefore(now - 30 * 86_400_000));
    const pruneTokens = timedRolledBack(() => sessions.pruneEndedTokens(now, 1000, 3_600_000));
    const backlogBatch = timedRolledBack(() => {
      fromStart();
      sessions.pruneEndedTokens(now, 1000, 3_600_000);
    });
    const backlogAtOnce = timedRolledBack(() => {
      fromStart();
      sessions.pruneEndedTokens(now, 10_000_000, 3_600_000);
    });
    return {
      prune: round(pruneTokens + pruneSessions, 1),
      prune_refresh_tokens: pruneTokens,
      prune_sessions: pruneSessions,
      token_backlog_batch_of_1000: backlogBatch,
      token_backlog_at_once: backlogAtOnce,
    };
  } finally {
    db.close();
  }
}
