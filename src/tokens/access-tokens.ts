import { randomUUID } from 'node:crypto';
import { ClaimValidationError, InspectFooter } from 'paseto';
import { toDate, toRfc3339, type Clock } from '../clock.js';
import type { AccessTokenClaims, AccessTokenFooter } from '../contracts.js';
import type { KeyRing } from './key-ring.js';
import { v4 } from './paseto-v4.js';

/** Why a token did not verify. */
export type TokenErrorCode = 'malformed' | 'unknown_key' | 'invalid_signature' | 'expired' | 'invalid_claims' | 'revoked';

export class TokenError extends Error {
  override readonly name = 'TokenError';
  constructor(
    readonly code: TokenErrorCode,
    message: string,
  ) {
    super(message);
  }
}

export interface AccessTokenSubject {
  userId: string;
  username: string;
  scope: string;
  clientId: string;
  sessionId: string;
}

export interface AccessTokenOptions {
  issuer: string;
  audience: string;
  ttlSeconds: number;
  /** Allowed clock skew when verifying, in seconds. */
  leewaySeconds: number;
}

/** Every claim a Gatehouse access token carries, each a string. */
export const ACCESS_TOKEN_CLAIMS: ReadonlyArray<keyof AccessTokenClaims> = [
  'iss', 'sub', 'aud', 'exp', 'iat', 'nbf', 'jti', 'scope', 'client_id', 'sid', 'username',
];

/** Footers are UTF-8 JSON; decoding refuses anything else. */
const UTF8 = new TextDecoder('utf-8', { fatal: true });
const MAX_TOKEN_LENGTH = 8192;
/** A PASERK k4.pid: the header and 33 bytes of BLAKE2b in base64url. */
export const K4_PID = /^k4\.pid\.[A-Za-z0-9_-]{44}$/;
/** v4.public.<base64url payload of claims + 64-byte signature>[.<base64url footer>] */
const V4_PUBLIC = /^v4\.public\.[A-Za-z0-9_-]{86,}(\.[A-Za-z0-9_-]+)?$/;

/** Issues and verifies access tokens: v4.public PASETOs with the kid footer. */
export class AccessTokens {
  constructor(
    private readonly keys: KeyRing,
    private readonly clock: Clock,
    readonly options: AccessTokenOptions,
  ) {}

  /** Signs a token issued at `now` (the time its grant was decided). */
  async issue(subject: AccessTokenSubject, now: number): Promise<{ token: string; claims: AccessTokenClaims }> {
    const key = await this.keys.signingKey();
    const claims: AccessTokenClaims = {
      iss: this.options.issuer,
      sub: subject.userId,
      aud: this.options.audience,
      exp: toRfc3339(now + this.options.ttlSeconds * 1000),
      iat: toRfc3339(now),
      nbf: toRfc3339(now),
      jti: randomUUID(),
      scope: subject.scope,
      client_id: subject.clientId,
      sid: subject.sessionId,
      username: subject.username,
    };
    const footer: AccessTokenFooter = { kid: key.pid };
    const token = await v4.Sign(key.secretKey, claims, {
      footer: new TextEncoder().encode(JSON.stringify(footer)),
      addIssuedAt: false,
      now: toDate(now),
    });
    return { token, claims };
  }

  /** Verifies signature, issuer, audience and times; revocation is the caller's to check. */
  async verify(token: string): Promise<AccessTokenClaims> {
    if (token.length > MAX_TOKEN_LENGTH || !V4_PUBLIC.test(token)) {
      throw new TokenError('malformed', 'The token is not a v4.public PASETO.');
    }
    const pid = kidOf(token);
    const publicKey = await this.keys.publicKey(pid);
    if (!publicKey) throw new TokenError('unknown_key', 'The token was signed by an unknown or retired key.');
    let claims: Record<string, unknown>;
    try {
      ({ claims } = await v4.Verify(publicKey, token, {
        issuer: this.options.issuer,
        audience: this.options.audience,
        now: toDate(this.clock.now()),
        clockTolerance: this.options.leewaySeconds,
        requiredClaims: ACCESS_TOKEN_CLAIMS,
      }));
    } catch (error) {
      if (error instanceof ClaimValidationError) {
        const expired = error.claim === 'exp' && error.message === 'Token has expired';
        throw new TokenError(expired ? 'expired' : 'invalid_claims', error.message);
      }
      // The shape was checked above, so what remains is a failed signature (or a payload that is not JSON).
      throw new TokenError('invalid_signature', 'The token signature is invalid.');
    }
    for (const name of ACCESS_TOKEN_CLAIMS) {
      if (typeof claims[name] !== 'string') throw new TokenError('invalid_claims', `The token's ${name} claim is not a string.`);
    }
    return claims as unknown as AccessTokenClaims;
  }
}

/** The k4.pid from a token's (not yet authenticated) footer. */
export function kidOf(token: string): `k4.pid.${string}` {
  let footer: Uint8Array;
  try {
    footer = InspectFooter(token);
  } catch {
    throw footerNotJson();
  }
  return kidFromFooter(footer);
}

/** The k4.pid named by a footer's bytes (`{"kid":"k4.pid.…"}`, not yet authenticated). */
export function kidFromFooter(bytes: Uint8Array): `k4.pid.${string}` {
  let footer: unknown;
  try {
    footer = JSON.parse(UTF8.decode(bytes));
  } catch {
    throw footerNotJson();
  }
  const kid = (footer as { kid?: unknown } | null)?.kid;
  if (typeof kid !== 'string' || !K4_PID.test(kid)) {
    throw new TokenError('malformed', 'The token footer names no k4.pid key.');
  }
  return kid as `k4.pid.${string}`;
}

function footerNotJson(): TokenError {
  return new TokenError('malformed', 'The token footer is not JSON.');
}
