import { chmodSync, chownSync, closeSync, fchmodSync, fstatSync, mkdirSync, openSync, statSync, type Stats } from 'node:fs';
import { dirname } from 'node:path';
import { StoreError } from './errors.js';

// On Windows POSIX modes mean nothing (the folder's ACLs decide): files are made 0600 there, as
// always, which only keeps them writable.
const POSIX = process.platform !== 'win32';
const PRIVATE = 0o600;
const SHARED = 0o660;

/** The permission bits a database file gets and, where this process may give it one, its owner. */
export interface FileAccess {
  mode: number;
  owner: { uid: number; gid: number } | undefined;
}

/** Readable and writable by this OS user only. */
export const PRIVATE_ACCESS: FileAccess = { mode: PRIVATE, owner: undefined };

/**
 * Creates the folder of the database at `path` if missing, private to this OS user (a shared
 * folder is IT's to prepare), and refuses one anyone may write to without the sticky bit: anyone
 * could replace the database there.
 */
export function prepareFolder(path: string): void {
  const dir = dirname(path);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  if (!POSIX) return;
  const { mode } = statSync(dir);
  if ((mode & 0o002) !== 0 && (mode & 0o1000) === 0) {
    throw new StoreError(
      'unavailable',
      `Refusing the database at ${path}: anyone may write to its folder ${dir} (mode ${(mode & 0o7777).toString(8).padStart(4, '0')}, no sticky bit), ` +
        'so anyone could replace the database. Remove write access for others (chmod o-w) or prepare the folder as docs/it-guide.md says.',
    );
  }
}

/**
 * Creates an empty database file at `path` with the mode its folder gives (see `folderMode`), set
 * exactly whatever the umask. A file already there (another process created it first) is left as
 * it is. SQLite gives the -wal and -shm files it makes the main file's mode.
 */
export function createDatabaseFile(path: string): void {
  let fd: number;
  try {
    // Created private, then widened if the folder says so: never more open than meant, not even briefly.
    fd = openSync(path, 'wx', PRIVATE);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return;
    throw error;
  }
  try {
    const mode = folderMode(path, fstatSync(fd));
    if (mode !== PRIVATE) fchmodSync(fd, mode);
  } finally {
    closeSync(fd);
  }
}

/**
 * The mode a new file gets in its folder: 0660 where the folder's group may write (and others may
 * not: a folder like /tmp is nobody's shared folder) and the file belongs to that group (a setgid
 * folder on Linux, any folder on macOS), so every member can open it; otherwise 0600. A file in
 * another group (its creator's own) stays private.
 */
function folderMode(path: string, file: Stats): number {
  if (!POSIX) return PRIVATE;
  const folder = statSync(dirname(path));
  return (folder.mode & 0o022) === 0o020 && file.gid === folder.gid ? SHARED : PRIVATE;
}

/**
 * What a file put in place of `target` must carry: the replaced file's mode and, when this process
 * runs as root (only root can give a file away), its owner. Undefined when no file is there.
 */
export function accessOf(target: string): FileAccess | undefined {
  const replaced = statSync(target, { throwIfNoEntry: false });
  if (!replaced?.isFile()) return undefined;
  if (!POSIX) return { mode: PRIVATE, owner: undefined };
  return { mode: replaced.mode & 0o777, owner: process.getuid?.() === 0 ? { uid: replaced.uid, gid: replaced.gid } : undefined };
}

/** Gives the file at `path` this access, or, with none given, the mode a new file gets in its folder. */
export function applyAccess(path: string, access: FileAccess | undefined): void {
  if (access?.owner) chownSync(path, access.owner.uid, access.owner.gid);
  chmodSync(path, access?.mode ?? folderMode(path, statSync(path)));
}
