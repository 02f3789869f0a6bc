import type { AdminUserView, IpcResult, SessionEndReason, SessionInfo } from '../src/contracts.js';
import { errorText, gatehouse } from './api.js';
import { checkbox, field, h, screenHeading, statusLines } from './dom.js';
import { policySection } from './policy-view.js';
import type { Screen } from './screen.js';
import { strings } from './strings.js';

const t = strings.admin;
const dateFormat = new Intl.DateTimeFormat(undefined, { dateStyle: 'short', timeStyle: 'short' });
const DEFAULT_SCOPES = 'records:read records:write';

/**
 * Users (add, disable/enable, unlock, reset password), sessions (end one), the signing key, the
 * policy in force. `self` is the signed-in administrator, whose own row offers no Disable: one
 * click would end their session and could leave nobody able to enable them again.
 */
export function adminScreen(self: string): Screen {
  const heading = screenHeading(t.heading);
  const lines = statusLines();
  const usersBody = h('tbody');
  const sessionsBody = h('tbody');
  const admin = () => gatehouse().admin;

  /** Runs an admin call; a failure becomes the alert line, a success the status line. */
  async function act<T extends object>(call: Promise<IpcResult<T>>, done: (answer: T) => string | Promise<string>): Promise<boolean> {
    const answer = await call;
    if (!answer.ok) {
      lines.fail(answer.error.code === 'policy_violation' ? [errorText(answer.error), ...(answer.error.policyViolations ?? [])].join(' ') : errorText(answer.error));
      return false;
    }
    lines.say(await done(answer));
    return true;
  }

  async function loadUsers(): Promise<void> {
    const answer = await admin().listUsers();
    if (!answer.ok) return lines.fail(errorText(answer.error));
    usersBody.replaceChildren(...answer.users.map(userRow));
  }

  async function loadSessions(): Promise<void> {
    const answer = await admin().listSessions();
    if (!answer.ok) return lines.fail(errorText(answer.error));
    sessionsBody.replaceChildren(...(answer.sessions.length ? answer.sessions.map(sessionRow) : [h('tr', {}, h('td', { colspan: 5 }, t.noSessions))]));
  }

  function status(user: AdminUserView): string {
    const parts: string[] = [user.disabled ? t.disabled : t.active];
    if (user.signIn.lockedUntil !== null) parts.push(t.locked);
    else if (user.signIn.delayedUntil !== null) parts.push(t.delayed);
    if (user.signIn.failures > 0) parts.push(t.failures(user.signIn.failures));
    if (user.mustChangePassword) parts.push(t.mustChangeStatus);
    return parts.join(' · ');
  }

  function userRow(user: AdminUserView): HTMLTableRowElement {
    const name = user.username;
    const isSelf = name === self;
    // Nothing to unlock without failed sign-ins on record.
    const throttled = user.signIn.failures > 0 || user.signIn.lockedUntil !== null || user.signIn.delayedUntil !== null;
    const toggle = isSelf ? null : h('button', { type: 'button', class: user.disabled ? 'secondary' : 'danger', 'aria-label': user.disabled ? t.enable(name) : t.disable(name) }, user.disabled ? t.enableButton : t.disableButton);
    const unlock = throttled ? h('button', { type: 'button', class: 'secondary', 'aria-label': t.unlock(name) }, t.unlockButton) : null;
    const reset = h('button', { type: 'button', class: 'secondary', 'aria-label': t.reset(name) }, t.resetButton);
    const actions = h('td', {}, h('div', { class: 'actions' }, toggle, unlock, reset));
    toggle?.addEventListener('click', () => void act(admin().setUserDisabled({ username: name, disabled: !user.disabled }), () => refreshAfter(t.updated(name))));
    unlock?.addEventListener('click', () => void act(admin().unlockUser({ username: name }), () => refreshAfter(t.updated(name))));
    reset.addEventListener('click', () => actions.append(resetForm(name, reset)));
    const who = isSelf ? h('th', { scope: 'row' }, name, h('span', { class: 'hint' }, ` ${t.you}`)) : h('th', { scope: 'row' }, name);
    return h('tr', {}, who, h('td', {}, user.displayName ?? ''), h('td', {}, user.scope.join(' ')), h('td', {}, status(user)), actions);
  }

  function resetForm(username: string, trigger: HTMLButtonElement): HTMLFormElement {
    trigger.hidden = true;
    const password = field(t.password, { type: 'password', autocomplete: 'new-password', required: true });
    const mustChange = checkbox(t.mustChange, { checked: true });
    const cancel = h('button', { type: 'button', class: 'secondary' }, strings.records.cancel);
    const form = h('form', { class: 'stack inline', 'aria-label': t.resetHeading(username), novalidate: true }, password.row, mustChange.row, h('div', { class: 'actions' }, h('button', { type: 'submit' }, t.resetSubmit), cancel));
    const close = () => {
      form.remove();
      trigger.hidden = false;
      trigger.focus();
    };
    cancel.addEventListener('click', close);
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      void act(admin().resetPassword({ username, password: password.input.value, mustChangePassword: mustChange.input.checked }), () => refreshAfter(t.resetDone(username)));
    });
    queueMicrotask(() => password.input.focus());
    return form;
  }

  function sessionRow(session: SessionInfo): HTMLTableRowElement {
    const ended = session.revokedAt !== null;
    const revoke = ended ? null : h('button', { type: 'button', class: 'danger', 'aria-label': t.revoke(session.username) }, t.revokeButton);
    revoke?.addEventListener('click', () => void act(admin().revokeSession({ sessionId: session.id }), () => refreshAfter(t.revoked)));
    return h(
      'tr',
      {},
      h('th', { scope: 'row' }, session.username),
      h('td', {}, dateFormat.format(session.createdAt)),
      h('td', {}, dateFormat.format(session.lastUsedAt)),
      h('td', {}, ended ? endedText(session.revokedReason) : t.sessionActive),
      h('td', {}, revoke),
    );
  }

  /**
   * Reloads both tables. Focus on a row's control (which the reload replaces) moves to the first
   * control of the same row again (found by its header), so a keyboard user stays where they were.
   */
  async function refreshAfter(message: string): Promise<string> {
    const row = document.activeElement?.closest('tbody tr');
    const body = row?.parentElement;
    const key = row?.querySelector('th')?.textContent;
    await Promise.all([loadUsers(), loadSessions()]);
    if (body && key !== undefined && !row?.isConnected) {
      const again = [...body.children].find((candidate) => candidate.querySelector('th')?.textContent === key);
      (again?.querySelector<HTMLElement>('button:not([hidden])') ?? heading).focus();
    }
    return message;
  }

  // Add a user.
  const username = field(t.username, { type: 'text', autocomplete: 'off', autocapitalize: 'off', spellcheck: false, required: true });
  const displayName = field(t.displayName, { type: 'text', autocomplete: 'off' });
  const password = field(t.password, { type: 'password', autocomplete: 'new-password', required: true });
  const scopes = field(t.scopes, { type: 'text', value: DEFAULT_SCOPES, autocomplete: 'off', spellcheck: false });
  const mustChange = checkbox(t.mustChange, { checked: true });
  const createForm = h('form', { class: 'stack', 'aria-labelledby': 'create-user-heading', novalidate: true }, h('h2', { id: 'create-user-heading' }, t.createHeading), username.row, displayName.row, password.row, scopes.row, mustChange.row, h('div', { class: 'actions' }, h('button', { type: 'submit' }, t.create)));
  createForm.addEventListener('submit', (event) => {
    event.preventDefault();
    const name = username.input.value.trim();
    const display = displayName.input.value.trim();
    void act(
      admin().createUser({
        username: name,
        ...(display ? { displayName: display } : {}),
        password: password.input.value,
        scopes: scopes.input.value.split(/\s+/).filter(Boolean),
        mustChangePassword: mustChange.input.checked,
      }),
      () => refreshAfter(t.created(name)),
    ).then((created) => {
      if (!created) return;
      username.input.value = displayName.input.value = password.input.value = '';
      username.input.focus();
    });
  });

  const rotate = h('button', { type: 'button', class: 'secondary' }, t.rotate);
  rotate.addEventListener('click', () => void act(admin().rotateSigningKey(), (answer) => t.rotated(answer.keys.length)));
  const refresh = h('button', { type: 'button', class: 'secondary' }, t.refresh);
  refresh.addEventListener('click', () => void refreshAfter('').then(lines.say));

  const c = t.columns;
  const s = t.sessionColumns;
  const element = h(
    'section',
    { class: 'card wide' },
    heading,
    lines.status,
    lines.alert,
    h('div', { class: 'actions' }, refresh),
    h('h2', { id: 'users-heading' }, t.usersHeading),
    h('table', { 'aria-labelledby': 'users-heading' }, h('thead', {}, h('tr', {}, ...[c.username, c.name, c.scopes, c.status, c.actions].map((text) => h('th', { scope: 'col' }, text)))), usersBody),
    createForm,
    h('h2', { id: 'sessions-heading' }, t.sessionsHeading),
    h('table', { 'aria-labelledby': 'sessions-heading' }, h('thead', {}, h('tr', {}, ...[s.username, s.created, s.lastUsed, s.status, s.actions].map((text) => h('th', { scope: 'col' }, text)))), sessionsBody),
    h('h2', {}, t.keysHeading),
    h('p', { class: 'hint' }, t.keysHint),
    h('div', { class: 'actions' }, rotate),
    policySection(lines.fail),
  );
  void refreshAfter('');
  return { element, focus: heading };
}

/** Why a session ended, in words (a reason this build does not know is shown as it is). */
function endedText(reason: SessionEndReason | null): string {
  if (reason === null) return t.sessionEndedUnknown;
  const text = Object.hasOwn(t.sessionEnded, reason) ? t.sessionEnded[reason] : undefined;
  return text ?? `${t.sessionEndedUnknown} (${reason})`;
}
