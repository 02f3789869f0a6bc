import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PASSWORD } from '../helpers.js';
import { fileTempDir, startServe, type Served } from '../serve-process.js';
import {
  alive,
  APP_CLIENT,
  childPids,
  CRASH_RUNS,
  eventually,
  freePort,
  integrityCheck,
  postForm,
  prepareDatabase,
  query,
  readAnswer,
  report,
  SEED,
  seededRandom,
  sha256,
} from './fault-kit.js';

// Crash safety: `gatehouse serve` is killed with SIGKILL at a random moment (seeded) while clients
// sign in, refresh and write records; it is restarted on the same files and everything the clients
// were told is checked against what survived.

const USERS = ['ada', 'bob', 'cyd', 'dee'];
const REQUEST_LIMIT_MS = 15_000;

/** One sign-in session as its client knows it. */
interface Family {
  username: string;
  refresh: string;
  /** A refresh was sent and no answer came back (the kill cut it): the server may have rotated. */
  refreshUnanswered: boolean;
}

interface RecordWrite {
  username: string;
  title: string;
  body: string;
  id?: string;
}

/** What the clients of one run were told, and what they sent without an answer. */
interface RunLog {
  run: number;
  families: Family[];
  accessTokens: Array<{ username: string; token: string }>;
  acknowledged: RecordWrite[];
  unanswered: Map<string, RecordWrite>;
  /** Answers that should not have happened while the server was up. */
  wrong: string[];
  counts: { signIns: number; refreshes: number };
}

const totals = { runs: 0, signIns: 0, refreshes: 0, rotatedUnanswered: 0, records: 0, unansweredWrites: 0, unansweredStored: 0, tokensRechecked: 0, killedWithService: 0, serviceExitedAlone: 0 };

/** Every record title of a run starts with this (no run's prefix starts another's). */
function titlePrefix(run: number): string {
  return `r${run}-`;
}

/** Sends a request; undefined when no answer came (the server died under it, or was already gone). */
async function attempt<T>(request: () => Promise<T>): Promise<T | undefined> {
  try {
    return await request();
  } catch {
    return undefined;
  }
}

/** One client: signs in, then refreshes and writes records at random until told to stop. */
async function client(served: Served, username: string, run: number, random: () => number, log: RunLog, stopped: () => boolean): Promise<void> {
  let family: Family | undefined;
  let access = '';
  for (let n = 0; !stopped(); n++) {
    const roll = random();
    if (!family || roll < 0.1) {
      const answer = await attempt(() =>
        postForm(`${served.url}/token`, { grant_type: 'password', client_id: APP_CLIENT, username, password: PASSWORD }),
      );
      if (!answer) return;
      if (answer.status !== 200) {
        log.wrong.push(`sign-in ${username}: ${answer.status} ${JSON.stringify(answer.body)}`);
        return;
      }
      family = { username, refresh: answer.body.refresh_token, refreshUnanswered: false };
      log.families.push(family);
      access = answer.body.access_token;
      log.accessTokens.push({ username, token: access });
      log.counts.signIns++;
    } else if (roll < 0.5) {
      family.refreshUnanswered = true;
      const answer = await attempt(() =>
        postForm(`${served.url}/token`, { grant_type: 'refresh_token', client_id: APP_CLIENT, refresh_token: family!.refresh }),
      );
      if (!answer) return;
      if (answer.status !== 200) {
        log.wrong.push(`refresh ${username}: ${answer.status} ${JSON.stringify(answer.body)}`);
        return;
      }
      family.refresh = answer.body.refresh_token;
      family.refreshUnanswered = false;
      access = answer.body.access_token;
      log.accessTokens.push({ username, token: access });
      log.counts.refreshes++;
    } else {
      const write: RecordWrite = { username, title: `${titlePrefix(run)}${username}-${n}`, body: 'x'.repeat(Math.floor(random() * 4000)) };
      log.unanswered.set(write.title, write);
      const answer = await attempt(async () =>
        readAnswer(
          await fetch(`${served.resourceUrl}/api/records`, {
            method: 'POST',
            headers: { authorization: `Bearer ${access}`, 'content-type': 'application/json' },
            body: JSON.stringify({ title: write.title, body: write.body }),
            signal: AbortSignal.timeout(REQUEST_LIMIT_MS),
          }),
        ),
      );
      if (!answer) return;
      if (answer.status !== 201) {
        log.wrong.push(`record ${write.title}: ${answer.status} ${JSON.stringify(answer.body)}`);
        return;
      }
      log.unanswered.delete(write.title);
      log.acknowledged.push({ ...write, id: answer.body.id });
    }
  }
}

/** Lets the clients work for a seeded while, then kills serve with SIGKILL and waits for its service to go. */
async function workAndKill(served: Served, run: number, random: () => number): Promise<RunLog> {
  const log: RunLog = { run, families: [], accessTokens: [], acknowledged: [], unanswered: new Map(), wrong: [], counts: { signIns: 0, refreshes: 0 } };
  const services = childPids(served.child.pid!);
  expect(services, 'serve runs exactly one child process, its resource service').toHaveLength(1);
  let stopped = false;
  const clients = USERS.map((username) => client(served, username, run, random, log, () => stopped));
  await new Promise((resolve) => setTimeout(resolve, 100 + Math.floor(random() * 2000)));
  // Half the runs kill the resource service in the same instant (as killing the process group
  // would), so that record writes die in flight too; the others leave it to notice its parent died.
  const together = random() < 0.5;
  if (together) process.kill(services[0]!, 'SIGKILL');
  const exit = await served.stop('SIGKILL');
  stopped = true;
  await Promise.all(clients);
  expect(exit.signal).toBe('SIGKILL');
  // No process left behind: the resource service notices its parent is gone and exits.
  await eventually(() => !alive(services[0]!), `resource service ${services[0]} has exited after serve was killed`);
  if (together) totals.killedWithService++;
  else totals.serviceExitedAlone++;
  expect(log.wrong, 'answers given while the server was up').toEqual([]);
  return log;
}

