// The clinic's day in real browsers: an operator books in one browser context and the
// therapist's phone in another shows it within a second without a reload; the therapist
// confirms and the operator's board changes; the driver's phone shows exactly the
// driver's buttons; a double booking is explained; and a therapist's phone whose network
// drops gets what it missed after the automatic reconnect.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Server, Cable, launch, newPage, logIn, shot, watchSockets, today } from './harness.mjs';

let srv;
let browser;
let opToken;
let thToken;
let client;
let service;

before(async () => {
  srv = await Server.start();
  srv.addTeam();
  srv.addUser('rosa', 'therapist', 'Rosa', 'Diaz');
  opToken = (await srv.login('olga')).token;
  thToken = (await srv.login('tina')).token;
  const c = await srv.call('POST', '/api/scheduling/clients/', opToken, {
    first_name: 'Ana',
    last_name: 'Santos',
    phone_number: '0917 555 0101',
    email: 'ana@example.org',
    address: '12 Mabini St, Makati',
    notes: '',
  });
  assert.equal(c.status, 201, JSON.stringify(c.body));
  client = c.body;
  const s = await srv.call('POST', '/api/scheduling/services/', opToken, { name: 'Swedish massage', description: 'Full body, 60 minutes', duration: 60, price: '1500.00', is_active: true });
  assert.equal(s.status, 201, JSON.stringify(s.body));
  service = s.body;
  browser = await launch();
});

after(async () => {
  await browser?.close();
  await srv?.stop();
});

const staffId = async (username) => (await srv.staffIds(opToken))[username];

// Books through the operator's dialog; resolves to the created appointment.
async function bookInUi(page, { start, therapist, driver }) {
  await page.click('#new-appointment');
  const dlg = page.locator('dialog[data-dialog="create"]');
  await dlg.waitFor();
  // The client box asks the server as you type.
  await dlg.locator('input[role="combobox"]').fill('Ana San');
  await dlg.locator(`[role="option"][data-id="${client.id}"]`).click();
  await dlg.locator('input[name="services"]').first().check();
  await dlg.locator('input[name="start_time"]').fill(start);
  await dlg.locator('select[name="therapist"]').selectOption({ label: therapist });
  if (driver) await dlg.locator('select[name="driver"]').selectOption({ label: driver });
  const created = page.waitForResponse((r) => r.url().endsWith('/api/scheduling/appointments/') && r.request().method() === 'POST');
  await dlg.locator('button[type="submit"]').click();
  return created;
}

