// The operator board's day timeline (wide screens): a column per therapist and per
// driver, the hours down the side, each appointment a block at its time, the free gaps
// between bookings labelled ("free 10:00–12:00"), pending bookings with their
// auto-cancel countdown, finished and cancelled ones folded away unless asked for. A
// block is a button that opens the appointment's card below. The clinic day shown is
// 08:00–20:00, widened to fit any booking outside it; a gap shorter than 30 minutes is
// not labelled. Only what occupies time by the server's double-booking rule (a status's
// `active` flag) makes a column busy.

import { h, clientName, personName, hm, statusBadge } from './ui.js';
import { statusInfo, isFinished } from './workflow.js';
import { countdownText } from './attention.js';

const PX_PER_HOUR = 64;
const DAY = [8 * 60, 20 * 60];
const MIN_GAP = 30;

function minutes(t) {
  const [hh, mm] = (t || '00:00').split(':').map(Number);
  return hh * 60 + mm;
}

function clockOf(m) {
  return `${String(Math.floor(m / 60)).padStart(2, '0')}:${String(m % 60).padStart(2, '0')}`;
}

// The day's columns: active staff of each role, plus anyone on the day's appointments.
function columns(list, refs) {
  const cols = [];
  const seen = new Set();
  const add = (p, role) => {
    if (!p || seen.has(`${role}:${p.id}`)) return;
    seen.add(`${role}:${p.id}`);
    cols.push({ id: p.id, role, name: personName(p), appts: [] });
  };
  for (const p of refs.therapists) if (p.is_active !== false) add(p, 'therapist');
  for (const a of list) for (const p of [a.therapist_details, ...(a.therapists_details || [])]) add(p, 'therapist');
  for (const p of refs.drivers) if (p.is_active !== false) add(p, 'driver');
  for (const a of list) add(a.driver_details, 'driver');
  const byKey = new Map(cols.map((c) => [`${c.role}:${c.id}`, c]));
  for (const a of list) {
    const ids = new Set([a.therapist, ...(a.therapists || [])].filter(Boolean));
    for (const id of ids) byKey.get(`therapist:${id}`)?.appts.push(a);
    if (a.driver) byKey.get(`driver:${a.driver}`)?.appts.push(a);
  }
  const order = { therapist: 0, driver: 1 };
  return cols.sort((x, y) => order[x.role] - order[y.role] || x.name.localeCompare(y.name));
}

// Free stretches of at least MIN_GAP minutes in [from, to] between `busy` intervals.
export function freeGaps(busy, from, to) {
  const gaps = [];
  let at = from;
  for (const [s, e] of [...busy].sort((x, y) => x[0] - y[0])) {
    if (s - at >= MIN_GAP) gaps.push([at, s]);
    at = Math.max(at, e);
  }
  if (to - at >= MIN_GAP) gaps.push([at, to]);
  return gaps;
}

export class Timeline {
  // onOpen(a): show appointment `a`'s card.
  constructor({ onOpen }) {
    this.onOpen = onOpen;
    this.showFinished = false;
    this.finishedToggle = h('input', { type: 'checkbox', id: 'tl-show-finished', onchange: () => {
      this.showFinished = this.finishedToggle.checked;
      this.draw();
    } });
    this.finishedLabel = h('span', {}, 'Show finished and cancelled');
    this.grid = h('div', { class: 'tl-grid' });
    this.el = h(
      'section',
      { class: 'timeline', 'aria-label': 'Day timeline' },
      h('div', { class: 'tl-bar' }, h('h2', { class: 'tl-title' }, 'Day timeline'), h('label', { class: 'check' }, this.finishedToggle, ' ', this.finishedLabel)),
      h('div', { class: 'tl-scroll' }, this.grid),
    );
    this.list = [];
    this.refs = { therapists: [], drivers: [] };
    this.sig = '';
  }

  // Draws `list` (the day's appointments) unless nothing it shows changed.
  update(list, refs) {
    this.list = list;
    this.refs = refs;
    this.draw();
  }

