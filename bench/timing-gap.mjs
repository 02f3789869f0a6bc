// timing_gap: whether the answer time tells an unknown username from a wrong password. Samples come
// in pairs started together (one of each kind, on the engine's two hash workers, alternating which
// goes first), so both kinds see the same machine at the same moment; every name is used once, so
// the throttle never refuses a sample (each is a checked failure, counted and audited).
import { join } from 'node:path';
import { OAuthError } from '../dist/index.js';
import { addUsers, benchEngine, CLIENT_ID, phcHash, scratchDir, WRONG_PASSWORD } from './lib/fixtures.mjs';
import { bootstrapInterval, median, round, summary } from './lib/stats.mjs';

export const figures = [
  {
    id: 'timing_gap',
    what: '|median(unknown-user answer) − median(wrong-password answer)| ÷ median(wrong-password answer)',
    unit: '',
    target: { max: 0.05 },
  },
];

export async function measure({ quick }) {
  const pairs = quick ? 16 : 64;
  const engine = await benchEngine(join(scratchDir('timing'), 'auth.db'), { hashWorkers: 2 });
  try {
    const accounts = Array.from({ length: pairs + 4 }, (_, i) => `member${i}`);
    await addUsers(engine, accounts, phcHash());
    let unknownSeq = 0;
    const attempt = async (username) => {
      const t0 = performance.now();
      try {
        await engine.token({ grant_type: 'password', client_id: CLIENT_ID, username, password: WRONG_PASSWORD }, undefined, { priority: 'app' });
      } catch (error) {
        if (!(error instanceof OAuthError) || error.code !== 'invalid_grant' || error.retryAfter !== undefined) throw error;
        return performance.now() - t0;
      }
      throw new Error('a wrong password was accepted');
    };
    const unknownName = () => `nobody${process.pid}x${unknownSeq++}`;
    // Warm-up: both workers, both paths.
    for (let i = 0; i < 2; i++) await Promise.all([attempt(accounts[pairs + i]), attempt(unknownName())]);

    const unknown = [];
    const wrong = [];
    for (let i = 0; i < pairs; i++) {
      const [first, second] = i % 2 === 0 ? ['unknown', 'wrong'] : ['wrong', 'unknown'];
      const run = (kind) => (kind === 'unknown' ? attempt(unknownName()) : attempt(accounts[i]));
      const [a, b] = await Promise.all([run(first), run(second)]);
      (first === 'unknown' ? unknown : wrong).push(a);
      (second === 'unknown' ? unknown : wrong).push(b);
    }
    const gap = Math.abs(median(unknown) - median(wrong)) / median(wrong);
    const paired = unknown.map((u, i) => u - wrong[i]);
    const pick = (list, indices) => indices.map((i) => list[i]);
    const interval = bootstrapInterval(pairs, (ix) => Math.abs(median(pick(unknown, ix)) - median(pick(wrong, ix))) / median(pick(wrong, ix)));
    return {
      timing_gap: {
        value: round(gap, 4),
        unknown_user_ms: summary(unknown, 1),
        wrong_password_ms: summary(wrong, 1),
        paired_difference_ms: summary(paired, 1),
        bootstrap_95: interval.map((x) => round(x, 4)),
        pairs,
        via: 'library (engine.token, priority app), 2 hash workers, pairs started together',
        summary:
          `${pairs} pairs: unknown user p50 ${round(median(unknown), 1)} ms vs wrong password p50 ${round(median(wrong), 1)} ms ` +
          `(median paired difference ${round(median(paired), 1)} ms; 95% bootstrap interval of the figure ${round(interval[0], 3)}–${round(interval[1], 3)}); both answer invalid_grant after one argon2id run and one audited, counted failure.`,
      },
    };
  } finally {
    await engine.close();
  }
}
