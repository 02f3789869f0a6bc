import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseRegQuery, RegQueryParseError } from '../dist/electron/reg-query.js';
import { readRegistryPolicy, RegistryPolicyError, type RegQueryRun, type RegQueryRunner } from '../dist/electron/registry-policy.js';

// The samples are reg.exe's output format (see test/fixtures/reg-query/README.md); reg.exe itself
// exists only on Windows, so the runner hands the reader a recorded run.

const sample = (name: string) => readFileSync(fileURLToPath(new URL(`fixtures/reg-query/${name}`, import.meta.url)), 'utf8');
const ENV = { ProgramData: 'C:\\ProgramData', SystemRoot: 'C:\\Windows' };

/** A runner answering as reg.exe did: the sample on stdout, exit code 0. Records the keys asked for. */
function recorded(run: Partial<RegQueryRun> & { stdout?: string }, asked: string[] = []): RegQueryRunner {
  return async (key) => {
    asked.push(key);
    return { exitCode: 0, stdout: '', stderr: '', ...run };
  };
}

async function refusal(promise: Promise<unknown>): Promise<RegistryPolicyError> {
  const error = await promise.then(
    () => undefined,
    (thrown: unknown) => thrown,
  );
  expect(error).toBeInstanceOf(RegistryPolicyError);
  return error as RegistryPolicyError;
}

describe('parseRegQuery', () => {
  it('reads every type, names and data with spaces, the default value, empty values and subkeys, with CRLF line ends', () => {
    const text = sample('every-format.txt');
    expect(text).toContain('\r\n');
    const { keys, warnings } = parseRegQuery(text);
    expect(keys.map((key) => key.path)).toEqual([
      'HKEY_LOCAL_MACHINE\\Software\\Policies\\Example',
      'HKEY_LOCAL_MACHINE\\Software\\Policies\\Example\\Sub Key',
      'HKEY_LOCAL_MACHINE\\Software\\Policies\\Example\\Sub Key\\Empty Key',
    ]);
    expect(keys[0]!.values).toEqual([
      { name: '', type: 'REG_SZ', data: 'the default value' },
      { name: 'Display Name', type: 'REG_SZ', data: 'Name with    four spaces inside' },
      { name: 'Empty', type: 'REG_SZ', data: '' },
      { name: 'Path', type: 'REG_EXPAND_SZ', data: '%SystemRoot%\\System32' },
      { name: 'Small', type: 'REG_DWORD', data: 0xffffffff },
      { name: 'Big', type: 'REG_QWORD', data: 0x1ffffffffffffn },
      { name: 'Lines', type: 'REG_MULTI_SZ', data: ['first', 'second line', 'third'] },
      { name: 'NoLines', type: 'REG_MULTI_SZ', data: [] },
      { name: 'Unicode', type: 'REG_SZ', data: 'Zürich – Ŝtelo 東京' },
    ]);
    // A default value that is not set is no value.
    expect(keys[1]!.values).toEqual([{ name: 'Inner', type: 'REG_DWORD', data: 0 }]);
    expect(keys[2]!.values).toEqual([]);
    expect(warnings).toEqual([
      'HKEY_LOCAL_MACHINE\\Software\\Policies\\Example: value "Blob" is REG_BINARY, which no setting uses; it is ignored',
      'HKEY_LOCAL_MACHINE\\Software\\Policies\\Example: value "Nothing" is REG_NONE, which no setting uses; it is ignored',
    ]);
  });

  it('reads LF-only output the same as CRLF', () => {
    const text = sample('machine-policy.txt');
    expect(parseRegQuery(text.replace(/\r\n/g, '\n'))).toEqual(parseRegQuery(text));
  });

  it('refuses what reg.exe does not print, naming the line', () => {
    expect(() => parseRegQuery('\r\nAppName    REG_SZ    x\r\n')).toThrow(new RegQueryParseError('line 2 is not reg query output: "AppName    REG_SZ    x"'));
    expect(() => parseRegQuery('    AppName    REG_SZ    x\r\n')).toThrow(/line 1 is not reg query output/);
    expect(() => parseRegQuery('HKEY_LOCAL_MACHINE\\X\r\n  AppName  REG_SZ  x\r\n')).toThrow(/line 2 is not reg query output/);
    expect(() => parseRegQuery('HKEY_LOCAL_MACHINE\\X\r\n    N    REG_DWORD    600\r\n')).toThrow(new RegQueryParseError('line 2: "600" is not a REG_DWORD (0x…)'));
    expect(() => parseRegQuery('HKEY_LOCAL_MACHINE\\X\r\n    N    REG_QWORD    0x10000000000000000\r\n')).toThrow(/is not a REG_QWORD/);
    expect(() => parseRegQuery('End of search: 1 match(es) found.\r\n')).toThrow(/line 1 is not reg query output/);
  });
});

