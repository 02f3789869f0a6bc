import { systemClock, type Clock } from '../clock.js';
import type { AccessTokenClaims, IntrospectionResponse, PublishedKey, ResourceSnapshot, Revocation } from '../contracts.js';
import { MAX_CLOCK_LEEWAY_SECONDS } from '../engine/policy.js';
import { kidFromFooter, TokenError } from '../tokens/access-tokens.js';
import { parseV4Public, verifyV4Public } from '../tokens/v4-public-verify.js';
import { BoundedCache } from './bounded-cache.js';
import { bearerFailure, noCredentials } from './challenge.js';
import { checkIntrospectedClaims, checkSignedClaims, type AcceptedClaims, type ClaimRules } from './claims.js';
import { KeySet } from './key-set.js';
import { RevocationList } from './revocation-list.js';

export interface BearerGuardOptions {
  /** Only tokens with exactly this iss / aud are accepted. */
  issuer: string;
  audience: string;
  /** Clock skew forgiven on exp, nbf and iat; default 30, at most 300. */
  leewaySeconds?: number | undefined;
  /** Source of time; default systemClock (tests inject a fake one). */
  clock?: Clock | undefined;
  /** Verified tokens remembered, least recently used forgotten first; default 10 000. */
  cacheSize?: number | undefined;
  /** Fallback for a token whose key the guard has not been sent: ask the engine (over IPC). */
  introspect?: ((token: string) => Promise<IntrospectionResponse>) | undefined;
}

export type GuardFailure = {
  ok: false;
  status: 400 | 401 | 403;
  /** The RFC 6750 error code; none when the request carried no Bearer credentials (§3.1). */
  error?: 'invalid_request' | 'invalid_token' | 'insufficient_scope';
  /** One ASCII sentence without `"` or `\` (it is quoted in the challenge). */
  description: string;
  /** The exact WWW-Authenticate header value. */
  challenge: string;
};

export type GuardResult = { ok: true; claims: AccessTokenClaims; scope: string[] } | GuardFailure;

/** A verified token as remembered: its claims, and the key that vouched for it (none if the engine did). */
interface Verified extends AcceptedClaims {
  pid: string | undefined;
}

const DEFAULT_LEEWAY_SECONDS = 30;
const DEFAULT_CACHE_SIZE = 10_000;
/** How long the engine's refusal of a token is believed without asking again. */
const REFUSAL_MEMORY_MS = 10_000;
/** How long a request waits for the engine's answer before the token counts as unchecked. */
const INTROSPECTION_TIMEOUT_MS = 5_000;
const NO_TOKEN = 'This request needs an access token (Authorization: Bearer).';
/** RFC 6750 §2.1 b64token, after "Bearer" and one or more spaces. */
const BEARER_CREDENTIALS = /^ +([A-Za-z0-9\-._~+/]+=*)$/;
/** The same b64token alone. */
const B64TOKEN = /^[A-Za-z0-9\-._~+/]+=*$/;
/** How clients write it: the scheme as RFC 6750 spells it and one space. */
const BEARER_PREFIX = 'Bearer ';

/**
 * RFC 6750 bearer-token checks for a resource server, with everything local: PASETO v4.public
 * signatures verified with the keys the engine pushes (chosen by the footer's k4.pid), iss, aud and
 * times checked with a small leeway, and the engine's revocations applied the moment they arrive,
 * to remembered tokens too. A verified token is remembered by its whole text, so a request with a
 * token seen before costs two map look-ups; a token differing in any byte is verified afresh.
 */
export class BearerGuard {
  private readonly rules: ClaimRules;
  private readonly clock: Clock;
  private readonly introspect: ((token: string) => Promise<IntrospectionResponse>) | undefined;
  private readonly verified: BoundedCache<string, Verified>;
  /** The engine's refusals, remembered briefly: the refusal and until when (epoch ms). */
  private readonly refused: BoundedCache<string, { error: TokenError; until: number }>;
  private readonly asking = new Map<string, Promise<Verified>>();
  private keys = KeySet.empty;
  private revocations = new RevocationList();
  private loaded = false;

