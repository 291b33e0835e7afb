// Dialogs: the appointment form (create and edit, used by the operator board) and the
// small forms some workflow steps need, generated from the inputs the server's workflow
// table declares for them (a reason, a payment, a pickup driver). A dialog
// stays open on an error and shows it in plain words, next to the field when the server
// names one.

import { api, ApiError } from './api.js';
import { h, personName, clientName, timeRange, hm } from './ui.js';
import { actionInfo } from './workflow.js';
import { clientBox } from './clientbox.js';
import { inWords, fieldSentence } from './wording.js';
import { watchAvailability } from './availability.js';

// Opens a modal with `content` (a list of elements) and buttons. `onSubmit(form)` runs on
// submit; whatever it returns resolves the promise and closes the dialog, an error keeps
// it open. Cancel resolves to null.
export function openDialog({ title, content, submitLabel = 'Save', danger = false, onSubmit, name = 'dialog' }) {
  return new Promise((resolve) => {
    const errorBox = h('p', { class: 'form-error', role: 'alert', hidden: true });
    const submit = h('button', { type: 'submit', class: `btn ${danger ? 'btn-danger' : 'btn-primary'}` }, submitLabel);
    const cancel = h('button', { type: 'button', class: 'btn btn-quiet', value: 'cancel' }, 'Close');
    const form = h('form', { class: 'dialog-form', method: 'dialog', novalidate: true }, h('h2', {}, title), errorBox, content, h('div', { class: 'dialog-buttons' }, cancel, submit));
    const dlg = h('dialog', { class: 'dialog', dataset: { dialog: name } }, form);
    let done = false;
    const finish = (value) => {
      if (done) return;
      done = true;
      dlg.close();
      dlg.remove();
      resolve(value);
    };
    cancel.addEventListener('click', () => finish(null));
    dlg.addEventListener('cancel', (e) => {
      e.preventDefault();
      finish(null);
    });
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      errorBox.hidden = true;
      form.querySelectorAll('.field-error').forEach((el) => el.remove());
      submit.disabled = true;
      try {
        finish(await onSubmit(form));
      } catch (err) {
        showError(form, errorBox, err);
      } finally {
        submit.disabled = false;
      }
    });
    document.body.append(dlg);
    dlg.showModal();
  });
}

// Shows `err` in the dialog: each field's problem next to it, and one sentence on top
// naming the fields in words; `err.offer` ({label, run}) adds a button (e.g. "Load their
// version" after an edit clash).
function showError(form, errorBox, err) {
  const fields = err instanceof ApiError ? err.fields : null;
  const placed = [];
  const elsewhere = [];
  // The field names this form and this error know: only those are put into words.
  const keys = [...form.querySelectorAll('[data-field]')].map((el) => el.dataset.field).concat(Object.keys(fields || {}));
  if (fields) {
    for (const [name, msgs] of Object.entries(fields)) {
      const text = [].concat(msgs).join(' ');
      const field = form.querySelector(`[data-field="${CSS.escape(name)}"]`);
      if (field) {
        field.append(h('span', { class: 'field-error' }, inWords(text, keys)));
        placed.push(fieldSentence(name, text, keys));
      } else {
        elsewhere.push(fieldSentence(name, text, keys));
      }
    }
  }
  if (placed.length || elsewhere.length) {
    errorBox.textContent = [...placed, ...elsewhere].join(' ');
  } else {
    errorBox.textContent = inWords(err.message || String(err), keys);
  }
  if (err.offer) {
    const b = h('button', { type: 'button', class: 'btn btn-inline', dataset: { offer: '' } }, err.offer.label);
    b.addEventListener('click', async () => {
      b.disabled = true;
      try {
        await err.offer.run();
        errorBox.hidden = true;
      } catch (e) {
        errorBox.textContent = e.message || String(e);
      }
    });
    errorBox.append(' ', b);
  }
  errorBox.hidden = false;
}

function field(label, name, input, hint) {
  return h('label', { class: 'field', dataset: { field: name } }, h('span', { class: 'field-label' }, label), input, hint ? h('span', { class: 'field-hint' }, hint) : null);
}

