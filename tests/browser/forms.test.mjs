// The workflow forms are generated from the server's table (GET /api/scheduling/workflow/):
// the payment dialog offers exactly the server's payment methods, pre-filled with the
// appointment's price; a required reason left empty is marked with the table's hint; the
// buttons and badges carry the table's labels.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Server, launch, newPage, logIn, today, UNTIL_PAYMENT } from './harness.mjs';

let srv;
let browser;
let tokens = {};
let ids = {};
let client;
let service;

before(async () => {
  srv = await Server.start();
  srv.addTeam();
  ({ tokens, ids } = await srv.signIn(['olga', 'tina', 'dan']));
  client = (await srv.call('POST', '/api/scheduling/clients/', tokens.olga, { first_name: 'Ana', last_name: 'Santos', phone_number: '0917', address: '12 Mabini St' })).body;
  service = (await srv.call('POST', '/api/scheduling/services/', tokens.olga, { name: 'Swedish massage', duration: 60, price: '1500.00' })).body;
  browser = await launch();
});

after(async () => {
  await browser?.close();
  await srv?.stop();
});

async function book(start, end) {
  const r = await srv.call('POST', '/api/scheduling/appointments/', tokens.olga, {
    client: client.id,
    services: [service.id],
    therapist: ids.tina,
    driver: ids.dan,
    date: today(),
    start_time: start,
    end_time: end,
  });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  return r.body;
}

const step = (who, id, action, body = {}) => srv.step(tokens[who], id, action, body);

test('the payment dialog offers the payment methods of the server table', async () => {
  const table = (await srv.call('GET', '/api/scheduling/workflow/')).body;
  const pay = table.actions.find((a) => a.name === 'mark_payment_received');
  const methods = pay.inputs.find((i) => i.name === 'payment_method').choices;
  assert.ok(methods.length >= 6);

  const a = await book('08:00', '09:00');
  for (const [who, action] of UNTIL_PAYMENT) await step(who, a.id, action);

  const op = await newPage(browser);
  await logIn(op.page, srv, 'olga');
  const card = op.page.locator(`article.appt[data-id="${a.id}"][data-status="awaiting_payment"]`);
  await card.waitFor();
  const awaiting = table.statuses.find((s) => s.name === 'awaiting_payment');
  assert.equal(await card.locator('.badge').textContent(), awaiting.label);
  assert.ok(await card.locator('.badge').evaluate((el, tone) => el.classList.contains(`tone-${tone}`), awaiting.tone));
  const button = card.locator('button[data-action="mark_payment_received"]');
  assert.equal(await button.textContent(), pay.label);
  await button.click();

  const dlg = op.page.locator('dialog[data-dialog="mark_payment_received"]');
  await dlg.waitFor();
  const options = await dlg.locator('select[name="payment_method"] option').evaluateAll((os) => os.map((o) => [o.value, o.textContent]));
  assert.deepEqual(options, methods.map((c) => [c.value, c.label]));
  assert.equal(await dlg.locator('input[name="payment_amount"]').inputValue(), '1500.00');
  await dlg.locator('select[name="payment_method"]').selectOption({ label: 'GCash' });
  await dlg.locator('button[type="submit"]').click();
  await op.page.locator(`article.appt[data-id="${a.id}"][data-status="completed"]`).waitFor({ timeout: 2000 });
  const done = (await srv.call('GET', `/api/scheduling/appointments/${a.id}/`, tokens.olga)).body;
  assert.equal(done.payment_method, 'gcash');
  assert.equal(done.payment_amount, '1500.00');
  assert.deepEqual(op.page.problems, []);
  await op.context.close();
});

test('a required reason left empty is marked with the hint from the table', async () => {
  const table = (await srv.call('GET', '/api/scheduling/workflow/')).body;
  const reject = table.actions.find((a) => a.name === 'reject');
  const reason = reject.inputs.find((i) => i.name === 'rejection_reason');
  assert.equal(reason.required, true);

  const a = await book('12:00', '13:00');
  const th = await newPage(browser, { phone: true });
  await logIn(th.page, srv, 'tina');
  const card = th.page.locator(`article.appt[data-id="${a.id}"][data-status="pending"]`);
  await card.waitFor();
  // The therapist reads pending in the table's words for their role.
  assert.equal(await card.locator('.badge').textContent(), table.statuses[0].labels_by_role.therapist);
  await card.locator('button[data-action="reject"]').click();
  const dlg = th.page.locator('dialog[data-dialog="reject"]');
  await dlg.locator(`[data-field="rejection_reason"] .field-label`).filter({ hasText: reason.label }).waitFor();
  await dlg.locator('button[type="submit"]').click();
  await dlg.locator('[data-field="rejection_reason"] .field-error').filter({ hasText: reason.hint }).waitFor();
  await dlg.locator('textarea[name="rejection_reason"]').fill('I am ill today.');
  await dlg.locator('button[type="submit"]').click();
  await th.page.locator(`article.appt[data-id="${a.id}"][data-status="rejected"]`).waitFor({ timeout: 2000 });
  const now = (await srv.call('GET', `/api/scheduling/appointments/${a.id}/`, tokens.olga)).body;
  assert.equal(now.status, 'rejected');
  assert.equal(now.rejection_reason, 'I am ill today.');
  assert.deepEqual(th.page.problems, []);
  await th.context.close();
});
