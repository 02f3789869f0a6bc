import { execFile } from 'node:child_process';
import { win32 } from 'node:path';
import type { AppPolicy } from './app-policy.js';
import { checkPolicySettings, type PolicySettings } from './policy-settings.js';
import { parseRegQuery, RegQueryParseError, type RegValue } from './reg-query.js';

/**
 * App policy from the Windows registry, where Group Policy writes it (policy-templates/windows holds
 * the ADMX that puts it there): `HKLM\Software\Policies\Gatehouse` for the machine and
 * `HKCU\Software\Policies\Gatehouse` for the user. It is read by running `reg.exe query KEY /s`
 * (no native module) and parsing what it prints. As with the policy file, a value that is there but
 * cannot be used refuses the start, listing every problem: IT's policy is never ignored in silence.
 */

export const POLICY_KEY_PATH = 'Software\\Policies\\Gatehouse';
export type PolicyHive = 'HKLM' | 'HKCU';
/** How reg.exe prints each hive at the start of a key's path. */
const ROOT_NAMES: Record<PolicyHive, string> = { HKLM: 'HKEY_LOCAL_MACHINE', HKCU: 'HKEY_CURRENT_USER' };

/** How a setting is written: the ADMX element that writes it decides the registry type. */
export type RegistryKind = 'text' | 'multiText' | 'expandableText' | 'boolean' | 'seconds';

/**
 * The registry value of each AppPolicy field. Names are matched ignoring case, as Windows does.
 * boolean: REG_DWORD 0 or 1; seconds: REG_DWORD; text: REG_SZ; multiText: REG_MULTI_SZ (one line
 * each) or REG_SZ; expandableText: REG_EXPAND_SZ (`%VAR%` expanded) or REG_SZ. An empty text means
 * `null` for the fields that may be null.
 */
export const REGISTRY_VALUES: { readonly [K in keyof AppPolicy]: { readonly valueName: string; readonly kind: RegistryKind } } = Object.freeze({
  appName: { valueName: 'AppName', kind: 'text' },
  helpdeskText: { valueName: 'HelpdeskText', kind: 'multiText' },
  idleLockSeconds: { valueName: 'IdleLockSeconds', kind: 'seconds' },
  staySignedInAllowed: { valueName: 'StaySignedInAllowed', kind: 'boolean' },
  persistentSigningKeys: { valueName: 'PersistentSigningKeys', kind: 'boolean' },
  dataDirectory: { valueName: 'DataDirectory', kind: 'expandableText' },
  auditForwarding: { valueName: 'AuditForwarding', kind: 'boolean' },
});

const FIELDS = Object.keys(REGISTRY_VALUES) as Array<keyof AppPolicy>;
const NULLABLE = new Set<keyof AppPolicy>(['helpdeskText', 'dataDirectory']);

/** The registry policy exists but cannot be used; `problems` lists every reason, one line each. */
export class RegistryPolicyError extends Error {
  override readonly name = 'RegistryPolicyError';
  constructor(
    readonly key: string,
    readonly problems: readonly string[],
  ) {
    super(`The policy in ${key} cannot be used: ${problems.join('; ')}`);
  }
}

/** What `reg.exe query KEY /s` did: its exit code and what it printed, decoded. */
export interface RegQueryRun {
  exitCode: number;
  stdout: string;
  stderr: string;
}
export type RegQueryRunner = (key: string) => Promise<RegQueryRun>;

export interface RegistryPolicyResult {
  settings: Readonly<PolicySettings>;
  /** The key read; undefined when it does not exist (no policy from it). */
  source: string | undefined;
  /** Values ignored (binary, the default value) and keys not found, one line each, for the log. */
  warnings: string[];
}

export interface RegistryPolicyOptions {
  /** Runs reg.exe (default: runRegExe); tests pass recorded output. */
  run?: RegQueryRunner;
  /** For REG_EXPAND_SZ (default process.env). */
  env?: NodeJS.ProcessEnv;
}

/** Reads the policy under `hive`; throws RegistryPolicyError listing every problem. */
export async function readRegistryPolicy(hive: PolicyHive, options: RegistryPolicyOptions = {}): Promise<RegistryPolicyResult> {
  const key = `${hive}\\${POLICY_KEY_PATH}`;
  const { run = runRegExe, env = process.env } = options;
  let result: RegQueryRun;
  try {
    result = await run(key);
  } catch (error) {
    throw new RegistryPolicyError(key, [`reg.exe could not be run (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`]);
  }
  // reg.exe answers 1 with nothing on stdout when the key is missing: no policy. Its message is in
  // the system's language, so it is not matched; it is kept for the log (access denied looks alike).
  if (result.exitCode === 1 && result.stdout.trim() === '') {
    return { settings: {}, source: undefined, warnings: [`${key}: no policy there (reg.exe: ${result.stderr.trim() || 'not found'})`] };
  }
  if (result.exitCode !== 0) throw new RegistryPolicyError(key, [`reg.exe failed (exit code ${result.exitCode}): ${result.stderr.trim()}`]);
  let parsed;
  try {
    parsed = parseRegQuery(result.stdout);
  } catch (error) {
    if (!(error instanceof RegQueryParseError)) throw error;
    throw new RegistryPolicyError(key, [error.message]);
  }
  const { settings, problems, warnings } = settingsFromKeys(key, `${ROOT_NAMES[hive]}\\${POLICY_KEY_PATH}`, parsed.keys, env);
  if (problems.length > 0) throw new RegistryPolicyError(key, problems);
  return { settings, source: key, warnings: [...parsed.warnings, ...warnings] };
}

