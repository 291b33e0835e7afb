// The notification bell in real browsers: two tabs (two pages of one browser context,
// so one stored session) logged in as the same therapist; an operator books her through
// the API and both tabs' badges show 1; reading it in tab A clears the badge in tab B
// without a reload (the server's `notifications_changed`, not localStorage). A burst of
// six bookings leaves six entries in the panel, none lost.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Server, launch, newPage, logIn, shot } from './harness.mjs';

let srv;
let browser;
let opToken;
let booking;

before(async () => {
  srv = await Server.start();
  srv.addTeam();
  opToken = (await srv.login('olga')).token;
  const c = await srv.call('POST', '/api/scheduling/clients/', opToken, { first_name: 'Ana', last_name: 'Santos', phone_number: '0917 555 0101' });
  assert.equal(c.status, 201, JSON.stringify(c.body));
  const s = await srv.call('POST', '/api/scheduling/services/', opToken, { name: 'Swedish massage', duration: 60, price: '1500.00' });
  assert.equal(s.status, 201, JSON.stringify(s.body));
  const tina = (await srv.staffIds(opToken)).tina;
  booking = (date, start, end) => ({ client: c.body.id, services: [s.body.id], therapist: tina, date, start_time: start, end_time: end, location: '12 Mabini St' });
  browser = await launch();
});

after(async () => {
  await browser?.close();
  await srv?.stop();
});

const badge = (page) => page.locator('#bell-button');

test('a notification read in one tab clears the badge in the other', async () => {
  const { context, page: tabA } = await newPage(browser);
  await logIn(tabA, srv, 'tina');
  const tabB = await context.newPage();
  tabB.problems = [];
  tabB.on('pageerror', (e) => tabB.problems.push(`page error: ${e.message}`));
  await tabB.goto(srv.url + '/');
  for (const p of [tabA, tabB]) {
    await p.waitForSelector('#conn[data-state="live"]');
    await p.waitForSelector('#bell-button[data-unread="0"]');
    assert.equal(await badge(p).getAttribute('aria-label'), 'Notifications, none unread');
    assert.equal(await p.locator('.bell-count').isHidden(), true);
  }

  const r = await srv.call('POST', '/api/scheduling/appointments/', opToken, booking('2030-03-04', '10:00', '11:00'));
  assert.equal(r.status, 201, JSON.stringify(r.body));
  for (const p of [tabA, tabB]) {
    await p.waitForSelector('#bell-button[data-unread="1"]');
    assert.equal(await p.locator('.bell-count').textContent(), '1');
    assert.equal(await badge(p).getAttribute('aria-label'), 'Notifications, 1 unread');
  }

  // Tab A opens the panel and reads it.
  await badge(tabA).click();
  const panel = tabA.locator('#bell-panel');
  await panel.waitFor();
  assert.equal(await badge(tabA).getAttribute('aria-expanded'), 'true');
  const item = panel.locator('.bell-item').first();
  assert.match(await item.textContent(), /New assignment/);
  assert.match(await item.textContent(), /2030-03-04 at 10:00/);
  await shot(tabA, 'notifications-panel');
  await item.getByRole('button', { name: 'Mark read: New assignment' }).click();
  await tabA.waitForSelector('#bell-button[data-unread="0"]');

  // Tab B follows without a reload.
  await tabB.waitForSelector('#bell-button[data-unread="0"]');
  assert.equal(await badge(tabB).getAttribute('aria-label'), 'Notifications, none unread');
  assert.equal(await tabB.locator('.bell-count').isHidden(), true);
  await badge(tabB).click();
  await tabB.locator('#bell-panel .bell-item:not(.unread)').first().waitFor();
  assert.deepEqual([...tabA.problems, ...tabB.problems], []);
  await context.close();
});

test('a burst of six bookings leaves six notifications in the panel; mark all read empties the badge', async () => {
  const { context, page } = await newPage(browser, { phone: true });
  await logIn(page, srv, 'tina');
  await page.waitForSelector('#conn[data-state="live"]');
  await page.waitForSelector('#bell-button[data-unread]');
  const before = Number(await badge(page).getAttribute('data-unread'));
  await Promise.all(
    [8, 9, 11, 12, 13, 14].map((h) => srv.call('POST', '/api/scheduling/appointments/', opToken, booking('2030-03-05', `${String(h).padStart(2, '0')}:00`, `${String(h).padStart(2, '0')}:50`))),
  ).then((rs) => rs.forEach((r) => assert.equal(r.status, 201, JSON.stringify(r.body))));
  await page.waitForSelector(`#bell-button[data-unread="${before + 6}"]`);
  await badge(page).click();
  const items = page.locator('#bell-panel .bell-item.unread');
  await page.waitForFunction(() => document.querySelectorAll('#bell-panel .bell-item.unread').length === 6);
  assert.equal(await items.count(), 6);
  await shot(page, 'notifications-phone');
  await page.getByRole('button', { name: 'Mark all read' }).click();
  await page.waitForSelector('#bell-button[data-unread="0"]');
  assert.equal(await items.count(), 0);
  assert.deepEqual(page.problems, []);
  await context.close();
});
