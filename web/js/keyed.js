// Redrawing a live list without disturbing the person using it: `reconcile` keeps every
// element whose item did not change (same key, same signature), builds only the changed
// ones, and moves nodes only when the order changed — so a focused button stays focused
// and a screen reader is not made to re-read the list. When a changed item held the
// focus, its replacement's matching control (same `data-action`, else the item itself)
// takes it.

// Each element's signature (any string: a whole JSON copy is fine), kept off the DOM.
const sigs = new WeakMap();

// `items`: [{key, sig, build() → Element}] in the order to show. Returns the elements.
export function reconcile(container, items) {
  const old = new Map();
  for (const el of container.children) if (el.dataset.key !== undefined) old.set(el.dataset.key, el);
  const active = document.activeElement;
  const els = items.map((it) => {
    const key = String(it.key);
    const prev = old.get(key);
    old.delete(key);
    if (prev && sigs.get(prev) === String(it.sig)) return prev;
    const el = it.build();
    el.dataset.key = key;
    sigs.set(el, String(it.sig));
    if (prev) {
      const hadFocus = prev.contains(active) && active !== document.body;
      prev.replaceWith(el);
      if (hadFocus) refocus(el, active);
    }
    return el;
  });
  // Whatever is left (other keys, or an empty-state note) goes.
  for (const el of old.values()) el.remove();
  for (const el of [...container.children]) if (el.dataset.key === undefined) el.remove();
  // Place them in order, moving as little as possible.
  let cursor = container.firstElementChild;
  for (const el of els) {
    if (el === cursor) {
      cursor = cursor.nextElementSibling;
    } else {
      container.insertBefore(el, cursor);
    }
  }
  return els;
}

// Gives the focus to the control in `el` that matches `was` (an element of the item it
// replaced), or to `el` itself.
export function refocus(el, was) {
  const action = was?.dataset?.action;
  const same = action ? el.querySelector(`[data-action="${CSS.escape(action)}"]:not(:disabled)`) : null;
  if (same) {
    same.focus();
    return;
  }
  if (!el.hasAttribute('tabindex')) el.setAttribute('tabindex', '-1');
  el.focus({ preventScroll: true });
}
