// The appointment workflow as the server publishes it (GET /api/scheduling/workflow/):
// every status with its words, tone and groups, every action with who may take it, its
// label and the inputs its form asks for (kind, choices, defaults). The page fetches it
// once before showing any appointment; nothing else in the UI knows a status, an action
// or a choice by name.

import { api } from './api.js';

let table = null;
let loading = null;
const statuses = new Map();
const actions = new Map();

// Resolves once the table is here (fetched at most once per page load).
export function loadWorkflow() {
  if (table) return Promise.resolve(table);
  loading ||= api('GET', '/api/scheduling/workflow/', undefined, { token: '' })
    .then((t) => {
      statuses.clear();
      actions.clear();
      for (const s of t.statuses || []) statuses.set(s.name, s);
      for (const a of t.actions || []) actions.set(a.name, a);
      table = t;
      return t;
    })
    .finally(() => {
      loading = null;
    });
  return loading;
}

// A status's row; an unknown one (a newer server) gets its name in words.
export function statusInfo(name) {
  return statuses.get(name) || { name, label: String(name).replaceAll('_', ' '), tone: 'info', labels_by_role: {} };
}

// An action's row; an unknown one gets its name in words and no form.
export function actionInfo(name) {
  return actions.get(name) || { name, label: String(name).replaceAll('_', ' '), title: String(name).replaceAll('_', ' '), inputs: [], shows: [] };
}

// Paid or cancelled: shown apart from the active ones, no longer editable.
export function isFinished(status) {
  return Boolean(statuses.get(status)?.finished);
}

// Waiting for its therapists' answer (new bookings, denied rejections).
export function awaitsTherapist(status) {
  return Boolean(statuses.get(status)?.awaits_therapist);
}

export function roleLabel(role) {
  return table?.roles?.find((r) => r.name === role)?.label || role;
}

// The workflow timestamp columns worth showing on a card, with their words.
export function stampLabels() {
  return table?.stamps || [];
}

// The steps that move an appointment on from `status` (not the red ones such as cancel
// or reject, which end it): who is being waited for.
export function nextSteps(status) {
  return [...actions.values()].filter((a) => a.rest !== false && !a.danger && (a.from || []).includes(status));
}
