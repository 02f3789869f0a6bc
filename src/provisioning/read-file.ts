import { readFile } from 'node:fs/promises';
import { ProvisioningError } from './problems.js';

/** Far above any real file (100 000 users fit in a few tens of MiB). */
const MAX_FILE_BYTES = 64 * 1024 * 1024;

/**
 * Reads a provisioning file as JSON (UTF-8, a byte order mark allowed); what is not readable JSON is
 * a ProvisioningError. `undefined` when there is no file at `path` and `missingOk` is set.
 */
export async function readProvisioningFile(path: string, options: { missingOk?: boolean } = {}): Promise<unknown> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (error) {
    const { code, message } = error as NodeJS.ErrnoException;
    if (code === 'ENOENT' && options.missingOk) return undefined;
    throw new ProvisioningError([`(file): ${path} cannot be read (${code ?? message})`]);
  }
  if (bytes.length > MAX_FILE_BYTES) throw new ProvisioningError([`(file): larger than ${MAX_FILE_BYTES / 1024 / 1024} MiB`]);
  try {
    // Windows editors often start UTF-8 files with a byte order mark, which JSON does not allow.
    return JSON.parse(new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(bytes)) as unknown;
  } catch (error) {
    throw new ProvisioningError([`(file): not UTF-8 JSON (${(error as Error).message})`]);
  }
}
