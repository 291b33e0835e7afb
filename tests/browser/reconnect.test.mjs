// The live socket's own rules (SPEC §6), with the network really failing: the page is
// loaded through a relay whose cable the test pulls. A lost socket is retried with
// growing, jittered waits and no cap, resumes with `since` and `epoch`, is shown on the
// page while it is down, and comes back at once when the browser is back online.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Server, Cable, launch, newPage, logIn, shot, watchSockets } from './harness.mjs';

let srv;
let browser;

before(async () => {
  srv = await Server.start();
  srv.addUser('olga', 'operator', 'Olga', 'Reyes');
  browser = await launch();
});

after(async () => {
  await browser?.close();
  await srv?.stop();
});

// Waits until the page sits in a backoff wait of more than 2.5 s (longer than the tests
// then allow for an immediate reconnect).
const longBackoff = (page) =>
  page.waitForFunction(
    () => {
      const c = document.getElementById('conn');
      return c.dataset.state === 'waiting' && Number(c.dataset.retryAt) - Date.now() > 2500;
    },
    null,
    { timeout: 60000, polling: 50 },
  );

const connState = (page) => page.evaluate(() => ({ state: document.getElementById('conn').dataset.state, text: document.getElementById('conn').textContent }));

test('a dropped socket is retried with backoff, resumes with since and epoch, and returns at once when the network is back', async () => {
  const cable = await Cable.start(srv.url);
  const { context, page } = await newPage(browser);
  const sockets = watchSockets(page);
  await logIn(page, cable, 'olga');
  await page.waitForSelector('#conn[data-state="live"]');
  // "Live" shows when the socket opens; its first frame may still be on its way.
  const first = await sockets[0].frame('initial_data');
  assert.equal(first.type, 'initial_data', 'initial_data on connect');

  cable.cut();
  await page.waitForSelector('#conn:is([data-state="waiting"], [data-state="reconnecting"])', { timeout: 5000 });
  assert.match((await connState(page)).text, /Connection lost|Reconnecting/);
  await shot(page, 'operator-connection-lost');

  // The retries go on, their waits grow (full jitter below a doubling ceiling) ...
  await longBackoff(page);
  assert.ok(sockets.length >= 3, `several attempts before a long wait (saw ${sockets.length})`);
  // ... and "network back" does not wait for the timer.
  await context.setOffline(true);
  await page.waitForSelector('#conn[data-state="offline"]');
  assert.match((await connState(page)).text, /Offline/);
  cable.restore();
  const backAt = Date.now();
  await context.setOffline(false);
  await page.waitForSelector('#conn[data-state="live"]', { timeout: 1500 });
  assert.ok(Date.now() - backAt < 1500, 'reconnected before the backoff timer');

  const last = sockets.at(-1);
  assert.equal(last.ws.url(), `${cable.url.replace('http', 'ws')}/ws/scheduling/appointments/?since=${first.seq}&epoch=${encodeURIComponent(first.epoch)}`);
  assert.equal(sockets.filter((s) => !s.closed).length, 1, 'one socket per tab');
  assert.deepEqual(page.problems, []);
  await context.close();
  await cable.close();
});

test('a tab that becomes visible again reconnects at once instead of waiting out its backoff', async () => {
  const cable = await Cable.start(srv.url);
  const { context, page } = await newPage(browser);
  const sockets = watchSockets(page);
  await logIn(page, cable, 'olga');
  await page.waitForSelector('#conn[data-state="live"]');
  cable.cut();
  await longBackoff(page);
  cable.restore();
  // Headless Chromium never hides a tab, so the test tells the page what a phone's browser
  // tells it when the driver comes back to it: the real handler runs on the real event.
  const backAt = Date.now();
  await page.evaluate(() => {
    Object.defineProperty(document, 'visibilityState', { value: 'visible', configurable: true });
    document.dispatchEvent(new Event('visibilitychange'));
  });
  await page.waitForSelector('#conn[data-state="live"]', { timeout: 1500 });
  assert.ok(Date.now() - backAt < 1500, 'reconnected before the backoff timer');
  assert.equal(sockets.filter((s) => !s.closed).length, 1, 'one socket per tab');
  assert.deepEqual(page.problems, []);
  await context.close();
  await cable.close();
});
