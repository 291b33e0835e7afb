// The operator's board: one day's appointments (today unless another date is picked),
// kept current by the live socket, with create, edit (including assigning therapist and
// driver), cancel, and the workflow steps the server allows operators now.

import { listAll } from './api.js';
import { h, card, allowedActions, actionLabel, isoDate, addDays, longDate, toast, clientName, hm } from './ui.js';
import { appointmentDialog } from './forms.js';
import { LiveList } from './store.js';
import { actionInfo, awaitsTherapist, isFinished } from './workflow.js';
import { loadSchedule, saveSchedule, savedNote } from './offline.js';

export class Board {
  constructor(root, me) {
    this.root = root;
    this.me = me;
    this.date = isoDate();
    // The day's appointments; one moved to another day leaves the board.
    this.store = new LiveList({
      keep: (a) => a.date === this.date,
      // A fresh start or a resync: the list may have changed in any way; reload the day.
      onInitial: (list) => {
        this.savedAt = null;
        for (const a of list) this.store.upsert(a, false);
        this.load();
      },
      onChange: () => this.render(),
    });
    this.refs = { services: [], therapists: [], drivers: [] };
    this.loading = false;
    this.error = '';
  }

  mount() {
    this.dateInput = h('input', { type: 'date', value: this.date, 'aria-label': 'Day shown', onchange: () => this.setDate(this.dateInput.value || isoDate()) });
    this.heading = h('h1', { class: 'day-title' });
    this.summary = h('p', { class: 'day-summary muted' });
    this.savedBox = h('div', { class: 'saved-box' });
    this.list = h('section', { class: 'board-list', 'aria-live': 'polite' });
    this.root.replaceChildren(
      h(
        'div',
        { class: 'toolbar' },
        h(
          'div',
          { class: 'day-nav' },
          h('button', { type: 'button', class: 'btn', 'aria-label': 'Previous day', onclick: () => this.setDate(addDays(this.date, -1)) }, '‹'),
          this.dateInput,
          h('button', { type: 'button', class: 'btn', 'aria-label': 'Next day', onclick: () => this.setDate(addDays(this.date, 1)) }, '›'),
          h('button', { type: 'button', class: 'btn', onclick: () => this.setDate(isoDate()) }, 'Today'),
        ),
        h('button', { type: 'button', class: 'btn btn-primary', id: 'new-appointment', onclick: () => this.create() }, '+ New appointment'),
      ),
      this.heading,
      this.summary,
      this.savedBox,
      this.list,
    );
    this.loadRefs();
    this.load();
  }

  async loadRefs() {
    // Clients are not loaded here: the booking form searches the server as you type.
    const [services, staff] = await Promise.all([
      listAll('/api/scheduling/services/').catch(() => []),
      listAll('/api/scheduling/staff/').catch(() => []),
    ]);
    this.refs.services.splice(0, Infinity, ...services);
    this.refs.therapists.splice(0, Infinity, ...staff.filter((u) => u.role === 'therapist'));
    this.refs.drivers.splice(0, Infinity, ...staff.filter((u) => u.role === 'driver'));
  }

  setDate(date) {
    if (date === this.date) return;
    this.date = date;
    this.dateInput.value = date;
    this.store.clear();
    this.load();
  }

  async load() {
    const date = this.date;
    // Live changes that arrive while the list is on its way are newer than the list.
    const liveDuring = this.store.track();
    this.loading = true;
    this.render();
    try {
      const list = await listAll(`/api/scheduling/appointments/?date=${encodeURIComponent(date)}`);
      if (date !== this.date) return;
      this.error = '';
      // Anything we held for this day that the server no longer lists has left the day.
      this.store.replace(list, (a) => liveDuring.has(a.id));
      this.savedAt = null;
      saveSchedule(this.me, `board:${date}`, this.store.values(), Date.now());
    } catch (err) {
      // Offline: this day as last seen in this browser, marked with its time.
      const saved = date === this.date ? loadSchedule(this.me, `board:${date}`) : null;
      if (saved) {
        for (const a of saved.appointments) this.store.upsert(a, false);
        this.savedAt = saved.saved_at;
      } else if (date === this.date) this.error = err.message;
    } finally {
      if (date === this.date) {
        this.loading = false;
        this.render();
      }
    }
  }

  onLive(msg) {
    this.store.onLive(msg);
  }

  async create() {
    const saved = await appointmentDialog({ date: this.date, refs: this.refs });
    if (saved) {
      if (saved.date !== this.date) this.setDate(saved.date);
      this.store.upsert(saved);
      this.render();
      toast(`Appointment for ${clientName(saved)} at ${hm(saved.start_time)} created.`, 'done');
    }
  }

  async edit(a) {
    try {
      const saved = await appointmentDialog({ appt: a, date: this.date, refs: this.refs });
      if (saved) {
        this.store.upsert(saved);
        this.render();
      }
    } catch (err) {
      toast(err.message, 'bad');
    }
  }

  render() {
    if (!this.list) return;
    this.heading.textContent = longDate(this.date) + (this.date === isoDate() ? ' · Today' : '');
    const all = this.store.values().sort((x, y) => (x.start_time || '').localeCompare(y.start_time || '') || x.id - y.id);
    const active = all.filter((a) => !isFinished(a.status));
    const waiting = all.filter((a) => awaitsTherapist(a.status)).length;
    this.summary.textContent = all.length
      ? `${all.length} appointment${all.length === 1 ? '' : 's'} · ${active.length} active · ${waiting} waiting for a therapist`
      : '';
    const cards = all.map((a) => {
      const buttons = allowedActions(a, 'operator').map((act) =>
        h('button', { type: 'button', class: `btn ${actionInfo(act).danger ? 'btn-danger-quiet btn-end' : 'btn-primary'}`, dataset: { action: act }, onclick: () => this.store.act(a, act, this.refs) }, actionLabel(act)),
      );
      if (!isFinished(a.status)) buttons.unshift(h('button', { type: 'button', class: 'btn', dataset: { action: 'edit' }, onclick: () => this.edit(a) }, 'Edit'));
      const el = card(a, { buttons });
      if (this.store.flash.has(a.id)) el.classList.add('flash');
      return el;
    });
    this.store.flash.clear();
    this.savedBox.replaceChildren(this.savedAt ? savedNote(this.savedAt) : '');
    if (!this.savedAt && !this.loading && !this.error) saveSchedule(this.me, `board:${this.date}`, all);
    if (this.error) {
      this.list.replaceChildren(h('p', { class: 'notice tone-bad', role: 'alert' }, this.error));
    } else if (!cards.length) {
      this.list.replaceChildren(h('p', { class: 'empty' }, this.loading ? 'Loading…' : 'No appointments on this day yet. Use “+ New appointment” to book one.'));
    } else {
      this.list.replaceChildren(...cards);
    }
  }
}
