/** A provisioning file refused whole; `problems` lists every problem found, each starting with its JSON path. */
export class ProvisioningError extends Error {
  override readonly name = 'ProvisioningError';
  constructor(readonly problems: readonly string[]) {
    super(`The provisioning file was refused: ${problems.join('; ')}`);
  }
}

/** `users[3].password` for ['users', 3, 'password']; `(file)` for the whole file. */
export function jsonPath(path: ReadonlyArray<PropertyKey>): string {
  let text = '';
  for (const key of path) text += typeof key === 'number' ? `[${key}]` : `${text === '' ? '' : '.'}${String(key)}`;
  return text === '' ? '(file)' : text;
}

export function problem(path: ReadonlyArray<PropertyKey>, message: string): string {
  return `${jsonPath(path)}: ${message}`;
}
