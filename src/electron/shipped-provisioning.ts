import { join } from 'node:path';
import type { Engine } from '../engine/engine.js';
import { provision, type ProvisionResult } from '../provisioning/provision.js';
import { readProvisioningFile } from '../provisioning/read-file.js';

/** Where an installer puts the provisioning file: `<resources>/provisioning/provisioning.json`. */
export function shippedProvisioningPath(resourcesPath: string): string {
  return join(resourcesPath, 'provisioning', 'provisioning.json');
}

/**
 * Applies the provisioning file at `path` at the app's start, if there is one (undefined if not).
 * The same file at every start changes nothing; a file the installer updated applies its changes.
 * A file that cannot be applied throws ProvisioningError listing every problem: the app must not
 * start on an installation IT did not intend.
 */
export async function applyShippedProvisioning(engine: Engine, path: string): Promise<ProvisionResult | undefined> {
  const file = await readProvisioningFile(path, { missingOk: true });
  return file === undefined ? undefined : provision(engine, file);
}
