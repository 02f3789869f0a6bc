import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gatehouseAsync, type Run } from '../cli-helpers.js';
import { PASSWORD } from '../helpers.js';
import { race } from '../process-racers.js';
import { fileTempDir, startServe, type Served } from '../serve-process.js';
import { APP_CLIENT, integrityCheck, postForm, prepareDatabase, query, readAnswer, report, scaled } from './fault-kit.js';

// Races between OS processes on one database: refreshes of one token, failing sign-ins of one
// account, and the CLI changing what a running `gatehouse serve` decides with.

const ENGINE_REFRESH = fileURLToPath(new URL('../fixtures/refresh-once.mjs', import.meta.url));
const HTTP_REFRESH = fileURLToPath(new URL('./fixtures/http-refresh-once.mjs', import.meta.url));
const SIGN_IN_BURST = fileURLToPath(new URL('./fixtures/sign-in-burst.mjs', import.meta.url));
const REFRESH_ROUNDS = scaled(8);
const SIGN_IN_ROUNDS = scaled(4);
const CLI_ROUNDS = scaled(3);

type RefreshOutcome = { pid: number; ok: true; access_token: string; refresh_token: string } | { pid: number; ok: false; error: string };
type Burst = { pid: number; checked: number; refused: number; other: string[] };

let db: string;
let dataDb: string;
let served: Served;

beforeAll(async () => {
  const dir = fileTempDir();
  db = join(dir, 'auth.db');
  dataDb = join(dir, 'auth.data.db');
  await prepareDatabase(db, ['ada', 'eve']);
  served = await startServe(['--db', db, '--port', '0']);
});

afterAll(async () => {
  expect(integrityCheck(db)).toBe('ok');
  expect(integrityCheck(dataDb)).toBe('ok');
  expect(await served.stop('SIGTERM')).toEqual({ code: 0, signal: null });
});

async function signIn(username: string, password = PASSWORD) {
  return postForm(`${served.url}/token`, { grant_type: 'password', client_id: APP_CLIENT, username, password });
}

async function me(accessToken: string) {
  return readAnswer(await fetch(`${served.resourceUrl}/api/me`, { headers: { authorization: `Bearer ${accessToken}` } }));
}

function cli(args: readonly string[], input?: string): Promise<Run> {
  return gatehouseAsync([...args, '--db', db], input === undefined ? {} : { input });
}