/** Checks, on the restarted server, everything the clients of the killed one were told. */
async function checkAfterRestart(served: Served, db: string, dataDb: string, log: RunLog): Promise<void> {
  expect(integrityCheck(db)).toBe('ok');
  expect(integrityCheck(dataDb)).toBe('ok');

  // No refresh family is half-rotated: every live session has exactly one unused refresh token.
  const halfRotated = query(
    db,
    `SELECT s.id, count(t.hash) AS tokens, coalesce(sum(t.used_at IS NULL), 0) AS unused
     FROM sessions s LEFT JOIN refresh_tokens t ON t.session_id = s.id
     WHERE s.revoked_at IS NULL GROUP BY s.id HAVING unused <> 1`,
  );
  expect(halfRotated).toEqual([]);

  // Every access token a client received still works at the (new) resource service.
  for (const { username, token } of log.accessTokens) {
    const me = await readAnswer(await fetch(`${served.resourceUrl}/api/me`, { headers: { authorization: `Bearer ${token}` } }));
    expect({ status: me.status, username: me.body.username }, JSON.stringify(me.body)).toEqual({ status: 200, username });
    totals.tokensRechecked++;
  }

  // Every refresh token a client holds is still the current one of its family, or its family was
  // rotated by a refresh whose answer the kill cut off (the family then has a newer unused token).
  const fresh = new Map<string, string>();
  for (const family of log.families) {
    const [row] = query<{ used_at: number | null; revoked_at: number | null }>(
      db,
      'SELECT t.used_at, s.revoked_at FROM refresh_tokens t JOIN sessions s ON s.id = t.session_id WHERE t.hash = ?',
      Buffer.from(sha256(family.refresh), 'hex'),
    );
    expect(row, `the refresh token ${family.username} holds is in the database`).toBeDefined();
    expect(row!.revoked_at).toBeNull();
    if (row!.used_at !== null) {
      expect(family.refreshUnanswered, `a used refresh token of ${family.username} without a refresh in flight`).toBe(true);
      totals.rotatedUnanswered++;
      continue;
    }
    const answer = await postForm(`${served.url}/token`, { grant_type: 'refresh_token', client_id: APP_CLIENT, refresh_token: family.refresh });
    expect(answer.status, JSON.stringify(answer.body)).toBe(200);
    fresh.set(family.username, answer.body.access_token);
  }

  // Every acknowledged record is there, as written; every stored one was acknowledged or in flight.
  for (const write of log.acknowledged) {
    const token = fresh.get(write.username) ?? log.accessTokens.find((t) => t.username === write.username)!.token;
    const got = await readAnswer(await fetch(`${served.resourceUrl}/api/records/${write.id}`, { headers: { authorization: `Bearer ${token}` } }));
    expect({ status: got.status, title: got.body.title, body: got.body.body }).toEqual({ status: 200, title: write.title, body: write.body });
  }
  const stored = query<{ title: string; body: string }>(dataDb, "SELECT title, body FROM records WHERE title LIKE ? || '%'", titlePrefix(log.run));
  const acknowledged = new Map(log.acknowledged.map((write) => [write.title, write]));
  for (const { title, body } of stored) {
    const sent = acknowledged.get(title) ?? log.unanswered.get(title);
    expect(sent?.body, `stored record ${title} was sent with this body`).toBe(body);
    if (!acknowledged.has(title)) totals.unansweredStored++;
  }
  expect(stored.length).toBeGreaterThanOrEqual(log.acknowledged.length);
  totals.signIns += log.counts.signIns;
  totals.refreshes += log.counts.refreshes;
  totals.records += log.acknowledged.length;
  totals.unansweredWrites += log.unanswered.size;
}

describe('crash safety of gatehouse serve under SIGKILL', () => {
  it(`loses nothing over ${CRASH_RUNS} kill-and-restart runs (seed ${SEED})`, async () => {
    const dir = fileTempDir();
    const db = join(dir, 'auth.db');
    const dataDb = join(dir, 'auth.data.db');
    await prepareDatabase(db, USERS);
    const random = seededRandom(SEED);
    // The same port every time: the issuer is the URL served, and tokens name their issuer.
    const args = ['--db', db, '--port', String(await freePort())];
    let served = await startServe(args);
    for (let run = 1; run <= CRASH_RUNS; run++) {
      const log = await workAndKill(served, run, random);
      served = await startServe(args);
      await checkAfterRestart(served, db, dataDb, log);
      totals.runs++;
    }
    const service = childPids(served.child.pid!)[0]!;
    expect(await served.stop('SIGTERM')).toEqual({ code: 0, signal: null });
    expect(alive(service)).toBe(false);
    expect(totals.records).toBeGreaterThan(0);
    report('crash', { ...totals, lost: 0 });
  });
});
