import { closeSync, lstatSync, renameSync, rmSync } from 'node:fs';
import { basename, join } from 'node:path';
import { copyDatabaseFiles, DATABASE_SUFFIXES, removeDatabaseFiles } from '../store/backup.js';
import { accessOf, applyAccess, newFileAccess, openRegularFile, type FileAccess } from '../store/file-modes.js';
import { CliError } from './errors.js';

/** A staged, checked copy and the database file it is to replace. */
export interface Replacement {
  staged: string;
  target: string;
}

interface Swap extends Replacement {
  /** The replaced file's mode and owner, which the restored file and the kept copy take; none there: undefined. */
  access: FileAccess | undefined;
  /** The copy of the replaced file, in the private folder until the swap is done; null if no file was there. */
  kept: string | null;
  /** The target's -wal, -shm and -journal have been removed. */
  cleared: boolean;
  /** The staged copy is in place. */
  renamed: boolean;
}

/**
 * Puts every staged copy in place of its target, all of them or none, so an auth database and its
 * records database never end up from different times. `workspace` is the restore's private folder
 * (0700, on the targets' file system, see restore): there, out of reach of the other members of a
 * shared folder, each replaced file (and its -wal) is first copied, with its mode and owner; then
 * each staged copy takes that mode and owner too (or, with no file to replace, what a new file gets
 * in its folder), the target's -wal and -shm go (SQLite must never replay them into the restored
 * file) and one rename puts the copy in place. If a rename fails, the targets already swapped get
 * their kept files back and the command fails. Only once every copy is in place do the kept files
 * move to `<target>.before-restore[.N]`. A crash between two renames cannot be undone here: the
 * kept files (in the private folder then) are the way back.
 * Returns the kept names, in the order given (null where no file was replaced).
 */
export function swapInTogether(workspace: string, replacements: readonly Replacement[]): Array<string | null> {
  const swaps: Swap[] = replacements.map((replacement) => ({ ...replacement, access: undefined, kept: null, cleared: false, renamed: false }));
  try {
    for (const swap of swaps) keep(swap, workspace);
  } catch (error) {
    throw new CliError('refused', `Cannot restore: keeping a copy of the files it replaces failed (${messageOf(error)}); nothing was changed.`);
  }
  for (const [index, swap] of swaps.entries()) {
    try {
      putInPlace(swap);
    } catch (error) {
      const failure = `Cannot restore: putting the restored copy in place of ${swap.target} failed (${messageOf(error)})`;
      const swapped = swaps.slice(0, index).map((earlier) => earlier.target);
      try {
        for (const undone of swaps) putBack(undone);
      } catch (undoError) {
        // The private folder goes with the command: what is left of the replaced files moves out first.
        const kept = swaps.flatMap((left) => (left.kept && present(left.kept) ? [publish(left.kept, left.target)] : []));
        throw new CliError(
          'refused',
          `${failure}, and putting back what it replaced failed too (${messageOf(undoError)}): the replaced files are kept as ${kept.join(', ')}; ` +
            'put them back by hand (docs/it-guide.md, Backup and restore).',
        );
      }
      throw new CliError('refused', `${failure}; nothing was restored${swapped.length > 0 ? ` (${swapped.join(' and ')} is back as it was)` : ''}.`);
    }
  }
  return swaps.map((swap) => swap.kept && publish(swap.kept, swap.target));
}

function keep(swap: Swap, workspace: string): void {
  swap.access = accessOf(swap.target);
  if (!swap.access) return;
  const kept = join(workspace, `${basename(swap.target)}.before-restore`);
  copyDatabaseFiles(swap.target, kept, swap.access);
  swap.kept = kept;
}

function putInPlace(swap: Swap): void {
  // Only now: while it was being vetted, the copy had to stay writable by this process.
  const staged = openRegularFile(swap.staged);
  if (!staged) throw new Error(`the restored copy ${swap.staged} is gone`);
  try {
    applyAccess(staged.fd, swap.access ?? newFileAccess(swap.target));
  } finally {
    closeSync(staged.fd);
  }
  swap.cleared = true;
  for (const suffix of DATABASE_SUFFIXES.slice(1)) rmSync(`${swap.target}${suffix}`, { force: true });
  renameSync(swap.staged, swap.target);
  swap.renamed = true;
}

/** Undoes what putInPlace did, if anything: the replaced file and its -wal back as they were. */
function putBack(swap: Swap): void {
  if (swap.renamed && !swap.kept) {
    removeDatabaseFiles(swap.target); // nothing was there before the restore
    return;
  }
  if (!swap.kept) return;
  // The main file first: a -wal beside the restored file would be replayed into it.
  if (swap.renamed) renameSync(swap.kept, swap.target);
  if (swap.cleared && present(`${swap.kept}-wal`)) renameSync(`${swap.kept}-wal`, `${swap.target}-wal`);
}

/** Moves a kept copy (and its -wal) out of the private folder to the first free `<target>.before-restore[.N]`. */
function publish(kept: string, target: string): string {
  const name = freeName(`${target}.before-restore`);
  renameSync(kept, name);
  if (present(`${kept}-wal`)) renameSync(`${kept}-wal`, `${name}-wal`);
  return name;
}

/** The first name none of whose database files is there, a dangling symbolic link included. */
function freeName(base: string): string {
  let name = base;
  for (let n = 2; DATABASE_SUFFIXES.some((suffix) => present(`${name}${suffix}`)); n++) name = `${base}.${n}`;
  return name;
}

function present(path: string): boolean {
  return lstatSync(path, { throwIfNoEntry: false }) !== undefined;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
