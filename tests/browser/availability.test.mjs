// Availability shown in the booking form (issue 11, items 4 and 8): with a therapist
// booked 10:00–11:00 through the API, the operator's form for 10:30 shows her as busy,
// naming the booking's client, and offers the free therapist first; changing the time,
// or another operator's booking meanwhile, refreshes the lists; a free therapist can be
// booked from the form.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Server, launch, newPage, logIn, today, shot } from './harness.mjs';

let srv;
let browser;
let tokens = {};
let ids = {};
let client;

before(async () => {
  srv = await Server.start();
  srv.addTeam();
  srv.addUser('tess', 'therapist', 'Tess', 'Ramos');
  ({ tokens, ids } = await srv.signIn(['olga', 'tina', 'dan', 'tess']));
  // Everyone works every day 07:00–21:00, whatever day the test runs on.
  const week = { hours: [0, 1, 2, 3, 4, 5, 6].map((weekday) => ({ weekday, start_time: '07:00', end_time: '21:00' })) };
  for (const u of ['tina', 'tess', 'dan']) {
    const r = await srv.call('PUT', `/api/scheduling/staff/${ids[u]}/working_hours/`, tokens.olga, week);
    assert.equal(r.status, 200, JSON.stringify(r.body));
  }
  client = (await srv.call('POST', '/api/scheduling/clients/', tokens.olga, { first_name: 'Maria', last_name: 'Santos', phone_number: '0917 555 0199', address: '3 Rizal Ave' })).body;
  const booked = await srv.call('POST', '/api/scheduling/appointments/', tokens.olga, {
    client: client.id,
    therapist: ids.tina,
    driver: ids.dan,
    date: today(),
    start_time: '10:00',
    end_time: '11:00',
  });
  assert.equal(booked.status, 201, JSON.stringify(booked.body));
  browser = await launch();
});

after(async () => {
  await browser?.close();
  await srv?.stop();
});

test('availability shown in the booking form', async () => {
  const { page } = await newPage(browser);
  await logIn(page, srv, 'olga');
  await page.click('#new-appointment');
  const dlg = page.locator('dialog[data-dialog="create"]');
  await dlg.waitFor();
  await dlg.locator('input[name="start_time"]').fill('10:30');
  await dlg.locator('input[name="end_time"]').fill('11:30');

  const therapists = dlg.locator('select[name="therapist"]');
  const tina = therapists.locator(`option[value="${ids.tina}"][data-available="false"]`);
  await tina.waitFor({ state: 'attached' });
  assert.equal(await tina.textContent(), 'Tina Cruz — Booked with Maria Santos 10:00–11:00');
  assert.ok(await tina.evaluate((o) => o.disabled), 'a booked therapist cannot be chosen');
  const tess = therapists.locator(`option[value="${ids.tess}"]`);
  assert.equal(await tess.getAttribute('data-available'), 'true');
  assert.equal(await tess.textContent(), 'Tess Ramos');
  assert.ok(!(await tess.evaluate((o) => o.disabled)));
  // Free first: the first person offered is Tess, under "Free then".
  const order = await therapists.locator('option:not([value=""])').evaluateAll((os) => os.map((o) => [o.value, o.parentElement.label]));
  assert.deepEqual(order, [
    [String(ids.tess), 'Free then (1)'],
    [String(ids.tina), 'Not free then (1)'],
  ]);
  const dan = dlg.locator(`select[name="driver"] option[value="${ids.dan}"]`);
  assert.match(await dan.textContent(), /Booked with Maria Santos 10:00–11:00/);
  assert.match(await dlg.locator('[data-avail-for="therapist"]').textContent(), /1 of 2 therapists free 10:30–11:30/);
  await shot(page, 'availability-booking-form');

  // Another time: the lists follow.
  await dlg.locator('input[name="start_time"]').fill('11:00');
  await dlg.locator('input[name="end_time"]').fill('12:00');
  await therapists.locator(`option[value="${ids.tina}"][data-available="true"]`).waitFor({ state: 'attached' });
  assert.equal(await therapists.locator(`option[value="${ids.tina}"]`).textContent(), 'Tina Cruz');

  // Back to 10:30. Another operator books Tess then: the open form follows at once (live),
  // and again when that booking is cancelled.
  await dlg.locator('input[name="start_time"]').fill('10:30');
  await dlg.locator('input[name="end_time"]').fill('11:30');
  await tina.waitFor({ state: 'attached' });
  const other = await srv.call('POST', '/api/scheduling/appointments/', tokens.olga, { client: client.id, therapist: ids.tess, date: today(), start_time: '11:00', end_time: '12:00' });
  assert.equal(other.status, 201, JSON.stringify(other.body));
  const tessBusy = therapists.locator(`option[value="${ids.tess}"][data-available="false"]`);
  await tessBusy.waitFor({ state: 'attached' });
  assert.equal(await tessBusy.textContent(), 'Tess Ramos — Booked with Maria Santos 11:00–12:00');
  const cancelled = await srv.call('POST', `/api/scheduling/appointments/${other.body.id}/cancel/`, tokens.olga, {});
  assert.equal(cancelled.status, 200, JSON.stringify(cancelled.body));
  await therapists.locator(`option[value="${ids.tess}"][data-available="true"]`).waitFor({ state: 'attached' });

  // Book the free therapist from the form.
  await dlg.locator('input[role="combobox"]').fill('Maria');
  await dlg.locator(`[role="option"][data-id="${client.id}"]`).click();
  await therapists.selectOption(String(ids.tess));
  const created = page.waitForResponse((r) => r.url().endsWith('/api/scheduling/appointments/') && r.request().method() === 'POST');
  await dlg.locator('button[type="submit"]').click();
  const resp = await created;
  assert.equal(resp.status(), 201, await resp.text());
  assert.equal((await resp.json()).therapist, ids.tess);
  assert.deepEqual(page.problems, []);
});
