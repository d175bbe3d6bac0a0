// The interaction history (issue 6, SPEC D6): a queue call the agent
// answered on the desk phone shows in #/history once it ended — re-read by
// itself, no reload — with its wrap-up code; click-to-call on the other
// party's number, edited before dialling, rings the agent's phone and then
// the edited number; a profile without keypad dialling gets the server's
// refusal in the box.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, newPage, login, shot, Api, Phone, eventually } from './lib.mjs';

let browser;
before(async () => {
  browser = await launch();
});
after(async () => {
  await browser?.close();
});

test('a finished call shows with its wrap-up code; click-to-call with an edited number places the call', async () => {
  const admin = await Api.as('admin', 'demo-admin');
  // Only 1001 takes Support calls; the call ends in a wrap-up with a code.
  for (const ext of ['1002', '1003', '1004', '1005']) await admin.put(`/api/queues/8000/members/${ext}`, { state: 'paused' });
  await admin.put('/api/queues/8000/members/1001', { state: 'logged_in' });
  await admin.patch('/api/queues/8000', { wrapup_time_s: 120 });
  await admin.post('/api/queues/8000/wrapup-codes', { code: 'solved', label: 'Solved' });

  const desk1001 = await Phone.agent('1001', 1000);
  const desk1002 = await Phone.agent('1002', 2000);
  const customer = await Phone.customer('+31633334444', 500);

  const page = await newPage(browser);
  await login(page, '1001', 'demo-1001');
  await page.click('.app-header nav a:has-text("History")');
  await page.locator('[data-testid=history-table], .history-page .empty').first().waitFor();
  const row = page.locator('[data-testid=history-row]', { hasText: '+31633334444' });
  assert.equal(await row.count(), 0);

  // The customer calls Support; 1001 answers on the desk phone, the customer hangs up.
  const call = await customer.dial('+31201230001');
  const atDesk = await desk1001.incoming();
  await atDesk.answer();
  await call.waitAnswered();
  await call.hangup();
  await atDesk.waitEnded();
  // The agent codes the call (the wrap-up dialog's job; here through the API).
  const agent = await Api.as('1001', 'demo-1001');
  await eventually(async () => assert.equal((await agent.get('/api/me/agent')).state, 'wrap_up'), 5000);
  await agent.post('/api/me/wrapup', { code: 'solved' });

  // The history re-reads by itself: the call, then its code.
  await row.waitFor({ timeout: 15000 });
  await eventually(async () => assert.equal((await row.locator('[data-testid=history-wrapup]').textContent()).trim().startsWith('solved'), true), 15000);
  assert.match(await row.textContent(), /8000/);
  await shot(page, 'history-page');

  // Call back, with the number edited to 1002 first: 1001's phone rings, then 1002's.
  await row.locator('[data-testid=history-call]').click();
  assert.equal(await page.inputValue('[data-testid=dial-number]'), '+31633334444');
  await page.fill('[data-testid=dial-number]', '1002');
  await page.click('[data-testid=dial-submit]');
  await page.locator('[data-testid=dial-number]').waitFor({ state: 'detached' });
  const first = await desk1001.incoming();
  await first.answer();
  const at1002 = await desk1002.incoming();
  await at1002.answer();
  await first.waitAnswered();
  assert.ok(await at1002.hears(1000), '1002 hears 1001');
  await first.hangup();
  await at1002.waitEnded();

  // A profile without keypad dialling: the box shows the server's refusal and stays open.
  const me = await agent.get('/api/me');
  await admin.patch(`/api/users/${me.user.id}`, { profile: { can_keypad_dial: false } });
  await row.locator('[data-testid=history-call]').click();
  await page.click('[data-testid=dial-submit]');
  const err = page.locator('[data-testid=dial-error]');
  await err.waitFor();
  assert.match(await err.textContent(), /does not allow dialling/);
  await shot(page, 'history-dial-refused');
  assert.deepEqual(page.errors, []);
});

test('the CSV download holds the same rows', async () => {
  const page = await newPage(browser);
  await login(page, 'admin', 'demo-admin');
  await page.goto('/#/history');
  const href = await page.getAttribute('[data-testid=history-csv]', 'href');
  assert.match(href, /format=csv/);
  const res = await page.request.get(href);
  assert.equal(res.status(), 200);
  assert.match(res.headers()['content-type'], /text\/csv/);
  assert.match((await res.text()).split('\n')[0], /^call_id,started_at,direction/);
});
