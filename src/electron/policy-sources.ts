import type { PolicyLayers } from './effective-policy.js';
import { defaultPolicyFilePath, readPolicyFile } from './policy-file.js';
import { readRegistryPolicy, type RegistryPolicyOptions } from './registry-policy.js';
import { readUserSettings } from './user-settings.js';

/**
 * Reads every policy source this machine has, once at start: the person's settings file, the machine
 * policy file and, on Windows, Group Policy in the registry (user, then machine). Provisioning is not
 * among them: it is in the database, opened after these say where it is.
 */

export interface PolicySourcesOptions {
  /** Default process.platform; the registry is read on win32 only. */
  platform?: NodeJS.Platform;
  /** Default defaultPolicyFilePath(platform). */
  policyFilePath?: string;
  /** The person's settings file (the app: `<userData>/settings.json`); none when left out. */
  userSettingsPath?: string;
  /** How reg.exe is run (tests pass recorded output). */
  registry?: RegistryPolicyOptions;
}

export interface PolicySources {
  /** Every layer but provisioning, for effectivePolicy(). */
  layers: Omit<PolicyLayers, 'provisioning'>;
  /** One line per source found or ignored, and per value ignored, for the log. */
  notes: string[];
}

/** Throws PolicyFileError or RegistryPolicyError (each listing every problem) when IT's policy cannot be used. */
export async function readPolicySources(options: PolicySourcesOptions = {}): Promise<PolicySources> {
  const platform = options.platform ?? process.platform;
  const notes: string[] = [];
  const layers: PolicySources['layers'] = {};
  if (options.userSettingsPath !== undefined) {
    const user = await readUserSettings(options.userSettingsPath);
    if (user.ignored) notes.push(user.ignored);
    layers.user = user.settings;
  }
  const file = await readPolicyFile(options.policyFilePath ?? defaultPolicyFilePath(platform));
  if (file.source) notes.push(`machine policy read from ${file.source}`);
  layers.machineFile = file.settings;
  if (platform === 'win32') {
    for (const [hive, layer] of [['HKCU', 'userRegistry'], ['HKLM', 'machineRegistry']] as const) {
      const registry = await readRegistryPolicy(hive, options.registry);
      if (registry.source) notes.push(`${layer === 'machineRegistry' ? 'machine' : 'user'} policy read from ${registry.source}`);
      notes.push(...registry.warnings);
      layers[layer] = registry.settings;
    }
  }
  return { layers, notes };
}
