// Who is free, in the booking form: the therapist and driver pick lists are rebuilt from
// the server's answer for the chosen date and times (GET availabilities/staff_for_slot/,
// which judges schedules and bookings by the same rules as the server's double-booking
// check). Free people come first; someone already booked then is disabled and named with
// the booking's client ("Booked with Maria Santos 10:00–11:00"), since the server would
// refuse them; someone only outside their hours stays selectable (the clinic may agree
// extra hours by phone) but carries the reason; people whose hours were never entered are
// listed last, by plain name, under "No hours entered". The form stays usable if the question
// cannot be answered (offline): the lists are left as they were, with a note.

import { api } from './api.js';
import { h, personName } from './ui.js';

const PATH = '/api/scheduling/availabilities/staff_for_slot/';

// The open forms' refreshers: a live change to bookings or schedules re-asks them.
const watching = new Set();

// Called with every live message (app.js): a booking or a schedule changed somewhere, so
// an open booking form asks again who is free.
export function onLiveMessage(msg) {
  if (!/^appointment_|^availability_changed$/.test(msg?.type || '')) return;
  for (const again of [...watching]) again();
}

// Watches `date`, `start` and `end` (inputs) and rebuilds the `therapist` and `driver`
// selects for that window, again after any live change to bookings or schedules. `appointment` is the id being edited (it does not hold its own
// people). Returns a function that refreshes at once (e.g. after a live change).
export function watchAvailability({ date, start, end, therapist, driver, appointment }) {
  const lists = [
    ['therapist', therapist],
    ['driver', driver],
  ].filter(([, sel]) => sel);
  const notes = new Map(lists.map(([role, sel]) => {
    const note = h('span', { class: 'field-hint avail-note', dataset: { availFor: role } });
    sel.after(note);
    return [role, note];
  }));
  let asked = 0;
  let timer = null;
  const refresh = async () => {
    const slot = { date: date.value, start: start.value, end: end.value };
    if (!slot.date || !slot.start || !slot.end || slot.start === slot.end) return;
    const mine = ++asked;
    await Promise.all(
      lists.map(async ([role, sel]) => {
        const q = new URLSearchParams({ role, date: slot.date, start_time: slot.start, end_time: slot.end });
        if (appointment) q.set('appointment', String(appointment));
        try {
          const answer = await api('GET', `${PATH}?${q}`);
          if (mine !== asked) return; // a newer window was asked meanwhile
          fill(sel, answer.staff, role);
          const free = answer.staff.filter((p) => p.available).length;
          notes.get(role).textContent = `${free} of ${answer.staff.length} ${role}s free ${slot.start}–${slot.end}.`;
        } catch (err) {
          if (mine === asked) notes.get(role).textContent = `Could not check who is free (${err.message})`;
        }
      }),
    );
  };
  const soon = () => {
    clearTimeout(timer);
    timer = setTimeout(refresh, 150);
  };
  const again = () => (date.isConnected ? soon() : watching.delete(again));
  watching.add(again);
  for (const input of [date, start, end]) {
    input.addEventListener('input', soon);
    input.addEventListener('change', soon);
  }
  refresh();
  return refresh;
}

// Rebuilds `sel`'s options from `staff` (free first, as the server orders them), keeping
// its empty option and its current choice.
function fill(sel, staff, role) {
  const chosen = sel.value;
  const empty = sel.querySelector('option[value=""]');
  const option = (p) => {
    const booked = Boolean(p.conflict);
    // Nobody's hours entered yet is the clinic not using schedules, not news: plain names.
    const label = p.available || p.reason_code === 'no_schedule' ? personName(p) : `${personName(p)} — ${p.reason}`;
    return h(
      'option',
      {
        value: p.id,
        // The one already on this booking stays choosable, whatever the answer.
        disabled: booked && String(p.id) !== chosen,
        selected: String(p.id) === chosen,
        class: p.available ? 'avail-free' : booked ? 'avail-booked' : 'avail-off',
        title: p.reason || undefined,
        dataset: { available: String(p.available), reason: p.reason || '', conflict: p.conflict ? String(p.conflict.appointment) : '' },
      },
      label,
    );
  };
  const groups = [];
  for (const [label, people] of [
    ['Free then', staff.filter((p) => p.available)],
    ['Not free then', staff.filter((p) => !p.available && p.reason_code !== 'no_schedule')],
    ['No hours entered', staff.filter((p) => p.reason_code === 'no_schedule')],
  ]) {
    if (people.length) groups.push(h('optgroup', { label: `${label} (${people.length})` }, people.map(option)));
  }
  // Someone chosen before who is no longer an active staff member stays as they were.
  const kept = chosen && !staff.some((p) => String(p.id) === chosen) ? sel.querySelector(`option[value="${CSS.escape(chosen)}"]`) : null;
  sel.replaceChildren(...[empty, kept, ...groups].filter(Boolean));
  sel.value = chosen;
  sel.dataset.availRole = role;
}
