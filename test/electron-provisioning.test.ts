import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ProvisioningError } from '../dist/index.js';
import { applyShippedProvisioning, DEFAULT_APP_POLICY, effectivePolicy, shippedProvisioningPath } from '../dist/electron/index.js';
import { newEngine, tempDir } from './helpers.js';

const FILE = {
  version: 1,
  scopes: ['records:read'],
  users: [{ username: 'erin', scope: ['records:read'], password: { oneTime: 'a one-time password for first sign-in' } }],
  app: { helpdeskText: 'Call extension 4357.', idleLockSeconds: 300, appName: 'Acme Records' },
};

function resources(content?: unknown): string {
  const dir = tempDir();
  if (content !== undefined) {
    mkdirSync(join(dir, 'provisioning'));
    writeFileSync(shippedProvisioningPath(dir), JSON.stringify(content));
  }
  return dir;
}

describe('the provisioning file shipped with the app', () => {
  it('is applied at start when present, then changes nothing at the next start; without one nothing happens', async () => {
    const { engine } = await newEngine();
    expect(await applyShippedProvisioning(engine, shippedProvisioningPath(resources()))).toBeUndefined();
    expect(engine.users.list()).toEqual([]);
    const path = shippedProvisioningPath(resources(FILE));
    expect(await applyShippedProvisioning(engine, path)).toMatchObject({ status: 'applied', version: 1 });
    expect(await applyShippedProvisioning(engine, path)).toMatchObject({ status: 'unchanged', changes: [] });
    expect(engine.users.get('erin').mustChangePassword).toBe(true);
  });

  it('refuses a file with problems, listing each', async () => {
    const { engine } = await newEngine();
    const error = await applyShippedProvisioning(engine, shippedProvisioningPath(resources({ ...FILE, version: 0, users: [{}] }))).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ProvisioningError);
    expect((error as ProvisioningError).problems).toEqual([
      'version: Too small: expected number to be >0',
      'users[0].username: Invalid input: expected string, received undefined',
      'users[0].password: Invalid input: expected object, received undefined',
    ]);
    expect(engine.users.list()).toEqual([]);
  });

  it('gives its app settings under machine policy: machine policy wins where it sets something, even a default value', () => {
    const inForce = effectivePolicy({ machineFile: { idleLockSeconds: 60, appName: DEFAULT_APP_POLICY.appName }, provisioning: FILE.app });
    expect(inForce.policy).toEqual({ ...DEFAULT_APP_POLICY, idleLockSeconds: 60, helpdeskText: 'Call extension 4357.' });
    expect(inForce.entries.find((entry) => entry.name === 'helpdeskText')?.source).toBe('provisioning');
    expect(inForce.entries.find((entry) => entry.name === 'appName')?.source).toBe('machine-file');
  });
});
