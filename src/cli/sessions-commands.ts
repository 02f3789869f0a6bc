import { systemClock } from '../clock.js';
import type { SessionInfo } from '../contracts.js';
import type { CommandContext } from './command.js';
import { columns, reply, timeCell } from './output.js';
import { withEngine } from './with-engine.js';

/** `gatehouse sessions list [NAME]`: every session (or one user's), newest first. */
export async function listSessions({ io, args, json, db }: CommandContext): Promise<void> {
  const sessions = await withEngine(db, false, (engine) => engine.sessions.list(args[0]));
  const now = systemClock.now();
  const rows = sessions.map((s) => [
    s.id,
    s.username,
    s.clientId,
    timeCell(s.createdAt),
    timeCell(s.lastUsedAt),
    timeCell(s.expiresAt),
    state(s, now),
  ]);
  const header = ['ID', 'USER', 'CLIENT', 'CREATED', 'LAST USED', 'EXPIRES', 'STATE'];
  reply(io, json, sessions, sessions.length === 0 ? 'No sessions.' : columns([header, ...rows]));
}

/** `gatehouse sessions revoke ID`: ends the session and revokes its access tokens. */
export async function revokeSession({ io, args, json, db }: CommandContext): Promise<void> {
  const id = args[0]!;
  await withEngine(db, false, (engine) => engine.sessions.revoke(id));
  reply(io, json, { id, revoked: true }, `Revoked session ${id}.`);
}

/**
 * Ended (and why), past its absolute deadline, or active. The idle timeout belongs to the policy of
 * the app or server using the database, which the CLI does not know, so it is not judged here.
 */
function state(session: SessionInfo, now: number): string {
  if (session.revokedReason !== null) return `ended (${session.revokedReason})`;
  return session.expiresAt <= now ? 'expired' : 'active';
}
