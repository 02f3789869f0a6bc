import type { UserInfo } from '../contracts.js';
import type { UsersAdmin } from '../engine/users-admin.js';
import type { CommandContext } from './command.js';
import { columns, listCell, reply, timeCell } from './output.js';
import { flag, requirePasswordStdin, scopeOption, stringOption } from './option-values.js';
import { readStdin } from './stdin.js';
import { withEngine } from './with-engine.js';

/** `gatehouse users add NAME [--scope "a b"] [--display-name S] [--must-change] --password-stdin` */
export async function addUser({ io, args, values, json, db }: CommandContext): Promise<void> {
  requirePasswordStdin(values, 'users add');
  const input = {
    username: args[0]!,
    scope: scopeOption(values),
    displayName: stringOption(values, 'display-name'),
    mustChangePassword: flag(values, 'must-change'),
  };
  const password = await readStdin(io.stdin);
  const user = await withEngine(db, true, (engine) => engine.users.add({ ...input, password }));
  reply(io, json, user, `Added user "${user.username}"${mustChangeNote(user)}.`);
}

/** `gatehouse users list` */
export async function listUsers({ io, json, db }: CommandContext): Promise<void> {
  const users = await withEngine(db, false, (engine) => engine.users.list());
  const rows = users.map((u) => [u.username, u.displayName ?? '-', listCell(u.scope), listCell(flags(u), ','), timeCell(u.createdAt)]);
  reply(io, json, users, users.length === 0 ? 'No users.' : columns([['NAME', 'DISPLAY NAME', 'SCOPE', 'FLAGS', 'CREATED'], ...rows]));
}

/** `gatehouse users show NAME`: the account and what the throttle holds against its name. */
export async function showUser({ io, args, json, db }: CommandContext): Promise<void> {
  const { user, signIn } = await withEngine(db, false, (engine) => ({
    user: engine.users.get(args[0]!),
    signIn: engine.users.signInState(args[0]!),
  }));
  const fields: Array<[string, string]> = [
    ['username', user.username],
    ['id', user.id],
    ['display name', user.displayName ?? '-'],
    ['scope', listCell(user.scope)],
    ['flags', listCell(flags(user), ',')],
    ['created', timeCell(user.createdAt)],
    ['updated', timeCell(user.updatedAt)],
    ['password changed', timeCell(user.passwordChangedAt)],
    ['failed sign-ins', String(signIn.failures)],
    ['delayed until', signIn.delayedUntil === null ? '-' : timeCell(signIn.delayedUntil)],
    ['locked until', signIn.lockedUntil === null ? '-' : timeCell(signIn.lockedUntil)],
  ];
  reply(io, json, { ...user, signIn }, columns(fields.map(([label, value]) => [`${label}:`, value])));
}

/** `gatehouse users reset-password NAME [--must-change] --password-stdin` */
export async function resetPassword({ io, args, values, json, db }: CommandContext): Promise<void> {
  requirePasswordStdin(values, 'users reset-password');
  const password = await readStdin(io.stdin);
  const mustChangePassword = flag(values, 'must-change');
  const user = await withEngine(db, false, (engine) => engine.users.resetPassword(args[0]!, password, { mustChangePassword }));
  reply(io, json, user, `Reset the password of "${user.username}" and ended their sessions${mustChangeNote(user)}.`);
}

/** `gatehouse users disable NAME` */
export function disableUser(context: CommandContext): Promise<void> {
  return changeUser(context, (users, name) => users.disable(name), (user) => `Disabled user "${user.username}" and ended their sessions.`);
}

/** `gatehouse users enable NAME` */
export function enableUser(context: CommandContext): Promise<void> {
  return changeUser(context, (users, name) => users.enable(name), (user) => `Enabled user "${user.username}".`);
}

/** `gatehouse users unlock NAME` */
export function unlockUser(context: CommandContext): Promise<void> {
  return changeUser(
    context,
    (users, name) => users.unlock(name),
    (user) => `Unlocked "${user.username}": failed sign-ins, delay and lock cleared.`,
  );
}

/** `gatehouse users remove NAME` */
export async function removeUser({ io, args, json, db }: CommandContext): Promise<void> {
  const username = args[0]!;
  await withEngine(db, false, (engine) => engine.users.remove(username));
  reply(io, json, { username, removed: true }, `Removed user "${username}" and ended their sessions.`);
}

/** One change to the user named by the first argument; prints the user as it is afterwards. */
async function changeUser(
  { io, args, json, db }: CommandContext,
  change: (users: UsersAdmin, username: string) => UserInfo,
  confirmation: (user: UserInfo) => string,
): Promise<void> {
  const user = await withEngine(db, false, (engine) => change(engine.users, args[0]!));
  reply(io, json, user, confirmation(user));
}

function flags(user: UserInfo): string[] {
  return [user.disabled ? 'disabled' : '', user.mustChangePassword ? 'must-change' : ''].filter(Boolean);
}

function mustChangeNote(user: UserInfo): string {
  return user.mustChangePassword ? ' (the password must be changed at the next sign-in)' : '';
}
