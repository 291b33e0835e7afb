// Small shared pieces: an element builder (text is always set as text, never as HTML),
// status badges and action labels (from the server's workflow table, `workflow.js`),
// time formatting, toasts, and the appointment card used by every view.

import { statusInfo, actionInfo, isFinished, stampLabels } from './workflow.js';
import { placeLink, waitingLine } from './phone.js';

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

// A status in words and colour, from the server's workflow table.
export function statusBadge(status, role) {
  const s = statusInfo(status);
  // A role may read it differently (the therapist is the one being waited for).
  const label = s.labels_by_role?.[role] || s.label;
  return h('span', { class: `badge tone-${s.tone}`, dataset: { status } }, label);
}

export function actionLabel(action) {
  return actionInfo(action).label;
}

// "09:00" from "09:00:00".
export function hm(t) {
  return (t || '').slice(0, 5);
}

export function timeRange(a) {
  return `${hm(a.start_time)}–${hm(a.end_time)}`;
}

// The clinic's time zone and clock (the server's --time-zone and time, from /health/,
// see attention.js): "today" is the clinic's date, not the browser's, so a phone set to
// another zone, or a wrong clock, still shows the clinic's day. Until /health/ answers
// (or if this browser does not know the zone), the browser's own.
let clinicZone = null;
let clinicSkew = 0;
export function setClinicClock(zone, skewMs) {
  clinicSkew = Number.isFinite(skewMs) ? skewMs : 0;
  try {
    new Intl.DateTimeFormat('en-CA', { timeZone: zone });
    clinicZone = zone;
  } catch {
    clinicZone = null;
  }
}

// `{ timeZone }` for toLocale*String when the clinic's zone is known.
export function clinicZoneOption() {
  return clinicZone ? { timeZone: clinicZone } : {};
}

// YYYY-MM-DD of instant `d` in the clinic's zone; without `d`, the clinic's today.
export function clinicDate(d = new Date(Date.now() + clinicSkew)) {
  if (!clinicZone) return isoDate(d);
  const parts = new Intl.DateTimeFormat('en-CA', { timeZone: clinicZone, year: 'numeric', month: '2-digit', day: '2-digit' }).formatToParts(d);
  const part = (type) => parts.find((p) => p.type === type).value;
  return `${part('year')}-${part('month')}-${part('day')}`;
}

// YYYY-MM-DD of a Date in the browser's time zone (calendar arithmetic; for "today" use clinicDate).
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
  if (iso === clinicDate()) return 'Today';
  if (iso === addDays(clinicDate(), 1)) return 'Tomorrow';
  const [y, m, d] = iso.split('-').map(Number);
  return new Date(y, m - 1, d).toLocaleDateString(undefined, { weekday: 'short', day: 'numeric', month: 'short' });
}

// The clinic's clock time of an ISO-8601 timestamp, e.g. "14:05" (as the appointments' times are).
export function clock(ts) {
  if (!ts) return '';
  const d = new Date(ts);
  if (Number.isNaN(d.getTime())) return '';
  return d.toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit', hour12: false, ...clinicZoneOption() });
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
export function lastStep(a) {
  let best = null;
  for (const { name: k, label } of stampLabels()) {
    if (a[k] && (!best || a[k] > best[1])) best = [label, a[k]];
  }
  return best ? `${best[0]} at ${clock(best[1])}` : '';
}

// What the signed-in role may do now: the server's table, never our own guess.
// Every appointment object the server sends (REST, events, initial_data) carries this
// user's own `allowed_actions`; `allowed_actions_by_role` is only the fallback for an
// older server (it cannot tell a therapist who already confirmed a group booking).
export function allowedActions(a, role) {
  if (Array.isArray(a.allowed_actions)) return a.allowed_actions;
  const byRole = a.allowed_actions_by_role;
  return byRole && Array.isArray(byRole[role]) ? byRole[role] : [];
}

// One appointment as a card. `buttons` are elements added at the bottom.
export function card(a, { buttons = [], compact = false, showDate = false, role } = {}) {
  const staff = therapistNames(a);
  const driver = personName(a.driver_details);
  const step = lastStep(a);
  return h(
    'article',
    { class: `appt${isFinished(a.status) ? ' finished' : ''}${compact ? ' compact' : ''}`, dataset: { id: a.id, status: a.status } },
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
      a.location ? [h('dt', {}, 'Where'), h('dd', { class: 'appt-location' }, placeLink(a.location))] : null,
      a.client_details?.phone_number ? [h('dt', {}, 'Phone'), h('dd', {}, h('a', { href: `tel:${a.client_details.phone_number}` }, a.client_details.phone_number))] : null,
      [h('dt', {}, 'Therapist'), h('dd', { class: 'appt-therapist' }, staff || h('em', {}, 'not assigned'))],
      [h('dt', {}, 'Driver'), h('dd', { class: 'appt-driver' }, driver || h('em', {}, 'not assigned'))],
      a.notes ? [h('dt', {}, 'Notes'), h('dd', {}, a.notes)] : null,
      a.rejection_reason ? [h('dt', {}, 'Rejected'), h('dd', {}, a.rejection_reason)] : null,
      a.cancellation_reason ? [h('dt', {}, 'Cancelled'), h('dd', {}, a.cancellation_reason)] : null,
    ),
    step ? h('div', { class: 'appt-step' }, step) : null,
    !buttons.length && role && !isFinished(a.status) ? waitingLine(a.status, role) : null,
    buttons.length ? h('div', { class: 'appt-actions' }, buttons) : null,
  );
}
