// Error sentences in words: the server's field errors name fields by their keys
// (`end_time`) and a double booking names the other appointment by its id; a person
// reads "End time must be after the start time" and "Double booking: Tina Cruz is with
// Ana Santos 10:00–11:00". Everything here only rewords what the server said.

import { api } from './api.js';
import { clientName, personName, timeRange } from './ui.js';

// "end_time" → "end time".
export function fieldWords(key) {
  return String(key).replaceAll('_', ' ').replace(/\bid\b/, '').trim();
}

function capital(s) {
  return s ? s[0].toUpperCase() + s.slice(1) : s;
}

// A server message with the field keys `keys` (`start_time`) replaced by words ("the
// start time"). Only field names: a choice's value (`bank_transfer`) stays as it is.
export function inWords(message, keys = []) {
  let out = String(message || '');
  for (const k of new Set(keys)) {
    if (!/^[a-z]+(_[a-z]+)+$/.test(k)) continue;
    out = out.replace(new RegExp(`\\b${k}\\b`, 'g'), `the ${fieldWords(k)}`);
  }
  return out;
}

// One field's problem as a sentence: "End time must be after the start time."
export function fieldSentence(key, message, keys = [key]) {
  const m = inWords(message, keys).replace(/^Must\b/, 'must').replace(/^This field\b/, 'it');
  const lead = capital(fieldWords(key));
  return /^(must|is|it|should|cannot|can't|needs?)\b/.test(m) ? `${lead} ${m}` : `${lead}: ${m}`;
}

// A 409 CONFLICT reworded with the other booking's client and times, read from the
// server (operators may read any appointment). Falls back to the server's sentence.
export async function nameConflict(err) {
  const c = err?.body?.conflicts?.[0];
  if (!c?.appointment) return err;
  try {
    const other = await api('GET', `/api/scheduling/appointments/${c.appointment}/`);
    const people = [other.therapist_details, ...(other.therapists_details || []), other.driver_details].filter(Boolean);
    const who = people.find((p) => p.id === c.user);
    err.message = `Double booking: ${who ? personName(who) : `the ${c.role}`} is with ${clientName(other)} ${timeRange(other)}; choose another time or another ${c.role}.`;
  } catch {
    // The server's own sentence stays.
  }
  return err;
}