  draw(force = false) {
    const list = this.list;
    const folded = list.filter((a) => isFinished(a.status));
    this.finishedLabel.textContent = `Show finished and cancelled (${folded.length})`;
    const shown = this.showFinished ? list : list.filter((a) => !isFinished(a.status));
    const cols = columns(shown, this.refs);
    const sig = JSON.stringify([shown, cols.map((c) => [c.role, c.id, c.name])]);
    if (!force && sig === this.sig) return;
    this.sig = sig;
    // A rebuild: the focused block (if any) gets its successor's focus.
    const focusKey = this.grid.contains(document.activeElement) ? document.activeElement.dataset.key : null;

    let [from, to] = DAY;
    for (const a of shown) {
      from = Math.min(from, Math.floor(minutes(a.start_time) / 60) * 60);
      to = Math.max(to, Math.ceil(minutes(a.end_time) / 60) * 60);
    }
    const px = (m) => `${((m - from) * PX_PER_HOUR) / 60}px`;
    const height = px(to);

    const hours = h('div', { class: 'tl-hours', 'aria-hidden': 'true' }, h('div', { class: 'tl-head' }));
    const hoursBody = h('div', { class: 'tl-body' });
    hoursBody.style.height = height;
    for (let m = from; m < to; m += 60) {
      const label = h('span', { class: 'tl-hour' }, clockOf(m));
      label.style.top = px(m);
      hoursBody.append(label);
    }
    hours.append(hoursBody);

    const colEls = cols.map((c) => {
      const body = h('div', { class: 'tl-body' });
      body.style.height = height;
      body.style.setProperty('--hour', `${PX_PER_HOUR}px`);
      const busy = c.appts.filter((a) => statusInfo(a.status).active).map((a) => [minutes(a.start_time), minutes(a.end_time)]);
      for (const [s, e] of freeGaps(busy, from, to)) {
        const gap = h('div', { class: 'tl-free', dataset: { from: clockOf(s), to: clockOf(e) } }, `free ${clockOf(s)}–${clockOf(e)}`);
        gap.style.top = px(s);
        gap.style.height = `${((e - s) * PX_PER_HOUR) / 60}px`;
        body.append(gap);
      }
      for (const a of c.appts.sort((x, y) => minutes(x.start_time) - minutes(y.start_time))) {
        const deadline = a.status === 'pending' && a.pending_since ? h('span', { class: 'tl-countdown', dataset: { pendingSince: a.pending_since } }, countdownText(a)) : null;
        const block = h(
          'button',
          {
            type: 'button',
            class: `tl-block tone-${statusInfo(a.status).tone}${isFinished(a.status) ? ' finished' : ''}`,
            dataset: { id: a.id, status: a.status, key: `${c.role}:${c.id}:${a.id}` },
            onclick: () => this.onOpen(a),
          },
          h('span', { class: 'tl-time' }, `${hm(a.start_time)}–${hm(a.end_time)}`),
          h('span', { class: 'tl-client' }, clientName(a)),
          statusBadge(a.status),
          deadline,
        );
        block.style.top = px(minutes(a.start_time));
        block.style.height = `${Math.max(28, ((minutes(a.end_time) - minutes(a.start_time)) * PX_PER_HOUR) / 60 - 2)}px`;
        body.append(block);
      }
      return h(
        'div',
        { class: 'tl-col', dataset: { role: c.role, staff: c.id }, role: 'group', 'aria-label': `${c.name} (${c.role})` },
        h('div', { class: 'tl-head' }, h('span', { class: 'tl-name' }, c.name), h('span', { class: 'tl-role' }, c.role === 'driver' ? 'Driver' : 'Therapist')),
        body,
      );
    });
    this.grid.style.setProperty('--cols', String(cols.length));
    this.grid.replaceChildren(hours, ...(colEls.length ? colEls : [h('p', { class: 'empty' }, 'No staff yet.')]));
    if (focusKey) this.grid.querySelector(`[data-key="${CSS.escape(focusKey)}"]`)?.focus();
  }
}
