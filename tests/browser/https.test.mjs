// Phones over the internet: the operator's login and a live update in Chromium over
// https, through the real Caddy with `tls internal` (deploy/Caddyfile), the server
// trusting Caddy's forwarded headers. The context accepts Caddy's private CA
// (`ignoreHTTPSErrors`), as a phone would once its root is installed.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Server, Caddy, launch, logIn, watchSockets, today } from './harness.mjs';

let srv;
let caddy;
let browser;

before(async () => {
  srv = await Server.start({ env: { ROYAL_CARE_TRUSTED_PROXIES: '127.0.0.1' } });
  srv.addTeam();
  caddy = await Caddy.start(srv.url);
  browser = await launch();
});

after(async () => {
  await browser?.close();
  await caddy?.stop();
  await srv?.stop();
});

test('over https through Caddy the operator logs in and the board updates live over wss', async () => {
  const context = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1280, height: 860 } });
  const page = await context.newPage();
  const problems = [];
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error' && /Content Security Policy|Refused to/.test(m.text())) problems.push(`console: ${m.text()}`);
  });
  const sockets = watchSockets(page);
  await logIn(page, caddy, 'olga');
  await page.waitForSelector('#conn[data-state="live"]');
  assert.ok(sockets.length > 0 && sockets.every((s) => s.ws.url().startsWith(`wss://${new URL(caddy.url).host}/`)), sockets.map((s) => s.ws.url()).join(' '));

  // Another operator's booking (straight to the server) reaches the page over wss.
  const op = (await srv.login('olga')).token;
  const ids = await srv.staffIds(op);
  const id = (u) => ids[u];
  const c = await srv.call('POST', '/api/scheduling/clients/', op, { first_name: 'Ana', last_name: 'Santos', phone_number: '0917 555 0101', email: '', address: '12 Mabini St', notes: '' });
  assert.equal(c.status, 201, JSON.stringify(c.body));
  const s = await srv.call('POST', '/api/scheduling/services/', op, { name: 'Swedish massage', description: '', duration: 60, price: '1500.00', is_active: true });
  assert.equal(s.status, 201, JSON.stringify(s.body));
  const b = await srv.call('POST', '/api/scheduling/appointments/', op, {
    client: c.body.id, services: [s.body.id], therapist: id('tina'), driver: id('dan'),
    date: today(), start_time: '10:00', end_time: '11:00', location: '12 Mabini St',
  });
  assert.equal(b.status, 201, JSON.stringify(b.body));
  await page.waitForSelector(`[data-id="${b.body.id}"]`, { timeout: 5000 });
  assert.ok(sockets.some((s) => s.frames.some((f) => f.type === 'appointment_created' && f.appointment?.id === b.body.id)));
  assert.deepEqual(problems, []);
  await context.close();
});
