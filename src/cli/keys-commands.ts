import type { CommandContext } from './command.js';
import { columns, reply, timeCell } from './output.js';
import { withEngine } from './with-engine.js';

/** `gatehouse keys list`: the public keys a running server or app recorded, newest first. */
export async function listKeys({ io, json, db }: CommandContext): Promise<void> {
  const keys = await withEngine(db, false, (engine) => engine.publishedKeys());
  const rows = keys.map((key) => [key.pid, key.status, timeCell(key.verifyUntil)]);
  const none = 'No signing keys (a running server or app records its public keys here).';
  reply(io, json, keys, keys.length === 0 ? none : columns([['PID', 'STATUS', 'VERIFY UNTIL'], ...rows]));
}
