// Phones on bad networks (issue 11): the browser's own offline switch
// (`context.setOffline`), the real service worker and the real server. A therapist's
// schedule survives a reload without a network, marked "as of HH:MM", and a write says
// plainly that the phone is offline; coming back online opens a new socket at once, even
// though the old one still looks open; and the booking form's client box asks the server
// as you type, so it finds a client another operator added after the form was opened.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Server, launch, newPage, logIn, shot, today, watchSockets } from './harness.mjs';

let srv;
let browser;
let tokens = {};
let ids = {};
let client;

before(async () => {
  srv = await Server.start();
  srv.addTeam();
  srv.addUser('omar', 'operator', 'Omar', 'Cruz');
  ({ tokens, ids } = await srv.signIn(['olga', 'omar', 'tina', 'dan']));
  client = (await srv.call('POST', '/api/scheduling/clients/', tokens.olga, { first_name: 'Ana', last_name: 'Santos', phone_number: '0917', address: '12 Mabini St' })).body;
  browser = await launch();
});

after(async () => {
  await browser?.close();
  await srv?.stop();
});

async function book(start, end) {
  const r = await srv.call('POST', '/api/scheduling/appointments/', tokens.olga, {
    client: client.id,
    therapist: ids.tina,
    driver: ids.dan,
    date: today(),
    start_time: start,
    end_time: end,
  });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  return r.body;
}

const connText = (page) => page.locator('#conn .conn-text').textContent();

// The service worker is installed and controls the page (so a reload goes through it).
async function controlled(page) {
  await page.evaluate(() => navigator.serviceWorker.ready);
  await page.waitForFunction(() => Boolean(navigator.serviceWorker.controller), null, { timeout: 10000 });
}

test('offline, a reload still shows the schedule as of its time, and a write says it is offline', async () => {
  const a = await book('09:00', '10:00');
  const { context, page } = await newPage(browser, { phone: true });
  await logIn(page, srv, 'tina');
  const card = page.locator(`article.appt[data-id="${a.id}"]`);
  await card.waitFor();
  await page.waitForSelector('#conn[data-state="live"]');
  // The address is a link that opens the phone's maps app.
  assert.match(await card.locator('a.map-link').getAttribute('href'), /12%20Mabini%20St/);
  await controlled(page);
  // Reload once online so the worker has seen the page it serves.
  await page.reload();
  await card.waitFor();
  await page.waitForSelector('#conn[data-state="live"]');

  await context.setOffline(true);
  // The browser said so: the state says Offline at once, before any timeout.
  await page.waitForSelector('#conn[data-state="offline"]', { timeout: 1000 });
  assert.match(await connText(page), /Offline/);

  await page.reload();
  await card.waitFor();
  const note = page.locator('.offline-note');
  await note.waitFor();
  assert.match(await note.textContent(), /as of \d\d:\d\d/);
  await page.waitForSelector('#conn[data-state="offline"]');
  assert.match(await connText(page), /Offline/);
  assert.match(await card.textContent(), /Ana Santos/);
  await shot(page, 'therapist-offline');

  // A write: the sentence, not a network error.
  await card.locator('button[data-action="therapist_confirm"]').click();
  await page.waitForFunction(
    () => [...document.querySelectorAll('.toast')].some((t) => t.textContent.includes('You are offline; try again when the connection is back.')),
    null,
    { timeout: 5000 },
  );
  const seen = (await srv.call('GET', `/api/scheduling/appointments/${a.id}/`, tokens.olga)).body;
  assert.equal(seen.status, 'pending', 'nothing was written');

  // Back online: the schedule is live again and the "as of" note goes.
  await context.setOffline(false);
  await page.waitForSelector('#conn[data-state="live"]', { timeout: 5000 });
  await page.waitForSelector('.offline-note', { state: 'detached', timeout: 5000 });
  // Her step done (confirmed elsewhere), her card has no button: it says who is next.
  const r = await srv.call('POST', `/api/scheduling/appointments/${a.id}/therapist_confirm/`, tokens.tina, {});
  assert.equal(r.status, 200, JSON.stringify(r.body));
  await card.locator('.appt-waiting').waitFor({ timeout: 5000 });
  assert.equal(await card.locator('.appt-waiting').textContent(), 'Waiting for the driver');
  assert.equal(await card.locator('button').count(), 0);
  assert.deepEqual(page.problems, []);
  await context.close();
});

test('logout deletes the saved schedule', async () => {
  await book('11:00', '12:00');
  const { context, page } = await newPage(browser, { phone: true });
  await logIn(page, srv, 'tina');
  await page.waitForSelector('article.appt');
  assert.ok(await page.evaluate(() => localStorage.getItem('royal-care.schedule')), 'saved while logged in');
  await page.click('#logout');
  await page.waitForSelector('#login-form');
  assert.equal(await page.evaluate(() => localStorage.getItem('royal-care.schedule')), null);
  // The worker's cache holds the app's files only, never an answer that needs a login.
  const kept = await page.evaluate(async () => {
    const out = [];
    for (const name of await caches.keys()) for (const r of await (await caches.open(name)).keys()) out.push(new URL(r.url).pathname);
    return out;
  });
  assert.ok(kept.includes('/js/app.js'), kept.join(' '));
  assert.deepEqual(kept.filter((p) => p.startsWith('/api/') && p !== '/api/scheduling/workflow/'), []);
  await context.close();
});

