import { checkParams, OWASP_ARGON2ID, type Argon2Params } from '../passwords/phc.js';
import type { PasswordRules } from '../passwords/policy.js';

export interface Policy {
  accessTokenTtlSeconds: number;
  /** A session unused this long ends. */
  refreshIdleSeconds: number;
  /** A session ends this long after sign-in, however much it is used. */
  refreshAbsoluteSeconds: number;
  keyRotationSeconds: number;
  /** Clock skew tolerated when verifying tokens. */
  clockLeewaySeconds: number;
  /** Ended sessions stay listed this long before they are pruned. */
  sessionRetentionSeconds: number;
  argon2: Argon2Params;
  password: PasswordRules;
  lockout: LockoutRules;
  audit: AuditRules;
}

/** Brute-force protection, per submitted username (see docs/security-model.md). */
export interface LockoutRules {
  /** Checked failures answered without any delay. */
  freeFailures: number;
  /** The first delay after the free failures; each later checked failure doubles it. */
  initialDelaySeconds: number;
  /** The delay stops doubling here. */
  maxDelaySeconds: number;
  /** Consecutive checked failures that lock the name (NIST SP 800-63B-4 §3.2.2: at most 100). */
  maxFailures: number;
  /** How long a lock lasts unless an administrator lifts it first. */
  lockSeconds: number;
  /**
   * Throttle records kept for idle names (no delay or lock in force), accounts and unknown names
   * alike; the least recent go first, in daily maintenance.
   */
  maxUnknownNames: number;
  /** Password checks (argon2id) waiting for callers other than the app's own window; more are refused. */
  maxQueuedChecks: number;
}

/** The audit log's signed checkpoints and retention. */
export interface AuditRules {
  /** A signed checkpoint of the chain head is written after this many events. */
  checkpointEvery: number;
  /** Events older than this are pruned. */
  retentionDays: number;
  /** At most this many events are kept; the oldest are pruned first. */
  maxEvents: number;
}

type Sections = 'argon2' | 'password' | 'lockout' | 'audit';

export type PolicyOptions = Partial<Omit<Policy, Sections>> & {
  argon2?: Partial<Argon2Params>;
  password?: Partial<PasswordRules>;
  lockout?: Partial<LockoutRules>;
  audit?: Partial<AuditRules>;
};

/** Upper bound of clockLeewaySeconds (see MAX_LEEWAY_MS). */
export const MAX_CLOCK_LEEWAY_SECONDS = 300;
/** The longest access-token lifetime a policy may set. */
export const MAX_ACCESS_TOKEN_TTL_SECONDS = 3600;

export const DEFAULT_POLICY: Readonly<Policy> = deepFreeze({
  accessTokenTtlSeconds: 300,
  refreshIdleSeconds: 12 * 3600,
  refreshAbsoluteSeconds: 7 * 24 * 3600,
  keyRotationSeconds: 24 * 3600,
  clockLeewaySeconds: 30,
  sessionRetentionSeconds: 30 * 24 * 3600,
  argon2: { ...OWASP_ARGON2ID },
  password: { minLength: 15, maxLength: 256, maxBytes: 4096, contextWords: ['gatehouse'] },
  lockout: {
    freeFailures: 5,
    initialDelaySeconds: 30,
    maxDelaySeconds: 3600,
    maxFailures: 100,
    lockSeconds: 24 * 3600,
    maxUnknownNames: 100_000,
    maxQueuedChecks: 32,
  },
  audit: { checkpointEvery: 1000, retentionDays: 365, maxEvents: 1_000_000 },
});

const DAY = 86400;
const SECONDS: ReadonlyArray<[keyof Policy, number, number]> = [
  ['accessTokenTtlSeconds', 30, MAX_ACCESS_TOKEN_TTL_SECONDS],
  ['refreshIdleSeconds', 60, 365 * DAY],
  ['refreshAbsoluteSeconds', 60, 365 * DAY],
  ['keyRotationSeconds', 600, 365 * DAY],
  ['clockLeewaySeconds', 0, MAX_CLOCK_LEEWAY_SECONDS],
  ['sessionRetentionSeconds', 0, 3650 * DAY],
];

/**
 * `over` laid over `under`, section by section (an undefined setting in `over` leaves `under`'s):
 * how openEngine's options go over the provisioned policy.
 */
export function layerPolicyOptions(under: PolicyOptions, over: PolicyOptions): PolicyOptions {
  const sections = ['argon2', 'password', 'lockout', 'audit'] as const;
  const layered: Record<string, unknown> = { ...definedOnly(under), ...definedOnly(over) };
  for (const name of sections) {
    if (under[name] !== undefined || over[name] !== undefined) layered[name] = { ...definedOnly(under[name] ?? {}), ...definedOnly(over[name] ?? {}) };
  }
  return layered as PolicyOptions;
}

