// The booking form's client box: type part of a name or phone number and pick from what
// the server finds (`GET /api/scheduling/clients/?search=`), asked again as you type, so
// a client another operator added a minute ago is found; no client list is loaded up
// front. A combobox (ARIA 1.2 pattern): arrows move, Enter picks, Escape closes. The
// chosen id is the form's `client` value; nothing found offers "add as a new client".

import { api } from './api.js';
import { h, personName } from './ui.js';

const SHOWN = 8;
const DEBOUNCE_MS = 150;
let boxes = 0;

function describe(c) {
  return [personName(c), c.phone_number, c.address].filter(Boolean).join(' · ');
}

// `current`: the client already chosen (an edit), or null. `onPick(client)` after a
// pick; `onNew(typed)` when the person asks to add what they typed as a new client.
export function clientBox({ current = null, onPick = () => {}, onNew = () => {} } = {}) {
  const n = ++boxes;
  const listId = `client-results-${n}`;
  const hidden = h('input', { type: 'hidden', name: 'client', value: current?.id ?? '' });
  const input = h('input', {
    type: 'search',
    id: `client-search-${n}`,
    role: 'combobox',
    'aria-autocomplete': 'list',
    'aria-expanded': 'false',
    'aria-controls': listId,
    autocomplete: 'off',
    spellcheck: 'false',
    placeholder: 'Type a name or phone number…',
    value: current ? describe(current) : '',
  });
  const list = h('ul', { class: 'client-results', id: listId, role: 'listbox', 'aria-label': 'Clients found', hidden: true });
  const status = h('span', { class: 'field-hint client-status', 'aria-live': 'polite' });
  const el = h(
    'div',
    { class: 'field client-box', dataset: { field: 'client' } },
    h('label', { class: 'field-label', for: input.id }, 'Client'),
    input,
    hidden,
    list,
    status,
  );

  let found = [];
  let active = -1;
  let timer = null;
  let asked = 0;
  let picked = current;

  const close = () => {
    list.hidden = true;
    input.setAttribute('aria-expanded', 'false');
    input.removeAttribute('aria-activedescendant');
    active = -1;
  };
  const highlight = (i) => {
    active = i;
    [...list.children].forEach((li, j) => li.setAttribute('aria-selected', String(j === i)));
    if (i >= 0 && list.children[i]) {
      input.setAttribute('aria-activedescendant', list.children[i].id);
      list.children[i].scrollIntoView({ block: 'nearest' });
    } else input.removeAttribute('aria-activedescendant');
  };
  const pick = (c) => {
    picked = c;
    hidden.value = c.id;
    input.value = describe(c);
    status.textContent = '';
    close();
    onPick(c);
  };
  const show = (q) => {
    list.replaceChildren(
      ...found.map((c, i) => {
        const li = h('li', { id: `${listId}-${c.id}`, role: 'option', 'aria-selected': 'false', class: 'client-option', dataset: { id: c.id } }, describe(c));
        // mousedown, not click: it comes before the input's blur closes the list.
        li.addEventListener('mousedown', (e) => {
          e.preventDefault();
          pick(c);
        });
        li.addEventListener('mousemove', () => active !== i && highlight(i));
        return li;
      }),
    );
    list.hidden = !found.length;
    input.setAttribute('aria-expanded', String(found.length > 0));
    highlight(found.length ? 0 : -1);
    if (found.length) status.replaceChildren(found.length === SHOWN ? `The first ${SHOWN} found; type more to narrow it down.` : '');
    else
      status.replaceChildren(
        q ? `No client matches “${q}”. ` : 'No clients yet. ',
        h('button', { type: 'button', class: 'btn btn-link', onclick: () => onNew(q) }, 'Add as a new client'),
      );
  };
  const search = async () => {
    const q = input.value.trim();
    const mine = ++asked;
    status.textContent = 'Searching…';
    try {
      const page = await api('GET', `/api/scheduling/clients/?search=${encodeURIComponent(q)}&page_size=${SHOWN}`);
      if (mine !== asked) return; // a later keystroke's answer wins
      found = Array.isArray(page) ? page.slice(0, SHOWN) : page?.results || [];
      if (document.activeElement === input) show(q);
      else status.textContent = '';
    } catch (err) {
      if (mine === asked) status.textContent = err.message;
    }
  };

  input.addEventListener('input', () => {
    // Typing again un-picks: the form's value is only ever a client the person chose.
    if (picked && input.value !== describe(picked)) {
      picked = null;
      hidden.value = '';
    }
    clearTimeout(timer);
    timer = setTimeout(search, DEBOUNCE_MS);
  });
  input.addEventListener('focus', () => {
    if (!picked) search();
  });
  input.addEventListener('blur', () => setTimeout(close, 100));
  input.addEventListener('keydown', (e) => {
    if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
      e.preventDefault();
      if (list.hidden) return search();
      const step = e.key === 'ArrowDown' ? 1 : -1;
      highlight((active + step + found.length) % found.length);
    } else if (e.key === 'Enter' && !list.hidden && active >= 0) {
      e.preventDefault(); // pick, do not submit the form
      pick(found[active]);
    } else if (e.key === 'Escape' && !list.hidden) {
      e.preventDefault();
      e.stopPropagation(); // close the list, not the dialog
      close();
    }
  });

  return {
    el,
    input,
    // While the new-client fields are in use, the box sends nothing.
    setDisabled(off) {
      input.disabled = off;
      hidden.disabled = off;
      if (off) close();
    },
  };
}
