// The queue widget (issue 6, SPEC C4, Q6, S1, S2): a queue call seen
// waiting, offered and answered while the agent answers on the desk phone;
// a supervisor brings an agent back from pause, whispers (the agent hears
// the supervisor, the customer does not) and barges from the widget; an
// agent sees the queue without the supervisor's controls; a refusal shows
// the server's message.
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

const SUPPORT = ['1001', '1002', '1003', '1004', '1005'];
let desk1001; // registered once: a second registration would ring too

test('a queue call goes waiting → offered → answered in the queue widget; the supervisor whispers and barges', async () => {
  const admin = await Api.as('admin', 'demo-admin');
  // Nobody takes Support calls until the supervisor logs 1001 back in.
  for (const ext of SUPPORT) await admin.put(`/api/queues/8000/members/${ext}`, { state: 'paused' });
  desk1001 = await Phone.agent('1001', 1000);
  const desk1010 = await Phone.agent('1010', 2000);
  const customer = await Phone.customer('+31622223333', 500);

  // The supervisor adds a queue widget for Support through the console.
  const page = await newPage(browser);
  await login(page, '1010', 'demo-1010');
  await page.fill('[data-testid=new-console-name]', 'Queues');
  await page.click('[data-testid=new-console]');
  await page.waitForSelector('[data-testid=console-name]:has-text("Queues")');
  await page.click('[data-testid=add-widget]');
  await page.click('[data-testid=add-queue]');
  await page.selectOption('[data-testid=queue-select]', '8000');
  await page.click('[data-testid=widget-config-done]');
  await page.click('[data-testid=save-layout]');
  await page.click('[data-testid=edit-console]');
  const w = page.locator('[data-testid=queue-widget][data-queue="8000"]');
  await w.waitFor();

  const row1001 = w.locator('[data-testid=queue-agent][data-extension="1001"]');
  await eventually(async () => assert.equal(await row1001.getAttribute('data-queue-state'), 'paused'), 5000);
  await eventually(async () => assert.equal(await w.locator('[data-testid=agents-paused]').textContent(), '5'), 5000);

  // Drill down into the calls.
  await w.locator('[data-testid=stat-waiting]').click();
  await w.locator('[data-testid=drill-down]').waitFor();

  const call = await customer.dial('+31201230001');
  const qcall = w.locator('[data-testid=queue-call]', { hasText: '+31622223333' });
  await eventually(async () => assert.equal(await qcall.getAttribute('data-state'), 'waiting'), 5000);
  await eventually(async () => assert.equal(await w.locator('[data-testid=stat-waiting-value]').textContent(), '1'), 5000);
  await shot(page, 'queue-widget-waiting');

  // The supervisor logs 1001 back in from the agent list: the call is offered.
  await row1001.click();
  await page.click('[data-testid=agent-menu] [data-testid=member-logged_in]');
  await eventually(async () => assert.equal(await row1001.getAttribute('data-queue-state'), 'logged_in'), 5000);
  const atDesk = await desk1001.incoming();
  await eventually(async () => assert.equal(await qcall.getAttribute('data-state'), 'ringing'), 5000);
  assert.match(await qcall.textContent(), /Anna de Vries/);
  await eventually(async () => assert.equal(await row1001.getAttribute('data-presence'), 'offered'), 5000);

  // Answered on the desk phone.
  await atDesk.answer();
  await eventually(async () => assert.equal(await qcall.getAttribute('data-state'), 'answered'), 5000);
  await eventually(async () => assert.equal(await w.locator('[data-testid=stat-active-value]').textContent(), '1'), 5000);
  await eventually(async () => assert.equal(await w.locator('[data-testid=stat-waiting-value]').textContent(), '0'), 5000);
  await eventually(async () => assert.equal(await row1001.getAttribute('data-presence'), 'busy'), 5000);
  assert.ok(await call.hears(1000), 'the customer hears the agent');

  // Whisper: the supervisor's phone rings, they answer; the agent hears them, the customer does not.
  await qcall.locator('[data-testid=monitor-whisper]').click();
  const atSup = await desk1010.incoming();
  await atSup.answer();
  const controls = qcall.locator('[data-testid=monitor-controls]');
  await eventually(async () => assert.equal(await controls.getAttribute('data-monitor-mode'), 'whisper'), 5000);
  assert.ok(await atDesk.hears(2000), 'whisper: the agent hears the supervisor');
  assert.ok(await atSup.hears(500), 'the supervisor hears the customer');
  assert.ok(await atSup.hears(1000), 'the supervisor hears the agent');
  assert.equal(await call.hears(2000, 1500), false, 'whisper: the customer does not hear the supervisor');
  await shot(page, 'queue-widget-whisper');

  // Barge: now the customer hears the supervisor too.
  await qcall.locator('[data-testid=monitor-barge]').click();
  await eventually(async () => assert.equal(await controls.getAttribute('data-monitor-mode'), 'barge'), 5000);
  assert.ok(await call.hears(2000), 'barge: the customer hears the supervisor');

  // Stop: the supervisor's leg ends, the call goes on.
  await qcall.locator('[data-testid=monitor-stop]').click();
  await atSup.waitEnded();
  assert.ok(await call.hears(1000), 'the customer still hears the agent');

  await call.hangup();
  await eventually(async () => assert.equal(await qcall.count(), 0), 5000);
  await eventually(async () => assert.equal(await w.locator('[data-testid=stat-active-value]').textContent(), '0'), 5000);
  assert.deepEqual(page.errors, []);
  await page.context().close();
});

