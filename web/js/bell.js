// The notification bell in the top bar: the unread count as a badge, and a panel listing
// the user's notifications (newest first) where one or all can be marked read. The list
// comes from `GET /api/scheduling/notifications/`; after that the live socket keeps it
// current: `notification` adds one (and shows a toast), `notifications_changed` — sent by
// the server to all of this user's sockets when any of their tabs marks or deletes —
// updates the read state and the count, so every tab's badge follows without reload.
// The count always comes from the server (`unreadCount`, `unread_count`), never from
// counting here or from localStorage.

import { api } from './api.js';
import { h, clock, clinicDate, clinicZoneOption, toast } from './ui.js';

const PATH = '/api/scheduling/notifications/';
const PAGE_SIZE = 50;
const SVG = 'http://www.w3.org/2000/svg';

function bellIcon() {
  const svg = document.createElementNS(SVG, 'svg');
  svg.setAttribute('viewBox', '0 0 24 24');
  svg.setAttribute('width', '22');
  svg.setAttribute('height', '22');
  svg.setAttribute('aria-hidden', 'true');
  svg.setAttribute('focusable', 'false');
  const path = document.createElementNS(SVG, 'path');
  path.setAttribute('fill', 'currentColor');
  path.setAttribute('d', 'M12 22a2.5 2.5 0 0 0 2.45-2h-4.9A2.5 2.5 0 0 0 12 22zm7-6V11a7 7 0 0 0-5.5-6.84V3.5a1.5 1.5 0 0 0-3 0v.66A7 7 0 0 0 5 11v5l-2 2v1h18v-1l-2-2z');
  svg.append(path);
  return svg;
}

// "14:05" today, else "3 Dec 14:05".
function when(ts) {
  const d = new Date(ts);
  if (Number.isNaN(d.getTime())) return '';
  const day = clinicDate(d) === clinicDate() ? '' : `${d.toLocaleDateString(undefined, { day: 'numeric', month: 'short', ...clinicZoneOption() })} `;
  return day + clock(ts);
}

export class Bell {
  // root: the top bar's empty `#bell` element, filled here.
  constructor(root) {
    this.root = root;
    this.items = [];
    this.unread = 0;
    this.page = 0;
    this.hasMore = false;
    this.loading = null;
    this.dirty = false;
    this.error = '';
    this.button = h('button', { type: 'button', class: 'bell-button', id: 'bell-button', 'aria-expanded': 'false', 'aria-controls': 'bell-panel' });
    this.count = h('span', { class: 'bell-count', 'aria-hidden': 'true', hidden: true });
    this.button.append(bellIcon(), this.count);
    this.button.addEventListener('click', () => this.toggle());
    this.list = h('ul', { class: 'bell-list' });
    this.markAll = h('button', { type: 'button', class: 'btn btn-quiet', onclick: () => this.run('POST', `${PATH}mark_all_as_read/`) }, 'Mark all read');
    this.status = h('p', { class: 'bell-status muted', role: 'status' });
    this.more = h('button', { type: 'button', class: 'btn btn-quiet bell-more', hidden: true, onclick: () => this.load(this.page + 1) }, 'Show older');
    this.panel = h(
      'section',
      { class: 'bell-panel', id: 'bell-panel', 'aria-labelledby': 'bell-title', tabindex: '-1', hidden: true },
      h('div', { class: 'bell-head' }, h('h2', { id: 'bell-title' }, 'Notifications'), this.markAll),
      this.status,
      this.list,
      this.more,
    );
    this.panel.addEventListener('keydown', (e) => {
      if (e.key === 'Escape') this.close(true);
    });
    this.onOutside = (e) => {
      if (!this.root.contains(e.target)) this.close(false);
    };
    document.addEventListener('click', this.onOutside);
    root.replaceChildren(this.button, this.panel);
    root.hidden = false;
    this.render();
  }

  // Loads the first page (again): at start, and when the socket starts over (`initial_data`).
  start() {
    this.load(1);
  }

  stop() {
    document.removeEventListener('click', this.onOutside);
    this.root.replaceChildren();
    this.root.hidden = true;
  }

