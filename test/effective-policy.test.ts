import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { AppPolicyError, DEFAULT_APP_POLICY } from '../dist/electron/app-policy.js';
import { effectivePolicy, policyEntries } from '../dist/electron/effective-policy.js';
import { PolicyFileError } from '../dist/electron/policy-file.js';
import { readPolicySources } from '../dist/electron/policy-sources.js';
import { RegistryPolicyError, type RegQueryRunner } from '../dist/electron/registry-policy.js';
import { readUserSettings } from '../dist/electron/user-settings.js';
import { tempDir } from './helpers.js';

const sample = (name: string) => readFileSync(fileURLToPath(new URL(`fixtures/reg-query/${name}`, import.meta.url)), 'utf8');
const MISSING = { exitCode: 1, stdout: '', stderr: sample('missing-key.stderr.txt') };

/** reg.exe as it answered for each key (recorded samples); a key not given is missing. */
function registry(answers: Record<string, string>, asked: string[] = []): RegQueryRunner {
  return async (key) => {
    asked.push(key);
    const stdout = answers[key];
    return stdout === undefined ? MISSING : { exitCode: 0, stdout, stderr: '' };
  };
}

/** A temp folder with the given files (JSON), and the path of each. */
function files(contents: Record<string, unknown>): Record<string, string> {
  const dir = tempDir();
  return Object.fromEntries(
    Object.entries(contents).map(([name, value]) => {
      const path = join(dir, name);
      writeFileSync(path, typeof value === 'string' ? value : JSON.stringify(value));
      return [name, path];
    }),
  );
}

const valueOf = (result: ReturnType<typeof effectivePolicy>) => Object.fromEntries(result.entries.map((entry) => [entry.name, [entry.value, entry.source]]));

describe('effectivePolicy', () => {
  it('with no source: every field its default, from `default`, in the order of AppPolicy', () => {
    const result = effectivePolicy();
    expect(result.policy).toEqual(DEFAULT_APP_POLICY);
    expect(result.entries).toEqual(Object.entries(DEFAULT_APP_POLICY).map(([name, value]) => ({ name, value, source: 'default' })));
    expect(Object.isFrozen(result.entries) && result.entries.every(Object.isFrozen)).toBe(true);
    expect(structuredClone(result.entries)).toEqual(result.entries);
  });

  it('each source wins over the ones below it, field by field: user < provisioning < user registry < machine file < machine registry', () => {
    const result = effectivePolicy({
      user: { idleLockSeconds: 60 },
      provisioning: { idleLockSeconds: 120, appName: 'Provisioned', helpdeskText: 'Provisioned help', staySignedInAllowed: true },
      userRegistry: { appName: 'User GP', helpdeskText: 'User GP help' },
      machineFile: { appName: 'Machine file', dataDirectory: '/srv/gatehouse' },
      machineRegistry: { appName: 'Machine GP', auditForwarding: true },
    });
    expect(valueOf(result)).toEqual({
      appName: ['Machine GP', 'machine-registry'],
      helpdeskText: ['User GP help', 'user-registry'],
      idleLockSeconds: [120, 'provisioning'],
      staySignedInAllowed: [true, 'provisioning'],
      persistentSigningKeys: [false, 'default'],
      dataDirectory: ['/srv/gatehouse', 'machine-file'],
      auditForwarding: [true, 'machine-registry'],
    });
    expect(result.policy).toEqual({ appName: 'Machine GP', helpdeskText: 'User GP help', idleLockSeconds: 120, staySignedInAllowed: true, persistentSigningKeys: false, dataDirectory: '/srv/gatehouse', auditForwarding: true });
  });

  it("the person's idle lock applies until any policy sets one; a null from policy is a setting too", () => {
    expect(valueOf(effectivePolicy({ user: { idleLockSeconds: 60 } })).idleLockSeconds).toEqual([60, 'user']);
    expect(valueOf(effectivePolicy({ user: { idleLockSeconds: 60 }, machineFile: { idleLockSeconds: 900 } })).idleLockSeconds).toEqual([900, 'machine-file']);
    expect(valueOf(effectivePolicy({ userRegistry: { helpdeskText: 'x' }, machineRegistry: { helpdeskText: null } })).helpdeskText).toEqual([null, 'machine-registry']);
  });

  it('refuses what a source may not set and what is not valid, listing every problem with its source', () => {
    const error = (() => {
      try {
        effectivePolicy({
          user: { appName: 'Mine', idleLockSeconds: 30 },
          provisioning: { dataDirectory: '/elsewhere', persistentSigningKeys: true, idleLockSeconds: -1, colour: 'blue' },
          machineFile: { idleLockSeconds: 100_000 },
        });
      } catch (thrown) {
        return thrown;
      }
    })();
    expect(error).toBeInstanceOf(AppPolicyError);
    expect((error as AppPolicyError).problems).toEqual([
      'user: appName: cannot be set by this source',
      'provisioning: idleLockSeconds: Too small: expected number to be >=0',
      'provisioning: (policy): Unrecognized key: "colour"',
      'machine-file: idleLockSeconds: Too big: expected number to be <=86400',
    ]);
    expect(() => effectivePolicy({ provisioning: { dataDirectory: '/elsewhere', persistentSigningKeys: true } })).toThrow(
      new AppPolicyError(['provisioning: persistentSigningKeys: cannot be set by this source', 'provisioning: dataDirectory: cannot be set by this source']),
    );
    expect(() => effectivePolicy({ provisioning: 'appName=x' })).toThrow(AppPolicyError);
  });

  it('policyEntries describes a policy given whole as all `default`', () => {
    expect(policyEntries(DEFAULT_APP_POLICY).map((entry) => entry.source)).toEqual(Array(7).fill('default'));
  });
});

