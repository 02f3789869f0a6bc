import type { PolicyEntry } from '../src/contracts.js';
import { errorText, gatehouse } from './api.js';
import { h } from './dom.js';
import { strings } from './strings.js';

const t = strings.admin.policy;

/** What a setting's value reads as: yes/no, none, the idle lock in seconds (or off). */
function valueText(entry: PolicyEntry): string {
  if (entry.value === null) return t.none;
  if (typeof entry.value === 'boolean') return entry.value ? t.yes : t.no;
  if (entry.name === 'idleLockSeconds' && typeof entry.value === 'number') return entry.value === 0 ? t.off : t.seconds(entry.value);
  return String(entry.value);
}

/**
 * The admin page's "Policy in force": every app policy setting, its value and who set it (defaults,
 * the person, provisioning, Group Policy, the machine policy file). Read once: the policy is read
 * when the app starts and does not change while it runs.
 */
export function policySection(fail: (message: string) => void): HTMLElement {
  const body = h('tbody');
  void gatehouse()
    .admin.getPolicy()
    .then((answer) => {
      if (!answer.ok) return fail(errorText(answer.error));
      body.replaceChildren(
        ...answer.policy.map((entry) =>
          h(
            'tr',
            {},
            h('th', { scope: 'row' }, (t.settings as Record<string, string>)[entry.name] ?? entry.name),
            h('td', { class: 'pre-line' }, valueText(entry)),
            h('td', {}, t.sources[entry.source] ?? entry.source),
          ),
        ),
      );
    });
  const c = t.columns;
  return h(
    'section',
    { 'aria-labelledby': 'policy-heading' },
    h('h2', { id: 'policy-heading' }, t.heading),
    h('p', { class: 'hint' }, t.hint),
    h('table', { 'aria-labelledby': 'policy-heading' }, h('thead', {}, h('tr', {}, ...[c.setting, c.value, c.source].map((text) => h('th', { scope: 'col' }, text)))), body),
  );
}