test('a booking reaches the therapist at once, the confirmation reaches the board, and each role sees its own buttons', async () => {
  const op = await newPage(browser);
  const th = await newPage(browser, { phone: true });
  const dr = await newPage(browser, { phone: true });
  const thSockets = watchSockets(th.page);
  await logIn(op.page, srv, 'olga');
  await logIn(th.page, srv, 'tina');
  await logIn(dr.page, srv, 'dan');
  for (const p of [op.page, th.page, dr.page]) await p.waitForSelector('#conn[data-state="live"]');
  await th.page.waitForSelector('.mine-list .empty');

  const resp = await bookInUi(op.page, { start: '10:00', therapist: 'Tina Cruz', driver: 'Dan Lopez' });
  assert.equal(resp.status(), 201, await resp.text());
  const created = await resp.json();
  const sentAt = Date.now();
  // Within a second, without a reload, on the therapist's phone.
  const thCard = th.page.locator(`article.appt[data-id="${created.id}"]`);
  await thCard.waitFor({ timeout: 1000 });
  assert.ok(Date.now() - sentAt < 1000);
  assert.equal(thSockets.length, 1, 'one socket, no reload');
  assert.equal(await thCard.getAttribute('data-status'), 'pending');
  assert.match(await thCard.textContent(), /Ana Santos/);
  assert.match(await thCard.textContent(), /10:00–11:00/);
  await op.page.locator(`article.appt[data-id="${created.id}"]`).waitFor();
  await shot(op.page, 'operator-board');
  await shot(th.page, 'therapist-phone');

  // Exactly the server's buttons for each role.
  const buttons = async (page, id) => page.locator(`article.appt[data-id="${id}"] .appt-actions button[data-action]`).evaluateAll((bs) => bs.map((b) => b.dataset.action));
  const fresh = (await srv.call('GET', `/api/scheduling/appointments/${created.id}/`, thToken)).body;
  assert.deepEqual(await buttons(th.page, created.id), fresh.allowed_actions_by_role.therapist);
  assert.deepEqual(await buttons(th.page, created.id), fresh.allowed_actions);
  assert.ok(fresh.allowed_actions_by_role.therapist.includes('therapist_confirm'));
  assert.deepEqual((await buttons(op.page, created.id)).filter((a) => a !== 'edit'), fresh.allowed_actions_by_role.operator);

  // The therapist confirms; the operator's board changes by itself.
  const opCard = op.page.locator(`article.appt[data-id="${created.id}"]`);
  await thCard.locator('button[data-action="therapist_confirm"]').click();
  await op.page.locator(`article.appt[data-id="${created.id}"][data-status="therapist_confirmed"]`).waitFor({ timeout: 1000 });
  assert.match(await opCard.locator('.badge').textContent(), /Therapist confirmed/);
  await th.page.locator(`article.appt[data-id="${created.id}"][data-status="therapist_confirmed"]`).waitFor();
  assert.equal(await thCard.locator('button[data-action="therapist_confirm"]').count(), 0);

  // The driver's phone: the job, with the driver's step and nothing else.
  const drCard = dr.page.locator(`article.appt[data-id="${created.id}"][data-status="therapist_confirmed"]`);
  await drCard.waitFor({ timeout: 1000 });
  const now = (await srv.call('GET', `/api/scheduling/appointments/${created.id}/`, opToken)).body;
  assert.deepEqual(await buttons(dr.page, created.id), now.allowed_actions_by_role.driver);
  assert.ok(now.allowed_actions_by_role.driver.includes('driver_confirm'));
  await shot(dr.page, 'driver-phone');
  await drCard.locator('button[data-action="driver_confirm"]').click();
  await op.page.locator(`article.appt[data-id="${created.id}"][data-status="driver_confirmed"]`).waitFor({ timeout: 1000 });

  for (const p of [op.page, th.page, dr.page]) assert.deepEqual(p.problems, []);
  await Promise.all([op.context.close(), th.context.close(), dr.context.close()]);
});

test('a double booking is refused and explained in plain words', async () => {
  const op = await newPage(browser);
  await logIn(op.page, srv, 'olga');
  await op.page.waitForSelector('#conn[data-state="live"]');
  const first = await bookInUi(op.page, { start: '14:00', therapist: 'Rosa Diaz' });
  assert.equal(first.status(), 201);
  await op.page.waitForSelector('dialog[data-dialog="create"]', { state: 'detached' });
  const second = await bookInUi(op.page, { start: '14:30', therapist: 'Rosa Diaz' });
  assert.equal(second.status(), 409);
  const error = op.page.locator('dialog[data-dialog="create"] .form-error');
  await error.waitFor();
  assert.match(await error.textContent(), /Double booking/);
  assert.match(await error.textContent(), /Rosa Diaz/);
  await shot(op.page, 'operator-conflict');
  await op.page.locator('dialog[data-dialog="create"] button[value="cancel"]').click();
  await op.context.close();
});

