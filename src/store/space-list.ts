/** Scopes and grants are stored as one space-separated string (validated before writing). */
export function splitList(value: string): string[] {
  return value === '' ? [] : value.split(' ');
}

export function joinList(values: readonly string[]): string {
  return values.join(' ');
}
