import type { CommandSpec } from './command.js';
import { hashPassword } from './hash-password.js';

/** Every `gatehouse` command, in the order `--help` lists them. */
export const COMMANDS: readonly CommandSpec[] = [
  {
    path: ['hash-password'],
    positionals: [],
    usage: 'read a password on stdin, print its argon2id PHC string',
    run: ({ io, json }) => hashPassword(io, json),
  },
];
