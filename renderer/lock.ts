import { errorText, gatehouse, retryCountdown } from './api.js';
import { field, h, screenHeading, statusLines } from './dom.js';
import type { Screen, Shell, SignedInSession } from './screen.js';
import { strings } from './strings.js';

const t = strings.lock;

/** The idle lock: the password to go on, or sign out. */
export function lockScreen(shell: Shell, session: SignedInSession): Screen {
  const heading = screenHeading(t.heading);
  const lines = statusLines();
  const password = field(t.password, { type: 'password', autocomplete: 'current-password', required: true });
  const unlock = h('button', { type: 'submit' }, t.unlock);
  const signOut = h('button', { type: 'button', class: 'secondary' }, t.signOut);
  const form = h('form', { class: 'stack', novalidate: true }, password.row, h('div', { class: 'actions' }, unlock, signOut), lines.status, lines.alert);
  let stopCountdown: (() => void) | undefined;

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    void (async () => {
      if (password.input.value === '') {
        password.input.focus();
        return;
      }
      unlock.disabled = true;
      lines.say(t.busy);
      const answer = await gatehouse().unlock({ password: password.input.value });
      password.input.value = '';
      if (answer.ok) {
        shell.apply(answer.session);
        return;
      }
      const { error } = answer;
      stopCountdown = retryCountdown(error, lines, () => (unlock.disabled = false));
      if (stopCountdown) return;
      lines.fail(error.code === 'invalid_credentials' ? strings.changePassword.wrongCurrent : errorText(error));
      unlock.disabled = false;
      password.input.focus();
    })();
  });
  signOut.addEventListener('click', () => {
    void gatehouse()
      .signOut()
      .then(() => shell.signInAgain(strings.signIn.signedOut));
  });

  const element = h('section', { class: 'card narrow' }, heading, h('p', {}, t.intro(session.username)), form);
  return { element, focus: password.input, dispose: () => stopCountdown?.() };
}
