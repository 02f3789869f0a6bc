import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { describe, expect, it } from 'vitest';
import { PASSWORD, seeded } from './helpers.js';

const SIGN_INS = 8;

/** Largest gap between ticks of a 1 ms interval: how long the event loop was held at once. */
function gapProbe(): { stop(): number } {
  let last = performance.now();
  let longest = 0;
  const timer = setInterval(() => {
    const now = performance.now();
    longest = Math.max(longest, now - last);
    last = now;
  }, 1);
  return {
    stop() {
      clearInterval(timer);
      return Math.max(longest, performance.now() - last);
    },
  };
}

describe('argon2id runs off the calling thread', () => {
  it(`reports the longest main-thread block during ${SIGN_INS} concurrent sign-ins`, async () => {
    const { engine } = await seeded();
    const signIn = () => engine.token({ grant_type: 'password', client_id: 'desktop', username: 'Alice', password: PASSWORD });

    // One sign-in alone (users.add already started a worker): about the cost of one argon2id hash.
    const singleStarted = performance.now();
    await signIn();
    const single = performance.now() - singleStarted;

    const evaluationsBefore = engine.hashEvaluations;
    const histogram = monitorEventLoopDelay({ resolution: 1 });
    histogram.enable();
    const probe = gapProbe();
    const started = performance.now();
    const results = await Promise.all(Array.from({ length: SIGN_INS }, signIn));
    const elapsed = performance.now() - started;
    const longestGap = probe.stop();
    histogram.disable();
    const longestDelay = histogram.max / 1e6;

    console.log(
      `longest main-thread block during ${SIGN_INS} concurrent sign-ins: ${longestGap.toFixed(1)} ms ` +
        `(event-loop delay max ${longestDelay.toFixed(1)} ms; one argon2id hash (a lone sign-in): ${single.toFixed(1)} ms; ` +
        `all ${SIGN_INS}: ${elapsed.toFixed(0)} ms on ${engine.hashEvaluations - evaluationsBefore} hashes)`,
    );

    // Timing is reported, not asserted (machines are noisy). What must hold: every sign-in worked
    // and each cost exactly one argon2id evaluation.
    expect(results).toHaveLength(SIGN_INS);
    for (const result of results) {
      expect(result.token_type).toBe('Bearer');
      expect(result.access_token).toMatch(/^v4\.public\./);
      expect(result.refresh_token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    }
    expect(new Set(results.map((r) => r.refresh_token)).size).toBe(SIGN_INS);
    expect(engine.hashEvaluations - evaluationsBefore).toBe(SIGN_INS);
    expect(engine.sessions.list('Alice').filter((s) => s.revokedAt === null)).toHaveLength(SIGN_INS + 1);
    expect(Number.isFinite(longestGap) && longestGap > 0).toBe(true);
  });
});
