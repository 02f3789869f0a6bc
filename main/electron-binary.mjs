import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const ELECTRON_DIR = dirname(createRequire(import.meta.url).resolve('electron/package.json'));

/** The electron package's own download script (run only when a person asks for it). */
export const ELECTRON_INSTALL_SCRIPT = join(ELECTRON_DIR, 'install.js');
/** The Electron version the package fetches. */
export const ELECTRON_VERSION = JSON.parse(readFileSync(join(ELECTRON_DIR, 'package.json'), 'utf8')).version;

/**
 * Where the electron package keeps its binary, found as its index.js finds it (path.txt, dist/,
 * ELECTRON_OVERRIDE_DIST_PATH) but without loading index.js, which downloads a missing binary on
 * the spot and would hang without a network.
 * @returns {{ path: string } | { missing: string }}
 */
export function electronBinary() {
  const pathFile = join(ELECTRON_DIR, 'path.txt');
  const relative = existsSync(pathFile) ? readFileSync(pathFile, 'utf8') : undefined;
  const override = process.env.ELECTRON_OVERRIDE_DIST_PATH;
  if (!override && relative === undefined) return { missing: `no ${pathFile}` };
  const full = override ? join(override, relative || 'electron') : join(ELECTRON_DIR, 'dist', relative);
  return existsSync(full) ? { path: full } : { missing: `no ${full}` };
}
