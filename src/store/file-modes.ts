import { closeSync, constants, fchmodSync, fchownSync, fstatSync, lstatSync, mkdirSync, openSync, statSync, type Stats } from 'node:fs';
import { dirname } from 'node:path';
import { StoreError } from './errors.js';

// On Windows POSIX modes mean nothing (the folder's ACLs decide): files are made 0600 there, as
// always, which only keeps them writable.
const POSIX = process.platform !== 'win32';
// On Linux only a setgid folder gives new files its group; macOS and the BSDs always do.
const GROUP_NEEDS_SETGID = process.platform === 'linux';
const PRIVATE = 0o600;
const SHARED = 0o660;

/**
 * Added to the flags of every open of a path another member of a shared folder could have swapped
 * for a symbolic link: the open fails (ELOOP) instead of following it. Windows has no such flag.
 */
export const NO_FOLLOW = constants.O_NOFOLLOW ?? 0;

/**
 * The permission bits a database file gets and the owner it should have: `uid` is given only where
 * the file must be given away (root restoring another user's file), `gid` wherever it must belong
 * to a group (a shared folder's, or the replaced file's).
 */
export interface FileAccess {
  mode: number;
  uid?: number | undefined;
  gid?: number | undefined;
}

/** Readable and writable by this OS user only. */
export const PRIVATE_ACCESS: FileAccess = { mode: PRIVATE };

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
 * Creates an empty database file at `path` with what a new file gets in its folder (see
 * `newFileAccess`), set exactly whatever the umask. A file already there (another process created
 * it first) is left as it is. SQLite gives the -wal and -shm files it makes the main file's mode.
 */
export function createDatabaseFile(path: string): void {
  let fd: number;
  try {
    // Created private, then set exactly: never more open than meant, not even briefly.
    fd = createExclusive(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return;
    throw error;
  }
  try {
    applyAccess(fd, newFileAccess(path));
  } finally {
    closeSync(fd);
  }
}

/**
 * What a new file at `path` gets from its folder: 0660 in the folder's group where that group may
 * write (and others may not: a folder like /tmp is nobody's shared folder) and new files take the
 * folder's group (on Linux only with the setgid bit), so every member can open it; otherwise 0600.
 */
export function newFileAccess(path: string): FileAccess {
  if (!POSIX) return PRIVATE_ACCESS;
  const folder = statSync(dirname(path));
  const groupShares = (folder.mode & 0o022) === 0o020 && (!GROUP_NEEDS_SETGID || (folder.mode & 0o2000) !== 0);
  return groupShares ? { mode: SHARED, gid: folder.gid } : PRIVATE_ACCESS;
}

/**
 * What a file put in place of `target` must carry: the replaced file's mode and group and, when
 * this process runs as root (only root can give a file away), its owner. Undefined when no file is
 * there. A symbolic link there is refused: in a shared folder, another member may have put it
 * there, and what it points to is not this database's to copy or to take the access of.
 */
export function accessOf(target: string): FileAccess | undefined {
  const replaced = lstatSync(target, { throwIfNoEntry: false });
  refuseSymbolicLink(target, replaced);
  if (!replaced?.isFile()) return undefined;
  if (!POSIX) return PRIVATE_ACCESS;
  return { mode: replaced.mode & 0o777, uid: process.getuid?.() === 0 ? replaced.uid : undefined, gid: replaced.gid };
}

/**
 * Gives the open file `fd` this access, by descriptor (a path could be swapped meanwhile). A group
 * this process may not give the file (it is no member of it) would leave the mode's group bits to
 * the wrong group: then the file gets no group or other bits at all.
 */
export function applyAccess(fd: number, access: FileAccess): void {
  let { mode } = access;
  if (POSIX && access.uid !== undefined) {
    fchownSync(fd, access.uid, access.gid ?? -1);
  } else if (POSIX && access.gid !== undefined && fstatSync(fd).gid !== access.gid) {
    try {
      fchownSync(fd, -1, access.gid);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EPERM') throw error;
      mode &= 0o700;
    }
  }
  fchmodSync(fd, mode);
}

/**
 * Opens `path` to read without following a symbolic link, and checks it is a regular file.
 * Undefined when nothing is there.
 */
export function openRegularFile(path: string): { fd: number; stats: Stats } | undefined {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | NO_FOLLOW);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return undefined;
    // ELOOP is Linux's answer to O_NOFOLLOW on a link; the BSDs and macOS give EMLINK or EFTYPE.
    if (code === 'ELOOP' || code === 'EMLINK' || code === 'EFTYPE') throw symbolicLink(path);
    throw error;
  }
  const stats = fstatSync(fd);
  if (!stats.isFile()) {
    closeSync(fd);
    throw new StoreError('unavailable', `${path} is not a regular file; it was left as it is.`);
  }
  return { fd, stats };
}

/** Creates a new file at `path` to write, refused if anything (a dangling symbolic link too) is there. */
export function createExclusive(path: string): number {
  return openSync(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | NO_FOLLOW, PRIVATE);
}

/** Refuses a symbolic link at `path` (see accessOf), with what lstat found there if already known. */
export function refuseSymbolicLink(path: string, found = lstatSync(path, { throwIfNoEntry: false })): void {
  if (found?.isSymbolicLink()) throw symbolicLink(path);
}

function symbolicLink(path: string): StoreError {
  return new StoreError('unavailable', `${path} is a symbolic link, which is not followed (in a shared folder another member may have put it there); it was left as it is.`);
}