describe('races between processes on one database', () => {
  it(`one refresh token presented at once by 4 processes (2 through serve, 2 with their own engine) has exactly one winner, ${REFRESH_ROUNDS} rounds`, async () => {
    for (let round = 1; round <= REFRESH_ROUNDS; round++) {
      const issued = await signIn('ada');
      expect(issued.status).toBe(200);
      const token: string = issued.body.refresh_token;
      const now = String(Date.now());
      const outcomes = await race<RefreshOutcome>([
        [HTTP_REFRESH, served.url, token, APP_CLIENT],
        [ENGINE_REFRESH, db, token, now, APP_CLIENT],
        [HTTP_REFRESH, served.url, token, APP_CLIENT],
        [ENGINE_REFRESH, db, token, now, APP_CLIENT],
      ]);
      const winners = outcomes.filter((o) => o.ok);
      expect(winners, `round ${round}: ${JSON.stringify(outcomes.map((o) => (o.ok ? 'ok' : o.error)))}`).toHaveLength(1);
      for (const loser of outcomes.filter((o) => !o.ok)) expect(loser.error).toBe('invalid_grant');
      // The losers presented a used token: the family ends, the winner's new token with it.
      const winner = winners[0] as Extract<RefreshOutcome, { ok: true }>;
      const after = await postForm(`${served.url}/token`, { grant_type: 'refresh_token', client_id: APP_CLIENT, refresh_token: winner.refresh_token });
      expect(after.body.error).toBe('invalid_grant');
    }
    const ended = query<{ n: number }>(db, "SELECT count(*) AS n FROM sessions WHERE revoked_reason = 'reuse_detected'");
    expect(ended).toEqual([{ n: REFRESH_ROUNDS }]);
    report('races.refresh', { rounds: REFRESH_ROUNDS, processesPerRound: 4, winnersPerRound: 1, familiesEnded: REFRESH_ROUNDS });
  });

  it(`failing sign-ins for one account from 4 processes at once are counted exactly, ${SIGN_IN_ROUNDS} rounds`, async () => {
    let checkedTotal = 0;
    let attempts = 0;
    for (let round = 1; round <= SIGN_IN_ROUNDS; round++) {
      const bursts = await race<Burst>([
        [SIGN_IN_BURST, 'http', served.url, APP_CLIENT, 'eve', '6'],
        [SIGN_IN_BURST, 'engine', db, APP_CLIENT, 'eve', '3'],
        [SIGN_IN_BURST, 'http', served.url, APP_CLIENT, 'eve', '6'],
        [SIGN_IN_BURST, 'engine', db, APP_CLIENT, 'eve', '3'],
      ]);
      for (const burst of bursts) expect(burst.other).toEqual([]);
      const checked = bursts.reduce((sum, burst) => sum + burst.checked, 0);
      expect(checked + bursts.reduce((sum, burst) => sum + burst.refused, 0)).toBe(18);
      const shown = await cli(['users', 'show', 'eve', '--json']);
      expect(shown.status, shown.stderr).toBe(0);
      // Every checked failure is in the count, and nothing else is.
      expect(JSON.parse(shown.stdout).signIn.failures, `round ${round}`).toBe(checked);
      expect(checked).toBeGreaterThan(0);
      checkedTotal += checked;
      attempts += 18;
      const unlocked = await cli(['users', 'unlock', 'eve']);
      expect(unlocked.status, unlocked.stderr).toBe(0);
    }
    // Unlocked: the right password works at once.
    expect((await signIn('eve')).status).toBe(200);
    report('races.sign-in-failures', { rounds: SIGN_IN_ROUNDS, attempts, checkedAndCounted: checkedTotal, miscounted: 0 });
  });

  it(`the CLI changes what a running serve decides at its very next request, under load, ${CLI_ROUNDS} rounds`, async () => {
    // Background load on the same database while the CLI works: refreshes and record writes.
    let stop = false;
    const wrong: string[] = [];
    let loadRequests = 0;
    const load = (async () => {
      const first = await signIn('ada');
      let refresh: string = first.body.refresh_token;
      let access: string = first.body.access_token;
      while (!stop) {
        const refreshed = await postForm(`${served.url}/token`, { grant_type: 'refresh_token', client_id: APP_CLIENT, refresh_token: refresh });
        if (refreshed.status !== 200) wrong.push(`refresh: ${refreshed.status}`);
        else ({ refresh_token: refresh, access_token: access } = refreshed.body);
        const written = await fetch(`${served.resourceUrl}/api/records`, {
          method: 'POST',
          headers: { authorization: `Bearer ${access}`, 'content-type': 'application/json' },
          body: JSON.stringify({ title: `load ${loadRequests}`, body: 'b' }),
        });
        if (written.status !== 201) wrong.push(`write: ${written.status}`);
        loadRequests += 2;
      }
    })();

    let commands = 0;
    const run = async (args: readonly string[], input?: string) => {
      const result = await cli(args, input);
      expect(result.status, `${args.join(' ')}: ${result.stderr}`).toBe(0);
      commands++;
      return result.stdout;
    };
    try {
      for (let round = 1; round <= CLI_ROUNDS; round++) {
        const name = `new${round}`;
        await run(['users', 'add', name, '--scope', 'records:read records:write', '--password-stdin'], `${PASSWORD}\n`);
        const issued = await signIn(name);
        expect(issued.status, 'a user the CLI just added signs in').toBe(200);
        expect((await me(issued.body.access_token)).status).toBe(200);

        const [session] = JSON.parse(await run(['sessions', 'list', name, '--json'])) as Array<{ id: string }>;
        await run(['sessions', 'revoke', session!.id]);
        expect((await me(issued.body.access_token)).status, 'a session the CLI just revoked is refused').toBe(401);

        await run(['users', 'disable', name]);
        expect((await signIn(name)).body.error, 'a user the CLI just disabled cannot sign in').toBe('invalid_grant');
        await run(['users', 'enable', name]);
        expect((await signIn(name)).status, 'a user the CLI just enabled signs in').toBe(200);
      }
    } finally {
      stop = true;
      await load;
    }
    expect(wrong).toEqual([]);
    expect(integrityCheck(db)).toBe('ok');
    report('races.cli-and-serve', { rounds: CLI_ROUNDS, cliCommands: commands, loadRequests, wrongAnswers: 0 });
  });
});
