import { createHash } from 'node:crypto';

/** JSON with object keys sorted, so equal content always hashes the same. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, inner: unknown) =>
    inner !== null && typeof inner === 'object' && !Array.isArray(inner)
      ? Object.fromEntries(Object.entries(inner).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : inner,
  );
}

/** SHA-256 (hex) of the canonical JSON of the parts given, domain-separated by `label`. */
export function contentHash(label: string, ...parts: unknown[]): string {
  return createHash('sha256').update(canonicalJson([label, ...parts])).digest('hex');
}
