// Working without a network (a phone in a lift, a dead Wi-Fi): the last known schedule
// of this user, saved in this browser and shown offline "as of HH:MM", and registering
// the service worker (/sw.js) that keeps the app shell so the page itself loads offline. The schedule is kept in localStorage,
// never in the service worker's cache (which holds only files any visitor may fetch),
// tagged with the user's id so nobody else's copy is ever shown, and deleted on logout.

import { h, clock, clinicDate, clinicZoneOption } from './ui.js';

const KEY = 'royal-care.schedule';

// The service worker needs a secure context (https, or this computer itself); on a
// plain-http LAN address the page simply works online only, as before.
export function registerServiceWorker() {
  if (!('serviceWorker' in navigator) || !window.isSecureContext) return;
  navigator.serviceWorker.register('/sw.js', { scope: '/' }).catch(() => {});
}

// When the shown schedule was last known to be current: now while the socket is live
// (every change arrives), else the moment it stopped being live.
let live = false;
let liveUntil = null;

export function noteConnection(state) {
  if (state === 'live') {
    live = true;
  } else if (live) {
    live = false;
    liveUntil = Date.now();
    touch(liveUntil);
  }
}

function read() {
  try {
    return JSON.parse(localStorage.getItem(KEY) || 'null');
  } catch {
    return null;
  }
}

function write(snap) {
  try {
    localStorage.setItem(KEY, JSON.stringify(snap));
  } catch {
    // Storage full or refused (private mode): the page works, only not offline.
  }
}

// The saved copy was current until `at` (the socket just stopped being live).
function touch(at) {
  const snap = read();
  if (snap) write({ ...snap, saved_at: new Date(at).toISOString() });
}

// Saves what `user`'s `view` ('mine', or 'board:<date>') shows now. `at`: when the list
// was known to be current (a REST answer just came); default: the socket's word.
export function saveSchedule(user, view, appointments, at = null) {
  const when = at ?? (live ? Date.now() : liveUntil);
  if (when === null) return;
  write({ user: user.id, view, saved_at: new Date(when).toISOString(), appointments });
}

// The saved copy of `user`'s `view`: {saved_at, appointments}, or null.
export function loadSchedule(user, view) {
  const snap = read();
  if (!snap || snap.user !== user.id || snap.view !== view || !Array.isArray(snap.appointments)) return null;
  return snap;
}

// Logout (or another user logging in): no one else's schedule stays in this browser.
export function clearSchedule() {
  localStorage.removeItem(KEY);
}

// "as of 14:05" (with the day when it is not today).
export function asOf(savedAt) {
  const d = new Date(savedAt);
  const day = clinicDate(d) === clinicDate() ? '' : ` on ${d.toLocaleDateString(undefined, { day: 'numeric', month: 'short', ...clinicZoneOption() })}`;
  return `as of ${clock(savedAt)}${day}`;
}

// The note above a schedule that comes from the saved copy.
export function savedNote(savedAt) {
  return h(
    'p',
    { class: 'notice offline-note', role: 'status' },
    h('strong', {}, `Offline · schedule ${asOf(savedAt)}`),
    ' — changes since then appear when the connection is back.',
  );
}