  constructor(options: BearerGuardOptions) {
    const { issuer, audience, leewaySeconds = DEFAULT_LEEWAY_SECONDS, cacheSize = DEFAULT_CACHE_SIZE } = options ?? {};
    for (const [name, value] of [['issuer', issuer], ['audience', audience]] as const) {
      if (typeof value !== 'string' || value === '') throw new TypeError(`options.${name} must be a non-empty string.`);
    }
    if (typeof leewaySeconds !== 'number' || !(leewaySeconds >= 0 && leewaySeconds <= MAX_CLOCK_LEEWAY_SECONDS)) {
      throw new RangeError(`options.leewaySeconds must be from 0 to ${MAX_CLOCK_LEEWAY_SECONDS}.`);
    }
    if (!Number.isSafeInteger(cacheSize) || cacheSize < 1) throw new RangeError('options.cacheSize must be a whole number ≥ 1.');
    this.rules = { issuer, audience, leewayMs: leewaySeconds * 1000 };
    this.clock = options.clock ?? systemClock;
    this.introspect = options.introspect;
    this.verified = new BoundedCache(cacheSize);
    this.refused = new BoundedCache(cacheSize);
  }

  /** True once a snapshot was loaded; until then a service answers 503. */
  get ready(): boolean {
    return this.loaded;
  }

  /** Replaces keys and revocations with the engine's; throws (changing nothing) if it is for another issuer or audience. */
  loadSnapshot(snapshot: ResourceSnapshot): void {
    if (snapshot?.issuer !== this.rules.issuer || snapshot.audience !== this.rules.audience) {
      throw new Error('The snapshot is for another issuer or audience than this guard accepts.');
    }
    const keys = this.keys.replacedBy(snapshot.keys);
    const revocations = RevocationList.of(snapshot.revocations, this.clock.now());
    this.keys = keys;
    this.revocations = revocations;
    this.loaded = true;
  }

  /** The full current set of the engine's public keys (throws TypeError, changing nothing, on a malformed one). */
  updateKeys(keys: PublishedKey[]): void {
    this.keys = this.keys.replacedBy(keys);
  }

  /** Applied at once, to remembered tokens too (throws TypeError, adding none, on a malformed one). */
  addRevocations(revocations: Revocation[]): void {
    this.revocations.add(revocations, this.clock.now());
  }

  /** `authorization` is the raw Authorization header value (undefined if absent). */
  async authenticate(authorization: string | undefined, requiredScopes: readonly string[] = []): Promise<GuardResult> {
    const token = this.bearer(authorization);
    if (typeof token !== 'string') return token;
    let verified: Verified;
    try {
      verified = this.remembered(token, this.clock.now()) ?? (await this.verify(token));
      // Checked on every request, after any wait for the engine: a revocation applies the moment it arrives.
      if (this.revocations.covers(verified.claims.sid, verified.claims.jti, this.clock.now())) {
        throw new TokenError('revoked', 'The token has been revoked.');
      }
    } catch (error) {
      if (error instanceof TokenError) return bearerFailure(401, 'invalid_token', error.message);
      throw error;
    }
    const missing = requiredScopes.filter((name) => !verified.scope.includes(name));
    if (missing.length > 0) {
      return bearerFailure(403, 'insufficient_scope', `The token lacks the scope ${missing.join(' ')}.`, requiredScopes);
    }
    return { ok: true, claims: verified.claims as AccessTokenClaims, scope: verified.scope as string[] };
  }

  /**
   * The token of the Authorization header, or the refusal. Written the usual way (`Bearer ` and the
   * token), the token is checked once — not at all if it is remembered, having passed before — and
   * the string checked is the one the cache then looks up, so its hash is computed only once.
   */
  private bearer(authorization: string | undefined): string | GuardFailure {
    if (authorization?.startsWith(BEARER_PREFIX)) {
      const token = authorization.slice(BEARER_PREFIX.length);
      if (this.verified.has(token) || B64TOKEN.test(token)) return token;
    }
    return bearerToken(authorization);
  }