/**
 * Fills defaults and refuses anything unknown, unsafe or contradictory with a RangeError naming the
 * setting. The result is frozen: policy cannot be weakened behind the engine's back.
 */
export function resolvePolicy(options: PolicyOptions = {}): Readonly<Policy> {
  if (typeof options !== 'object' || options === null) throw new TypeError('policy must be an object.');
  rejectUnknown('policy', options, Object.keys(DEFAULT_POLICY));
  rejectUnknown('policy.argon2', options.argon2 ?? {}, Object.keys(DEFAULT_POLICY.argon2));
  rejectUnknown('policy.password', options.password ?? {}, Object.keys(DEFAULT_POLICY.password));
  rejectUnknown('policy.lockout', options.lockout ?? {}, Object.keys(DEFAULT_POLICY.lockout));
  rejectUnknown('policy.audit', options.audit ?? {}, Object.keys(DEFAULT_POLICY.audit));
  const policy: Policy = {
    ...DEFAULT_POLICY,
    ...definedOnly(options),
    argon2: { ...DEFAULT_POLICY.argon2, ...definedOnly(options.argon2 ?? {}) },
    password: { ...DEFAULT_POLICY.password, ...definedOnly(options.password ?? {}) },
    lockout: { ...DEFAULT_POLICY.lockout, ...definedOnly(options.lockout ?? {}) },
    audit: { ...DEFAULT_POLICY.audit, ...definedOnly(options.audit ?? {}) },
  };
  for (const [name, min, max] of SECONDS) wholeNumber(`policy.${name}`, policy[name], min, max);
  if (policy.refreshIdleSeconds > policy.refreshAbsoluteSeconds) {
    throw new RangeError('policy.refreshIdleSeconds cannot exceed policy.refreshAbsoluteSeconds.');
  }
  checkParams(policy.argon2);
  const { minLength, maxLength, maxBytes } = policy.password;
  // NIST SP 800-63B-4 §3.1.1.2: at least 15 for a password used alone; allow at least 64.
  wholeNumber('policy.password.minLength', minLength, 15, 64);
  wholeNumber('policy.password.maxLength', maxLength, 64, 4096);
  if (maxLength < minLength) throw new RangeError('policy.password.maxLength cannot be below minLength.');
  // Room for maxLength characters of up to 4 UTF-8 bytes each.
  wholeNumber('policy.password.maxBytes', maxBytes, 4 * maxLength, 65536);
  policy.password = { ...policy.password, contextWords: contextWords(policy.password.contextWords) };
  checkLockout(policy.lockout);
  checkAudit(policy.audit);
  return deepFreeze(policy);
}

function contextWords(value: unknown): string[] {
  if (!Array.isArray(value) || value.length > 100 || !value.every((w) => typeof w === 'string' && w.trim().length >= 3 && w.length <= 64)) {
    throw new RangeError('policy.password.contextWords must be a list of at most 100 words of 3 to 64 characters (e.g. the app name).');
  }
  return [...value];
}

function checkLockout(rules: LockoutRules): void {
  wholeNumber('policy.lockout.freeFailures', rules.freeFailures, 1, 20);
  wholeNumber('policy.lockout.initialDelaySeconds', rules.initialDelaySeconds, 1, 3600);
  wholeNumber('policy.lockout.maxDelaySeconds', rules.maxDelaySeconds, rules.initialDelaySeconds, DAY);
  // NIST SP 800-63B-4 §3.2.2: no more than 100 consecutive failed attempts on one account.
  wholeNumber('policy.lockout.maxFailures', rules.maxFailures, rules.freeFailures + 1, 100);
  wholeNumber('policy.lockout.lockSeconds', rules.lockSeconds, 60, 365 * DAY);
  wholeNumber('policy.lockout.maxUnknownNames', rules.maxUnknownNames, 100, 10_000_000);
  wholeNumber('policy.lockout.maxQueuedChecks', rules.maxQueuedChecks, 1, 10_000);
}

function checkAudit(rules: AuditRules): void {
  wholeNumber('policy.audit.checkpointEvery', rules.checkpointEvery, 1, 1_000_000);
  wholeNumber('policy.audit.retentionDays', rules.retentionDays, 1, 36500);
  wholeNumber('policy.audit.maxEvents', rules.maxEvents, 100, 100_000_000);
}

function wholeNumber(name: string, value: unknown, min: number, max: number): void {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new RangeError(`${name} must be a whole number from ${min} to ${max}, got ${String(value)}.`);
  }
}

function rejectUnknown(name: string, value: object, known: readonly string[]): void {
  const unknown = Object.keys(value).filter((key) => !known.includes(key));
  if (unknown.length > 0) throw new RangeError(`${name} has unknown setting(s): ${unknown.join(', ')}.`);
}

function definedOnly<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}

function deepFreeze<T extends object>(value: T): Readonly<T> {
  for (const inner of Object.values(value)) if (typeof inner === 'object' && inner !== null) deepFreeze(inner);
  return Object.freeze(value);
}
