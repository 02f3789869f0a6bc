import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEFAULT_APP_POLICY } from '../dist/electron/app-policy.js';
import { defaultPolicyFilePath, PolicyFileError, readPolicyFile } from '../dist/electron/policy-file.js';
import { tempDir } from './helpers.js';

/** Runs a read expected to be refused and returns its error. */
async function refusal(path: string): Promise<PolicyFileError> {
  const error = await readPolicyFile(path).then(
    () => undefined,
    (thrown: unknown) => thrown,
  );
  expect(error).toBeInstanceOf(PolicyFileError);
  return error as PolicyFileError;
}

describe('readPolicyFile', () => {
  it('a missing file means the defaults', async () => {
    const result = await readPolicyFile(join(tempDir(), 'policy.json'));
    expect(result).toEqual({ policy: DEFAULT_APP_POLICY, source: undefined });
  });

  it("merges a valid file's settings over the defaults and names the file", async () => {
    const path = join(tempDir(), 'policy.json');
    writeFileSync(path, JSON.stringify({ appName: 'Acme Records', idleLockSeconds: 300, staySignedInAllowed: true, dataDirectory: '/srv/gatehouse' }));
    const result = await readPolicyFile(path);
    expect(result.source).toBe(path);
    expect(result.policy).toEqual({ ...DEFAULT_APP_POLICY, appName: 'Acme Records', idleLockSeconds: 300, staySignedInAllowed: true, dataDirectory: '/srv/gatehouse' });
    expect(Object.isFrozen(result.policy)).toBe(true);
  });

  it('refuses a relative data directory, alone too', async () => {
    const path = join(tempDir(), 'policy.json');
    writeFileSync(path, JSON.stringify({ dataDirectory: 'shared/gatehouse' }));
    expect((await refusal(path)).problems).toEqual(['dataDirectory: must be an absolute path']);
  });

  it('accepts the byte order mark Windows editors write', async () => {
    const path = join(tempDir(), 'policy.json');
    writeFileSync(path, `\uFEFF${JSON.stringify({ helpdeskText: 'Call IT on 4242.\nOr write to it@example.com.' })}`);
    expect((await readPolicyFile(path)).policy.helpdeskText).toBe('Call IT on 4242.\nOr write to it@example.com.');
  });

  it('refuses an invalid file, listing every problem', async () => {
    const path = join(tempDir(), 'policy.json');
    writeFileSync(path, JSON.stringify({ appName: '', idleLockSeconds: -5, persistentSigningKeys: 'yes', stayLoggedIn: true, dataDirectory: 'data' }));
    const error = await refusal(path);
    expect(error.path).toBe(path);
    expect(error.problems).toHaveLength(5);
    expect(error.problems.map((problem) => problem.split(':')[0]).sort()).toEqual(['(policy)', 'appName', 'dataDirectory', 'idleLockSeconds', 'persistentSigningKeys']);
    expect(error.problems).toContain('dataDirectory: must be an absolute path');
    expect(error.problems.find((problem) => problem.startsWith('(policy)'))).toMatch(/stayLoggedIn/);
    expect(error.message).toBe(`The machine policy in ${path} cannot be used: ${error.problems.join('; ')}`);
  });

  it.each([
    ['not JSON', 'appName = Acme', /^the file is not UTF-8 JSON \(/],
    ['JSON but not an object', '["appName"]', /^\(policy\): /],
    ['JSON null', 'null', /^\(policy\): /],
  ])('refuses a file that is %s', async (_what, contents, problem) => {
    const path = join(tempDir(), 'policy.json');
    writeFileSync(path, contents);
    const error = await refusal(path);
    expect(error.problems).toHaveLength(1);
    expect(error.problems[0]).toMatch(problem);
  });

  it('refuses a file that is not UTF-8', async () => {
    const path = join(tempDir(), 'policy.json');
    writeFileSync(path, Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d]));
    expect((await refusal(path)).problems[0]).toMatch(/^the file is not UTF-8 JSON \(/);
  });

  it('refuses a file that cannot be read, rather than ignoring it', async () => {
    const path = join(tempDir(), 'policy.json');
    mkdirSync(path);
    expect((await refusal(path)).problems).toEqual(['the file cannot be read (EISDIR)']);
    const underAFile = join(tempDir(), 'not-a-directory');
    writeFileSync(underAFile, '');
    expect((await refusal(join(underAFile, 'policy.json'))).problems).toEqual(['the file cannot be read (ENOTDIR)']);
  });

  it('refuses a file too large to be a policy', async () => {
    const path = join(tempDir(), 'policy.json');
    writeFileSync(path, JSON.stringify({ helpdeskText: 'x'.repeat(70_000) }));
    expect((await refusal(path)).problems).toEqual(['the file is larger than 64 KiB']);
  });
});

describe('defaultPolicyFilePath', () => {
  it('names the documented machine-wide location of each platform', () => {
    expect(defaultPolicyFilePath('win32', { ProgramData: 'D:\\ProgramData' })).toBe('D:\\ProgramData\\Gatehouse\\policy.json');
    expect(defaultPolicyFilePath('win32', {})).toBe('C:\\ProgramData\\Gatehouse\\policy.json');
    expect(defaultPolicyFilePath('darwin', {})).toBe('/Library/Application Support/Gatehouse/policy.json');
    expect(defaultPolicyFilePath('linux', {})).toBe('/etc/gatehouse/policy.json');
  });
});
