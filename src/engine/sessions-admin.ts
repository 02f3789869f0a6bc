import type { SessionInfo } from '../contracts.js';
import { endSessions } from '../oauth/end-sessions.js';
import { usernameKey } from '../store/username-key.js';
import { AdminError } from './admin-error.js';
import { administer, assertOpen, type EngineContext } from './context.js';

/** Sign-in sessions as IT sees them, and ending one by hand. */
export class SessionsAdmin {
  constructor(private readonly ctx: EngineContext) {}

  /** Every session, or one user's, newest first (ended ones included until pruned). */
  list(username?: string): SessionInfo[] {
    assertOpen(this.ctx);
    if (username === undefined) return this.ctx.sessions.list();
    const user = this.ctx.users.findByKey(usernameKey(username));
    if (!user) throw new AdminError('user_not_found', `No user is named "${username}".`);
    return this.ctx.sessions.list(user.id);
  }

  revoke(sessionId: string): void {
    assertOpen(this.ctx);
    const revocations = administer(this.ctx, () => {
      if (!this.ctx.sessions.find(sessionId)) throw new AdminError('session_not_found', `No session has the id "${sessionId}".`);
      return endSessions(this.ctx, [sessionId], 'admin_revoked');
    });
    this.ctx.publishRevocations(revocations);
  }
}
