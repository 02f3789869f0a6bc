import type { ParseArgsConfig } from 'node:util';
import type { CommandIo } from './io.js';

/** What a command receives once main has parsed and checked its arguments. */
export interface CommandContext {
  io: CommandIo;
  /** The positionals after the command's own words, checked against its `positionals`. */
  args: string[];
  /** Parsed option values (only the command's own options and the global ones can be present). */
  values: Record<string, string | boolean | Array<string | boolean> | undefined>;
  /** `--json`: machine-readable output. */
  json: boolean;
  /** The database file: `--db`, else env GATEHOUSE_DB, else ./gatehouse.db. */
  db: string;
}

/** One `gatehouse` command: its words, its options and how to run it. */
export interface CommandSpec {
  /** The words that name it, e.g. ['users', 'add']. */
  path: readonly string[];
  /** Positional arguments after the words; a trailing `?` marks an optional one. */
  positionals: readonly string[];
  /** Options of this command besides the global ones (`--db`, `--json`, `--help`). */
  options?: NonNullable<ParseArgsConfig['options']>;
  /** One line for `--help`, after the command's words. */
  usage: string;
  run(context: CommandContext): Promise<void>;
}