  // Page `n` of the list (1 replaces what is held). A live message that arrives while a
  // load is under way may or may not be in its answer, so the load is repeated once.
  async load(n) {
    if (this.loading) {
      this.dirty = true;
      return;
    }
    this.loading = api('GET', `${PATH}?page=${n}&page_size=${PAGE_SIZE}`);
    try {
      const page = await this.loading;
      const got = page.results.notifications;
      this.items = n === 1 ? got : this.items.concat(got.filter((x) => !this.items.some((y) => y.id === x.id)));
      this.unread = page.results.unreadCount;
      this.page = n;
      this.hasMore = page.has_next;
      this.error = '';
    } catch (err) {
      this.error = err.message;
    } finally {
      this.loading = null;
    }
    if (this.dirty) {
      this.dirty = false;
      this.load(1);
      return;
    }
    this.render();
  }

  // A live message; true if it was the bell's.
  onLive(msg) {
    if (msg.type === 'notification') {
      if (!this.items.some((x) => x.id === msg.id)) {
        const { id, user, appointment, notification_type, title, message, is_read, created_at } = msg;
        this.items.unshift({ id, user, appointment, notification_type, title, message, is_read, created_at });
      }
      if (typeof msg.unread_count === 'number') this.unread = msg.unread_count;
      toast([msg.title, msg.message].filter(Boolean).join(': '), msg.notification_type === 'appointment_rejected' ? 'alert' : 'info', 8000);
    } else if (msg.type === 'notifications_changed') {
      const ids = new Set(msg.ids || []);
      if (msg.deleted) this.items = this.items.filter((x) => !ids.has(x.id));
      else for (const x of this.items) if (ids.has(x.id)) x.is_read = msg.is_read;
      if (typeof msg.unread_count === 'number') this.unread = msg.unread_count;
    } else {
      return false;
    }
    if (this.loading) this.dirty = true;
    this.render();
    return true;
  }

  // A mark or delete request; the answer's count (and, for one, its new state) is shown
  // at once; the other tabs learn it from the server's `notifications_changed`.
  async run(method, path, button) {
    if (button) button.disabled = true;
    try {
      const r = await api(method, path);
      if (r && typeof r.unreadCount === 'number') {
        this.unread = r.unreadCount;
        if (path.endsWith('mark_all_as_read/')) for (const x of this.items) x.is_read = true;
      } else if (r && typeof r.id === 'number') {
        const x = this.items.find((y) => y.id === r.id);
        if (x && x.is_read !== r.is_read) {
          x.is_read = r.is_read;
          this.unread += r.is_read ? -1 : 1;
        }
      }
      this.error = '';
    } catch (err) {
      this.error = err.message;
    }
    this.render();
  }

  toggle() {
    if (this.panel.hidden) this.open();
    else this.close(true);
  }

  open() {
    this.panel.hidden = false;
    this.button.setAttribute('aria-expanded', 'true');
    this.panel.focus();
  }

  close(focusButton) {
    if (this.panel.hidden) return;
    this.panel.hidden = true;
    this.button.setAttribute('aria-expanded', 'false');
    if (focusButton) this.button.focus();
  }

  render() {
    const n = Math.max(0, this.unread);
    this.count.textContent = n > 99 ? '99+' : String(n);
    this.count.hidden = n === 0;
    this.button.dataset.unread = String(n);
    const label = n === 0 ? 'Notifications, none unread' : `Notifications, ${n} unread`;
    this.button.setAttribute('aria-label', label);
    this.button.title = label;
    this.markAll.disabled = n === 0;
    this.more.hidden = !this.hasMore;
    this.status.textContent = this.error || (this.items.length === 0 ? 'Nothing yet: what you are told appears here.' : '');
    this.status.hidden = !this.status.textContent;
    this.list.replaceChildren(
      ...this.items.map((x) => {
        const mark = h(
          'button',
          { type: 'button', class: 'btn btn-quiet', 'aria-label': `${x.is_read ? 'Mark unread' : 'Mark read'}: ${x.title}` },
          x.is_read ? 'Mark unread' : 'Mark read',
        );
        mark.addEventListener('click', () => this.run('POST', `${PATH}${x.id}/${x.is_read ? 'mark_as_unread' : 'mark_as_read'}/`, mark));
        return h(
          'li',
          { class: `bell-item${x.is_read ? '' : ' unread'}`, dataset: { id: x.id } },
          h(
            'div',
            { class: 'bell-item-head' },
            x.is_read ? null : h('span', { class: 'bell-new' }, 'New'),
            h('strong', {}, x.title),
            h('span', { class: 'muted' }, when(x.created_at)),
          ),
          h('p', {}, x.message),
          mark,
        );
      }),
    );
  }
}
