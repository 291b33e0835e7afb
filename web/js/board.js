// The operator's board: one day's appointments (today unless another date is picked),
// kept current by the live socket, with create, edit (including assigning therapist and
// driver), cancel, and the workflow steps the server allows operators now. Above the
// cards: the "needs attention" strip (`attention.js`), the day summary (`daysummary.js`)
// and, on wide screens, the day timeline (`timeline.js`). A live change redraws only its
// card (`keyed.js`) and is announced in one short sentence, not by re-reading the board.

import { listAll } from './api.js';
import { h, card, allowedActions, actionLabel, clinicDate, addDays, longDate, toast, clientName, hm } from './ui.js';
import { appointmentDialog } from './forms.js';
import { LiveList } from './store.js';
import { actionInfo, awaitsTherapist, isFinished, statusInfo } from './workflow.js';
import { reconcile } from './keyed.js';
import { loadSchedule, saveSchedule, savedNote } from './offline.js';
import { Timeline } from './timeline.js';
import { AttentionStrip, loadClock, tickCountdowns, countdownText } from './attention.js';
import { DaySummary } from './daysummary.js';

const TIMELINE_KEY = 'royal-care.timeline-hidden';

export class Board {
  constructor(root, me) {
    this.root = root;
    this.me = me;
    this.date = clinicDate();
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
    const onOpen = (a) => this.open(a);
    this.timeline = new Timeline({ onOpen });
    this.strip = new AttentionStrip({ onOpen });
    this.daySummary = new DaySummary();
  }

