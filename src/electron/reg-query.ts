/**
 * A parser of what `reg.exe query <key> /s` prints, so the Windows registry is read without a native
 * module. The format: a blank line, then for each key its full path on a line of its own
 * (`HKEY_LOCAL_MACHINE\Software\Policies\Gatehouse`) followed by one line per value,
 * `    Name    REG_TYPE    data` (four spaces before and between), then a blank line. Lines end in
 * CRLF. reg.exe prints in the console's code page: the caller decodes (see registry-policy.ts).
 */

export type RegValue =
  | { name: string; type: 'REG_SZ' | 'REG_EXPAND_SZ'; data: string }
  | { name: string; type: 'REG_DWORD'; data: number }
  | { name: string; type: 'REG_QWORD'; data: bigint }
  | { name: string; type: 'REG_MULTI_SZ'; data: string[] };

export interface RegKey {
  /** The key's full path as reg.exe prints it (`HKEY_LOCAL_MACHINE\…`). */
  path: string;
  values: RegValue[];
}

export interface RegQueryOutput {
  keys: RegKey[];
  /** Values left out (binary and other types no setting uses), one line each. */
  warnings: string[];
}

/** Output that is not what reg.exe prints; nothing of it is used. */
export class RegQueryParseError extends Error {
  override readonly name = 'RegQueryParseError';
}

/** How reg.exe names the key's default (unnamed) value; Windows translates it (e.g. `(Standard)`). */
const DEFAULT_VALUE_NAME = '(Default)';
const DEFAULT_NOT_SET = '(value not set)';
const VALUE_LINE = /^ {4}(.+?) {4}(REG_[A-Z0-9_]+)(?: {4}(.*))?$/;
const KEY_LINE = /^HKEY_[A-Z_]+(\\.*)?$/;

/** Parses `reg query … /s` output; throws RegQueryParseError naming the first line it cannot read. */
export function parseRegQuery(text: string): RegQueryOutput {
  const keys: RegKey[] = [];
  const warnings: string[] = [];
  let current: RegKey | undefined;
  text.split(/\r?\n/).forEach((line, index) => {
    const where = `line ${index + 1}`;
    if (line.trim() === '') return;
    if (KEY_LINE.test(line)) {
      current = { path: line, values: [] };
      keys.push(current);
      return;
    }
    const match = VALUE_LINE.exec(line);
    if (!match || !current) throw new RegQueryParseError(`${where} is not reg query output: ${JSON.stringify(line.slice(0, 80))}`);
    const [, printedName = '', type = '', data = ''] = match;
    const name = printedName === DEFAULT_VALUE_NAME ? '' : printedName;
    if (name === '' && data === DEFAULT_NOT_SET) return;
    const value = typedValue(name, type, data, where);
    if (value) current.values.push(value);
    else warnings.push(`${current.path}: value ${JSON.stringify(printedName)} is ${type}, which no setting uses; it is ignored`);
  });
  return { keys, warnings };
}

/** The value with its data typed; undefined for types no setting uses (REG_BINARY, REG_NONE, …). */
function typedValue(name: string, type: string, data: string, where: string): RegValue | undefined {
  switch (type) {
    case 'REG_SZ':
    case 'REG_EXPAND_SZ':
      return { name, type, data };
    case 'REG_DWORD':
      if (!/^0x[0-9a-f]{1,8}$/i.test(data)) throw new RegQueryParseError(`${where}: ${JSON.stringify(data)} is not a REG_DWORD (0x…)`);
      return { name, type, data: Number.parseInt(data.slice(2), 16) };
    case 'REG_QWORD':
      if (!/^0x[0-9a-f]{1,16}$/i.test(data)) throw new RegQueryParseError(`${where}: ${JSON.stringify(data)} is not a REG_QWORD (0x…)`);
      return { name, type, data: BigInt(data) };
    case 'REG_MULTI_SZ':
      // reg.exe joins the strings with the two characters `\0` (a string holding them reads as two).
      return { name, type, data: data === '' ? [] : data.split('\\0') };
    default:
      return undefined;
  }
}
