// A therapist's or driver's own appointments, made for a phone: big cards, the next job
// first, and exactly the workflow buttons the server says this role may press now.
// The live socket's `initial_data` is the list; events keep it current (`LiveList`).

import { listAll } from './api.js';
import { h, card, allowedActions, actionLabel, clinicDate } from './ui.js';
import { LiveList } from './store.js';
import { actionInfo, isFinished } from './workflow.js';
import { loadSchedule, saveSchedule, savedNote } from './offline.js';

export class Mine {
  constructor(root, me) {
    this.root = root;
    this.me = me;
    this.store = new LiveList({
      onInitial: (list) => {
        // A fresh list replaces what we had, except finished jobs kept for reference.
        this.store.replace(list, (a) => isFinished(a.status));
        this.savedAt = null;
        this.loaded = true;
        this.error = '';
      },
      onChange: () => this.render(),
    });
    this.loaded = false;
    this.error = '';
  }

  mount() {
    const who = this.me.role === 'driver' ? 'drives' : 'appointments';
    this.list = h('section', { class: 'mine-list', 'aria-label': 'My jobs' });
    this.root.replaceChildren(h('h1', { class: 'day-title' }, `My ${who}`), this.list);
    this.load();
  }

  // The socket brings the same list (`?board=1` is the server's same rule); this makes
  // the page useful before it connects.
  async load() {
    try {
      const list = await listAll('/api/scheduling/appointments/?board=1');
      for (const a of list) this.store.upsert(a, false);
      this.error = '';
      this.savedAt = null;
      saveSchedule(this.me, 'mine', this.store.values(), Date.now());
    } catch (err) {
      // Offline: the last known schedule, saved in this browser, marked with its time.
      const saved = this.loaded ? null : loadSchedule(this.me, 'mine');
      if (saved) {
        for (const a of saved.appointments) this.store.upsert(a, false);
        this.savedAt = saved.saved_at;
      } else if (!this.loaded) this.error = err.message;
    }
    this.loaded = true;
    this.render();
  }

  onLive(msg) {
    // (On `appointment_created` the server also sends this user a `notification`.)
    this.store.onLive(msg);
  }

  render() {
    if (!this.list) return;
    const today = clinicDate();
    const byTime = (x, y) => (x.date || '').localeCompare(y.date || '') || (x.start_time || '').localeCompare(y.start_time || '') || x.id - y.id;
    const all = this.store.values();
    const active = all.filter((a) => !isFinished(a.status)).sort(byTime);
    const done = all.filter((a) => isFinished(a.status) && a.date >= today).sort(byTime);
    const render = (a) => {
      const buttons = allowedActions(a, this.me.role).map((act) =>
        h('button', { type: 'button', class: `btn btn-big ${actionInfo(act).danger ? 'btn-danger-quiet' : 'btn-primary'}`, dataset: { action: act }, disabled: this.store.busy.has(a.id), onclick: () => this.store.act(a, act) }, actionLabel(act)),
      );
      const el = card(a, { buttons, showDate: true, role: this.me.role });
      if (this.store.flash.has(a.id)) el.classList.add('flash');
      return el;
    };
    const parts = [];
    if (this.error) parts.push(h('p', { class: 'notice tone-bad', role: 'alert' }, this.error));
    if (this.savedAt) parts.push(savedNote(this.savedAt));
    else if (this.loaded && !this.error) saveSchedule(this.me, 'mine', all);
    if (active.length) parts.push(...active.map(render));
    else if (this.loaded) parts.push(h('p', { class: 'empty' }, 'Nothing assigned to you right now. New jobs appear here by themselves.'));
    else parts.push(h('p', { class: 'empty' }, 'Loading…'));
    if (done.length) parts.push(h('h2', { class: 'section-title' }, 'Finished'), ...done.map(render));
    this.store.flash.clear();
    this.list.replaceChildren(...parts);
  }
}
