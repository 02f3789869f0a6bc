import { isAbsolute } from 'node:path';
import BetterSqlite3, { type Database, type Options } from 'better-sqlite3';

/**
 * Checks a path to better-sqlite3's native module (`better_sqlite3.node`), given where better-sqlite3's
 * own build is not the one to load: a packaged Electron app ships a build for Electron's ABI apart
 * from node_modules. Undefined means better-sqlite3's own build. Throws a TypeError naming `name`.
 */
export function checkSqliteBinding(value: unknown, name: string): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || !isAbsolute(value) || !value.endsWith('.node') || value.length > 4096 || value.includes('\0')) {
    throw new TypeError(`${name} must be the absolute path of a better_sqlite3.node file.`);
  }
  return value;
}

/**
 * Opens a better-sqlite3 connection, loading the native module from `binding` when one is given. A
 * module that cannot be loaded (missing, or built for another ABI) is reported as such, naming it,
 * rather than as a problem with the database file.
 */
export function connect(path: string, options: Options, binding: string | undefined): Database {
  try {
    return new BetterSqlite3(path, binding === undefined ? options : { ...options, nativeBinding: binding });
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (code !== 'MODULE_NOT_FOUND' && code !== 'ERR_DLOPEN_FAILED') throw error;
    const which = binding ?? "better-sqlite3's own build";
    throw Object.assign(new Error(`SQLite's native module (${which}) could not be loaded: ${(error as Error).message.split('\n')[0]}`, { cause: error }), {
      code: 'SQLITE_BINDING',
    });
  }
}
