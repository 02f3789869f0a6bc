import { errorText, gatehouse } from './api.js';
import { h, screenHeading, statusLines } from './dom.js';
import { passwordForm } from './password-form.js';
import type { Screen, Shell, SignedInSession } from './screen.js';
import { strings } from './strings.js';

const t = strings.account;

/** Who is signed in, change password, sign out here or everywhere. */
export function accountScreen(shell: Shell, session: SignedInSession): Screen {
  const heading = screenHeading(t.heading);
  const lines = statusLines();
  const change = passwordForm({
    contextWords: [session.username, shell.info.appName],
    minLength: shell.info.passwordMinLength,
    maxLength: shell.info.passwordMaxLength,
    onDone: (next) => shell.apply(next),
  });
  const signOut = h('button', { type: 'button', class: 'secondary' }, t.signOut);
  const everywhereHint = h('p', { class: 'hint', id: 'everywhere-hint' }, t.signOutEverywhereHint);
  const everywhere = h('button', { type: 'button', class: 'danger', 'aria-describedby': everywhereHint.id }, t.signOutEverywhere);

  async function end(everywhereToo: boolean): Promise<void> {
    signOut.disabled = everywhere.disabled = true;
    const answer = await gatehouse().signOut(everywhereToo ? { everywhere: true } : undefined);
    if (answer.ok) {
      shell.signInAgain(strings.signIn.signedOut);
      return;
    }
    lines.fail(errorText(answer.error));
    signOut.disabled = everywhere.disabled = false;
  }
  signOut.addEventListener('click', () => void end(false));
  everywhere.addEventListener('click', () => void end(true));

  const element = h(
    'section',
    { class: 'card' },
    heading,
    h(
      'dl',
      { class: 'facts' },
      h('dt', {}, t.username),
      h('dd', {}, session.username),
      h('dt', {}, t.scopes),
      h('dd', {}, session.scopes.join(', ')),
      h('dt', {}, t.staySignedIn),
      h('dd', {}, session.staySignedIn ? t.yes : t.no),
    ),
    h('h2', {}, strings.changePassword.heading),
    change.form,
    h('h2', {}, t.signOutHeading),
    h('div', { class: 'actions' }, signOut, everywhere),
    everywhereHint,
    lines.status,
    lines.alert,
  );
  return { element, focus: heading };
}
