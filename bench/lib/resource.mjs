import { createPublicKey, randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';

/**
 * Where the built package is: ../dist by default. BENCH_DIST points the resource figures at another
 * build (e.g. of a branch not merged yet) — for trying them out, not for published numbers.
 */
export const DIST = process.env.BENCH_DIST ? pathToFileURL(`${process.env.BENCH_DIST.replace(/\/$/, '')}/`) : new URL('../../dist/', import.meta.url);

/** Why the resource-service figures cannot run yet (undefined once they can). */
export function resourceMissing(files = ['resource/index.js']) {
  const missing = files.filter((file) => !existsSync(fileURLToPath(new URL(file, DIST))));
  return missing.length === 0 ? undefined : `not built yet (${missing.map((f) => `dist/${f}`).join(', ')} missing; the guard lands with branch guard/resproc)`;
}

export const importDist = (file) => import(new URL(file, DIST).href);

/**
 * `count` access tokens shaped exactly like the engine's (the same eleven claims, RFC 3339 times,
 * `{"kid":"k4.pid.…"}` footer), signed with a new Ed25519 key through the package's own v4.public
 * signer; with the published key record a guard loads, and that key as a node:crypto KeyObject.
 */
export async function mintTokens(count, { issuer, audience, ttlSeconds = 300 }) {
  const { v4 } = await importDist('tokens/paseto-v4.js');
  const { k4PublicKeyId } = await importDist('index.js');
  const { publicKey, secretKey } = await v4.GenerateKeyPair();
  const paserk = await v4.ExportPublicKey(publicKey);
  const pid = await k4PublicKeyId(paserk);
  const footer = new TextEncoder().encode(JSON.stringify({ kid: pid }));
  const now = Date.now();
  const rfc3339 = (ms) => new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');
  const tokens = [];
  for (let i = 0; i < count; i++) {
    const claims = {
      iss: issuer,
      sub: randomUUID(),
      aud: audience,
      exp: rfc3339(now + ttlSeconds * 1000),
      iat: rfc3339(now),
      nbf: rfc3339(now),
      jti: randomUUID(),
      scope: 'records:read records:write',
      client_id: 'bench-app',
      sid: randomUUID(),
      username: `member${i}`,
    };
    tokens.push(await v4.Sign(secretKey, claims, { footer, addIssuedAt: false, now: new Date(now) }));
  }
  const key = { paserk, pid, status: 'active', verifyUntil: now + 86_400_000 };
  const keyObject = createPublicKey({
    key: { kty: 'OKP', crv: 'Ed25519', x: paserk.slice('k4.public.'.length) },
    format: 'jwk',
  });
  return { tokens, key, keyObject };
}

/** Revocations in force, as many as a busy day leaves (so the guard's revocation check has work). */
export function someRevocations(count) {
  const now = Date.now();
  return Array.from({ length: count }, (_, i) => ({
    kind: i % 5 === 0 ? 'jti' : 'sid',
    value: randomUUID(),
    revokedAt: now - 60_000,
    expiresAt: now + 600_000,
  }));
}

/**
 * What Ed25519 signs in a v4.public token (PASETO's PAE of header, message, footer and empty
 * implicit assertion) and the signature: the raw verification the guard's own work is compared with.
 */
export function signedParts(token) {
  const [, , body, footer = ''] = token.split('.');
  const payload = Buffer.from(body, 'base64url');
  const message = payload.subarray(0, payload.length - 64);
  const signature = payload.subarray(payload.length - 64);
  return { data: pae([Buffer.from('v4.public.'), message, Buffer.from(footer, 'base64url'), Buffer.alloc(0)]), signature };
}

function pae(pieces) {
  const le64 = (n) => {
    const b = Buffer.alloc(8);
    b.writeBigUInt64LE(BigInt(n));
    return b;
  };
  return Buffer.concat([le64(pieces.length), ...pieces.flatMap((p) => [le64(p.length), p])]);
}