test('online after 3 s offline opens a new socket within 1 s', async () => {
  const { context, page } = await newPage(browser, { phone: true });
  const sockets = watchSockets(page);
  await logIn(page, srv, 'dan');
  await page.waitForSelector('#conn[data-state="live"]');
  const first = await sockets[0].frame('initial_data');
  assert.equal(first.type, 'initial_data', 'initial_data on connect');
  const before = sockets.length;

  await context.setOffline(true);
  await page.waitForSelector('#conn[data-state="offline"]', { timeout: 1000 });
  // Three seconds without a network: what a lift or a tunnel does to a driver's phone.
  // (The wait is the scenario itself, not waiting for something to happen.)
  await new Promise((r) => setTimeout(r, 3000));
  const backAt = Date.now();
  const opened = new Promise((resolve) => page.once('websocket', () => resolve(Date.now())));
  await context.setOffline(false);
  const at = await Promise.race([opened, new Promise((r) => setTimeout(() => r(null), 1000))]);
  assert.ok(at !== null, 'a new socket within 1 s of the network coming back');
  assert.ok(at - backAt < 1000, `new socket after ${at - backAt} ms`);
  assert.equal(sockets.length, before + 1);
  const last = sockets.at(-1);
  assert.match(last.ws.url(), new RegExp(`\\?since=${first.seq}&epoch=`), 'resumes where it was');
  await page.waitForSelector('#conn[data-state="live"]', { timeout: 2000 });
  assert.equal(sockets.filter((s) => !s.closed).length, 1, 'one socket per tab');
  assert.deepEqual(page.problems, []);
  await context.close();
});

test('the client box finds a client another operator added after the form was opened', async () => {
  const { context, page } = await newPage(browser);
  await logIn(page, srv, 'olga');
  await page.waitForSelector('#conn[data-state="live"]');
  await page.click('#new-appointment');
  const box = page.locator('dialog[data-dialog="create"] input[role="combobox"]');
  await box.waitFor();
  // Omar adds a client now, elsewhere.
  const made = await srv.call('POST', '/api/scheduling/clients/', tokens.omar, { first_name: 'Carmela', last_name: 'Reyes', phone_number: '0999 123', address: '5 Roxas Blvd' });
  assert.equal(made.status, 201);
  await box.fill('Carm');
  const option = page.locator(`[role="option"][data-id="${made.body.id}"]`);
  await option.waitFor({ timeout: 5000 });
  await shot(page, 'operator-client-box');
  // By phone too.
  await box.fill('0999');
  await option.waitFor({ timeout: 5000 });
  await box.press('Enter');
  const d = page.locator('dialog[data-dialog="create"]');
  assert.equal(await d.locator('input[name="location"]').inputValue(), '5 Roxas Blvd', 'the address fills the place');
  await d.locator('input[name="start_time"]').fill('15:00');
  await d.locator('input[name="end_time"]').fill('16:00');
  // Chosen once the form knows she is free then (the lists follow the times).
  await d.locator(`select[name="therapist"] option[value="${ids.tina}"]:not([disabled])`).waitFor({ state: 'attached' });
  await d.locator('select[name="therapist"]').selectOption(String(ids.tina));
  await d.locator('button[type="submit"]').click();
  await d.waitFor({ state: 'detached' });
  const list = (await srv.call('GET', `/api/scheduling/appointments/?client=${made.body.id}`, tokens.olga)).body;
  assert.equal(list.count, 1);
  assert.equal(list.results[0].location, '5 Roxas Blvd');
  assert.deepEqual(page.problems, []);
  await context.close();
});

test('a new client booked into a taken slot is not added', async () => {
  await book('17:00', '18:00');
  const { context, page } = await newPage(browser);
  await logIn(page, srv, 'olga');
  await page.waitForSelector('#conn[data-state="live"]');
  await page.click('#new-appointment');
  const d = page.locator('dialog[data-dialog="create"]');
  await d.locator('input[role="combobox"]').fill('Zenaida');
  await d.getByRole('button', { name: 'Add as a new client' }).click();
  assert.equal(await d.locator('input[name="first_name"]').inputValue(), 'Zenaida');
  await d.locator('input[name="address"]').fill('9 Taft Ave');
  await d.locator('input[name="start_time"]').fill('17:30');
  await d.locator('input[name="end_time"]').fill('18:30');
  // The form itself offers Tina as busy then; a list a moment out of date (another
  // operator booked her just now) would still offer her, and the server refuses.
  const busy = d.locator(`select[name="therapist"] option[value="${ids.tina}"][disabled]`);
  await busy.waitFor({ state: 'attached' });
  await busy.evaluate((o) => { o.disabled = false; o.selected = true; });
  await d.locator('button[type="submit"]').click();
  await d.locator('.form-error').waitFor();
  assert.match(await d.locator('.form-error').textContent(), /Double booking/);
  const found = (await srv.call('GET', '/api/scheduling/clients/?search=Zenaida', tokens.olga)).body;
  assert.equal(found.count, 0, 'the refused booking left no client');
  // A free time: the booking and its client are made together, at the client's address.
  await d.locator('input[name="start_time"]').fill('19:00');
  await d.locator('input[name="end_time"]').fill('20:00');
  await d.locator(`select[name="therapist"] option[value="${ids.tina}"]:not([disabled])`).waitFor({ state: 'attached' });
  await d.locator('select[name="therapist"]').selectOption(String(ids.tina));
  await d.locator('button[type="submit"]').click();
  await d.waitFor({ state: 'detached' });
  const made = (await srv.call('GET', '/api/scheduling/clients/?search=Zenaida', tokens.olga)).body;
  assert.equal(made.count, 1);
  const appts = (await srv.call('GET', `/api/scheduling/appointments/?client=${made.results[0].id}`, tokens.olga)).body;
  assert.equal(appts.results[0].location, '9 Taft Ave');
  assert.deepEqual(page.problems, []);
  await context.close();
});
