import type { SessionView } from '../src/contracts.js';
import { errorText, gatehouse, retryCountdown } from './api.js';
import { checkbox, field, h, screenHeading, show, statusLines } from './dom.js';
import { passwordForm } from './password-form.js';
import type { Screen, Shell } from './screen.js';
import { strings } from './strings.js';

const t = strings.signIn;

/** Sign-in, and the must-change form it leads to when the password must be replaced first. */
export function signInScreen(shell: Shell, notice?: string): Screen {
  const { info } = shell;
  const heading = screenHeading(t.heading(info.appName));
  const lines = statusLines();
  const capsHint = h('p', { class: 'hint caps', hidden: true }, t.capsLock);
  const username = field(t.username, { type: 'text', autocomplete: 'username', autocapitalize: 'off', spellcheck: false, required: true });
  const password = field(t.password, { type: 'password', autocomplete: 'current-password', required: true }, capsHint);
  const stay = info.staySignedInAllowed ? checkbox(t.staySignedIn) : undefined;
  const submit = h('button', { type: 'submit' }, t.submit);
  const form = h('form', { class: 'stack', novalidate: true }, username.row, password.row, stay?.row, h('div', { class: 'actions' }, submit), lines.status, lines.alert);
  const helpdesk = info.helpdeskText ? h('aside', { class: 'helpdesk', 'aria-label': t.helpdesk }, h('h2', {}, t.helpdesk), h('p', {}, info.helpdeskText)) : null;
  const noticeLine = notice ? h('p', { class: 'notice', id: 'sign-in-notice' }, notice) : null;
  // Focus lands on the username field: the notice is read with it, as its description.
  if (noticeLine) username.input.setAttribute('aria-describedby', noticeLine.id);
  const body = h('div', {}, noticeLine, form);
  const element = h('section', { class: 'card narrow', 'aria-labelledby': (heading.id = 'sign-in-heading') }, heading, body, helpdesk);
  let stopCountdown: (() => void) | undefined;

  const onKey = (event: KeyboardEvent) => {
    if (typeof event.getModifierState === 'function') capsHint.hidden = !event.getModifierState('CapsLock');
  };
  password.input.addEventListener('keydown', onKey);
  password.input.addEventListener('keyup', onKey);

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    void signIn();
  });

  async function signIn(): Promise<void> {
    const name = username.input.value.trim();
    const secret = password.input.value;
    if (name === '' || secret === '') {
      lines.fail(t.missing);
      (name === '' ? username.input : password.input).focus();
      return;
    }
    submit.disabled = true;
    form.setAttribute('aria-busy', 'true');
    lines.say(t.busy);
    const answer = await gatehouse().signIn({ username: name, password: secret, ...(stay ? { staySignedIn: stay.input.checked } : {}) });
    form.removeAttribute('aria-busy');
    if (answer.ok) {
      password.input.value = '';
      lines.clear();
      shell.apply(answer.session);
      return;
    }
    const { error } = answer;
    switch (error.code) {
      case 'invalid_credentials':
        lines.fail(t.wrongCredentials);
        password.input.value = '';
        password.input.focus();
        break;
      case 'throttled':
      case 'busy':
        stopCountdown?.();
        stopCountdown = retryCountdown(error, lines, () => (submit.disabled = false));
        if (stopCountdown) return;
        lines.fail(errorText(error));
        break;
      case 'password_change_required':
        password.input.value = '';
        mustChange(name, secret, stay?.input.checked ?? false);
        return;
      default:
        lines.fail(errorText(error));
    }
    submit.disabled = false;
  }

  /** The password was right but must be replaced: the change form, then a sign-in with the new one. */
  function mustChange(name: string, currentPassword: string, staySignedIn: boolean): void {
    heading.textContent = strings.changePassword.mustChangeHeading;
    const changeLines = statusLines();
    const change = passwordForm({
      signedOut: { username: name, currentPassword },
      contextWords: [name, info.appName],
      minLength: info.passwordMinLength,
      maxLength: info.passwordMaxLength,
      onDone: async (_session: SessionView, newPassword: string) => {
        changeLines.say(t.busy);
        const answer = await gatehouse().signIn({ username: name, password: newPassword, ...(stay ? { staySignedIn } : {}) });
        if (answer.ok) shell.apply(answer.session);
        else shell.signInAgain(t.passwordChanged);
      },
      onCancel: () => shell.signInAgain(),
    });
    show(body, h('p', { class: 'notice', role: 'status' }, t.mustChange), change.form, changeLines.status, changeLines.alert);
    heading.focus();
  }

  return { element, focus: username.input, dispose: () => stopCountdown?.() };
}