function select(name, options, value, { empty } = {}) {
  return h(
    'select',
    { name },
    empty ? h('option', { value: '' }, empty) : null,
    options.map(([v, label]) => h('option', { value: v, selected: String(v) === String(value ?? '') }, label)),
  );
}

function addMinutes(hhmm, minutes) {
  const [hh, mm] = hhmm.split(':').map(Number);
  const t = Math.min(hh * 60 + mm + minutes, 23 * 60 + 59);
  return `${String(Math.floor(t / 60)).padStart(2, '0')}:${String(t % 60).padStart(2, '0')}`;
}

// Create (no `appt`) or edit an appointment. Resolves to the saved appointment or null.
// `refs` holds the pick lists: {services, therapists, drivers}; clients are searched.
export function appointmentDialog({ appt, date, refs, onTheirs }) {
  const editing = Boolean(appt);
  let a = appt || { date, start_time: '09:00', end_time: '10:00', services: [] };
  const chosen = new Set((a.services || []).map(String));
  const services = refs.services.filter((s) => s.is_active !== false || chosen.has(String(s.id)));
  const therapists = refs.therapists.filter((u) => u.is_active !== false || u.id === a.therapist);
  const drivers = refs.drivers.filter((u) => u.is_active !== false || u.id === a.driver);

  // Filled in when a client is picked (or is new) and the place is still empty.
  const location = h('input', { name: 'location', value: a.location || '', autocomplete: 'off', placeholder: 'The client\'s address' });
  const clientPick = clientBox({
    current: editing && a.client ? { id: a.client, ...(a.client_details || {}) } : null,
    onPick: (c) => {
      if (c.address && !location.value) location.value = c.address;
    },
    onNew: (typed) => {
      if (newClient.hidden) newClientToggle.click();
      // What was typed becomes the name (or the phone, if it looks like one).
      const [first, ...rest] = typed.trim().split(/\s+/);
      if (/^[+\d][\d\s-]*$/.test(typed.trim())) newClient.querySelector('[name=phone_number]').value = typed.trim();
      else if (first) {
        newClient.querySelector('[name=first_name]').value = first;
        newClient.querySelector('[name=last_name]').value = rest.join(' ');
      }
      newClient.querySelector('[name=first_name]').focus();
    },
  });
  // A new client is sent with the booking and written only if the booking is (one
  // request, one transaction): a refused booking leaves no client behind. Its fields
  // are named client.<field> in the server's errors.
  const newClient = h(
    'fieldset',
    { class: 'new-client', hidden: true },
    h('legend', {}, 'New client'),
    h('div', { class: 'row' }, field('First name', 'client.first_name', h('input', { name: 'first_name', autocomplete: 'off' })), field('Last name', 'client.last_name', h('input', { name: 'last_name', autocomplete: 'off' }))),
    h('div', { class: 'row' }, field('Phone', 'client.phone_number', h('input', { name: 'phone_number', type: 'tel', autocomplete: 'off' })), field('Address', 'client.address', h('input', { name: 'address', autocomplete: 'off' }), 'Also the booking\'s place, unless you give another.')),
  );
  const newClientToggle = h('button', { type: 'button', class: 'btn btn-link' }, '+ New client');
  newClientToggle.addEventListener('click', () => {
    newClient.hidden = !newClient.hidden;
    clientPick.setDisabled(!newClient.hidden);
    newClientToggle.textContent = newClient.hidden ? '+ New client' : 'Pick an existing client instead';
  });

  const serviceBoxes = h(
    'div',
    { class: 'checks' },
    services.length
      ? services.map((s) =>
          h('label', { class: 'check' }, h('input', { type: 'checkbox', name: 'services', value: s.id, checked: chosen.has(String(s.id)), dataset: { minutes: s.duration || 0 } }), ` ${s.name}`, s.duration ? h('span', { class: 'muted' }, ` · ${s.duration} min`) : null),
        )
      : h('span', { class: 'muted' }, 'No services yet.'),
  );
  const start = h('input', { name: 'start_time', type: 'time', required: true, value: hm(a.start_time) });
  const end = h('input', { name: 'end_time', type: 'time', required: true, value: hm(a.end_time) });
  // The end follows the start and the chosen services until someone sets it by hand.
  let endTouched = editing;
  end.addEventListener('input', () => (endTouched = true));
  const followEnd = () => {
    if (endTouched || !start.value) return;
    const minutes = [...serviceBoxes.querySelectorAll('input:checked')].reduce((n, el) => n + Number(el.dataset.minutes || 0), 0);
    end.value = addMinutes(start.value, minutes || 60);
    end.dispatchEvent(new Event('change'));
  };
  start.addEventListener('input', followEnd);
  serviceBoxes.addEventListener('change', followEnd);

  const dateInput = h('input', { name: 'date', type: 'date', required: true, value: a.date });
  const therapistSel = select('therapist', therapists.map((u) => [u.id, personName(u)]), a.therapist, { empty: '— not assigned —' });
  const driverSel = select('driver', drivers.map((u) => [u.id, personName(u)]), a.driver, { empty: '— not assigned —' });
  const content = [
    h('div', { class: 'row' }, clientPick.el, editing ? null : h('div', { class: 'field field-inline' }, newClientToggle)),
    newClient,
    h('div', { class: 'field', dataset: { field: 'services' } }, h('span', { class: 'field-label' }, 'Services'), serviceBoxes),
    h('div', { class: 'row' }, field('Date', 'date', dateInput), field('Start', 'start_time', start), field('End', 'end_time', end)),
    h('div', { class: 'row' }, field('Therapist', 'therapist', therapistSel), field('Driver', 'driver', driverSel)),
    field('Where', 'location', location),
    field('Notes', 'notes', h('textarea', { name: 'notes', rows: 2 }, a.notes || '')),
  ];
  // Who is free in the chosen slot, and why the others are not (availability.js).
  watchAvailability({ date: dateInput, start, end, therapist: therapistSel, driver: driverSel, appointment: a.id });

  return openDialog({
    title: editing ? `Edit appointment · ${clientName(a)} · ${timeRange(a)}` : 'New appointment',
    name: editing ? 'edit' : 'create',
    content,
    submitLabel: editing ? 'Save changes' : 'Create appointment',
    onSubmit: async (form) => {
      const f = new FormData(form);
      const num = (v) => (v === '' || v === null ? null : Number(v));
      const fresh = !newClient.hidden;
      const client = fresh
        ? { first_name: f.get('first_name') || '', last_name: f.get('last_name') || '', phone_number: f.get('phone_number') || '', address: f.get('address') || '' }
        : num(f.get('client'));
      const body = {
        client,
        services: f.getAll('services').map(Number),
        date: f.get('date'),
        start_time: f.get('start_time'),
        end_time: f.get('end_time'),
        therapist: num(f.get('therapist')),
        driver: num(f.get('driver')),
        location: f.get('location') || '',
        notes: f.get('notes') || '',
      };
      if (!body.client) throw fieldError('client', 'Choose a client (type a name or phone number), or add a new one.');
      if (!editing) return api('POST', '/api/scheduling/appointments/', body);
      const changed = {};
      for (const [k, v] of Object.entries(body)) {
        const before = k === 'start_time' || k === 'end_time' ? hm(a[k]) : a[k];
        if (JSON.stringify(k === 'services' ? [...v].sort() : v) !== JSON.stringify(k === 'services' ? [...(before || [])].sort() : before ?? (typeof v === 'string' ? '' : null))) changed[k] = v;
      }
      if (!Object.keys(changed).length) return a;
      try {
        return await api('PATCH', `/api/scheduling/appointments/${a.id}/`, changed, { ifMatch: a.version });
      } catch (err) {
        if (err.code !== 'STALE') throw err;
        // Someone else saved first: offer their copy in this form (then save again).
        err.message = 'Someone else changed this appointment while you were editing it. Load their version to see what they changed, then make your change again.';
        err.offer = {
          label: 'Load their version',
          run: async () => {
            a = await api('GET', `/api/scheduling/appointments/${a.id}/`);
            fillForm(form, a);
            onTheirs?.(a);
          },
        };
        throw err;
      }
    },
  });
}

