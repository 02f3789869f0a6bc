import { createHash, randomBytes } from 'node:crypto';

/** A new refresh token: 256 random bits, base64url. Only its hash is stored. */
export function newRefreshToken(): { token: string; hash: Buffer } {
  const token = randomBytes(32).toString('base64url');
  return { token, hash: hashRefreshToken(token) };
}

export function hashRefreshToken(token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest();
}

/** Refresh tokens we issue are exactly 43 base64url characters; anything else cannot be one. */
export function looksLikeRefreshToken(token: string): boolean {
  return /^[A-Za-z0-9_-]{43}$/.test(token);
}
