import type { CommandContext } from './command.js';
import { CliError } from './errors.js';
import { reply } from './output.js';
import { readStdin } from './stdin.js';
import { withEngine } from './with-engine.js';

/** `gatehouse passwd NAME`: the current and the new password on stdin, one per line. */
export async function passwd({ io, args, json, db }: CommandContext): Promise<void> {
  const [current, next] = twoLines(await readStdin(io.stdin));
  const user = await withEngine(db, false, async (engine) => {
    await engine.users.changePassword(args[0]!, current, next);
    return engine.users.get(args[0]!);
  });
  reply(io, json, user, `Changed the password of "${user.username}" and ended their sessions.`);
}

/** Splits stdin (its trailing newline already stripped) into exactly two non-empty lines. */
function twoLines(text: string): [string, string] {
  const end = text.indexOf('\n');
  const current = end < 0 ? '' : text.slice(0, end).replace(/\r$/, '');
  const next = end < 0 ? '' : text.slice(end + 1);
  if (current === '' || next === '' || next.includes('\n')) {
    throw new CliError('usage', 'gatehouse passwd reads two lines on standard input: the current password, then the new one.');
  }
  return [current, next];
}
