// What needs an operator now, as a strip of buttons above the board, each opening its
// appointment: a pending booking with 10 minutes or less before it is auto-cancelled, a pickup requested, a
// rejection awaiting review, and a booking that needs a driver and has none (a home
// visit — it has an address or `requires_car` — not yet finished). Also the auto-cancel
// countdown: the server's `pending_timeout_secs` and clock come from `GET /health/`
// (read once), the start from each appointment's `pending_since`, so a wrong clock in
// the browser does not change what it shows.

import { api } from './api.js';
import { h, clientName, hm, setClinicClock } from './ui.js';
import { statusInfo, isFinished } from './workflow.js';
import { reconcile } from './keyed.js';

// Server clock minus ours (ms), and the pending timeout (s); null until /health/ answers.
let skew = 0;
let timeoutSecs = null;
let loading = null;

export function loadClock() {
  loading ||= api('GET', '/health/', undefined, { token: '' })
    .then((health) => {
      const t = Date.parse(health.time);
      if (!Number.isNaN(t)) skew = t - Date.now();
      if (Number.isFinite(health.pending_timeout_secs)) timeoutSecs = health.pending_timeout_secs;
      if (typeof health.time_zone === 'string') setClinicClock(health.time_zone, skew);
    })
    .catch(() => {
      loading = null;
    });
  return loading;
}

// Milliseconds until the server cancels pending `a`, or null.
export function msLeft(a) {
  if (a.status !== 'pending' || !a.pending_since || timeoutSecs === null) return null;
  return Date.parse(a.pending_since) + timeoutSecs * 1000 - (Date.now() + skew);
}

export function countdownText(a) {
  const ms = msLeft(a);
  if (ms === null) return '';
  if (ms <= 0) return 'auto-cancel due now';
  const mins = Math.floor(ms / 60000);
  return mins >= 1 ? `auto-cancels in ${mins} min` : `auto-cancels in ${Math.ceil(ms / 1000)} s`;
}

// "Near" auto-cancel: 10 minutes or less left (with the default 30-minute timeout, the
// last third; with a timeout of 10 minutes or less, at once).
const NEAR_MS = 10 * 60000;
function nearCancel(a) {
  const ms = msLeft(a);
  return ms !== null && ms <= NEAR_MS;
}

function needsDriver(a) {
  return !isFinished(a.status) && !a.driver && statusInfo(a.status).active && (a.requires_car || Boolean(a.location));
}

// The strip's items for `list`: [{key, text, tone, a}] most urgent first.
export function attentionItems(list) {
  const items = [];
  const when = (a) => `${clientName(a)} ${hm(a.start_time)}`;
  for (const a of list) {
    if (nearCancel(a)) items.push({ rank: 0, key: `cancel:${a.id}`, tone: 'bad', a, text: `${when(a)} · not confirmed · ${countdownText(a)}` });
    if (a.status === 'pickup_requested') items.push({ rank: 1, key: `pickup:${a.id}`, tone: 'alert', a, text: `${when(a)} · ${statusInfo(a.status).label}` });
    if (a.status === 'rejected') items.push({ rank: 2, key: `rejected:${a.id}`, tone: 'bad', a, text: `${when(a)} · ${statusInfo(a.status).label}: review it` });
    if (needsDriver(a)) items.push({ rank: 3, key: `driver:${a.id}`, tone: 'wait', a, text: `${when(a)} · no driver assigned` });
  }
  return items.sort((x, y) => x.rank - y.rank || (x.a.start_time || '').localeCompare(y.a.start_time || ''));
}

export class AttentionStrip {
  // onOpen(a): show appointment `a`.
  constructor({ onOpen }) {
    this.onOpen = onOpen;
    this.buttons = h('div', { class: 'attention-items' });
    this.el = h('section', { class: 'attention', 'aria-label': 'Needs attention', hidden: true }, h('h2', { class: 'attention-title' }, 'Needs attention'), this.buttons);
  }

  update(list) {
    const items = attentionItems(list);
    this.el.hidden = !items.length;
    reconcile(
      this.buttons,
      items.map((it) => ({
        key: it.key,
        sig: it.text,
        build: () => h('button', { type: 'button', class: `btn attention-item tone-${it.tone}`, dataset: { id: it.a.id, reason: it.key.split(':')[0] }, onclick: () => this.onOpen(it.a) }, it.text),
      })),
    );
  }
}

// Keeps every shown countdown current (every 15 s; only their text changes).
export function tickCountdowns(root, list, strip) {
  for (const el of root.querySelectorAll('[data-pending-since]')) {
    const a = list.find((x) => String(x.id) === el.closest('[data-id]')?.dataset.id);
    if (a) el.textContent = countdownText(a);
  }
  strip?.update(list);
}
