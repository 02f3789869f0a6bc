import type { RecordItem } from '../src/contracts.js';
import { field, h, screenHeading, show, statusLines, uid } from './dom.js';
import { RecordsClient, RecordsError } from './records-client.js';
import type { Screen } from './screen.js';
import { strings } from './strings.js';

const t = strings.records;
const MAX_TITLE = 200;
const dateFormat = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });

/** The person's records: a page at a time, add, edit in place, delete after a confirmation. */
export function recordsScreen(): Screen {
  const client = new RecordsClient();
  const heading = screenHeading(t.heading);
  const lines = statusLines();
  const list = h('ul', { class: 'records', 'aria-label': t.listLabel });
  const empty = h('p', { class: 'hint', hidden: true }, t.empty);
  const more = h('button', { type: 'button', class: 'secondary', hidden: true }, t.loadMore);
  let next: string | null = null;

  const title = field(t.title, { type: 'text', required: true, maxlength: MAX_TITLE });
  const bodyId = uid('body');
  const body = h('textarea', { id: bodyId, rows: 3 });
  const create = h('button', { type: 'submit' }, t.create);
  const newForm = h(
    'form',
    { class: 'stack', 'aria-label': t.newHeading, novalidate: true },
    h('h2', {}, t.newHeading),
    title.row,
    h('div', { class: 'field' }, h('label', { for: bodyId }, t.body), body),
    h('div', { class: 'actions' }, create),
  );

  newForm.addEventListener('submit', (event) => {
    event.preventDefault();
    void run(async () => {
      const text = title.input.value.trim();
      if (text === '' || text.length > MAX_TITLE) {
        lines.fail(t.titleRequired);
        title.input.focus();
        return;
      }
      create.disabled = true;
      lines.say(t.creating);
      try {
        const record = await client.create(text, body.value);
        list.prepend(item(record));
        empty.hidden = true;
        title.input.value = '';
        body.value = '';
        lines.say(t.created);
        title.input.focus();
      } finally {
        create.disabled = false;
      }
    });
  });

  more.addEventListener('click', () => void run(() => load(next)));

  async function load(cursor: string | null): Promise<void> {
    const page = await client.list(cursor);
    if (cursor === null) list.replaceChildren();
    list.append(...page.items.map(item));
    next = page.next;
    more.hidden = next === null;
    empty.hidden = list.childElementCount > 0;
  }

  /** One record: its title, text and time, with Edit and Delete (each named after the record). */
  function item(record: RecordItem): HTMLLIElement {
    const li = h('li', { class: 'record' });
    const render = (current: RecordItem) => {
      const edit = h('button', { type: 'button', class: 'secondary', 'aria-label': t.edit(current.title) }, t.editButton);
      const remove = h('button', { type: 'button', class: 'danger', 'aria-label': t.delete(current.title) }, t.deleteButton);
      edit.addEventListener('click', () => editing(current));
      remove.addEventListener('click', () => confirming(current, remove));
      show(
        li,
        h('h3', {}, current.title),
        current.body ? h('p', { class: 'record-body' }, current.body) : null,
        h('p', { class: 'hint' }, t.updated(dateFormat.format(current.updatedAt))),
        h('div', { class: 'actions' }, edit, remove),
      );
      return edit;
    };
    const editing = (current: RecordItem) => {
      const editTitle = field(t.title, { type: 'text', required: true, maxlength: MAX_TITLE, value: current.title });
      const editBodyId = uid('body');
      const editBody = h('textarea', { id: editBodyId, rows: 3 });
      editBody.value = current.body;
      const cancel = h('button', { type: 'button', class: 'secondary' }, t.cancel);
      const form = h(
        'form',
        { class: 'stack', 'aria-label': t.editHeading, novalidate: true },
        editTitle.row,
        h('div', { class: 'field' }, h('label', { for: editBodyId }, t.body), editBody),
        h('div', { class: 'actions' }, h('button', { type: 'submit' }, t.save), cancel),
      );
      cancel.addEventListener('click', () => render(current).focus());
      form.addEventListener('submit', (event) => {
        event.preventDefault();
        void run(async () => {
          const text = editTitle.input.value.trim();
          if (text === '' || text.length > MAX_TITLE) {
            lines.fail(t.titleRequired);
            editTitle.input.focus();
            return;
          }
          const saved = await client.update(current.id, { title: text, body: editBody.value });
          render(saved).focus();
          lines.say(t.saved);
        });
      });
      li.replaceChildren(form);
      editTitle.input.focus();
    };
    const confirming = (current: RecordItem, trigger: HTMLButtonElement) => {
      const question = h('p', { class: 'confirm', id: uid('confirm') }, t.confirmDelete(current.title));
      const yes = h('button', { type: 'button', class: 'danger', 'aria-describedby': question.id }, t.confirm);
      const no = h('button', { type: 'button', class: 'secondary' }, t.cancel);
      const box = h('div', { class: 'actions', role: 'group', 'aria-labelledby': question.id }, question, yes, no);
      no.addEventListener('click', () => {
        box.remove();
        trigger.hidden = false;
        trigger.focus();
      });
      yes.addEventListener('click', () =>
        void run(async () => {
          await client.remove(current.id);
          const following = (li.nextElementSibling ?? li.previousElementSibling)?.querySelector('button');
          li.remove();
          empty.hidden = list.childElementCount > 0;
          lines.say(t.deleted);
          (following ?? heading).focus();
        }),
      );
      trigger.hidden = true;
      trigger.after(box);
      no.focus();
    };
    render(record);
    return li;
  }

  /** Runs a records action, turning its failure into one message. */
  async function run(action: () => Promise<void>): Promise<void> {
    try {
      await action();
    } catch (error) {
      const kind = error instanceof RecordsError ? error.kind : 'failed';
      lines.fail(kind === 'forbidden' ? t.notAllowed : kind === 'invalid' ? t.invalid : t.failed);
    }
  }

  void run(() => load(null));
  const element = h('section', { class: 'card' }, heading, newForm, h('h2', {}, t.listLabel), lines.status, lines.alert, empty, list, more);
  return { element, focus: heading };
}
