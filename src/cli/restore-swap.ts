import { existsSync, renameSync, rmSync } from 'node:fs';
import { copyDatabaseFiles, removeDatabaseFiles } from '../store/backup.js';
import { accessOf, applyAccess, type FileAccess } from '../store/file-modes.js';
import { CliError } from './errors.js';

/** A staged, checked copy and the database file it is to replace. */
export interface Replacement {
  staged: string;
  target: string;
}

interface Swap extends Replacement {
  /** The replaced file's mode and owner, which the restored file and the kept copy take; none there: undefined. */
  access: FileAccess | undefined;
  /** The copy of the replaced file (`<target>.before-restore[.N]`), if a file was there. */
  kept: string | null;
  /** The target's -wal, -shm and -journal have been removed. */
  cleared: boolean;
  /** The staged copy is in place. */
  renamed: boolean;
}

/**
 * Puts every staged copy in place of its target, all of them or none, so an auth database and its
 * records database never end up from different times. First each replaced file (and its -wal) is
 * copied to `<target>.before-restore[.N]`, with its mode and owner; then each staged copy takes
 * that mode and owner too (or, with no file to replace, what a new file gets in its folder), the
 * target's -wal and -shm go (SQLite must never replay them into the restored file) and one rename
 * puts the copy in place. If a rename fails, the targets already swapped get their kept files back
 * and the command fails. A crash between two renames cannot be undone here: the kept files are the
 * way back.
 * Returns the kept names, in the order given (null where no file was replaced).
 */
export function swapInTogether(replacements: readonly Replacement[]): Array<string | null> {
  const swaps: Swap[] = replacements.map((replacement) => ({ ...replacement, access: undefined, kept: null, cleared: false, renamed: false }));
  try {
    for (const swap of swaps) keep(swap);
  } catch (error) {
    for (const swap of swaps) if (swap.kept) removeDatabaseFiles(swap.kept);
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
        const kept = swaps.flatMap((left) => (left.kept && existsSync(left.kept) ? [left.kept] : []));
        throw new CliError(
          'refused',
          `${failure}, and putting back what it replaced failed too (${messageOf(undoError)}): the replaced files are kept as ${kept.join(', ')}; ` +
            'put them back by hand (docs/it-guide.md, Backup and restore).',
        );
      }
      throw new CliError('refused', `${failure}; nothing was restored${swapped.length > 0 ? ` (${swapped.join(' and ')} is back as it was)` : ''}.`);
    }
  }
  return swaps.map((swap) => swap.kept);
}

function keep(swap: Swap): void {
  swap.access = accessOf(swap.target);
  if (!swap.access) return;
  swap.kept = freeName(`${swap.target}.before-restore`);
  copyDatabaseFiles(swap.target, swap.kept, swap.access);
}

function putInPlace(swap: Swap): void {
  // Only now: while it was being vetted, the copy had to stay writable by this process.
  applyAccess(swap.staged, swap.access);
  swap.cleared = true;
  for (const suffix of ['-wal', '-shm', '-journal']) rmSync(`${swap.target}${suffix}`, { force: true });
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
  if (swap.cleared && existsSync(`${swap.kept}-wal`)) renameSync(`${swap.kept}-wal`, `${swap.target}-wal`);
  // Nothing was restored, so nothing is kept: what is left of the copy goes.
  removeDatabaseFiles(swap.kept);
}

function freeName(base: string): string {
  let name = base;
  for (let n = 2; existsSync(name); n++) name = `${base}.${n}`;
  return name;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
