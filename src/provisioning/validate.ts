import type { z } from 'zod';
import { layerPolicyOptions, resolvePolicy, type Policy, type PolicyOptions } from '../engine/policy.js';
import { importedHashProblem } from '../engine/users-admin.js';
import type { Argon2Params } from '../passwords/phc.js';
import { passwordViolations } from '../passwords/policy.js';
import { usernameKey } from '../store/username-key.js';
import { problem, ProvisioningError } from './problems.js';
import {
  clientSchema,
  policySchema,
  provisioningFileSchema,
  scopesSchema,
  userSchema,
  type ProvisionedClient,
  type ProvisionedUser,
  type ProvisioningFile,
} from './schema.js';

/**
 * Checks a parsed provisioning file (JSON already parsed) and returns it with defaults filled in,
 * or throws ProvisioningError listing every problem, each with its JSON path. `argon2` is the
 * engine's hashing policy, which imported hashes must meet. The checks between parts (unique names,
 * known scopes, policy limits, hash strength) also run on the parts that are well formed when
 * others are not, so one run lists every problem.
 */
export function validateProvisioningFile(input: unknown, argon2: Readonly<Argon2Params>): ProvisioningFile {
  const parsed = provisioningFileSchema.safeParse(input);
  const problems = parsed.success ? [] : parsed.error.issues.map((issue) => problem(issue.path, issue.message));
  const raw = (typeof input === 'object' && input !== null ? input : {}) as Record<string, unknown>;
  const policy = checkPolicy(partOf(policySchema, raw.policy) as PolicyOptions | undefined, problems);
  const scopes = partOf(scopesSchema, raw.scopes);
  const known = scopes && new Set<string>(scopes);
  const checkScopes = (scope: readonly string[], path: ReadonlyArray<PropertyKey>) =>
    scope.forEach((name, i) => {
      if (known && !known.has(name)) problems.push(problem([...path, i], `"${name}" is not among the file's scopes`));
    });
  const names = new Map<string, number>();
  elementsOf(userSchema, raw.users).forEach((user, i) => {
    if (!user) return;
    const key = usernameKey(user.username);
    const first = names.get(key);
    if (first !== undefined) problems.push(problem(['users', i, 'username'], `"${user.username}" is the same account as users[${first}]`));
    else names.set(key, i);
    checkScopes(user.scope, ['users', i, 'scope']);
    checkPassword(user, i, argon2, policy, problems);
  });
  const ids = new Map<string, number>();
  elementsOf(clientSchema, raw.clients).forEach((client: ProvisionedClient | undefined, i) => {
    if (!client) return;
    const first = ids.get(client.id);
    if (first !== undefined) problems.push(problem(['clients', i, 'id'], `"${client.id}" is also clients[${first}]`));
    else ids.set(client.id, i);
    checkScopes(client.scope, ['clients', i, 'scope']);
    if (new Set(client.grants).size !== client.grants.length) problems.push(problem(['clients', i, 'grants'], 'lists a grant twice'));
  });
  if (!parsed.success || problems.length > 0) throw new ProvisioningError(problems);
  return parsed.data;
}

function checkPassword(user: ProvisionedUser, i: number, argon2: Readonly<Argon2Params>, policy: Readonly<Policy> | undefined, problems: string[]): void {
  const { hash, oneTime } = user.password;
  if (hash !== undefined) {
    const hashProblem = importedHashProblem(hash, argon2);
    if (hashProblem) problems.push(problem(['users', i, 'password', 'hash'], hashProblem));
  }
  if (oneTime !== undefined && policy) {
    const violations = passwordViolations(oneTime, policy.password, { username: user.username });
    if (violations.length > 0) problems.push(problem(['users', i, 'password', 'oneTime'], violations.join(' ')));
  }
}

/**
 * The file's policy over the defaults. Its limits are the engine's own (resolvePolicy), which names
 * the first setting it refuses as `policy.section.name …`, that is, by its JSON path: each refused
 * setting is reported, set aside and the rest checked again, so every problem is listed.
 */
function checkPolicy(options: PolicyOptions | undefined, problems: string[]): Readonly<Policy> | undefined {
  if (!options) return undefined;
  const remaining = structuredClone(options) as Record<string, unknown>;
  let refused = false;
  for (;;) {
    try {
      const policy = resolvePolicy(layerPolicyOptions({}, remaining as PolicyOptions));
      return refused ? undefined : policy;
    } catch (error) {
      if (!(error instanceof RangeError)) throw error;
      const [path = 'policy', ...rest] = error.message.split(' ');
      problems.push(`${path}: ${rest.join(' ')}`);
      refused = true;
      // The setting named first, or else another one the message names (`… cannot exceed policy.x`).
      const named = error.message.match(/policy(\.[A-Za-z]+)+/g) ?? [];
      if (!named.some((name) => setAside(remaining, name.split('.').slice(1)))) return undefined;
    }
  }
}

/** Removes the setting at `keys` from `options`; false if the file does not set it. */
function setAside(options: Record<string, unknown>, keys: readonly string[]): boolean {
  const [first, second] = keys;
  if (first === undefined || !(first in options)) return false;
  if (second === undefined) return delete options[first];
  const section = options[first] as Record<string, unknown>;
  return second in section && delete section[second];
}

/** A well-formed part (defaults filled), or undefined if it is not (its problems are reported already). */
function partOf<T extends z.ZodType>(schema: T, value: unknown): z.output<T> | undefined {
  const result = schema.safeParse(value ?? undefined);
  return result.success ? result.data : undefined;
}

/** Each element of a list parsed on its own; undefined for malformed ones. */
function elementsOf<T extends z.ZodType>(schema: T, value: unknown): Array<z.output<T> | undefined> {
  return Array.isArray(value) ? value.map((element) => partOf(schema, element)) : [];
}