describe('readRegistryPolicy', () => {
  it('maps the machine policy as Group Policy writes it: DWORD booleans and seconds, text, lines, an expanded folder', async () => {
    const asked: string[] = [];
    const result = await readRegistryPolicy('HKLM', { run: recorded({ stdout: sample('machine-policy.txt') }, asked), env: ENV });
    expect(asked).toEqual(['HKLM\\Software\\Policies\\Gatehouse']);
    expect(result).toEqual({
      source: 'HKLM\\Software\\Policies\\Gatehouse',
      settings: {
        appName: 'Acme Records',
        helpdeskText: 'Locked out? Call the service desk on 4242.\nOr write to help@acme.example.',
        idleLockSeconds: 600,
        staySignedInAllowed: true,
        persistentSigningKeys: false,
        dataDirectory: 'C:\\ProgramData\\Gatehouse\\Shared',
      },
      warnings: [],
    });
    expect(Object.isFrozen(result.settings)).toBe(true);
  });

  it('reads the user hive from its own key', async () => {
    const asked: string[] = [];
    const result = await readRegistryPolicy('HKCU', { run: recorded({ stdout: sample('user-policy.txt') }, asked), env: ENV });
    expect(asked).toEqual(['HKCU\\Software\\Policies\\Gatehouse']);
    expect(result.settings).toEqual({ idleLockSeconds: 300, appName: 'Records (user policy)' });
  });

  it('ignores the default value and binary values with a warning, matches names ignoring case, reads empty texts as null', async () => {
    const result = await readRegistryPolicy('HKLM', { run: recorded({ stdout: sample('binary-and-default.txt') }), env: ENV });
    expect(result.settings).toEqual({ appName: 'Lower Case Name', helpdeskText: null, dataDirectory: null, idleLockSeconds: 0 });
    expect(result.warnings).toEqual([
      'HKEY_LOCAL_MACHINE\\Software\\Policies\\Gatehouse: value "Logo" is REG_BINARY, which no setting uses; it is ignored',
      'HKLM\\Software\\Policies\\Gatehouse: the default value is ignored (Gatehouse reads named values only)',
    ]);
  });

  it('a missing key is no policy (reg.exe exits 1, its message kept for the log)', async () => {
    const stderr = sample('missing-key.stderr.txt');
    const result = await readRegistryPolicy('HKLM', { run: recorded({ exitCode: 1, stderr }) });
    expect(result).toEqual({
      settings: {},
      source: undefined,
      warnings: ['HKLM\\Software\\Policies\\Gatehouse: no policy there (reg.exe: ERROR: The system was unable to find the specified registry key or value.)'],
    });
  });

  it('refuses an invalid policy listing every problem by value name, binary values aside', async () => {
    const error = await refusal(readRegistryPolicy('HKLM', { run: recorded({ stdout: sample('invalid-policy.txt') }), env: ENV }));
    expect(error.key).toBe('HKLM\\Software\\Policies\\Gatehouse');
    expect(error.problems).toEqual([
      'HKEY_LOCAL_MACHINE\\Software\\Policies\\Gatehouse\\Extra: unknown key (Gatehouse reads values of HKLM\\Software\\Policies\\Gatehouse only)',
      'AppName: must be a REG_SZ, not REG_DWORD',
      'IdleLockSecond: unknown value (known: AppName, HelpdeskText, IdleLockSeconds, StaySignedInAllowed, PersistentSigningKeys, DataDirectory, AuditForwarding)',
      'StaySignedInAllowed: must be 0 or 1, not 2',
      'persistentsigningkeys: must be a REG_DWORD (0 or 1), not REG_SZ',
      'IdleLockSeconds: Too big: expected number to be <=86400',
      'DataDirectory: must be an absolute path',
    ]);
  });

  it('refuses output listing another key than the one asked for (the machine sample, read for HKCU)', async () => {
    const error = await refusal(readRegistryPolicy('HKCU', { run: recorded({ stdout: sample('machine-policy.txt') }), env: ENV }));
    expect(error.problems).toEqual(['reg.exe listed HKEY_LOCAL_MACHINE\\Software\\Policies\\Gatehouse instead of HKEY_CURRENT_USER\\Software\\Policies\\Gatehouse']);
  });

  it('refuses a folder naming an undefined environment variable rather than using it unexpanded', async () => {
    const stdout = '\r\nHKEY_LOCAL_MACHINE\\Software\\Policies\\Gatehouse\r\n    DataDirectory    REG_EXPAND_SZ    %SHARED_ROOT%\\Gatehouse\r\n\r\n';
    const error = await refusal(readRegistryPolicy('HKLM', { run: recorded({ stdout }), env: ENV }));
    expect(error.problems).toEqual(['DataDirectory: names an undefined environment variable (%SHARED_ROOT%)']);
    const expanded = await readRegistryPolicy('HKLM', { run: recorded({ stdout }), env: { shared_root: 'D:\\Shares' } });
    expect(expanded.settings).toEqual({ dataDirectory: 'D:\\Shares\\Gatehouse' });
  });

  it('refuses output it cannot parse, a failure of reg.exe, and reg.exe not running', async () => {
    expect((await refusal(readRegistryPolicy('HKLM', { run: recorded({ stdout: 'garbage\r\n' }) }))).problems).toEqual(['line 1 is not reg query output: "garbage"']);
    expect((await refusal(readRegistryPolicy('HKLM', { run: recorded({ exitCode: 5, stderr: 'ERROR: Access is denied.\r\n' }) }))).problems).toEqual([
      'reg.exe failed (exit code 5): ERROR: Access is denied.',
    ]);
    const notThere: RegQueryRunner = () => Promise.reject(Object.assign(new Error('spawn reg.exe ENOENT'), { code: 'ENOENT' }));
    expect((await refusal(readRegistryPolicy('HKLM', { run: notThere }))).problems).toEqual(['reg.exe could not be run (ENOENT)']);
  });
});