  mount() {
    this.dateInput = h('input', { type: 'date', value: this.date, 'aria-label': 'Day shown', onchange: () => this.setDate(this.dateInput.value || clinicDate()) });
    this.heading = h('h1', { class: 'day-title' });
    this.summary = h('p', { class: 'day-summary muted' });
    this.savedBox = h('div', { class: 'saved-box' });
    // No aria-live here: a redraw would be read out whole; `announce` says what changed.
    this.list = h('section', { class: 'board-list', 'aria-label': 'Appointments' });
    this.announcer = h('p', { class: 'sr-only', role: 'status', id: 'board-announce' });
    const hidden = localStorage.getItem(TIMELINE_KEY) === '1';
    this.timeline.el.hidden = hidden;
    this.timelineSwitch = h('button', { type: 'button', class: 'btn btn-quiet timeline-switch', 'aria-pressed': String(!hidden), onclick: () => this.toggleTimeline() }, 'Timeline');
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
          h('button', { type: 'button', class: 'btn', onclick: () => this.setDate(clinicDate()) }, 'Today'),
        ),
        h('button', { type: 'button', class: 'btn btn-primary', id: 'new-appointment', onclick: () => this.create() }, '+ New appointment'),
      ),
      this.heading,
      h('div', { class: 'day-line' }, this.summary, this.timelineSwitch),
      this.savedBox,
      this.strip.el,
      this.daySummary.el,
      this.timeline.el,
      this.list,
      this.announcer,
    );
    this.loadRefs().then(() => this.render());
    this.load();
    loadClock().then(() => {
      this.timeline.draw(true);
      tickCountdowns(this.root, this.store.values(), this.strip);
    });
    this.ticker = setInterval(() => {
      if (!this.list.isConnected) return clearInterval(this.ticker);
      tickCountdowns(this.root, this.store.values(), this.strip);
    }, 15000);
  }

  toggleTimeline() {
    const hide = !this.timeline.el.hidden;
    this.timeline.el.hidden = hide;
    this.timelineSwitch.setAttribute('aria-pressed', String(!hide));
    localStorage.setItem(TIMELINE_KEY, hide ? '1' : '0');
  }

  // Shows appointment `a`'s card: scrolled to, focused, highlighted.
  open(a) {
    const el = this.list.querySelector(`article.appt[data-id="${CSS.escape(String(a.id))}"]`);
    if (!el) return;
    el.setAttribute('tabindex', '-1');
    el.scrollIntoView({ block: 'center', behavior: 'smooth' });
    el.focus({ preventScroll: true });
    el.classList.remove('flash');
    void el.offsetWidth;
    el.classList.add('flash');
  }

  // One short sentence about a live change on this day (read by screen readers).
  announce(msg) {
    const a = msg.appointment;
    let text = '';
    if (msg.type === 'appointment_created' && a?.date === this.date) text = `New booking: ${clientName(a)} at ${hm(a.start_time)}.`;
    else if (msg.type === 'appointment_updated' && a?.date === this.date) text = `${clientName(a)} at ${hm(a.start_time)}: ${statusInfo(a.status).label}.`;
    else if (msg.type === 'appointment_deleted' && this.store.appts.has(msg.appointment_id)) text = 'A booking left this day.';
    if (text) this.announcer.textContent = text;
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
    if (this.announcer) this.announce(msg);
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
      // "Load their version" after a clash: the board shows it too.
      const onTheirs = (theirs) => {
        this.store.upsert(theirs, false);
        this.render();
      };
      const saved = await appointmentDialog({ appt: a, date: this.date, refs: this.refs, onTheirs });
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
    this.heading.textContent = longDate(this.date) + (this.date === clinicDate() ? ' · Today' : '');
    const all = this.store.values().sort((x, y) => (x.start_time || '').localeCompare(y.start_time || '') || x.id - y.id);
    const active = all.filter((a) => !isFinished(a.status));
    const waiting = all.filter((a) => awaitsTherapist(a.status)).length;
    this.summary.textContent = all.length
      ? `${all.length} appointment${all.length === 1 ? '' : 's'} · ${active.length} active · ${waiting} waiting for a therapist`
      : '';
    const build = (a) => {
      const buttons = allowedActions(a, 'operator').map((act) =>
        h('button', { type: 'button', class: `btn ${actionInfo(act).danger ? 'btn-danger-quiet btn-end' : 'btn-primary'}`, dataset: { action: act }, onclick: () => this.store.act(a, act, this.refs) }, actionLabel(act)),
      );
      if (!isFinished(a.status)) buttons.unshift(h('button', { type: 'button', class: 'btn', dataset: { action: 'edit' }, onclick: () => this.edit(a) }, 'Edit'));
      const el = card(a, { buttons });
      // A pending booking shows how long until the server cancels it (kept current by the tick).
      if (a.status === 'pending' && a.pending_since) el.querySelector('.appt-head').append(h('span', { class: 'appt-countdown', dataset: { pendingSince: a.pending_since } }, countdownText(a)));
      if (this.store.flash.has(a.id)) el.classList.add('flash');
      return el;
    };
    if (this.error) {
      this.list.replaceChildren(h('p', { class: 'notice tone-bad', role: 'alert' }, this.error));
    } else if (!all.length) {
      this.list.replaceChildren(h('p', { class: 'empty' }, this.loading ? 'Loading…' : 'No appointments on this day yet. Use “+ New appointment” to book one.'));
    } else {
      // Only a card whose appointment changed is rebuilt; the others stay as they are.
      reconcile(this.list, all.map((a) => ({ key: a.id, sig: JSON.stringify(a), build: () => build(a) })));
      // A step on its way: its card's buttons wait for the answer (one tap, one request).
      for (const el of this.list.querySelectorAll('article.appt')) {
        const busy = this.store.busy.has(Number(el.dataset.id));
        for (const b of el.querySelectorAll('.appt-actions button')) b.disabled = busy;
      }
    }
    this.store.flash.clear();
    this.savedBox.replaceChildren(this.savedAt ? savedNote(this.savedAt) : '');
    if (!this.savedAt && !this.loading && !this.error) saveSchedule(this.me, `board:${this.date}`, all);
    this.timeline.update(all, this.refs);
    this.strip.update(all);
    this.daySummary.changed(this.date);
  }
}
