// The operator board for a busy day, in a real browser against the real server: the day
// timeline (a column per therapist and driver, free gaps labelled, the auto-cancel
// countdown, finished ones folded away), the "needs attention" strip, the day summary; a
// live change redraws only its card and keeps the focus; a double tap sends one request;
// an edit clash offers "Load their version"; errors in words; toasts never cover a button.

import { test, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { Server, launch, newPage, logIn, shot, today, UNTIL_PAYMENT } from './harness.mjs';

let srv;
let browser;
let tokens = {};
let ids = {};
let client;
let service;

before(async () => {
  srv = await Server.start();
  srv.addTeam();
  srv.addUser('rosa', 'therapist', 'Rosa', 'Diaz');
  ({ tokens, ids } = await srv.signIn(['olga', 'tina', 'dan', 'rosa']));
  client = (await srv.call('POST', '/api/scheduling/clients/', tokens.olga, { first_name: 'Ana', last_name: 'Santos', phone_number: '0917', address: '12 Mabini St' })).body;
  service = (await srv.call('POST', '/api/scheduling/services/', tokens.olga, { name: 'Swedish massage', duration: 60, price: '1500.00' })).body;
  browser = await launch();
});

after(async () => {
  await browser?.close();
  await srv?.stop();
});

async function book(start, end, { therapist = 'tina', driver = 'dan', location = '12 Mabini St' } = {}) {
  const r = await srv.call('POST', '/api/scheduling/appointments/', tokens.olga, {
    client: client.id,
    services: [service.id],
    therapist: ids[therapist],
    driver: driver ? ids[driver] : null,
    date: today(),
    start_time: start,
    end_time: end,
    location,
  });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  return r.body;
}

const step = (who, id, action, body = {}) => srv.step(tokens[who], id, action, body);

// Each test starts from a free day.
afterEach(() => cancelAll());

async function cancelAll() {
  const list = (await srv.call('GET', `/api/scheduling/appointments/?date=${today()}&page_size=200`, tokens.olga)).body.results;
  for (const a of list) if (a.allowed_actions.includes('cancel')) await step('olga', a.id, 'cancel');
}

test('the day timeline shows a gap between two bookings, the countdown, and folds finished ones away', async () => {
  const early = await book('09:00', '10:00');
  const late = await book('12:00', '13:00');
  const done = await book('15:00', '16:00');
  await step('olga', done.id, 'cancel');
  const op = await newPage(browser);
  await logIn(op.page, srv, 'olga');
  const col = op.page.locator(`.tl-col[data-role="therapist"][data-staff="${ids.tina}"]`);
  const gap = col.locator('.tl-free[data-from="10:00"][data-to="12:00"]');
  await gap.waitFor();
  assert.equal(await gap.textContent(), 'free 10:00–12:00');
  // The gap sits between the two blocks.
  const [a, g, b] = await Promise.all([col.locator(`.tl-block[data-id="${early.id}"]`).boundingBox(), gap.boundingBox(), col.locator(`.tl-block[data-id="${late.id}"]`).boundingBox()]);
  assert.ok(a.y + a.height <= g.y + 1 && g.y + g.height <= b.y + 1, JSON.stringify({ a, g, b }));
  // Rosa has nothing: free all day. Dan (the driver) has his own column with the blocks.
  await op.page.locator(`.tl-col[data-staff="${ids.rosa}"] .tl-free`).filter({ hasText: 'free 08:00–20:00' }).waitFor();
  await op.page.locator(`.tl-col[data-role="driver"][data-staff="${ids.dan}"] .tl-block[data-id="${early.id}"]`).waitFor();
  // Pending: the auto-cancel countdown (30 minutes by default).
  assert.match(await col.locator(`.tl-block[data-id="${early.id}"] .tl-countdown`).textContent(), /^auto-cancels in (29|30) min$/);
  assert.match(await op.page.locator(`article.appt[data-id="${early.id}"] .appt-countdown`).textContent(), /^auto-cancels in (29|30) min$/);
  // The cancelled one is folded away until asked for.
  assert.equal(await col.locator(`.tl-block[data-id="${done.id}"]`).count(), 0);
  await op.page.locator('#tl-show-finished').check();
  await col.locator(`.tl-block[data-id="${done.id}"]`).waitFor();
  // A block opens its card.
  await col.locator(`.tl-block[data-id="${late.id}"]`).click();
  await op.page.waitForFunction((id) => document.activeElement?.matches(`article.appt[data-id="${id}"]`), late.id);
  await shot(op.page, 'board-timeline');

  // Needs attention: a rejection to review, and a home visit with no driver.
  const lone = await book('17:00', '18:00', { therapist: 'rosa', driver: null });
  await step('tina', late.id, 'reject', { rejection_reason: 'Sick' });
  const strip = op.page.locator('section.attention');
  await strip.locator(`button[data-reason="rejected"][data-id="${late.id}"]`).waitFor();
  await strip.locator(`button[data-reason="driver"][data-id="${lone.id}"]`).click();
  await op.page.waitForFunction((id) => document.activeElement?.matches(`article.appt[data-id="${id}"]`), lone.id);
  assert.deepEqual(op.page.problems, []);
  await op.context.close();
});

test('a live change redraws only its card: the focus stays and one short sentence is announced', async () => {
  const mine = await book('09:00', '10:00');
  const theirs = await book('11:00', '12:00');
  const op = await newPage(browser);
  await logIn(op.page, srv, 'olga');
  await op.page.waitForSelector('#conn[data-state="live"]');
  const edit = op.page.locator(`article.appt[data-id="${mine.id}"] button[data-action="edit"]`);
  await edit.focus();
  await op.page.evaluate((id) => {
    document.activeElement.dataset.marked = 'yes';
    document.querySelector(`article.appt[data-id="${id}"]`).dataset.marked = 'card';
  }, mine.id);
  assert.equal(await op.page.locator('.board-list[aria-live]').count(), 0, 'the board is not a live region');
  await step('tina', theirs.id, 'therapist_confirm');
  await op.page.locator(`article.appt[data-id="${theirs.id}"][data-status="therapist_confirmed"]`).waitFor();
  assert.equal(await op.page.evaluate(() => document.activeElement?.dataset.marked), 'yes', 'the focused button is the same element');
  assert.equal(await op.page.locator(`article.appt[data-id="${mine.id}"][data-marked="card"]`).count(), 1, 'the unchanged card was not redrawn');
  const said = await op.page.locator('#board-announce').textContent();
  assert.match(said, /^Ana Santos at 11:00: .+\.$/);
  // When the focused card's own appointment changes, its new card's same button has the focus.
  assert.equal((await srv.call('PATCH', `/api/scheduling/appointments/${mine.id}/`, tokens.olga, { notes: 'Gate code 4411' })).status, 200);
  await op.page.locator(`article.appt[data-id="${mine.id}"]`).filter({ hasText: 'Gate code 4411' }).waitFor();
  assert.equal(await op.page.evaluate((id) => document.activeElement?.matches(`article.appt[data-id="${id}"] button[data-action="edit"]`), mine.id), true);
  assert.deepEqual(op.page.problems, []);
  await op.context.close();
});

test('a double tap sends one request', async () => {
  const a = await book('09:00', '10:00');
  await step('tina', a.id, 'therapist_confirm');
  await step('dan', a.id, 'driver_confirm');
  const op = await newPage(browser);
  await logIn(op.page, srv, 'olga');
  const sent = [];
  op.page.on('request', (r) => {
    if (r.method() === 'POST' && r.url().includes(`/appointments/${a.id}/`)) sent.push(r.url());
  });
  const button = op.page.locator(`article.appt[data-id="${a.id}"] button[data-action="start_appointment"]`);
  await button.dblclick();
  await op.page.locator(`article.appt[data-id="${a.id}"][data-status="in_progress"]`).waitFor();
  assert.deepEqual(sent, [`${srv.url}/api/scheduling/appointments/${a.id}/start_appointment/`]);
  assert.deepEqual(op.page.problems, []);
  await op.context.close();
});

test('an edit clash offers "Load their version", and errors name fields and clients in words', async () => {
  const a = await book('09:00', '10:00');
  const op = await newPage(browser);
  await logIn(op.page, srv, 'olga');
  await op.page.locator(`article.appt[data-id="${a.id}"] button[data-action="edit"]`).click();
  const dlg = op.page.locator('dialog[data-dialog="edit"]');
  await dlg.locator('input[name="location"]').fill('Room 4');
  const other = await srv.call('PATCH', `/api/scheduling/appointments/${a.id}/`, tokens.olga, { notes: 'Gate code 4411' });
  assert.equal(other.status, 200);
  await dlg.locator('button[type="submit"]').click();
  const offer = dlg.locator('.form-error button[data-offer]');
  await offer.waitFor();
  assert.equal(await offer.textContent(), 'Load their version');
  await offer.click();
  await dlg.locator('.form-error').waitFor({ state: 'hidden' });
  assert.equal(await dlg.locator('textarea[name="notes"]').inputValue(), 'Gate code 4411');
  assert.equal(await dlg.locator('input[name="location"]').inputValue(), '12 Mabini St');
  await shot(op.page, 'board-load-their-version');

  // The end before the start: said in words, not as a field key.
  await dlg.locator('input[name="end_time"]').fill('08:30');
  await dlg.locator('button[type="submit"]').click();
  await dlg.locator('.form-error').filter({ hasText: 'End time must be after the start time.' }).waitFor();
  assert.doesNotMatch(await dlg.locator('.form-error').textContent(), /_/);
  // Their version is the base now: my change saves.
  await dlg.locator('input[name="end_time"]').fill('10:00');
  await dlg.locator('input[name="location"]').fill('Room 4');
  await dlg.locator('button[type="submit"]').click();
  await dlg.waitFor({ state: 'detached' });
  const now = (await srv.call('GET', `/api/scheduling/appointments/${a.id}/`, tokens.olga)).body;
  assert.deepEqual([now.location, now.notes], ['Room 4', 'Gate code 4411']);

  // A double booking names the other booking's client and times, not its id.
  const b = await book('11:00', '12:00', { therapist: 'rosa', driver: null });
  await op.page.locator(`article.appt[data-id="${b.id}"] button[data-action="edit"]`).click();
  await dlg.locator('select[name="therapist"]').selectOption({ label: 'Tina Cruz' });
  await dlg.locator('input[name="start_time"]').fill('09:30');
  await dlg.locator('button[type="submit"]').click();
  const error = dlg.locator('.form-error');
  await error.filter({ hasText: 'Double booking' }).waitFor();
  assert.equal(await error.textContent(), 'Double booking: Tina Cruz is with Ana Santos 09:00–10:00; choose another time or another therapist.');
  await dlg.locator('button[value="cancel"]').click();
  assert.deepEqual(op.page.problems, []);
  await op.context.close();
});

// Every visible control's box (the part its scrolling area shows) against every toast's.
async function overlaps(page) {
  return page.evaluate(() => {
    const clip = (el) => {
      let r = el.getBoundingClientRect();
      let [top, bottom, left, right] = [r.top, r.bottom, r.left, r.right];
      for (let p = el.parentElement; p; p = p.parentElement) {
        const o = getComputedStyle(p);
        if (o.overflowX !== 'visible' || o.overflowY !== 'visible') {
          r = p.getBoundingClientRect();
          [top, bottom, left, right] = [Math.max(top, r.top), Math.min(bottom, r.bottom), Math.max(left, r.left), Math.min(right, r.right)];
        }
      }
      return { top, bottom: Math.min(bottom, innerHeight), left, right: Math.min(right, innerWidth) };
    };
    const seen = (sel) => [...document.querySelectorAll(sel)].map((el) => [el, clip(el)]).filter(([el, r]) => r.bottom > r.top && r.right > r.left && el.checkVisibility());
    const toasts = seen('.toast');
    const hits = [];
    for (const [b, rb] of seen('button, a[href], input, select, summary')) {
      for (const [t, rt] of toasts) {
        if (rb.left < rt.right && rt.left < rb.right && rb.top < rt.bottom && rt.top < rb.bottom) hits.push(`${b.textContent.trim() || b.name} × ${t.textContent}`);
      }
    }
    return { hits, toasts: toasts.length };
  });
}

test('toasts never cover a button, on a wide screen or a phone', async () => {
  for (let i = 0; i < 8; i++) await book(`${String(8 + i).padStart(2, '0')}:00`, `${String(8 + i).padStart(2, '0')}:45`);
  for (const phone of [false, true]) {
    const op = await newPage(browser, { phone });
    await logIn(op.page, srv, 'olga');
    await op.page.locator('article.appt').nth(7).waitFor();
    // Real toasts from the page's own module, as many as it keeps (three).
    await op.page.evaluate(() => import('/js/ui.js').then(({ toast }) => ['Appointment for Ana Santos at 09:00 created.', 'A long message that wraps over more than one line on a phone, to take up room at the bottom of the screen.', 'Third'].forEach((t) => toast(t, 'info', 60000))));
    for (const where of ['top', 'middle', 'bottom']) {
      await op.page.evaluate((w) => {
        const m = document.querySelector('main');
        m.scrollTop = w === 'top' ? 0 : w === 'middle' ? (m.scrollHeight - m.clientHeight) / 2 : m.scrollHeight;
      }, where);
      const { hits, toasts } = await overlaps(op.page);
      assert.equal(toasts, 3);
      assert.deepEqual(hits, [], `${phone ? 'phone' : 'wide'}, scrolled to the ${where}`);
    }
    await shot(op.page, phone ? 'board-toasts-phone' : 'board-toasts');
    assert.deepEqual(op.page.problems, []);
    await op.context.close();
  }
});

test('the day summary panel shows the day in numbers', async () => {
  const a = await book('09:00', '10:00');
  for (const [who, action] of UNTIL_PAYMENT) await step(who, a.id, action);
  const op = await newPage(browser);
  await logIn(op.page, srv, 'olga');
  await op.page.locator('#day-summary > summary').click();
  const unpaid = op.page.locator('#day-summary [data-figure="unpaid"]');
  await unpaid.filter({ hasText: '1500.00' }).waitFor();
  // Paid on the board: the open panel follows.
  await op.page.locator(`article.appt[data-id="${a.id}"] button[data-action="mark_payment_received"]`).click();
  await op.page.locator('dialog[data-dialog="mark_payment_received"] select[name="payment_method"]').selectOption({ label: 'GCash' });
  await op.page.locator('dialog[data-dialog="mark_payment_received"] button[type="submit"]').click();
  await op.page.locator('#day-summary tr[data-method="gcash"]').filter({ hasText: '1500.00' }).waitFor();
  await op.page.locator('#day-summary [data-figure="unpaid"]').filter({ hasText: '0.00' }).waitFor();
  assert.match(await op.page.locator(`#day-summary tr[data-therapist="${ids.tina}"]`).textContent(), /Tina Cruz.*1500\.00/);
  await shot(op.page, 'board-day-summary');
  assert.deepEqual(op.page.problems, []);
  await op.context.close();
});

test('a pending booking near its auto-cancel is in the needs-attention strip with its countdown', async () => {
  // A 5-minute timeout: every pending booking is within the last 10 minutes.
  const short = await Server.start({ env: { ROYAL_CARE_PENDING_TIMEOUT_SECS: '300' } });
  try {
    short.addTeam();
    const op = (await short.login('olga')).token;
    const tina = (await short.staffIds(op)).tina;
    const c = (await short.call('POST', '/api/scheduling/clients/', op, { first_name: 'Ana', last_name: 'Santos' })).body;
    const r = await short.call('POST', '/api/scheduling/appointments/', op, { client: c.id, therapist: tina, date: today(), start_time: '10:00', end_time: '11:00' });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    const page = await newPage(browser);
    await logIn(page.page, short, 'olga');
    const item = page.page.locator(`section.attention button[data-reason="cancel"][data-id="${r.body.id}"]`);
    await item.waitFor();
    assert.match(await item.textContent(), /^Ana Santos 10:00 · not confirmed · auto-cancels in [45] min$/);
    await item.click();
    await page.page.waitForFunction((id) => document.activeElement?.matches(`article.appt[data-id="${id}"]`), r.body.id);
    // Confirmed: it leaves the strip.
    const th = (await short.login('tina')).token;
    assert.equal((await short.call('POST', `/api/scheduling/appointments/${r.body.id}/therapist_confirm/`, th, {})).status, 200);
    await item.waitFor({ state: 'detached' });
    assert.deepEqual(page.page.problems, []);
    await page.context.close();
  } finally {
    await short.stop();
  }
});
