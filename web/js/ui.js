// Small shared pieces: an element builder (text is always set as text, never as HTML),
// the words and colours for statuses and actions, time formatting, toasts, and the
// appointment card used by every view.

export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') el.className = v;
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (v === true) el.setAttribute(k, '');
    else el.setAttribute(k, String(v));
  }
  for (const c of children.flat(Infinity)) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

export const STATUS = {
  pending: ['Waiting for therapist', 'wait'],
  therapist_confirmed: ['Therapist confirmed', 'info'],
  driver_confirmed: ['Driver confirmed', 'info'],
  in_progress: ['Started', 'go'],
  journey: ['On the way', 'go'],
  arrived: ['Arrived', 'go'],
  dropped_off: ['Therapist dropped off', 'go'],
  session_in_progress: ['Session in progress', 'go'],
  awaiting_payment: ['Awaiting payment', 'wait'],
  completed: ['Completed', 'done'],
  pickup_requested: ['Pickup requested', 'alert'],
  driver_assigned_pickup: ['Pickup driver assigned', 'info'],
  return_journey: ['Return journey', 'go'],
  transport_completed: ['Transport completed', 'done'],
  rejected: ['Rejected', 'bad'],
  cancelled: ['Cancelled', 'off'],
  auto_cancelled: ['Cancelled: no answer in time', 'off'],
};

export const FINISHED = new Set(['completed', 'transport_completed', 'cancelled', 'auto_cancelled']);

// The one rule for which copy of an appointment a screen keeps (board and own views):
// never an older version than the one held, and, after it left this user's view at some
// version, only a newer copy (they were assigned to it again). `gone` maps id → version.
export function isCurrent(appts, gone, a) {
  const v = a.version ?? 0;
  if (gone.has(a.id) && v <= gone.get(a.id)) return false;
  const held = appts.get(a.id);
  return !(held && (held.version ?? 0) > v);
}

// An `appointment_deleted` message: the appointment left this view at `msg.version`
// (an older server without it: for good).
export function forget(appts, gone, msg) {
  gone.set(msg.appointment_id, msg.version ?? Infinity);
  appts.delete(msg.appointment_id);
}

export const ACTIONS = {
  therapist_confirm: 'Confirm',
  reject: 'Reject',
  review_rejection: 'Review rejection',
  driver_confirm: 'Confirm driving',
  start_appointment: 'Start',
  start_journey: 'Start journey',
  arrive_at_location: 'Arrived at client',
  drop_off_therapist: 'Therapist dropped off',
  start_session: 'Start session',
  mark_awaiting_payment: 'Session done: awaiting payment',
  mark_payment_received: 'Payment received',
  request_pickup: 'Request pickup',
  assign_pickup: 'Assign pickup driver',
  confirm_pickup: 'Confirm pickup',
  complete_return_journey: 'Back at base',
  cancel: 'Cancel…',
};

export function statusBadge(status, role) {
  let [label, tone] = STATUS[status] || [status.replaceAll('_', ' '), 'info'];
  // The therapist is the one being waited for.
  if (status === 'pending' && role === 'therapist') label = 'Needs your answer';
  return h('span', { class: `badge tone-${tone}`, dataset: { status } }, label);
}

export function actionLabel(action) {
  return ACTIONS[action] || action.replaceAll('_', ' ');
}

// "09:00" from "09:00:00".
export function hm(t) {
  return (t || '').slice(0, 5);
}

export function timeRange(a) {
  return `${hm(a.start_time)}–${hm(a.end_time)}`;
}

// YYYY-MM-DD of a Date in the browser's time zone (the clinic's day).
export function isoDate(d = new Date()) {
  const p = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}`;
}

export function addDays(iso, n) {
  const [y, m, d] = iso.split('-').map(Number);
  return isoDate(new Date(y, m - 1, d + n));
}

export function longDate(iso) {
  const [y, m, d] = iso.split('-').map(Number);
  return new Date(y, m - 1, d).toLocaleDateString(undefined, { weekday: 'long', day: 'numeric', month: 'long', year: 'numeric' });
}

export function shortDate(iso) {
  if (iso === isoDate()) return 'Today';
  if (iso === addDays(isoDate(), 1)) return 'Tomorrow';
  const [y, m, d] = iso.split('-').map(Number);
  return new Date(y, m - 1, d).toLocaleDateString(undefined, { weekday: 'short', day: 'numeric', month: 'short' });
}

// Local clock time of an ISO-8601 timestamp, e.g. "14:05".
export function clock(ts) {
  if (!ts) return '';
  const d = new Date(ts);
  if (Number.isNaN(d.getTime())) return '';
  return d.toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit', hour12: false });
}

export function personName(p) {
  if (!p) return '';
  const full = [p.first_name, p.last_name].filter(Boolean).join(' ');
  return full || p.username || p.name || `#${p.id}`;
}

