// The clinic's time zone in the browser: the server runs the clinic in Pago Pago (UTC−11)
// and the operator's browser is set to Kiritimati (UTC+14), 25 hours apart, so their dates
// always differ. The board opens on the clinic's today (from /health/), marks it "Today",
// and shows that day's booking with its times in the clinic's clock.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Server, launch, logIn } from './harness.mjs';

const CLINIC = 'Pacific/Pago_Pago';
const BROWSER = 'Pacific/Kiritimati';
let srv;
let browser;

function dateIn(zone) {
  const parts = new Intl.DateTimeFormat('en-CA', { timeZone: zone, year: 'numeric', month: '2-digit', day: '2-digit' }).formatToParts(new Date());
  const part = (type) => parts.find((p) => p.type === type).value;
  return `${part('year')}-${part('month')}-${part('day')}`;
}

before(async () => {
  srv = await Server.start({ env: { ROYAL_CARE_TIME_ZONE: CLINIC } });
  srv.addTeam();
  browser = await launch();
});

after(async () => {
  await browser?.close();
  await srv?.stop();
});

test("the board opens on the clinic's today, not the browser's", async () => {
  const clinicToday = dateIn(CLINIC);
  assert.notEqual(clinicToday, dateIn(BROWSER));
  const olga = (await srv.login('olga')).token;
  const client = (await srv.call('POST', '/api/scheduling/clients/', olga, { first_name: 'Ana', last_name: 'Santos', phone_number: '0917', address: '12 Mabini St' })).body;
  const service = (await srv.call('POST', '/api/scheduling/services/', olga, { name: 'Swedish massage', duration: 60, price: '1500.00' })).body;
  const tina = (await srv.staffIds(olga)).tina;
  const r = await srv.call('POST', '/api/scheduling/appointments/', olga, {
    client: client.id, services: [service.id], therapist: tina, date: clinicToday, start_time: '10:00', end_time: '11:00', location: '12 Mabini St',
  });
  assert.equal(r.status, 201, JSON.stringify(r.body));

  const context = await browser.newContext({ timezoneId: BROWSER, viewport: { width: 1280, height: 860 } });
  const page = await context.newPage();
  await logIn(page, srv, 'olga');
  await page.waitForSelector('h1.day-title');
  // Past midnight in the clinic while the test ran: nothing to compare.
  if (dateIn(CLINIC) !== clinicToday) return;
  assert.equal(await page.inputValue('input[aria-label="Day shown"]'), clinicToday);
  await page.waitForFunction(() => document.querySelector('h1.day-title')?.textContent.includes('Today'));
  await page.getByText('Ana Santos').first().waitFor();
  await context.close();
});
