import type { IpcCalls, IpcResult, SessionView } from '../src/contracts.js';
import { errorText, gatehouse, retryCountdown } from './api.js';
import { field, h, statusLines, uid } from './dom.js';
import { strings } from './strings.js';

const CHECK_DELAY_MS = 300;
const t = strings.changePassword;

export interface PasswordFormOptions {
  /** The must-change flow: whose password (signed out), and the current one already typed at sign-in. */
  signedOut?: { username: string; currentPassword: string };
  /** The username and app name, words a strong password should not lean on. */
  contextWords: string[];
  minLength: number;
  maxLength: number;
  onDone(session: SessionView, newPassword: string): void | Promise<void>;
  onCancel?: () => void;
}

/**
 * The change-password form: the rules checked by main as the person types (debounced), a strength
 * meter (zxcvbn, loaded on first use as its own chunk) and one clear message per outcome.
 */
export function passwordForm(options: PasswordFormOptions): { form: HTMLFormElement; firstField: HTMLInputElement } {
  const lines = statusLines();
  const current = options.signedOut ? undefined : field(t.current, { type: 'password', autocomplete: 'current-password', required: true });
  const rulesList = h('ul', { class: 'violations', 'aria-live': 'polite', id: uid('rules') });
  const fresh = field(t.new, { type: 'password', autocomplete: 'new-password', required: true }, rulesList);
  const confirm = field(t.confirm, { type: 'password', autocomplete: 'new-password', required: true });
  const meterLabel = h('span', { id: uid('strength') }, t.strength);
  const meter = h('meter', { min: 0, max: 4, low: 2, high: 3, optimum: 4, value: 0, 'aria-labelledby': meterLabel.id });
  const meterText = h('span', { class: 'meter-text', 'aria-live': 'polite' });
  const hint = h('p', { class: 'hint' });
  const submit = h('button', { type: 'submit' }, t.submit);
  const cancel = options.onCancel ? h('button', { type: 'button', class: 'secondary' }, t.cancel) : null;
  if (cancel && options.onCancel) cancel.addEventListener('click', options.onCancel);

  let checkTimer: ReturnType<typeof setTimeout> | undefined;
  let checkSeq = 0;
  const username = options.signedOut?.username;

  fresh.input.addEventListener('input', () => {
    clearTimeout(checkTimer);
    const password = fresh.input.value;
    if (password === '') return resetFeedback();
    checkTimer = setTimeout(() => void check(password), CHECK_DELAY_MS);
  });

  function resetFeedback(): void {
    clearTimeout(checkTimer);
    checkSeq += 1; // a check still under way must not fill the feedback in again
    rulesList.replaceChildren();
    meter.value = 0;
    meterText.textContent = '';
    hint.textContent = '';
  }

  async function check(password: string): Promise<void> {
    const seq = ++checkSeq;
    const [answer, strength] = await Promise.all([
      gatehouse().checkNewPassword(username === undefined ? { password } : { username, password }),
      // Only guidance: without its chunk the form works on, with no meter reading.
      import('./strength-estimator.js').then((module) => module.estimate(password, options.contextWords)).catch(() => null),
    ]);
    if (seq !== checkSeq) return; // a later keystroke's check owns the display
    meter.value = strength?.score ?? 0;
    meterText.textContent = strength ? (t.strengthLabels[strength.score] ?? '') : '';
    hint.textContent = strength?.hint ?? '';
    // No answer, no verdict: the rules are checked again when the form is sent.
    if (answer.ok) showRules(answer.violations);
    else rulesList.replaceChildren();
  }

  function showRules(violations: string[]): void {
    if (violations.length === 0) {
      rulesList.replaceChildren(h('li', { class: 'ok' }, t.meetsPolicy));
    } else {
      rulesList.replaceChildren(h('li', { class: 'rules-heading' }, t.policyHeading), ...violations.map((text) => h('li', {}, text)));
    }
  }

  const form = h(
    'form',
    { class: 'stack', novalidate: true },
    h('p', { class: 'hint' }, t.intro(options.minLength, options.maxLength)),
    current?.row,
    fresh.row,
    h('div', { class: 'strength' }, meterLabel, meter, meterText),
    hint,
    confirm.row,
    h('div', { class: 'actions' }, submit, cancel),
    lines.status,
    lines.alert,
  );

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    void changePassword();
  });

  async function changePassword(): Promise<void> {
    if (fresh.input.value !== confirm.input.value) {
      lines.fail(t.mismatch);
      confirm.input.focus();
      return;
    }
    submit.disabled = true;
    form.setAttribute('aria-busy', 'true');
    lines.say(t.busy);
    const args: IpcCalls['changePassword']['args'] = options.signedOut
      ? { username: options.signedOut.username, currentPassword: options.signedOut.currentPassword, newPassword: fresh.input.value }
      : { currentPassword: current!.input.value, newPassword: fresh.input.value };
    let answer: IpcResult<{ session: SessionView }>;
    try {
      answer = await gatehouse().changePassword(args);
    } finally {
      form.removeAttribute('aria-busy');
    }
    if (answer.ok) {
      lines.say(t.done);
      const newPassword = fresh.input.value;
      for (const input of form.querySelectorAll('input')) input.value = '';
      resetFeedback();
      await options.onDone(answer.session, newPassword);
      submit.disabled = false;
      return;
    }
    const { error } = answer;
    if (error.code === 'policy_violation') {
      showRules(error.policyViolations ?? []);
      lines.fail(errorText(error));
      fresh.input.focus();
    } else if (error.code === 'invalid_credentials') {
      lines.fail(t.wrongCurrent);
      current?.input.focus();
    } else if (retryCountdown(error, lines, () => (submit.disabled = false))) {
      return;
    } else {
      lines.fail(errorText(error));
    }
    submit.disabled = false;
  }

  return { form, firstField: current?.input ?? fresh.input };
}
