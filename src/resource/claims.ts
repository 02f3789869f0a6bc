import { fromRfc3339, toRfc3339 } from '../clock.js';
import type { AccessTokenClaims, IntrospectionResponse } from '../contracts.js';
import { ACCESS_TOKEN_CLAIMS, TokenError } from '../tokens/access-tokens.js';

/** Whose tokens a guard accepts, and how much clock skew it forgives. */
export interface ClaimRules {
  issuer: string;
  audience: string;
  leewayMs: number;
}

/** Claims that passed every check, with what later checks need at hand. */
export interface AcceptedClaims {
  claims: Readonly<AccessTokenClaims>;
  scope: readonly string[];
  /** Epoch ms. */
  exp: number;
  nbf: number;
}

/** RFC 3339 date-time, as PASETO's registered time claims must be (Date.parse alone takes far more). */
const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})$/i;
const UTF8 = new TextDecoder('utf-8', { fatal: true });
/** The largest epoch ms a Date holds (ECMA-262 §21.4.1.1). */
const MAX_DATE_MS = 8.64e15;

/** The claims of a token whose signature verified: a Gatehouse access token for us, valid now. */
export function checkSignedClaims(message: Uint8Array, rules: ClaimRules, now: number): AcceptedClaims {
  let claims: unknown;
  try {
    claims = JSON.parse(UTF8.decode(message));
  } catch {
    throw new TokenError('invalid_claims', 'The token claims are not JSON.');
  }
  return accept(accessTokenClaims(claims), rules, now);
}

/** The claims of a token the engine vouched for (the introspection fallback; times there are seconds). */
export function checkIntrospectedClaims(answer: IntrospectionResponse, rules: ClaimRules, now: number): AcceptedClaims {
  if (!answer?.active || answer.token_use !== 'access_token') throw new TokenError('revoked', 'The token is not active.');
  const { exp, iat, nbf } = answer;
  return accept(accessTokenClaims({ ...answer, exp: rfc3339(exp), iat: rfc3339(iat), nbf: rfc3339(nbf) }), rules, now);
}

/** Exactly the claims of an access token, each a string, or TokenError. */
function accessTokenClaims(value: unknown): AccessTokenClaims {
  const record = (value ?? {}) as Record<string, unknown>;
  const claims: Record<string, unknown> = {};
  for (const name of ACCESS_TOKEN_CLAIMS) {
    if (typeof record[name] !== 'string') throw new TokenError('invalid_claims', `The token's ${name} claim is missing or not a string.`);
    claims[name] = record[name];
  }
  return claims as unknown as AccessTokenClaims;
}

/** Epoch seconds as RFC 3339; undefined for anything that is not a representable time. */
function rfc3339(seconds: unknown): string | undefined {
  const ms = typeof seconds === 'number' ? seconds * 1000 : Number.NaN;
  return Math.abs(ms) <= MAX_DATE_MS ? toRfc3339(ms) : undefined;
}

/** Times (with leeway), then audience and issuer, in the order paseto's Verify checks them. */
function accept(claims: AccessTokenClaims, rules: ClaimRules, now: number): AcceptedClaims {
  const exp = time(claims, 'exp');
  const nbf = time(claims, 'nbf');
  const iat = time(claims, 'iat');
  if (now > exp + rules.leewayMs) throw new TokenError('expired', 'The token has expired.');
  if (now + rules.leewayMs < nbf || now + rules.leewayMs < iat) throw new TokenError('invalid_claims', 'The token is not valid yet.');
  if (claims.aud !== rules.audience) throw new TokenError('invalid_claims', 'The token is meant for another audience.');
  if (claims.iss !== rules.issuer) throw new TokenError('invalid_claims', 'The token was issued by another issuer.');
  const scope = Object.freeze(claims.scope.split(' ').filter((name) => name !== ''));
  return { claims: Object.freeze(claims), scope, exp, nbf };
}

function time(claims: AccessTokenClaims, name: 'exp' | 'nbf' | 'iat'): number {
  const value = claims[name];
  const ms = RFC3339.test(value) ? fromRfc3339(value) : Number.NaN;
  if (Number.isNaN(ms)) throw new TokenError('invalid_claims', `The token's ${name} claim is not an RFC 3339 time.`);
  return ms;
}
