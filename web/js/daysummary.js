// The operator board's "Day summary" panel: `GET appointments/daily_summary/?date=` in
// words — bookings by status, money received by payment method, what is still unpaid,
// and per therapist their bookings and revenue. Folded by default; read when opened and
// again (at most once a second) when the day's appointments change while it is open.

import { api } from './api.js';
import { h } from './ui.js';
import { statusInfo, actionInfo } from './workflow.js';

// The payment methods' words, from the payment step's form in the workflow table.
function methodLabel(value) {
  const choices = actionInfo('mark_payment_received').inputs?.find((i) => i.name === 'payment_method')?.choices || [];
  return choices.find((c) => c.value === value)?.label || value.replaceAll('_', ' ');
}

export class DaySummary {
  constructor() {
    this.body = h('div', { class: 'day-panel-body' }, h('p', { class: 'muted' }, 'Loading…'));
    this.el = h('details', { class: 'day-panel', id: 'day-summary' }, h('summary', {}, 'Day summary: bookings, revenue, unpaid'), this.body);
    this.el.addEventListener('toggle', () => this.el.open && this.load());
    this.date = null;
    this.timer = null;
  }

  // The board shows `date`; its appointments changed (or the day did).
  changed(date) {
    const newDay = date !== this.date;
    this.date = date;
    if (!this.el.open) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.load(), newDay ? 0 : 1000);
  }

  async load() {
    const date = this.date;
    try {
      const s = await api('GET', `/api/scheduling/appointments/daily_summary/?date=${encodeURIComponent(date)}`);
      if (date === this.date) this.show(s);
    } catch (err) {
      if (date === this.date) this.body.replaceChildren(h('p', { class: 'notice tone-bad', role: 'alert' }, err.message));
    }
  }

  show(s) {
    const statuses = Object.entries(s.bookings.by_status).filter(([, n]) => n > 0);
    const methods = Object.entries(s.revenue.by_method).filter(([, amount]) => Number(amount) > 0);
    const table = (caption, head, rows) =>
      h('table', { class: 'sum-table' }, h('caption', {}, caption), h('thead', {}, h('tr', {}, head.map((t) => h('th', { scope: 'col' }, t)))), h('tbody', {}, rows));
    this.body.replaceChildren(
      h(
        'div',
        { class: 'sum-figures' },
        h('div', { class: 'sum-figure', dataset: { figure: 'bookings' } }, h('span', { class: 'sum-value' }, String(s.bookings.total)), h('span', { class: 'sum-label' }, 'bookings')),
        h('div', { class: 'sum-figure', dataset: { figure: 'revenue' } }, h('span', { class: 'sum-value' }, s.revenue.total), h('span', { class: 'sum-label' }, `received (${s.revenue.payments} payment${s.revenue.payments === 1 ? '' : 's'})`)),
        h('div', { class: 'sum-figure', dataset: { figure: 'unpaid' } }, h('span', { class: 'sum-value' }, s.unpaid.amount), h('span', { class: 'sum-label' }, `unpaid (${s.unpaid.count} session${s.unpaid.count === 1 ? '' : 's'} over)`)),
      ),
      h(
        'div',
        { class: 'sum-tables' },
        table('Bookings by status', ['Status', 'Count'], statuses.length ? statuses.map(([st, n]) => h('tr', {}, h('td', {}, statusInfo(st).label), h('td', {}, String(n)))) : h('tr', {}, h('td', { colspan: 2 }, 'None'))),
        table('Received by method', ['Method', 'Amount'], methods.length ? methods.map(([m, amount]) => h('tr', { dataset: { method: m } }, h('td', {}, methodLabel(m)), h('td', {}, amount))) : h('tr', {}, h('td', { colspan: 2 }, 'Nothing yet'))),
        table('Per therapist', ['Therapist', 'Bookings', 'Revenue'], s.therapists.length ? s.therapists.map((t) => h('tr', { dataset: { therapist: t.id } }, h('td', {}, t.name), h('td', {}, String(t.bookings)), h('td', {}, t.revenue))) : h('tr', {}, h('td', { colspan: 3 }, 'None'))),
      ),
    );
  }
}
