import type { AdminUserView, IpcCallName, UserInfo } from '../contracts.js';
import type { Engine } from '../engine/engine.js';
import type { CallRunners } from './ipc-schemas.js';
import { refuseWeakPassword, type NewPasswordCheck } from './password-advice.js';

type AdminCallName = Extract<IpcCallName, `admin.${string}`>;

/**
 * The admin page's calls, over the engine's administration API. Each first asks `requireAdmin`,
 * which refuses unless the session is signed in with the `admin` scope.
 */
export function adminCalls(
  engine: Engine,
  requireAdmin: () => Promise<void>,
  newPasswordViolations: NewPasswordCheck,
): Pick<CallRunners, AdminCallName> {
  const userView = (user: UserInfo): AdminUserView => ({ ...user, signIn: engine.users.signInState(user.username) });
  const refuseWeak = (password: string, username: string) => refuseWeakPassword(newPasswordViolations, password, username);
  const admin =
    <A, R>(run: (args: A) => R | Promise<R>) =>
    async (args: A): Promise<R> => {
      await requireAdmin();
      return run(args);
    };
  return {
    'admin.listUsers': admin(() => ({ users: engine.users.list().map(userView) })),
    'admin.createUser': admin(async ({ username, displayName, password, scopes, mustChangePassword }) => {
      refuseWeak(password, username);
      return { user: userView(await engine.users.add({ username, displayName, password, scope: scopes, mustChangePassword })) };
    }),
    'admin.setUserDisabled': admin(({ username, disabled }) => ({
      user: userView(disabled ? engine.users.disable(username) : engine.users.enable(username)),
    })),
    'admin.unlockUser': admin(({ username }) => ({ user: userView(engine.users.unlock(username)) })),
    'admin.resetPassword': admin(async ({ username, password, mustChangePassword }) => {
      refuseWeak(password, username);
      return { user: userView(await engine.users.resetPassword(username, password, { mustChangePassword })) };
    }),
    'admin.listSessions': admin((args) => ({ sessions: engine.sessions.list(args?.username) })),
    'admin.revokeSession': admin(({ sessionId }) => {
      engine.sessions.revoke(sessionId);
      return {};
    }),
    'admin.rotateSigningKey': admin(async () => {
      await engine.rotateSigningKey();
      return { keys: engine.publishedKeys() };
    }),
  };
}