test('an agent sees the queue and changes only their own queue status, without supervisor controls', async () => {
  const api = await Api.as('1002', 'demo-1002');
  const doc = await api.post('/api/me/consoles', {
    name: 'My queue',
    layout: [{ id: 'q', type: 'queue', x: 0, y: 0, w: 12, h: 8, config: { queue: '8000', name: 'Support' } }],
  });
  const customer = await Phone.customer('+31633334444', 500);

  const page = await newPage(browser);
  await login(page, '1002', 'demo-1002');
  await page.goto(`/#/console/${doc.id}`);
  const w = page.locator('[data-testid=queue-widget][data-queue="8000"]');
  await w.waitFor();

  // Another agent's row opens nothing.
  const other = w.locator('[data-testid=queue-agent][data-extension="1003"]');
  await other.waitFor();
  await other.click();
  assert.equal(await page.locator('[data-testid=agent-menu]').count(), 0, 'no menu on a colleague');

  // Their own row: the queue states only.
  const mine = w.locator('[data-testid=queue-agent][data-extension="1002"]');
  await mine.click();
  const menu = page.locator('[data-testid=agent-menu]');
  await menu.waitFor();
  assert.equal(await menu.locator('[data-testid^=agent-status-]').count(), 0, 'no agent status change for an agent');
  await menu.locator('[data-testid=member-logged_in]').click();
  await eventually(async () => assert.equal(await mine.getAttribute('data-queue-state'), 'logged_in'), 5000);
  await mine.click();
  await page.locator('[data-testid=agent-menu] [data-testid=member-paused]').click();
  await eventually(async () => assert.equal(await mine.getAttribute('data-queue-state'), 'paused'), 5000);

  // An answered call shows without listen / whisper / barge.
  const call = await customer.dial('+31201230001');
  const atDesk = await desk1001.incoming();
  await atDesk.answer();
  await w.locator('[data-testid=stat-active]').click();
  const qcall = w.locator('[data-testid=queue-call]', { hasText: '+31633334444' });
  await eventually(async () => assert.equal(await qcall.getAttribute('data-state'), 'answered'), 5000);
  assert.equal(await w.locator('[data-testid=monitor-controls]').count(), 0, 'no monitoring for an agent');

  // The admin may monitor but has no extension to listen from: the server's refusal shows.
  const adminApi = await Api.as('admin', 'demo-admin');
  const adminDoc = await adminApi.post('/api/me/consoles', {
    name: 'Support',
    layout: [{ id: 'q', type: 'queue', x: 0, y: 0, w: 12, h: 8, config: { queue: '8000' } }],
  });
  const ap = await newPage(browser);
  await login(ap, 'admin', 'demo-admin');
  await ap.goto(`/#/console/${adminDoc.id}`);
  const aw = ap.locator('[data-testid=queue-widget][data-queue="8000"]');
  await aw.locator('[data-testid=stat-active]').click();
  await aw.locator('[data-testid=queue-call][data-state=answered] [data-testid=monitor-listen]').click();
  const refusal = ap.locator('[data-testid=notice-error]').first();
  await refusal.waitFor();
  assert.match(await refusal.textContent(), /^Monitor: you have no extension/);
  await ap.context().close();

  await call.hangup();
  await eventually(async () => assert.equal(await qcall.count(), 0), 5000);
  assert.deepEqual(page.errors, []);
  await page.context().close();
});
