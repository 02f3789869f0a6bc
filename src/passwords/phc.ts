/** argon2id cost parameters: memory in KiB, passes, lanes. */
export interface Argon2Params {
  m: number;
  t: number;
  p: number;
}

export interface Argon2Hash {
  params: Argon2Params;
  salt: Uint8Array;
  hash: Uint8Array;
}

/** OWASP Password Storage Cheat Sheet's first argon2id configuration. */
export const OWASP_ARGON2ID: Readonly<Argon2Params> = Object.freeze({ m: 19456, t: 2, p: 1 });
export const SALT_BYTES = 16;
/** Upper bounds on parameters, stored or configured: 1 GiB, 64 passes, 16 lanes. */
const MAX: Readonly<Argon2Params> = Object.freeze({ m: 1024 * 1024, t: 64, p: 16 });
export const HASH_BYTES = 32;

const PHC = /^\$argon2id\$v=19\$m=(\d{1,8}),t=(\d{1,3}),p=(\d{1,2})\$([A-Za-z0-9+/]{11,86})\$([A-Za-z0-9+/]{11,86})$/;

/** Serialises as a PHC string: `$argon2id$v=19$m=…,t=…,p=…$salt$hash` (unpadded standard base64). */
export function formatPhc({ params, salt, hash }: Argon2Hash): string {
  return `$argon2id$v=19$m=${params.m},t=${params.t},p=${params.p}$${b64(salt)}$${b64(hash)}`;
}

/** Parses an argon2id PHC string; undefined for anything else (other algorithms, versions, bad encodings). */
export function parsePhc(phc: string): Argon2Hash | undefined {
  const match = PHC.exec(phc);
  if (!match) return undefined;
  const [, m, t, p, salt, hash] = match as unknown as [string, string, string, string, string, string];
  const params = { m: Number(m), t: Number(t), p: Number(p) };
  // A stored hash must not be able to make a worker allocate gigabytes or spin for minutes.
  if (params.p < 1 || params.p > MAX.p || params.t < 1 || params.t > MAX.t || params.m < 8 * params.p || params.m > MAX.m) {
    return undefined;
  }
  return { params, salt: Buffer.from(salt, 'base64'), hash: Buffer.from(hash, 'base64') };
}

/** Whether a stored hash is weaker than the current parameters in any respect. */
export function isWeaker(stored: Argon2Hash, current: Argon2Params): boolean {
  return (
    stored.params.m < current.m ||
    stored.params.t < current.t ||
    stored.params.p < current.p ||
    stored.salt.length < SALT_BYTES ||
    stored.hash.length < HASH_BYTES
  );
}

/**
 * Refuses configured parameters below OWASP's first argon2id configuration in any respect
 * (m=19456 KiB, t=2, p=1 at least) or above the allowed maximum.
 */
export function checkParams(params: Argon2Params): void {
  const { m, t, p } = params;
  const ok =
    [m, t, p].every(Number.isInteger) &&
    m >= OWASP_ARGON2ID.m &&
    t >= OWASP_ARGON2ID.t &&
    p >= OWASP_ARGON2ID.p &&
    m <= MAX.m &&
    t <= MAX.t &&
    p <= MAX.p;
  if (!ok) {
    throw new RangeError(
      `argon2id parameters m=${m},t=${t},p=${p} are outside the allowed range: at least m=${OWASP_ARGON2ID.m} KiB, ` +
        `t=${OWASP_ARGON2ID.t}, p=${OWASP_ARGON2ID.p} (OWASP), at most m=${MAX.m} KiB, t=${MAX.t}, p=${MAX.p}.`,
    );
  }
}

function b64(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('base64').replace(/=+$/, '');
}
