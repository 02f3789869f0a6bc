// verify_vs_raw and verify_cached_vs_raw: how fast the resource service's bearer guard
// (gatehouse/resource BearerGuard) accepts access tokens, against bare node:crypto Ed25519
// verification of the same signed bytes. Uncached: every token is new to the guard (a fresh guard
// per round). Cached: the same tokens again, now remembered by the guard.
import { randomUUID, verify } from 'node:crypto';
import { importDist, mintTokens, resourceMissing, signedParts, someRevocations } from './lib/resource.mjs';
import { median, round, summary } from './lib/stats.mjs';

export const figures = [
  {
    id: 'verify_vs_raw',
    what: 'guard verification rate, uncached ÷ raw node:crypto Ed25519 verify rate on the same message size',
    unit: '×',
    target: { min: 0.8 },
  },
  {
    id: 'verify_cached_vs_raw',
    what: 'guard verification rate with its verified-token cache warm ÷ raw Ed25519 verify rate',
    unit: '×',
    target: { min: 5 },
  },
];

export const unavailable = () => resourceMissing(['resource/index.js']);

// The desktop app's defaults, so tokens are the size the engine issues.
const INSTALLATION = randomUUID();
const ISSUER = `urn:gatehouse:${INSTALLATION}`;
const AUDIENCE = `urn:gatehouse:resource:${INSTALLATION}`;

export async function measure({ quick }) {
  const count = quick ? 1000 : 4000;
  const rounds = quick ? 3 : 7;
  const { BearerGuard } = await importDist('resource/index.js');
  const { tokens, key, keyObject } = await mintTokens(count, { issuer: ISSUER, audience: AUDIENCE });
  const parts = tokens.map(signedParts);
  const revocations = someRevocations(200);
  const newGuard = () => {
    const guard = new BearerGuard({ issuer: ISSUER, audience: AUDIENCE });
    guard.loadSnapshot({ issuer: ISSUER, audience: AUDIENCE, keys: [key], revocations });
    return guard;
  };
  const headers = tokens.map((t) => `Bearer ${t}`);

  const rawPass = () => {
    const t0 = performance.now();
    for (const { data, signature } of parts) if (!verify(null, data, keyObject, signature)) throw new Error('raw verify failed');
    return count / ((performance.now() - t0) / 1000);
  };
  const guardPass = async (guard) => {
    const t0 = performance.now();
    for (const header of headers) {
      const result = await guard.authenticate(header);
      if (!result.ok) throw new Error(`the guard refused a good token: ${result.description}`);
    }
    return count / ((performance.now() - t0) / 1000);
  };
  // Warm-up: JIT for all three paths.
  rawPass();
  const warm = newGuard();
  await guardPass(warm);
  await guardPass(warm);

  const raw = [];
  const uncached = [];
  const cached = [];
  for (let r = 0; r < rounds; r++) {
    raw.push(rawPass());
    const guard = newGuard();
    uncached.push(await guardPass(guard));
    cached.push(await guardPass(guard));
  }
  const rawRate = median(raw);
  const bytes = parts[0].data.length;
  const common = {
    raw_verifies_per_s: summary(raw, 0),
    guard_uncached_per_s: summary(uncached, 0),
    guard_cached_per_s: summary(cached, 0),
    tokens_per_pass: count,
    rounds,
    token_chars: tokens[0].length,
    signed_bytes: bytes,
    revocations_loaded: revocations.length,
  };
  return {
    verify_vs_raw: {
      value: round(median(uncached) / rawRate, 3),
      ...common,
      summary:
        `guard.authenticate() on ${count} tokens new to it: ${round(median(uncached), 0)}/s ÷ node:crypto verify of the same ${bytes} signed bytes ${round(rawRate, 0)}/s ` +
        `(medians of ${rounds} interleaved passes; ${tokens[0].length}-character tokens, ${revocations.length} revocations loaded).`,
    },
    verify_cached_vs_raw: {
      value: round(median(cached) / rawRate, 3),
      ...common,
      summary: `the same tokens again, remembered by the guard: ${round(median(cached), 0)}/s ÷ raw ${round(rawRate, 0)}/s.`,
    },
  };
}
