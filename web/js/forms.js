// Dialogs: the appointment form (create and edit, used by the operator board) and the
// small forms some workflow steps need, generated from the inputs the server's workflow
// table declares for them (a reason, a payment, a pickup driver). A dialog
// stays open on an error and shows it in plain words, next to the field when the server
// names one.

import { api, ApiError } from './api.js';
import { h, personName, clientName, timeRange, hm } from './ui.js';
import { actionInfo } from './workflow.js';
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

function showError(form, errorBox, err) {
  const fields = err instanceof ApiError ? err.fields : null;
  let placed = false;
  if (fields) {
    for (const [name, msgs] of Object.entries(fields)) {
      const field = form.querySelector(`[data-field="${CSS.escape(name)}"]`);
      if (!field) continue;
      field.append(h('span', { class: 'field-error' }, [].concat(msgs).join(' ')));
      placed = true;
    }
  }
  errorBox.textContent = placed ? 'Please correct the marked fields.' : err.message || String(err);
  if (placed && err.message && !/^Validation|invalid/i.test(err.message)) errorBox.textContent = err.message;
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
// `refs` holds the pick lists: {clients, services, therapists, drivers}.
export function appointmentDialog({ appt, date, refs }) {
  const editing = Boolean(appt);
  const a = appt || { date, start_time: '09:00', end_time: '10:00', services: [] };
  const chosen = new Set((a.services || []).map(String));
  const services = refs.services.filter((s) => s.is_active !== false || chosen.has(String(s.id)));
  const therapists = refs.therapists.filter((u) => u.is_active !== false || u.id === a.therapist);
  const drivers = refs.drivers.filter((u) => u.is_active !== false || u.id === a.driver);

  const clientSel = select('client', refs.clients.map((c) => [c.id, `${personName(c)}${c.phone_number ? ` · ${c.phone_number}` : ''}`]), a.client, { empty: 'Choose a client…' });
  const newClient = h(
    'fieldset',
    { class: 'new-client', hidden: true },
    h('legend', {}, 'New client'),
    h('div', { class: 'row' }, field('First name', 'first_name', h('input', { name: 'first_name', autocomplete: 'off' })), field('Last name', 'last_name', h('input', { name: 'last_name', autocomplete: 'off' }))),
    h('div', { class: 'row' }, field('Phone', 'phone_number', h('input', { name: 'phone_number', type: 'tel', autocomplete: 'off' })), field('Address', 'address', h('input', { name: 'address', autocomplete: 'off' }))),
  );
  const newClientToggle = h('button', { type: 'button', class: 'btn btn-link' }, '+ New client');
  newClientToggle.addEventListener('click', () => {
    newClient.hidden = !newClient.hidden;
    clientSel.disabled = !newClient.hidden;
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

  const location = h('input', { name: 'location', value: a.location || '', autocomplete: 'off', placeholder: 'Client\'s address' });
  clientSel.addEventListener('change', () => {
    const c = refs.clients.find((x) => String(x.id) === clientSel.value);
    if (c?.address && !location.value) location.value = c.address;
  });

  const dateInput = h('input', { name: 'date', type: 'date', required: true, value: a.date });
  const therapistSel = select('therapist', therapists.map((u) => [u.id, personName(u)]), a.therapist, { empty: '— not assigned —' });
  const driverSel = select('driver', drivers.map((u) => [u.id, personName(u)]), a.driver, { empty: '— not assigned —' });
  const content = [
    h('div', { class: 'row' }, field('Client', 'client', clientSel), h('div', { class: 'field field-inline' }, newClientToggle)),
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
      let client = num(f.get('client'));
      if (!newClient.hidden) {
        const made = await api('POST', '/api/scheduling/clients/', {
          first_name: f.get('first_name') || '',
          last_name: f.get('last_name') || '',
          phone_number: f.get('phone_number') || '',
          address: f.get('address') || '',
        });
        refs.clients.push(made);
        client = made.id;
        clientSel.append(h('option', { value: made.id }, personName(made)));
        clientSel.value = String(made.id);
        newClientToggle.click();
      }
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
      if (!body.client) throw fieldError('client', 'Choose a client, or add a new one.');
      if (!editing) return api('POST', '/api/scheduling/appointments/', body);
      const changed = {};
      for (const [k, v] of Object.entries(body)) {
        const before = k === 'start_time' || k === 'end_time' ? hm(a[k]) : a[k];
        if (JSON.stringify(k === 'services' ? [...v].sort() : v) !== JSON.stringify(k === 'services' ? [...(before || [])].sort() : before ?? (typeof v === 'string' ? '' : null))) changed[k] = v;
      }
      if (!Object.keys(changed).length) return a;
      return api('PATCH', `/api/scheduling/appointments/${a.id}/`, changed, { ifMatch: a.version });
    },
  });
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
