// Accessibility of every screen, checked by axe-core (pinned in package.json) inside real
// Chromium against the real server: the WCAG 2.0/2.1 A and AA rules — colour contrast
// among them — on the login screen, the operator board (cards, timeline, the
// needs-attention strip and the open day summary), the booking form, a workflow dialog,
// and the therapist's and driver's phone views. Zero violations.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { Server, launch, newPage, logIn, shot, today, UNTIL_PAYMENT } from './harness.mjs';

const AXE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

let srv;
let browser;
let tokens = {};
let ids = {};

before(async () => {
  srv = await Server.start();
  srv.addTeam();
  ({ tokens, ids } = await srv.signIn(['olga', 'tina', 'dan']));
  const client = (await srv.call('POST', '/api/scheduling/clients/', tokens.olga, { first_name: 'Ana', last_name: 'Santos', phone_number: '0917', address: '12 Mabini St' })).body;
  const service = (await srv.call('POST', '/api/scheduling/services/', tokens.olga, { name: 'Swedish massage', duration: 60, price: '1500.00' })).body;
  // A day with something in most states: pending, confirmed, rejected, paid, cancelled,
  // and a home visit without a driver.
  const book = async (start, end, extra = {}) => {
    const r = await srv.call('POST', '/api/scheduling/appointments/', tokens.olga, { client: client.id, services: [service.id], therapist: ids.tina, driver: ids.dan, date: today(), start_time: start, end_time: end, location: '12 Mabini St', ...extra });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    return r.body;
  };
  const step = (who, id, action, body = {}) => srv.step(tokens[who], id, action, body);
  await book('08:00', '09:00');
  const confirmed = await book('09:00', '10:00');
  await step('tina', confirmed.id, 'therapist_confirm');
  const rejected = await book('10:00', '11:00');
  await step('tina', rejected.id, 'reject', { rejection_reason: 'Sick' });
  const paid = await book('12:00', '13:00');
  for (const [who, action] of UNTIL_PAYMENT) await step(who, paid.id, action);
  await step('olga', paid.id, 'mark_payment_received', { payment_method: 'cash', payment_amount: '1500.00' });
  const cancelled = await book('14:00', '15:00');
  await step('olga', cancelled.id, 'cancel');
  await book('16:00', '17:00', { driver: null });
  browser = await launch();
});

after(async () => {
  await browser?.close();
  await srv?.stop();
});

// axe's WCAG 2 A/AA rules on the page as it is now; returns the violations in words.
async function violations(page, within = null) {
  if (!(await page.evaluate(() => Boolean(window.axe)))) await page.evaluate(AXE);
  const found = await page.evaluate((within) =>
    window.axe.run(within ? { include: [within] } : document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] } }).then((r) => [
      ...r.violations,
      // Contrast axe could not decide (text over a gradient or an image) counts too.
      ...r.incomplete.filter((v) => v.id === 'color-contrast'),
    ]),
    within,
  );
  return found.flatMap((v) => v.nodes.map((n) => `${v.id}: ${n.target.join(' ')} — ${(n.failureSummary || n.any?.[0]?.message || '').replace(/\s+/g, ' ')}`));
}

test('the login screen, the board, the booking form and a workflow dialog pass axe (WCAG 2 AA)', async () => {
  const { context, page } = await newPage(browser);
  await page.goto(srv.url + '/');
  await page.waitForSelector('#login-form');
  assert.deepEqual(await violations(page), [], 'login');
  // The wrong-password notice too.
  await page.fill('#username', 'olga');
  await page.fill('#password', 'wrong');
  await page.click('#login-form button[type=submit]');
  await page.waitForSelector('#login-form .notice.tone-bad:not([hidden])');
  assert.deepEqual(await violations(page), [], 'login error');

  await logIn(page, srv, 'olga');
  await page.waitForSelector('#conn[data-state="live"]');
  await page.locator('.tl-block').first().waitFor();
  await page.locator('section.attention:not([hidden])').waitFor();
  await page.locator('#tl-show-finished').check();
  await page.locator('#day-summary > summary').click();
  await page.locator('#day-summary .sum-figures').waitFor();
  assert.deepEqual(await violations(page), [], 'operator board: cards, timeline, strip, summary');
  await shot(page, 'a11y-board');

  await page.click('#new-appointment');
  await page.locator('dialog[data-dialog="create"]').waitFor();
  await page.locator('dialog[data-dialog="create"] button[type="submit"]').click();
  await page.locator('dialog[data-dialog="create"] .form-error:not([hidden])').waitFor();
  // The error focuses the client box, whose suggestions open over the form: checked
  // open, as a person sees them, and then the form under them with the list closed.
  await page.locator('dialog[data-dialog="create"] .client-results:not([hidden])').waitFor();
  assert.deepEqual(await violations(page, '.client-results'), [], 'the client suggestions');
  const list = page.locator('dialog[data-dialog="create"] .client-results');
  // Closed by a click on the form's title (the box loses the focus), as a person would.
  await page.locator('dialog[data-dialog="create"] h2').first().click();
  await list.waitFor({ state: 'hidden' });
  assert.deepEqual(await violations(page), [], 'booking form with its errors');
  await page.locator('dialog[data-dialog="create"] button[value="cancel"]').click();

  await page.locator('article.appt button[data-action="cancel"]').first().click();
  await page.locator('dialog[data-dialog="cancel"]').waitFor();
  assert.deepEqual(await violations(page), [], 'cancel dialog');
  await page.locator('dialog[data-dialog="cancel"] button[value="cancel"]').click();
  await page.locator('article.appt[data-status="awaiting_payment"], article.appt[data-status="rejected"] button[data-action="review_rejection"]').first().click();
  await page.locator('dialog[data-dialog="review_rejection"]').waitFor();
  assert.deepEqual(await violations(page), [], 'rejection review dialog');
  assert.deepEqual(page.problems, []);
  await context.close();
});

test('the therapist and driver phone views pass axe (WCAG 2 AA)', async () => {
  for (const who of ['tina', 'dan']) {
    const { context, page } = await newPage(browser, { phone: true });
    await logIn(page, srv, who);
    await page.waitForSelector('#conn[data-state="live"]');
    await page.locator('article.appt').first().waitFor();
    assert.deepEqual(await violations(page), [], `${who}'s view`);
    await shot(page, `a11y-${who}`);
    if (who === 'tina') {
      await page.locator('article.appt button[data-action="reject"]').first().click();
      await page.locator('dialog[data-dialog="reject"]').waitFor();
      assert.deepEqual(await violations(page), [], 'reject dialog');
    }
    assert.deepEqual(page.problems, []);
    await context.close();
  }
});