test('the operator picks a date, edits to assign a driver, and cancels', async () => {
  const op = await newPage(browser);
  await logIn(op.page, srv, 'olga');
  const tomorrow = new Date();
  tomorrow.setDate(tomorrow.getDate() + 1);
  const p = (n) => String(n).padStart(2, '0');
  const day = `${tomorrow.getFullYear()}-${p(tomorrow.getMonth() + 1)}-${p(tomorrow.getDate())}`;
  const r = await srv.call('POST', '/api/scheduling/appointments/', opToken, {
    client: client.id,
    services: [service.id],
    therapist: await staffId('rosa'),
    date: day,
    start_time: '09:00',
    end_time: '10:00',
    location: client.address,
  });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  const id = r.body.id;
  await op.page.waitForSelector('#conn[data-state="live"]');
  assert.equal(await op.page.locator(`article.appt[data-id="${id}"]`).count(), 0, 'tomorrow is not on today\'s board');
  await op.page.click('button[aria-label="Next day"]');
  const card = op.page.locator(`article.appt[data-id="${id}"]`);
  await card.waitFor();
  assert.equal(await op.page.inputValue('.day-nav input[type="date"]'), day);

  await card.locator('button[data-action="edit"]').click();
  const dlg = op.page.locator('dialog[data-dialog="edit"]');
  await dlg.locator('select[name="driver"]').selectOption({ label: 'Dan Lopez' });
  await shot(op.page, 'operator-edit');
  // Someone else changes it while the dialog is open: saving is refused as STALE and
  // explained, and the board already shows their change.
  const other = await srv.call('PATCH', `/api/scheduling/appointments/${id}/`, opToken, { notes: 'Gate code 4411' });
  assert.equal(other.status, 200, JSON.stringify(other.body));
  await op.page.waitForFunction((sel) => document.querySelector(sel)?.textContent.includes('Gate code 4411'), `article.appt[data-id="${id}"]`);
  await dlg.locator('button[type="submit"]').click();
  await dlg.locator('.form-error').waitFor();
  assert.match(await dlg.locator('.form-error').textContent(), /Someone else changed this appointment/);
  await shot(op.page, 'operator-stale');
  await dlg.locator('button[value="cancel"]').click();
  await dlg.waitFor({ state: 'detached' });
  await card.locator('button[data-action="edit"]').click();
  assert.equal(await dlg.locator('textarea[name="notes"]').inputValue(), 'Gate code 4411');
  await dlg.locator('select[name="driver"]').selectOption({ label: 'Dan Lopez' });
  await dlg.locator('button[type="submit"]').click();
  await dlg.waitFor({ state: 'detached' });
  await op.page.waitForFunction((sel) => document.querySelector(sel)?.textContent.includes('Dan Lopez'), `article.appt[data-id="${id}"] .appt-driver`);

  await card.locator('button[data-action="cancel"]').click();
  await op.page.locator('dialog[data-dialog="cancel"] button[type="submit"]').click();
  await op.page.locator(`article.appt[data-id="${id}"][data-status="cancelled"]`).waitFor();
  assert.equal(await card.locator('button[data-action="edit"]').count(), 0);
  assert.equal((await srv.call('GET', `/api/scheduling/appointments/${id}/`, opToken)).body.status, 'cancelled');
  await op.page.click('.day-nav button:has-text("Today")');
  await op.page.waitForFunction(() => document.querySelector('.day-title').textContent.includes('Today'));
  assert.deepEqual(op.page.problems, []);
  await op.context.close();
});