  /** A remembered token still within its times and its key's window; undefined if none is remembered. */
  private remembered(token: string, now: number): Verified | undefined {
    const entry = this.verified.get(token);
    if (!entry) return undefined;
    if (now > entry.exp + this.rules.leewayMs) {
      this.verified.delete(token);
      throw new TokenError('expired', 'The token has expired.');
    }
    if (now + this.rules.leewayMs < entry.nbf) throw new TokenError('invalid_claims', 'The token is not valid yet.');
    if (entry.pid !== undefined && !this.keys.usable(entry.pid, now)) {
      this.verified.delete(token);
      throw unknownKey();
    }
    return entry;
  }

  private async verify(token: string): Promise<Verified> {
    const now = this.clock.now();
    const parts = parseV4Public(token);
    if (!parts) throw new TokenError('malformed', 'The token is not a v4.public PASETO.');
    const pid = kidFromFooter(parts.footer);
    const key = this.keys.usable(pid, now);
    if (!key) return this.askEngine(token);
    if (!verifyV4Public(parts, key.key)) throw new TokenError('invalid_signature', 'The token signature is invalid.');
    const verified = { ...checkSignedClaims(parts.message, this.rules, now), pid };
    this.verified.set(token, verified);
    return verified;
  }

  /** The fallback for a key this guard was not sent: one question to the engine per token at a time. */
  private askEngine(token: string): Promise<Verified> {
    const introspect = this.introspect;
    if (!introspect) return Promise.reject(unknownKey());
    const refused = this.refused.get(token);
    if (refused && refused.until > this.clock.now()) return Promise.reject(refused.error);
    let question = this.asking.get(token);
    if (!question) {
      question = (async () => {
        let answer: IntrospectionResponse;
        try {
          answer = await withTimeout(introspect(token), INTROSPECTION_TIMEOUT_MS);
        } catch {
          throw new TokenError('unknown_key', 'The token was signed by a key this service does not know, and could not be checked.');
        }
        const now = this.clock.now();
        let verified: Verified;
        try {
          verified = { ...checkIntrospectedClaims(answer, this.rules, now), pid: undefined };
        } catch (error) {
          if (error instanceof TokenError) this.refused.set(token, { error, until: now + REFUSAL_MEMORY_MS });
          throw error;
        }
        this.verified.set(token, verified);
        return verified;
      })().finally(() => this.asking.delete(token));
      this.asking.set(token, question);
    }
    return question;
  }
}

/** The token from `Authorization: Bearer <token>`, or the refusal for a header that is absent or not one. */
function bearerToken(authorization: string | undefined): string | GuardFailure {
  if (authorization === undefined || authorization === '') return noCredentials(NO_TOKEN);
  const end = authorization.search(/[ \t]/);
  const scheme = end === -1 ? authorization : authorization.slice(0, end);
  // The scheme name is case-insensitive (RFC 9110 §11.1); any other scheme is no Bearer credentials at all.
  if (scheme.toLowerCase() !== 'bearer') return noCredentials(NO_TOKEN);
  const match = BEARER_CREDENTIALS.exec(authorization.slice(scheme.length));
  if (!match) return bearerFailure(400, 'invalid_request', 'The Authorization header must be Bearer followed by exactly one token.');
  return match[1]!;
}

function unknownKey(): TokenError {
  return new TokenError('unknown_key', 'The token was signed by an unknown or retired key.');
}

/** The promise's outcome, or a rejection once `ms` have passed without one (the timer keeps no process alive). */
function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expiry = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error('no answer in time')), ms).unref();
  });
  return Promise.race([promise, expiry]).finally(() => clearTimeout(timer));
}