export function clientName(a) {
  return personName(a.client_details) || (a.client ? `Client #${a.client}` : 'No client');
}

export function therapistNames(a) {
  // The lead therapist, then any others of a group booking.
  const list = [a.therapist_details, ...(a.therapists_details || [])].filter(Boolean);
  const seen = new Set();
  return list.filter((p) => !seen.has(p.id) && seen.add(p.id)).map(personName).join(', ');
}

export function serviceNames(a) {
  return (a.services_details || []).map((s) => s.name).join(', ');
}

export function toast(text, tone = 'info', ms = 6000) {
  const box = document.getElementById('toasts');
  const el = h('div', { class: `toast tone-${tone}`, role: tone === 'bad' ? 'alert' : 'status', title: 'Tap to dismiss' }, text);
  el.addEventListener('click', () => el.remove());
  box.append(el);
  // At most three at once: on a phone they must not cover the jobs.
  while (box.children.length > 3) box.firstElementChild.remove();
  setTimeout(() => el.remove(), ms);
}

// The latest workflow timestamp worth showing on a card: what happened and when.
const STEPS = [
  ['transport_completed_at', 'Back at base'],
  ['return_journey_at', 'Return started'],
  ['pickup_assigned_at', 'Pickup driver assigned'],
  ['pickup_requested_at', 'Pickup requested'],
  ['payment_received_at', 'Paid'],
  ['awaiting_payment_at', 'Session ended'],
  ['session_started_at', 'Session started'],
  ['dropped_off_at', 'Dropped off'],
  ['arrived_at', 'Arrived'],
  ['journey_started_at', 'Left for client'],
  ['started_at', 'Started'],
  ['driver_confirmed_at', 'Driver confirmed'],
  ['therapist_confirmed_at', 'Therapist confirmed'],
  ['cancelled_at', 'Cancelled'],
  ['rejected_at', 'Rejected'],
];

export function lastStep(a) {
  let best = null;
  for (const [k, label] of STEPS) {
    if (a[k] && (!best || a[k] > best[1])) best = [label, a[k]];
  }
  return best ? `${best[0]} at ${clock(best[1])}` : '';
}

// What the signed-in role may do now: the server's table, never our own guess.
export function allowedActions(a, role) {
  const byRole = a.allowed_actions_by_role;
  if (byRole && Array.isArray(byRole[role])) return byRole[role];
  return Array.isArray(a.allowed_actions) ? a.allowed_actions : [];
}

// One appointment as a card. `buttons` are elements added at the bottom.
export function card(a, { buttons = [], compact = false, showDate = false, role } = {}) {
  const staff = therapistNames(a);
  const driver = personName(a.driver_details);
  const step = lastStep(a);
  return h(
    'article',
    { class: `appt${FINISHED.has(a.status) ? ' finished' : ''}${compact ? ' compact' : ''}`, dataset: { id: a.id, status: a.status } },
    h(
      'div',
      { class: 'appt-head' },
      h('div', { class: 'appt-time' }, showDate ? h('span', { class: 'appt-date' }, shortDate(a.date)) : null, timeRange(a)),
      statusBadge(a.status, role),
    ),
    h('div', { class: 'appt-client' }, clientName(a)),
    h(
      'dl',
      { class: 'appt-facts' },
      serviceNames(a) ? [h('dt', {}, 'Service'), h('dd', {}, serviceNames(a))] : null,
      a.location ? [h('dt', {}, 'Where'), h('dd', { class: 'appt-location' }, a.location)] : null,
      a.client_details?.phone_number ? [h('dt', {}, 'Phone'), h('dd', {}, h('a', { href: `tel:${a.client_details.phone_number}` }, a.client_details.phone_number))] : null,
      [h('dt', {}, 'Therapist'), h('dd', { class: 'appt-therapist' }, staff || h('em', {}, 'not assigned'))],
      [h('dt', {}, 'Driver'), h('dd', { class: 'appt-driver' }, driver || h('em', {}, 'not assigned'))],
      a.notes ? [h('dt', {}, 'Notes'), h('dd', {}, a.notes)] : null,
      a.rejection_reason ? [h('dt', {}, 'Rejected'), h('dd', {}, a.rejection_reason)] : null,
      a.cancellation_reason ? [h('dt', {}, 'Cancelled'), h('dd', {}, a.cancellation_reason)] : null,
    ),
    step ? h('div', { class: 'appt-step' }, step) : null,
    buttons.length ? h('div', { class: 'appt-actions' }, buttons) : null,
  );
}
