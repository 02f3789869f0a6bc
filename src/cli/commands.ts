import type { CommandSpec } from './command.js';
import { hashPassword } from './hash-password.js';
import { serve } from './serve.js';

/** Every `gatehouse` command, in the order `--help` lists them. */
export const COMMANDS: readonly CommandSpec[] = [
  {
    path: ['hash-password'],
    positionals: [],
    usage: 'read a password on stdin, print its argon2id PHC string',
    run: ({ io, json }) => hashPassword(io, json),
  },
  {
    path: ['serve'],
    positionals: [],
    options: { port: { type: 'string' }, issuer: { type: 'string' } },
    usage: 'run the engine and its HTTP endpoints on 127.0.0.1 (--port N, default 8470; --issuer ID)',
    run: serve,
  },
];
