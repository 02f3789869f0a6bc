import type { CommandSpec } from './command.js';
import { backup, restore } from './backup-commands.js';
import { addClient, listClients, removeClient } from './clients-commands.js';
import { hashPassword } from './hash-password.js';
import { listKeys } from './keys-commands.js';
import { passwd } from './passwd.js';
import { provisionCommand } from './provision-command.js';
import { serve } from './serve.js';
import { listSessions, revokeSession } from './sessions-commands.js';
import { addUser, disableUser, enableUser, listUsers, removeUser, resetPassword, showUser, unlockUser } from './users-commands.js';
import { auditCheckpoint, exportAudit, verifyAudit } from './audit-commands.js';

const SCOPE = { scope: { type: 'string' } } as const;
const MUST_CHANGE = { 'must-change': { type: 'boolean' } } as const;
const PASSWORD_STDIN = { 'password-stdin': { type: 'boolean' } } as const;

/** Every `gatehouse` command, in the order `--help` lists them. */
export const COMMANDS: readonly CommandSpec[] = [
  {
    path: ['users', 'add'],
    positionals: ['NAME'],
    options: { ...SCOPE, 'display-name': { type: 'string' }, ...MUST_CHANGE, ...PASSWORD_STDIN },
    usage: 'add a user: --password-stdin [--scope "a b"] [--display-name S] [--must-change]',
    run: addUser,
  },
  { path: ['users', 'list'], positionals: [], usage: 'list the users', run: listUsers },
  { path: ['users', 'show'], positionals: ['NAME'], usage: 'show one user', run: showUser },
  { path: ['users', 'disable'], positionals: ['NAME'], usage: 'disable a user and end their sessions', run: disableUser },
  { path: ['users', 'enable'], positionals: ['NAME'], usage: 'enable a disabled user', run: enableUser },
  { path: ['users', 'unlock'], positionals: ['NAME'], usage: 'clear failed sign-ins, a delay and a lock', run: unlockUser },
  { path: ['users', 'remove'], positionals: ['NAME'], usage: 'remove a user and their sessions', run: removeUser },
  {
    path: ['users', 'reset-password'],
    positionals: ['NAME'],
    options: { ...MUST_CHANGE, ...PASSWORD_STDIN },
    usage: 'set a new password: --password-stdin [--must-change]',
    run: resetPassword,
  },
  {
    path: ['passwd'],
    positionals: ['NAME'],
    usage: 'change your password: current and new password on stdin, one per line',
    run: passwd,
  },
  {
    path: ['clients', 'add'],
    positionals: ['ID'],
    options: { ...SCOPE, 'secret-stdin': { type: 'boolean' }, 'generate-secret': { type: 'boolean' }, grants: { type: 'string' } },
    usage: 'register a client: [--secret-stdin | --generate-secret] [--scope "a b"] [--grants password,refresh_token]',
    run: addClient,
  },
  { path: ['clients', 'list'], positionals: [], usage: 'list the clients', run: listClients },
  { path: ['clients', 'remove'], positionals: ['ID'], usage: 'remove a client and end its sessions', run: removeClient },
  { path: ['keys', 'list'], positionals: [], usage: 'list the public signing keys recorded', run: listKeys },
  { path: ['sessions', 'list'], positionals: ['NAME?'], usage: "list sign-in sessions (all, or one user's)", run: listSessions },
  { path: ['sessions', 'revoke'], positionals: ['ID'], usage: 'end a session and revoke its tokens', run: revokeSession },
  { path: ['audit'], positionals: [], usage: 'print the audit log (--json: export it with its checkpoints)', run: exportAudit },
  {
    path: ['audit', 'verify'],
    positionals: [],
    options: { checkpoint: { type: 'string' } },
    usage: 'check the audit chain for tampering [--checkpoint FILE exported earlier]',
    run: verifyAudit,
  },
  { path: ['audit', 'checkpoint'], positionals: [], usage: 'sign a checkpoint of the audit log now and print it', run: auditCheckpoint },
  { path: ['backup'], positionals: ['OUT'], usage: 'copy the database (and its records) to OUT, consistent while in use', run: backup },
  {
    path: ['restore'],
    positionals: ['IN'],
    usage: 'replace the database with a backup (refused while running); ends every session and key',
    run: restore,
  },
  {
    path: ['provision'],
    positionals: ['FILE'],
    options: { 'dry-run': { type: 'boolean' } },
    usage: 'apply a provisioning file (users, clients, policy) [--dry-run: only say what would change]',
    run: provisionCommand,
  },
  {
    path: ['hash-password'],
    positionals: [],
    usage: 'read a password on stdin, print its argon2id PHC string',
    run: ({ io, json }) => hashPassword(io, json),
  },
  {
    path: ['serve'],
    positionals: [],
    options: { port: { type: 'string' }, 'resource-port': { type: 'string' }, issuer: { type: 'string' }, 'forward-audit': { type: 'boolean' } },
    usage:
      'run the engine, its HTTP endpoints and the resource service on 127.0.0.1 (--port N, default 8470; --resource-port N, default 8471; --issuer ID; --forward-audit: copy the audit log to the OS log)',
    run: serve,
  },
];
