// The console's main path (issue 6): log in, build a console, save and
// restore it; a queue call seen live while the agent answers on the desk
// phone, holds, consults and transfers from the console.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, newPage, login, shot, shotOf, Api, Phone, eventually } from './lib.mjs';

let browser;
before(async () => {
  browser = await launch();
});
after(async () => {
  await browser?.close();
});

const positions = (page) =>
  page.$$eval('.grid-stack-item', (els) =>
    els
      .map((e) => ({
        type: e.getAttribute('data-widget-type'),
        x: e.getAttribute('gs-x') ?? '0',
        y: e.getAttribute('gs-y') ?? '0',
        w: e.getAttribute('gs-w') ?? '1',
        h: e.getAttribute('gs-h') ?? '1',
      }))
      .sort((a, b) => (a.y - b.y) * 100 + (a.x - b.x)),
  );

test('a wrong password is refused with a clear message', async () => {
  const page = await newPage(browser);
  await page.goto('/');
  await page.fill('input[name=username]', '1009');
  await page.fill('input[name=password]', 'not-the-password');
  await page.click('[data-testid=login-submit]');
  const msg = await page.textContent('[data-testid=login-error]');
  assert.match(msg, /wrong user name or password/i);
  await page.context().close();
});

test('a console of three widgets is dragged, saved and restored after a reload', async () => {
  const page = await newPage(browser);
  await login(page, '1009', 'demo-1009');
  await page.fill('[data-testid=new-console-name]', 'Reception');
  await page.click('[data-testid=new-console]');
  await page.waitForSelector('[data-testid=console-name]:has-text("Reception")');

  await page.click('[data-testid=add-widget]');
  await page.click('[data-testid=add-calls]');
  await page.click('[data-testid=widget-config-done]'); // follow everything
  await page.click('[data-testid=add-widget]');
  await page.click('[data-testid=add-mycalls]');
  await page.click('[data-testid=add-widget]');
  await page.click('[data-testid=add-calls]');
  await page.uncheck('[data-testid=follow-all]');
  await page.check('[data-testid=pb-pick-queue][data-queue="8000"]');
  await page.click('[data-testid=widget-config-done]');
  assert.equal(await page.locator('.grid-stack-item').count(), 3);

  // Drag "My calls" by its header into the right-hand half.
  const mine = page.locator('.grid-stack-item[data-widget-type=mycalls]');
  const head = mine.locator('.widget-header h2');
  await head.scrollIntoViewIfNeeded();
  const box = await head.boundingBox();
  const grid = await page.locator('.grid-stack').boundingBox();
  await page.mouse.move(box.x + 10, box.y + 5);
  await page.mouse.down();
  await page.mouse.move(grid.x + grid.width * 0.75, box.y + 5, { steps: 12 });
  await page.mouse.move(grid.x + grid.width * 0.75 + 5, box.y + 5, { steps: 2 });
  await page.mouse.up();
  const before = await positions(page);
  assert.ok(
    before.some((p) => p.type === 'mycalls' && Number(p.x) >= 4),
    'My calls moved right: ' + JSON.stringify(before),
  );

  await page.click('[data-testid=save-layout]');
  await page.waitForSelector('[data-testid=notice-info]:has-text("Layout saved")');
  await page.reload();
  await page.waitForSelector('.grid-stack-item >> nth=2');
  assert.deepEqual(await positions(page), before);
  assert.deepEqual(page.errors, []);
  await page.context().close();
});