// Puts appointment `a`'s values into the appointment form (after "Load their version").
function fillForm(form, a) {
  const set = (name, v) => {
    const el = form.elements.namedItem(name);
    if (el && !(el instanceof RadioNodeList)) el.value = v ?? '';
  };
  set('client', a.client);
  set('date', a.date);
  set('start_time', hm(a.start_time));
  set('end_time', hm(a.end_time));
  set('therapist', a.therapist);
  set('driver', a.driver);
  set('location', a.location);
  set('notes', a.notes);
  const chosen = new Set((a.services || []).map(String));
  form.querySelectorAll('input[name="services"]').forEach((box) => (box.checked = chosen.has(box.value)));
}

function fieldError(name, message) {
  return new ApiError(400, { code: 'invalid', detail: message, fields: { [name]: [message] } }, message);
}

// One input of a workflow step, as the server's table declares it, as a form control.
// `a` is the appointment (inputs may be pre-filled from it), `refs` the pick lists.
function inputControl(input, a, refs) {
  const { name } = input;
  const prefilled = (input.prefill || []).map((k) => a[k]).find((v) => v !== undefined && v !== null && v !== '');
  const value = prefilled ?? input.default ?? '';
  switch (input.kind) {
    case 'choice':
      return select(name, (input.choices || []).map((c) => [c.value, c.label]), value);
    case 'staff': {
      const people = (refs?.[`${input.role}s`] || []).filter((u) => u.is_active !== false);
      return select(name, people.map((u) => [u.id, personName(u)]), value, { empty: `Choose a ${input.role}…` });
    }
    case 'money':
      return h('input', { name, inputmode: 'decimal', value, required: input.required });
    default:
      return input.multiline
        ? h('textarea', { name, rows: 3, required: input.required, maxlength: input.max_length }, value)
        : h('input', { name, autocomplete: 'off', required: input.required, maxlength: input.max_length, value });
  }
}

