import type { PolicyEntry, PolicySource } from '../contracts.js';
import { AppPolicyError, DEFAULT_APP_POLICY, resolveAppPolicy, type AppPolicy } from './app-policy.js';
import { checkPolicySettings, type PolicySettings } from './policy-settings.js';

/**
 * The app policy in force, built from every source in order of precedence (each later one wins for
 * the fields it sets): defaults < the person's settings < provisioning < user Group Policy (HKCU) <
 * the machine policy file < machine Group Policy (HKLM). Machine policy thus always wins over what
 * a person or provisioning chose; on Windows, Group Policy (managed centrally, re-applied) wins over
 * a file on the disk. Each setting keeps the source it came from, for the admin page.
 */

/** What each source sets; each is checked against the app policy's schema. */
export interface PolicyLayers {
  user?: PolicySettings;
  /** App settings provisioning stored in the database (unvalidated input). */
  provisioning?: unknown;
  userRegistry?: PolicySettings;
  machineFile?: PolicySettings;
  machineRegistry?: PolicySettings;
}

export interface EffectivePolicy {
  policy: Readonly<AppPolicy>;
  /** Every AppPolicy field, in the order of AppPolicy, with its value and source. */
  entries: readonly Readonly<PolicyEntry>[];
}

/** Lowest precedence first. */
const LAYERS: ReadonlyArray<readonly [keyof PolicyLayers, Exclude<PolicySource, 'default'>]> = [
  ['user', 'user'],
  ['provisioning', 'provisioning'],
  ['userRegistry', 'user-registry'],
  ['machineFile', 'machine-file'],
  ['machineRegistry', 'machine-registry'],
];

const FIELDS = Object.keys(DEFAULT_APP_POLICY) as Array<keyof AppPolicy>;

/**
 * What each source may set. A person chooses only the idle lock (user-settings.ts). Provisioning
 * lives in the database, so what is needed before the database opens (its folder, how its keys are
 * protected) cannot come from it.
 */
const ALLOWED: Partial<Record<keyof PolicyLayers, ReadonlySet<keyof AppPolicy>>> = {
  user: new Set(['idleLockSeconds']),
  provisioning: new Set(FIELDS.filter((field) => field !== 'dataDirectory' && field !== 'persistentSigningKeys')),
};

/** Merges the layers; throws AppPolicyError listing every problem, each prefixed with its source. */
export function effectivePolicy(layers: PolicyLayers = {}): EffectivePolicy {
  const problems: string[] = [];
  const merged: PolicySettings = {};
  const sources = new Map<keyof AppPolicy, PolicySource>();
  for (const [layer, source] of LAYERS) {
    const input = layers[layer];
    if (input === undefined) continue;
    const { settings, problems: found } = checkPolicySettings(input);
    const allowed = ALLOWED[layer];
    const refused = allowed ? (Object.keys(settings) as Array<keyof AppPolicy>).filter((field) => !allowed.has(field)) : [];
    problems.push(...found.map((problem) => `${source}: ${problem}`), ...refused.map((field) => `${source}: ${field}: cannot be set by this source`));
    if (found.length > 0 || refused.length > 0) continue;
    Object.assign(merged, settings);
    for (const field of Object.keys(settings) as Array<keyof AppPolicy>) sources.set(field, source);
  }
  if (problems.length > 0) throw new AppPolicyError(problems);
  const policy = resolveAppPolicy(merged);
  return Object.freeze({ policy, entries: policyEntries(policy, (field) => sources.get(field) ?? 'default') });
}

/** The entries of `policy`, every field from `sourceOf` (default: all `default`, for a policy given whole). */
export function policyEntries(policy: Readonly<AppPolicy>, sourceOf: (field: keyof AppPolicy) => PolicySource = () => 'default'): readonly Readonly<PolicyEntry>[] {
  return Object.freeze(FIELDS.map((name) => Object.freeze({ name, value: policy[name], source: sourceOf(name) })));
}
