// A therapist's or driver's own appointments, made for a phone: big cards, the next job
// first, and exactly the workflow buttons the server says this role may press now.
// The live socket's `initial_data` is the list; events keep it current.

import { listAll, api } from './api.js';
import { h, card, allowedActions, actionLabel, isoDate, FINISHED, toast, isCurrent, forget } from './ui.js';
import { runAction } from './forms.js';

export class Mine {
  constructor(root, me) {
    this.root = root;
    this.me = me;
    this.appts = new Map();
    this.gone = new Map();
    this.flash = new Set();
    this.loaded = false;
    this.error = '';
  }

  mount() {
    const who = this.me.role === 'driver' ? 'drives' : 'appointments';
    this.list = h('section', { class: 'mine-list', 'aria-live': 'polite' });
    this.root.replaceChildren(h('h1', { class: 'day-title' }, `My ${who}`), this.list);
    this.load();
  }

  // The socket brings the same list; this makes the page useful before it connects.
  async load() {
    try {
      const list = await listAll(`/api/scheduling/appointments/?date_after=${isoDate()}`);
      for (const a of list) this.upsert(a, false);
      this.error = '';
    } catch (err) {
      if (!this.loaded) this.error = err.message;
    }
    this.loaded = true;
    this.render();
  }

  upsert(a, flash = true) {
    if (!isCurrent(this.appts, this.gone, a)) return;
    this.appts.set(a.id, a);
    if (flash) this.flash.add(a.id);
  }

  onLive(msg) {
    switch (msg.type) {
      case 'initial_data': {
        const ids = new Set((msg.appointments || []).map((a) => a.id));
        // A fresh list replaces what we had, except finished jobs of today kept for reference.
        for (const [id, a] of this.appts) if (!ids.has(id) && !FINISHED.has(a.status)) this.appts.delete(id);
        for (const a of msg.appointments || []) this.upsert(a, false);
        this.loaded = true;
        this.error = '';
        break;
      }
      case 'appointment_created':
        // (The server also sends this user a `notification` about the new job.)
        this.upsert(msg.appointment);
        break;
      case 'appointment_updated':
        this.upsert(msg.appointment);
        break;
      case 'appointment_deleted':
        forget(this.appts, this.gone, msg);
        break;
      default:
        return;
    }
    this.render();
  }

  async act(a, action) {
    try {
      const saved = await runAction(a, action);
      if (saved) {
        this.upsert(saved);
        this.render();
      }
    } catch (err) {
      toast(err.message, 'bad', 10000);
      if (err.status === 409 || err.status === 403) {
        try {
          this.upsert(await api('GET', `/api/scheduling/appointments/${a.id}/`));
        } catch {
          this.appts.delete(a.id);
        }
        this.render();
      }
    }
  }

  render() {
    if (!this.list) return;
    const today = isoDate();
    const byTime = (x, y) => (x.date || '').localeCompare(y.date || '') || (x.start_time || '').localeCompare(y.start_time || '') || x.id - y.id;
    const all = [...this.appts.values()];
    const active = all.filter((a) => !FINISHED.has(a.status)).sort(byTime);
    const done = all.filter((a) => FINISHED.has(a.status) && a.date >= today).sort(byTime);
    const render = (a) => {
      const buttons = allowedActions(a, this.me.role).map((act) =>
        h('button', { type: 'button', class: `btn btn-big ${act === 'reject' ? 'btn-danger-quiet' : 'btn-primary'}`, dataset: { action: act }, onclick: () => this.act(a, act) }, actionLabel(act)),
      );
      const el = card(a, { buttons, showDate: true, role: this.me.role });
      if (this.flash.has(a.id)) el.classList.add('flash');
      return el;
    };
    const parts = [];
    if (this.error) parts.push(h('p', { class: 'notice tone-bad', role: 'alert' }, this.error));
    if (active.length) parts.push(...active.map(render));
    else if (this.loaded) parts.push(h('p', { class: 'empty' }, 'Nothing assigned to you right now. New jobs appear here by themselves.'));
    else parts.push(h('p', { class: 'empty' }, 'Loading…'));
    if (done.length) parts.push(h('h2', { class: 'section-title' }, 'Finished'), ...done.map(render));
    this.flash.clear();
    this.list.replaceChildren(...parts);
  }
}
