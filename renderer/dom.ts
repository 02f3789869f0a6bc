/** A tiny element builder: no framework, no innerHTML (every text goes in as text; listeners are added by the caller). */
type Attributes = Record<string, string | number | boolean | undefined | null>;
export type Child = Node | string | null | undefined | false;

export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  props: Attributes = {},
  ...children: Array<Child | Child[]>
): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(props)) {
    if (value === true) {
      element.setAttribute(name, '');
    } else if (value !== false && value !== undefined && value !== null) {
      element.setAttribute(name, String(value));
    }
  }
  for (const child of children.flat()) {
    if (child !== null && child !== undefined && child !== false) element.append(child);
  }
  return element;
}

let nextId = 0;
/** A document-unique id, for label/aria wiring. */
export function uid(prefix: string): string {
  nextId += 1;
  return `${prefix}-${nextId}`;
}

/** A labelled input (label above field), and the input itself to read and focus. */
export function field(label: string, props: Attributes, hint?: HTMLElement): { row: HTMLElement; input: HTMLInputElement } {
  const id = uid('field');
  const input = h('input', { id, ...props, 'aria-describedby': hint ? (hint.id ||= uid('hint')) : undefined });
  return { row: h('div', { class: 'field' }, h('label', { for: id }, label), input, hint), input };
}

/** A labelled checkbox (box before label). */
export function checkbox(label: string, props: Attributes = {}): { row: HTMLElement; input: HTMLInputElement } {
  const id = uid('check');
  const input = h('input', { id, type: 'checkbox', ...props });
  return { row: h('div', { class: 'check' }, input, h('label', { for: id }, label)), input };
}

/** A heading that receives focus when its screen opens (so screen readers announce where they are). */
export function screenHeading(text: string): HTMLHeadingElement {
  return h('h1', { tabindex: -1 }, text);
}

/** A polite status line (progress, success) and an assertive one (errors), each starting empty. */
export function statusLines(): { status: HTMLElement; alert: HTMLElement; say(text: string): void; fail(text: string): void; clear(): void } {
  const status = h('p', { class: 'status', role: 'status', 'aria-live': 'polite' });
  const alert = h('p', { class: 'error', role: 'alert' });
  return {
    status,
    alert,
    say(text) {
      alert.textContent = '';
      status.textContent = text;
    },
    fail(text) {
      status.textContent = '';
      alert.textContent = text;
    },
    clear() {
      status.textContent = '';
      alert.textContent = '';
    },
  };
}

/** Replaces a container's content. */
export function show(container: Element, ...children: Child[]): void {
  container.replaceChildren(...children.filter((child): child is Node | string => child !== null && child !== undefined && child !== false));
}