// The request body of step `t` from its form: each input by its kind; an empty optional
// one is left out, an empty required one is marked with the table's hint.
function readInputs(t, form) {
  const f = new FormData(form);
  const body = {};
  for (const input of t.inputs) {
    let v = String(f.get(input.name) ?? '');
    if (input.kind === 'text') v = v.trim();
    if (v === '') {
      if (input.required) throw fieldError(input.name, input.hint || 'This field is required.');
      continue;
    }
    body[input.name] = input.kind === 'staff' ? Number(v) : v;
  }
  return body;
}

// Runs workflow step `action` on `a`, first asking for the inputs the server's table
// says it reads (a form generated from them). Resolves to the updated appointment, or
// null when the person closed the dialog.
export async function runAction(a, action, refs) {
  const url = `/api/scheduling/appointments/${a.id}/${action}/`;
  const t = actionInfo(action);
  // No If-Match on workflow steps: the server's transition table already refuses a step
  // that no longer fits, and an unrelated edit (say, the notes) should not block it.
  if (!t.inputs?.length) return api('POST', url, {});
  const fields = t.inputs.map((input) => field(input.label, input.name, inputControl(input, a, refs)));
  const content = [
    t.note ? h('p', {}, t.note) : null,
    ...(t.shows || []).map((s) => h('p', {}, `${s.label}: ${a[s.name] || '(none)'}`)),
    fields.length > 1 ? h('div', { class: 'row' }, fields) : fields,
  ];
  return openDialog({
    title: `${t.title || t.label} · ${clientName(a)} · ${timeRange(a)}`,
    name: action,
    content,
    danger: t.danger,
    submitLabel: t.title || t.label,
    onSubmit: (form) => api('POST', url, readInputs(t, form)),
  });
}