test('after the network drops, the phone reconnects by itself and shows what changed meanwhile', async () => {
  const cable = await Cable.start(srv.url);
  const th = await newPage(browser, { phone: true });
  const sockets = watchSockets(th.page);
  await logIn(th.page, cable, 'tina');
  await th.page.waitForSelector('#conn[data-state="live"]');
  assert.equal(sockets.length, 1);
  await th.page.waitForSelector('.mine-list article.appt, .mine-list .empty');

  // Pull the cable: the socket dies, the page says so and starts retrying.
  cable.cut();
  await th.page.waitForSelector('#conn:is([data-state="waiting"], [data-state="reconnecting"])', { timeout: 5000 });
  await shot(th.page, 'therapist-offline');

  // Meanwhile the operator books Tina again.
  const r = await srv.call('POST', '/api/scheduling/appointments/', opToken, {
    client: client.id,
    services: [service.id],
    therapist: await staffId('tina'),
    date: today(),
    start_time: '16:00',
    end_time: '17:00',
    location: client.address,
    notes: 'Booked while the phone was offline',
  });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  assert.equal(await th.page.locator(`article.appt[data-id="${r.body.id}"]`).count(), 0);

  // Cable back: the backoff timer reconnects by itself, resuming where it left off.
  cable.restore();
  await th.page.waitForSelector('#conn[data-state="live"]', { timeout: 35000 });
  await th.page.locator(`article.appt[data-id="${r.body.id}"]`).waitFor({ timeout: 2000 });
  const last = sockets.at(-1);
  assert.match(last.ws.url(), /\?since=\d+&epoch=[^&]+$/, 'resumes with since and epoch');
  assert.ok(!last.frames.some((f) => f.type === 'initial_data'), 'a resume, not a fresh start');
  assert.ok(last.frames.some((f) => f.type === 'appointment_created' && f.appointment.id === r.body.id));
  assert.equal(sockets.filter((s) => !s.closed).length, 1, 'still one socket');

  assert.deepEqual(th.page.problems, []);
  await th.context.close();
  await cable.close();
});

test('a therapist taken off an appointment and put back on sees it again without a reload', async () => {
  const th = await newPage(browser, { phone: true });
  await logIn(th.page, srv, 'tina');
  await th.page.waitForSelector('#conn[data-state="live"]');
  const r = await srv.call('POST', '/api/scheduling/appointments/', opToken, {
    client: client.id,
    services: [service.id],
    therapist: await staffId('tina'),
    date: today(),
    start_time: '18:00',
    end_time: '19:00',
    location: client.address,
  });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  const card = th.page.locator(`article.appt[data-id="${r.body.id}"]`);
  await card.waitFor({ timeout: 1000 });
  const reassign = async (who) => {
    const cur = await srv.call('GET', `/api/scheduling/appointments/${r.body.id}/`, opToken);
    const res = await srv.call('PATCH', `/api/scheduling/appointments/${r.body.id}/`, opToken, { therapist: await staffId(who), version: cur.body.version });
    assert.equal(res.status, 200, JSON.stringify(res.body));
  };
  await reassign('rosa');
  await card.waitFor({ state: 'detached', timeout: 1000 });
  await reassign('tina');
  await card.waitFor({ timeout: 1000 });
  assert.deepEqual(th.page.problems, []);
  await th.context.close();
});

test('in a group booking, the therapist who confirmed loses the Confirm button while the other keeps it', async () => {
  const tina = await newPage(browser, { phone: true });
  const rosa = await newPage(browser, { phone: true });
  await logIn(tina.page, srv, 'tina');
  await logIn(rosa.page, srv, 'rosa');
  for (const p of [tina.page, rosa.page]) await p.waitForSelector('#conn[data-state="live"]');
  const r = await srv.call('POST', '/api/scheduling/appointments/', opToken, {
    client: client.id,
    services: [service.id],
    therapist: await staffId('tina'),
    therapists: [await staffId('rosa')],
    date: today(),
    start_time: '20:00',
    end_time: '21:00',
    location: client.address,
  });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  const confirm = (p) => p.locator(`article.appt[data-id="${r.body.id}"] button[data-action="therapist_confirm"]`);
  await confirm(tina.page).waitFor({ timeout: 1000 });
  await confirm(rosa.page).waitFor({ timeout: 1000 });
  // Tina confirms from another device: her phone learns it from the live event alone.
  const done = await srv.call('POST', `/api/scheduling/appointments/${r.body.id}/therapist_confirm/`, thToken, {});
  assert.equal(done.status, 200, JSON.stringify(done.body));
  await confirm(tina.page).waitFor({ state: 'detached', timeout: 1000 });
  assert.equal(await confirm(rosa.page).count(), 1, 'Rosa still has to confirm');
  assert.deepEqual(tina.page.problems, []);
  assert.deepEqual(rosa.page.problems, []);
  await tina.context.close();
  await rosa.context.close();
});