describe('readUserSettings', () => {
  it('reads the idle lock a person chose; a missing file sets nothing', async () => {
    const { ok } = files({ ok: { idleLockSeconds: 120 } });
    expect(await readUserSettings(ok!)).toEqual({ settings: { idleLockSeconds: 120 }, ignored: undefined });
    expect(await readUserSettings(join(tempDir(), 'settings.json'))).toEqual({ settings: {}, ignored: undefined });
  });

  it('ignores, with the reason, a file it cannot use: other fields, no idle lock at all, not JSON, unreadable', async () => {
    const paths = files({ policy: { staySignedInAllowed: true }, off: { idleLockSeconds: 0 }, text: 'idle=5' });
    const dir = join(tempDir(), 'settings.json');
    mkdirSync(dir);
    const ignored = async (path: string) => (await readUserSettings(path)).ignored;
    expect((await readUserSettings(paths.policy!)).settings).toEqual({});
    expect(await ignored(paths.policy!)).toBe(`${paths.policy} is ignored: (settings): Unrecognized key: "staySignedInAllowed"`);
    expect(await ignored(paths.off!)).toBe(`${paths.off} is ignored: idleLockSeconds: Too small: expected number to be >=1`);
    expect(await ignored(paths.text!)).toMatch(/is ignored: it is not UTF-8 JSON \(/);
    expect(await ignored(dir)).toBe(`${dir} is ignored: it cannot be read (EISDIR)`);
  });
});

describe('readPolicySources, then effectivePolicy', () => {
  it('on Windows: user settings, the policy file, then HKCU and HKLM through reg.exe, each a layer with its source', async () => {
    const paths = files({ 'settings.json': { idleLockSeconds: 60 }, 'policy.json': { helpdeskText: 'From the file', persistentSigningKeys: true } });
    const asked: string[] = [];
    const sources = await readPolicySources({
      platform: 'win32',
      policyFilePath: paths['policy.json']!,
      userSettingsPath: paths['settings.json']!,
      registry: {
        run: registry({ 'HKLM\\Software\\Policies\\Gatehouse': sample('machine-policy.txt'), 'HKCU\\Software\\Policies\\Gatehouse': sample('user-policy.txt') }, asked),
        env: { ProgramData: 'C:\\ProgramData' },
      },
    });
    expect(asked).toEqual(['HKCU\\Software\\Policies\\Gatehouse', 'HKLM\\Software\\Policies\\Gatehouse']);
    expect(sources.notes).toEqual([
      `machine policy read from ${paths['policy.json']}`,
      'user policy read from HKCU\\Software\\Policies\\Gatehouse',
      'machine policy read from HKLM\\Software\\Policies\\Gatehouse',
    ]);
    expect(sources.layers.user).toEqual({ idleLockSeconds: 60 });
    expect(sources.layers.userRegistry).toEqual({ idleLockSeconds: 300, appName: 'Records (user policy)' });
    // The machine registry's folder is a Windows path; resolved on Windows, as the app does.
    const { dataDirectory, ...machineRegistry } = sources.layers.machineRegistry!;
    expect(dataDirectory).toBe('C:\\ProgramData\\Gatehouse\\Shared');
    const result = effectivePolicy({ ...sources.layers, machineRegistry, provisioning: { helpdeskText: 'Provisioned' } });
    expect(valueOf(result)).toEqual({
      appName: ['Acme Records', 'machine-registry'],
      helpdeskText: ['Locked out? Call the service desk on 4242.\nOr write to help@acme.example.', 'machine-registry'],
      idleLockSeconds: [600, 'machine-registry'],
      staySignedInAllowed: [true, 'machine-registry'],
      persistentSigningKeys: [false, 'machine-registry'],
      dataDirectory: [null, 'default'],
      auditForwarding: [false, 'default'],
    });
  });

  it('on Windows without Group Policy: the file wins over the person, the keys are noted missing', async () => {
    const paths = files({ 'settings.json': { idleLockSeconds: 60 }, 'policy.json': { idleLockSeconds: 300 } });
    const sources = await readPolicySources({ platform: 'win32', policyFilePath: paths['policy.json']!, userSettingsPath: paths['settings.json']!, registry: { run: registry({}) } });
    expect(sources.notes.slice(1)).toEqual([
      'HKCU\\Software\\Policies\\Gatehouse: no policy there (reg.exe: ERROR: The system was unable to find the specified registry key or value.)',
      'HKLM\\Software\\Policies\\Gatehouse: no policy there (reg.exe: ERROR: The system was unable to find the specified registry key or value.)',
    ]);
    expect(valueOf(effectivePolicy(sources.layers)).idleLockSeconds).toEqual([300, 'machine-file']);
  });

  it('elsewhere: no registry is asked; the policy file and the person only', async () => {
    const paths = files({ 'settings.json': { idleLockSeconds: 60 } });
    const asked: string[] = [];
    const sources = await readPolicySources({ platform: 'linux', policyFilePath: join(tempDir(), 'policy.json'), userSettingsPath: paths['settings.json']!, registry: { run: registry({}, asked) } });
    expect(asked).toEqual([]);
    expect(sources).toEqual({ layers: { user: { idleLockSeconds: 60 }, machineFile: {} }, notes: [] });
    expect(valueOf(effectivePolicy(sources.layers)).idleLockSeconds).toEqual([60, 'user']);
  });

  it("refuses IT's policy that cannot be used, from the file or the registry", async () => {
    const paths = files({ 'policy.json': { idleLockSeconds: 'ten' } });
    await expect(readPolicySources({ platform: 'linux', policyFilePath: paths['policy.json']! })).rejects.toBeInstanceOf(PolicyFileError);
    const run = registry({ 'HKLM\\Software\\Policies\\Gatehouse': sample('invalid-policy.txt') });
    await expect(readPolicySources({ platform: 'win32', policyFilePath: join(tempDir(), 'policy.json'), registry: { run } })).rejects.toBeInstanceOf(RegistryPolicyError);
  });
});