test('a queue call, answered on the device, held, consulted and transferred from the console', async () => {
  const admin = await Api.as('admin', 'demo-admin');
  // Only 1001 takes Support calls here: 1002 is the colleague consulted.
  await admin.put('/api/queues/8000/members/1002', { state: 'paused' });
  const desk1001 = await Phone.agent('1001', 1000);
  const desk1002 = await Phone.agent('1002', 1500);
  const customer = await Phone.customer('+31611112222', 500);

  const op = await newPage(browser);
  await login(op, '1009', 'demo-1009');
  await op.click('.console-list a:has-text("Reception")');
  await op.waitForSelector('[data-testid=widget-calls]');

  const agent = await newPage(browser);
  await login(agent, '1001', 'demo-1001');
  await agent.click('[data-testid=create-starter]');
  await agent.waitForSelector('[data-testid=widget-mycalls]');

  const call = await customer.dial('+31201230001');
  const row = op.locator('.call-row', { hasText: '+31611112222' }).first();
  await row.waitFor();
  assert.match(await row.textContent(), /queue 8000/);

  const atDesk = await desk1001.incoming();
  await eventually(async () => assert.match(await row.textContent(), /1001/), 5000);
  const offer = agent.locator('[data-testid=offer-card]');
  await offer.waitFor();
  assert.match(await offer.textContent(), /\+31611112222/);
  await shot(agent, 'agent-desktop-offer');

  await atDesk.answer();
  await eventually(async () => assert.equal(await row.getAttribute('data-state'), 'answered'), 5000);
  assert.ok(await call.hears(1000), 'the customer hears the agent');
  assert.ok(await atDesk.hears(500), 'the agent hears the customer');
  const line = agent.locator('[data-testid=line]').first();
  await eventually(async () => assert.equal(await line.getAttribute('data-line-state'), 'active'), 5000);

  // Hold from the console: the call list shows it; the customer no longer hears the agent.
  await agent.click('[data-testid=hold]');
  await eventually(async () => assert.equal(await row.getAttribute('data-state'), 'held'), 5000);
  assert.ok(await agent.locator('[data-testid=hangup]').isDisabled(), 'hang up is disabled while held');
  await eventually(async () => assert.equal(await call.hearsNow(1000), false), 5000, 200);
  await agent.click('[data-testid=resume]');
  await eventually(async () => assert.equal(await row.getAttribute('data-state'), 'answered'), 5000);
  assert.ok(await call.hears(1000), 'the customer hears the agent again');

  // A refused action shows the server's message.
  await agent.click('[data-testid=transfer]');
  await agent.fill('[data-testid=transfer-target]', 'no such place!');
  await agent.click('[data-testid=mode-blind]');
  await agent.click('[data-testid=transfer-submit]');
  const refusal = agent.locator('[data-testid=notice-error]').first();
  await refusal.waitFor();
  assert.match(await refusal.textContent(), /^Transfer: .{5,}/);
  await agent.keyboard.press('Escape');

  // Attended transfer: consult 1002, who answers, then complete.
  await agent.click('[data-testid=consult]');
  await agent.fill('[data-testid=transfer-target]', '1002');
  await agent.click('[data-testid=mode-consult]');
  await agent.click('[data-testid=transfer-submit]');
  const atColleague = await desk1002.incoming();
  await atColleague.answer();
  await eventually(async () => assert.equal(await line.getAttribute('data-line-state'), 'consult'), 5000);
  assert.ok(await atColleague.hears(1000), 'the consulted agent hears the agent');
  await shot(agent, 'agent-desktop-consult');
  await shot(op, 'console-calls');
  await agent.click('[data-testid=complete-transfer]');
  await atDesk.waitEnded();
  assert.ok(await call.hears(1500), 'the customer hears the colleague after the transfer');
  await eventually(async () => assert.match(await row.textContent(), /1002/), 5000);
  await eventually(async () => assert.equal(await agent.locator('[data-testid=line]').count(), 0), 5000);

  await call.hangup();
  await eventually(async () => assert.equal(await op.locator('.call-row', { hasText: '+31611112222' }).count(), 0), 5000);
  assert.deepEqual(op.errors, []);
  assert.deepEqual(agent.errors, []);
});

test("a supervisor's wall console: call list, queue, phonebook and my calls, live", async () => {
  const admin = await Api.as('admin', 'demo-admin');
  // 1003 alone takes Support calls here (1001 and 1002 had the last test's).
  for (const ext of ['1001', '1002', '1004', '1005']) await admin.put(`/api/queues/8000/members/${ext}`, { state: 'paused' });
  const page = await newPage(browser, { width: 1600, height: 900 });
  await login(page, '1010', 'demo-1010');
  await page.fill('[data-testid=new-console-name]', 'Supervisor');
  await page.click('[data-testid=new-console]');
  await page.waitForSelector('[data-testid=console-name]:has-text("Supervisor")');
  await page.click('[data-testid=add-widget]');
  await page.click('[data-testid=add-queue]');
  await page.selectOption('[data-testid=queue-select]', '8000');
  await page.click('[data-testid=widget-config-done]');
  await page.click('[data-testid=add-widget]');
  await page.click('[data-testid=add-calls]');
  await page.click('[data-testid=widget-config-done]');
  await page.click('[data-testid=add-widget]');
  await page.click('[data-testid=add-phonebook]');
  await page.click('[data-testid=widget-config-done]');
  await page.click('[data-testid=save-layout]');
  await page.click('[data-testid=edit-console]');

  const desk = await Phone.agent('1003', 1000);
  const talking = await (await Phone.customer('+31655501001', 500)).dial('+31201230001');
  const atDesk = await desk.incoming(15000);
  await atDesk.answer();
  await talking.waitAnswered();
  const waiting = [];
  for (const n of ['+31655501002', '+31655501003']) waiting.push(await (await Phone.customer(n, 500)).dial('+31201230001'));
  await eventually(async () => assert.equal(await page.locator('.call-row').count(), 3), 10000);
  const queue = page.locator('[data-testid=queue-widget][data-queue="8000"]');
  await eventually(async () => assert.equal(await queue.locator('[data-testid=stat-waiting-value]').textContent(), '2'), 10000);
  // 1004 has no phone registered: the widget says so (the ACD offers them nothing); 1003 has one.
  assert.equal(await queue.locator('[data-testid=queue-agent][data-extension="1004"] [data-testid=no-device]').count(), 1);
  assert.equal(await queue.locator('[data-testid=queue-agent][data-extension="1003"] [data-testid=no-device]').count(), 0);
  await new Promise((r) => setTimeout(r, 2500)); // durations tick in the pictures
  await shot(page, 'console-supervisor', { fullPage: true });
  await shotOf(queue, 'queue-widget');
  for (const c of [talking, ...waiting]) await c.hangup();
  await eventually(async () => assert.equal(await page.locator('.call-row').count(), 0), 10000);
  assert.deepEqual(page.errors, []);
});
