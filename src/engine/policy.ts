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
}

export type PolicyOptions = Partial<Omit<Policy, 'argon2' | 'password'>> & {
  argon2?: Partial<Argon2Params>;
  password?: Partial<PasswordRules>;
};

export const DEFAULT_POLICY: Readonly<Policy> = Object.freeze({
  accessTokenTtlSeconds: 300,
  refreshIdleSeconds: 12 * 3600,
  refreshAbsoluteSeconds: 7 * 24 * 3600,
  keyRotationSeconds: 24 * 3600,
  clockLeewaySeconds: 30,
  sessionRetentionSeconds: 30 * 24 * 3600,
  argon2: OWASP_ARGON2ID,
  password: Object.freeze({ minLength: 15, maxLength: 256, maxBytes: 4096 }),
});

/** Fills defaults and refuses anything unsafe or nonsensical with a RangeError naming the setting. */
export function resolvePolicy(options: PolicyOptions = {}): Policy {
  const policy: Policy = {
    ...DEFAULT_POLICY,
    ...definedOnly(options),
    argon2: { ...DEFAULT_POLICY.argon2, ...definedOnly(options.argon2 ?? {}) },
    password: { ...DEFAULT_POLICY.password, ...definedOnly(options.password ?? {}) },
  };
  const seconds = (name: keyof Policy, min: number, max: number) => {
    const value = policy[name];
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
      throw new RangeError(`policy.${name} must be a whole number from ${min} to ${max}, got ${String(value)}.`);
    }
  };
  seconds('accessTokenTtlSeconds', 30, 3600);
  seconds('refreshIdleSeconds', 60, 365 * 86400);
  seconds('refreshAbsoluteSeconds', 60, 365 * 86400);
  seconds('keyRotationSeconds', 600, 365 * 86400);
  seconds('clockLeewaySeconds', 0, 300);
  seconds('sessionRetentionSeconds', 0, 3650 * 86400);
  checkParams(policy.argon2);
  const { minLength, maxLength, maxBytes } = policy.password;
  if (!Number.isInteger(minLength) || minLength < 8) throw new RangeError('policy.password.minLength must be at least 8.');
  if (!Number.isInteger(maxLength) || maxLength < Math.max(64, minLength)) {
    throw new RangeError('policy.password.maxLength must allow at least 64 characters and the minimum.');
  }
  if (!Number.isInteger(maxBytes) || maxBytes < maxLength || maxBytes > 65536) {
    throw new RangeError('policy.password.maxBytes must be between maxLength and 65536.');
  }
  return policy;
}

function definedOnly<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
