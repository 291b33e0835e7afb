// What a phone in a car needs on a card beyond the facts: the address as a link that
// opens the phone's maps app (no map script, nothing loaded from elsewhere: the app
// stays usable offline, the maps app does the rest), and, on a card where the user has
// no button, who the job is waiting for (the workflow table's `who` of the next step).
// Builds plain elements itself, so the card builder (ui.js) can use it without a cycle.

import { nextSteps } from './workflow.js';

// A maps link for a free-text address. Android opens `geo:` in the maps app it has;
// iPhones do not know `geo:` but open maps.apple.com links in Apple Maps; anything else
// (a desktop) gets a map search page in a new tab.
export function mapHref(address, ua = navigator.userAgent) {
  const q = encodeURIComponent(address);
  if (/Android/i.test(ua)) return `geo:0,0?q=${q}`;
  if (/iPhone|iPad|iPod/i.test(ua)) return `https://maps.apple.com/?q=${q}`;
  return `https://www.openstreetmap.org/search?query=${q}`;
}

export function placeLink(address) {
  const a = document.createElement('a');
  a.href = mapHref(address);
  a.className = 'map-link';
  a.target = '_blank';
  a.rel = 'noopener noreferrer';
  a.textContent = address;
  a.title = 'Open in maps';
  return a;
}

const WHO = { operator: 'the operator', therapist: 'the therapist', driver: 'the driver' };

// "Waiting for the driver" (or the operator, or the other therapists of a group) for
// an active appointment on which `role` has nothing to press; null when nobody is next.
export function waitingText(status, role) {
  const roles = new Set(nextSteps(status).flatMap((t) => t.roles || []));
  if (!roles.size) return null;
  if (roles.has(role)) return role === 'therapist' ? 'Waiting for the other therapists to confirm' : null;
  const names = ['operator', 'therapist', 'driver'].filter((r) => roles.has(r)).map((r) => WHO[r]);
  return `Waiting for ${names.join(' or ')}`;
}

export function waitingLine(status, role) {
  const text = waitingText(status, role);
  if (!text) return null;
  const p = document.createElement('p');
  p.className = 'appt-waiting';
  p.textContent = text;
  return p;
}