/** Maps the values of the policy key to AppPolicy fields and checks them with the app policy's schema. */
function settingsFromKeys(key: string, printedKey: string, keys: Array<{ path: string; values: RegValue[] }>, env: NodeJS.ProcessEnv) {
  const problems: string[] = [];
  const warnings: string[] = [];
  const input: Record<string, unknown> = {};
  const [own, ...subkeys] = keys;
  // Registry paths ignore case; reg.exe lists the key asked for first.
  if (own && own.path.toLowerCase() !== printedKey.toLowerCase()) return { settings: {}, problems: [`reg.exe listed ${own.path} instead of ${printedKey}`], warnings };
  // Nothing of Gatehouse's is in a subkey: one there is a mistake, refused like an unknown value.
  for (const subkey of subkeys) problems.push(`${subkey.path}: unknown key (Gatehouse reads values of ${key} only)`);
  for (const value of own?.values ?? []) {
    if (value.name === '') {
      warnings.push(`${key}: the default value is ignored (Gatehouse reads named values only)`);
      continue;
    }
    const field = FIELDS.find((candidate) => REGISTRY_VALUES[candidate].valueName.toLowerCase() === value.name.toLowerCase());
    if (!field) {
      problems.push(`${value.name}: unknown value (known: ${FIELDS.map((name) => REGISTRY_VALUES[name].valueName).join(', ')})`);
      continue;
    }
    const converted = convert(value, REGISTRY_VALUES[field].kind, env);
    if ('problem' in converted) problems.push(`${value.name}: ${converted.problem}`);
    else input[field] = converted.value === '' && NULLABLE.has(field) ? null : converted.value;
  }
  const checked = checkPolicySettings(input, win32.isAbsolute);
  // The schema names fields; IT knows the value names.
  problems.push(...checked.problems.map((problem) => problem.replace(/^(\w+):/, (all, field: string) => (field in REGISTRY_VALUES ? `${REGISTRY_VALUES[field as keyof AppPolicy].valueName}:` : all))));
  return { settings: checked.settings, problems, warnings };
}

type Converted = { value: unknown } | { problem: string };

function convert(value: RegValue, kind: RegistryKind, env: NodeJS.ProcessEnv): Converted {
  const wrongType = (expected: string): Converted => ({ problem: `must be ${expected}, not ${value.type}` });
  switch (kind) {
    case 'boolean':
      if (value.type !== 'REG_DWORD') return wrongType('a REG_DWORD (0 or 1)');
      return value.data === 0 || value.data === 1 ? { value: value.data === 1 } : { problem: `must be 0 or 1, not ${value.data}` };
    case 'seconds':
      return value.type === 'REG_DWORD' ? { value: value.data } : wrongType('a REG_DWORD');
    case 'text':
      return value.type === 'REG_SZ' ? { value: value.data } : wrongType('a REG_SZ');
    case 'multiText':
      if (value.type === 'REG_MULTI_SZ') return { value: value.data.join('\n') };
      return value.type === 'REG_SZ' ? { value: value.data } : wrongType('a REG_MULTI_SZ or REG_SZ');
    case 'expandableText':
      if (value.type === 'REG_EXPAND_SZ') return expandEnvironment(value.data, env);
      return value.type === 'REG_SZ' ? { value: value.data } : wrongType('a REG_EXPAND_SZ or REG_SZ');
  }
}

/** `%NAME%` replaced as Windows does (names ignore case); an undefined variable is a problem, not left in. */
function expandEnvironment(text: string, env: NodeJS.ProcessEnv): Converted {
  const missing: string[] = [];
  const lookup = (name: string) => Object.entries(env).find(([candidate]) => candidate.toLowerCase() === name.toLowerCase())?.[1];
  const value = text.replace(/%([^%]+)%/g, (all, name: string) => {
    const found = lookup(name);
    if (found === undefined) missing.push(name);
    return found ?? all;
  });
  return missing.length > 0 ? { problem: `names an undefined environment variable (${missing.map((name) => `%${name}%`).join(', ')})` } : { value };
}

/**
 * Runs `reg.exe query KEY /s` (Windows only). reg.exe prints in the console's OEM code page, which
 * would garble any character outside it; `chcp 65001` first makes it print UTF-8, and the output is
 * then decoded strictly, so a garbled value is refused rather than misread. The key is a constant of
 * this module (never input), so the command line holds nothing from outside; it is passed to
 * cmd.exe verbatim (`/s /c "…"`), since Node's quoting of arguments is not cmd's.
 */
export function runRegExe(key: string): Promise<RegQueryRun> {
  const systemRoot = process.env.SystemRoot ?? 'C:\\Windows';
  const command = `chcp 65001 >nul & "${win32.join(systemRoot, 'System32', 'reg.exe')}" query "${key}" /s`;
  return new Promise((resolve, reject) => {
    execFile(win32.join(systemRoot, 'System32', 'cmd.exe'), ['/d', '/s', '/c', `"${command}"`], { encoding: 'buffer', windowsHide: true, windowsVerbatimArguments: true, timeout: 30_000, maxBuffer: 1024 * 1024 }, (error, stdout, stderr) => {
      const exitCode = error ? (error as { code?: unknown }).code : 0;
      if (typeof exitCode !== 'number') return reject(error);
      try {
        const decode = (bytes: Buffer) => new TextDecoder('utf-8', { fatal: true }).decode(bytes);
        resolve({ exitCode, stdout: decode(stdout), stderr: decode(stderr) });
      } catch {
        reject(new Error('reg.exe printed text that is not UTF-8'));
      }
    });
  });
}
