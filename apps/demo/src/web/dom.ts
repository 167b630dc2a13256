/** The element with this id; throws when the page lacks it (a build mismatch). */
export function byId<T extends HTMLElement = HTMLElement>(id: string): T {
  const element = document.getElementById(id);
  if (!element) throw new Error(`#${id} is missing from the page`);
  return element as T;
}

type Child = Node | string | null | undefined | false;

/** Builds an element: `h('li', { class: 'mine' }, 'text', child)`. */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attributes: Record<string, string | undefined> = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value !== undefined) element.setAttribute(name, value);
  }
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    element.append(child);
  }
  return element;
}

/** A round avatar with the person's initial on their colour. */
export function avatar(name: string, colour: string): HTMLSpanElement {
  const element = h('span', { class: 'avatar' }, (name.trim()[0] ?? '?').toUpperCase());
  element.style.background = colour;
  return element;
}

/** Sets a result line's text and its outcome (`ok`, `error`, `pending`), which colours it. */
export function showResult(
  element: HTMLElement,
  outcome: 'ok' | 'error' | 'pending',
  text: string,
): void {
  element.dataset.outcome = outcome;
  element.textContent = text;
}
