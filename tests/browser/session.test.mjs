// Logging in and out in a real browser: the page is served whole from the binary (no
// outside request at all), the live socket opens with the token as a subprotocol, a wrong
// password is explained, logout closes the socket, forgets the token and revokes it, and
// a 4001 close (here: the account is deactivated from the CLI) brings back the login.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { Server, launch, newPage, logIn, shot, watchSockets, PASSWORD } from './harness.mjs';

let srv;
let browser;

before(async () => {
  srv = await Server.start();
  srv.addUser('olga', 'operator', 'Olga', 'Reyes');
  srv.addUser('tina', 'therapist', 'Tina', 'Cruz');
  browser = await launch();
});

after(async () => {
  await browser?.close();
  await srv?.stop();
});

test('the page loads only from the server itself, and a wrong password is explained', async () => {
  const { context, page } = await newPage(browser);
  const outside = [];
  // Any request that is not to our server would break the clinic's offline use.
  await context.route('**/*', (route) => {
    const url = route.request().url();
    if (!url.startsWith(srv.url)) {
      outside.push(url);
      return route.abort();
    }
    return route.continue();
  });
  const resp = await page.goto(srv.url + '/');
  assert.equal(resp.status(), 200);
  const csp = resp.headers()['content-security-policy'];
  assert.match(csp, /script-src 'self';/);
  assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/);
  await page.waitForSelector('#login-form');
  await shot(page, 'login');
  await page.fill('#username', 'olga');
  await page.fill('#password', 'wrong-password');
  await page.click('#login-form button[type=submit]');
  await page.waitForSelector('#login-form .notice.tone-bad:not([hidden])');
  assert.match(await page.textContent('#login-form .notice'), /do not match/);
  assert.equal(await page.evaluate(() => localStorage.getItem('royal-care.session')), null);
  assert.deepEqual(outside, []);
  assert.deepEqual(page.problems, []);
  await context.close();
});

test('logout closes the live socket, forgets the token, and the server revokes it', async () => {
  const { context, page } = await newPage(browser);
  const sockets = watchSockets(page);
  await logIn(page, srv, 'olga');
  await page.waitForSelector('#conn[data-state="live"]');
  assert.equal(sockets.length, 1, 'one socket per tab');
  const socket = sockets[0];
  assert.match(socket.ws.url(), /\/ws\/scheduling\/appointments\/$/, 'no token in the URL');
  await page.waitForFunction(() => document.querySelector('.day-title')?.textContent.includes('Today'));
  const token = await page.evaluate(() => JSON.parse(localStorage.getItem('royal-care.session')).token);
  assert.match(token, /^[0-9a-f]{64}$/);
  assert.equal((await srv.call('GET', '/api/auth/profile/', token)).status, 200);

  const closed = socket.closed ? Promise.resolve() : socket.ws.waitForEvent('close');
  await page.click('#logout');
  await closed;
  await page.waitForSelector('#login-form');
  assert.match(await page.textContent('#login-form .notice'), /logged out/);
  assert.equal(await page.evaluate(() => localStorage.getItem('royal-care.session')), null);
  // The logout request reached the server: the old token no longer works.
  const deadline = Date.now() + 5000;
  let status;
  do {
    status = (await srv.call('GET', '/api/auth/profile/', token)).status;
  } while (status !== 401 && Date.now() < deadline);
  assert.equal(status, 401);
  // Nothing reconnects after logout.
  assert.equal(sockets.length, 1);
  // A reload stays logged out.
  await page.reload();
  await page.waitForSelector('#login-form');
  assert.deepEqual(page.problems, []);
  await context.close();
});

test('a 4001 close from the server (account deactivated) brings back the login', async () => {
  const { context, page } = await newPage(browser);
  const sockets = watchSockets(page);
  await logIn(page, srv, 'tina');
  await page.waitForSelector('#conn[data-state="live"]');
  const r = spawnSync(process.env.ROYAL_CARE_BIN, ['--db', srv.db, 'user', 'deactivate', 'tina'], {
    env: { ...process.env, ROYAL_CARE_PASSWORD_ITERATIONS: '1000', ROYAL_CARE_INSECURE_FAST_HASHES_FOR_TESTS: '1' },
    input: `${PASSWORD}\n`,
    encoding: 'utf8',
  });
  assert.equal(r.status, 0, r.stderr);
  await page.waitForSelector('#login-form', { timeout: 5000 });
  assert.match(await page.textContent('#login-form .notice'), /log in again/i);
  assert.equal(await page.evaluate(() => localStorage.getItem('royal-care.session')), null);
  assert.equal(sockets.length, 1, 'no reconnect after 4001');
  await context.close();
});
