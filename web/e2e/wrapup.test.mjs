// The agent's wrap-up dialog and RONA pop-up (issue 6, SPEC Q2, Q3, A1),
// and the call data panel (D2): a wrap-up code chosen in the dialog shows
// in the interaction history; a missed offer raises the RONA pop-up, which
// "Available" clears; call data edited in the active call, with the first
// save winning over a stale one.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, newPage, login, shot, Api, Phone, eventually } from './lib.mjs';

let browser;
let admin;
let agentDoc;
let desk; // 1001's desk phone, registered once
before(async () => {
  browser = await launch();
  admin = await Api.as('admin', 'demo-admin');
  // Only 1001 takes Support calls; wrap-up lasts a minute, an offer rings 4 s.
  for (const ext of ['1002', '1003', '1004', '1005']) await admin.put(`/api/queues/8000/members/${ext}`, { state: 'paused' });
  await admin.patch('/api/queues/8000', { wrapup_time_s: 60, ring_time_s: 4 });
  desk = await Phone.agent('1001', 1000);
  const api = await Api.as('1001', 'demo-1001');
  agentDoc = await api.post('/api/me/consoles', {
    name: 'Desk',
    layout: [{ id: 'm', type: 'mycalls', x: 0, y: 0, w: 6, h: 8, config: {} }],
  });
});
after(async () => {
  await browser?.close();
});

async function agentPage() {
  const page = await newPage(browser);
  await login(page, '1001', 'demo-1001');
  await page.goto(`/#/console/${agentDoc.id}`);
  await page.waitForSelector('[data-testid=widget-mycalls]');
  return page;
}

test('a wrap-up code chosen in the dialog is in the interaction history', async () => {
  const customer = await Phone.customer('+31644445555', 500);
  const page = await agentPage();

  const call = await customer.dial('+31201230001');
  const atDesk = await desk.incoming();
  await atDesk.answer();
  await eventually(async () => assert.equal(await page.locator('[data-testid=line]').first().getAttribute('data-line-state'), 'active'), 5000);
  await call.hangup();

  const dialog = page.locator('[data-testid=wrapup-dialog]');
  await dialog.waitFor({ timeout: 10000 });
  const callID = await dialog.getAttribute('data-call-id');
  assert.match(await dialog.textContent(), /left/, 'the time left in wrap-up shows');
  assert.match(await page.textContent('[data-testid=status-label]'), /Wrap-up/);
  await dialog.locator('[data-testid=wrapup-code-follow-up]').click();
  await shot(page, 'agent-wrapup');
  await dialog.locator('[data-testid=wrapup-save-end]').click();
  await dialog.waitFor({ state: 'detached', timeout: 5000 });
  await eventually(async () => assert.doesNotMatch(await page.textContent('[data-testid=status-label]'), /Wrap-up/), 5000);

  // The history (API and page) shows the code for the call.
  const api = await Api.as('1001', 'demo-1001');
  await eventually(async () => {
    const r = await api.get('/api/interactions?limit=10');
    const row = r.interactions.find((i) => i.call_id === callID);
    assert.equal(row?.wrapup_code, 'follow-up');
  }, 5000);
  await page.goto('/#/history');
  const cell = page.locator(`[data-testid=history-row][data-call-id="${callID}"] [data-testid=history-wrapup]`);
  await eventually(async () => assert.match(await cell.textContent(), /follow-up/), 5000);
  assert.deepEqual(page.errors, []);
  await page.context().close();
});

test('a missed offer raises the RONA pop-up; "Available" clears it', async () => {
  const customer = await Phone.customer('+31655556666', 500);
  const page = await agentPage();

  const call = await customer.dial('+31201230001');
  await desk.incoming(); // rings, nobody answers
  const dialog = page.locator('[data-testid=rona-dialog]');
  await dialog.waitFor({ timeout: 15000 });
  assert.match(await page.textContent('[data-testid=status-label]'), /RONA/);
  await shot(page, 'agent-rona');
  // The caller gives up; the agent comes back.
  await call.hangup();
  await dialog.locator('[data-testid=rona-available]').click();
  await dialog.waitFor({ state: 'detached', timeout: 5000 });
  await eventually(async () => assert.match(await page.textContent('[data-testid=status-label]'), /Available/), 5000);
  const me = await (await Api.as('1001', 'demo-1001')).get('/api/me/agent');
  assert.equal(me.status, 'available');
  assert.notEqual(me.state, 'rona');
  assert.deepEqual(page.errors, []);
  await page.context().close();
});

test('call data: edited and saved in the active call; a stale save is told the first one won', async () => {
  // A case number (editable), a date (editable), a secure PIN and a read-only note.
  for (const v of [
    { name: 'case_no', label: 'Case number', type: 'string', order: 1, editable: true },
    { name: 'callback_at', label: 'Call back at', type: 'datetime', order: 2, editable: true },
    { name: 'pin', label: 'PIN', type: 'integer', order: 3, editable: true, secure: true },
    { name: 'ani', label: 'Caller', type: 'string', order: 0 },
  ])
    await admin.post('/api/queues/8000/variables', v);
  await admin.patch('/api/queues/8000', { wrapup_time_s: 0 });
  const customer = await Phone.customer('+31666667777', 500);
  const page = await agentPage();

  await customer.dial('+31201230001');
  const atDesk = await desk.incoming();
  // The offer card shows the variables before answering, read-only.
  const panel = page.locator('[data-testid=call-data]');
  await panel.waitFor({ timeout: 10000 });
  await eventually(async () => assert.match(await panel.textContent(), /Case number/), 5000);
  assert.equal(await panel.locator('[data-testid=cad-save]').count(), 0, 'read-only while ringing');
  await atDesk.answer();
  await eventually(async () => assert.equal(await page.locator('[data-testid=line]').first().getAttribute('data-line-state'), 'active'), 5000);

  // Labels in the admin's order; the caller's number set by routing.
  await eventually(async () => assert.deepEqual(await panel.locator('dt label').allTextContents(), ['Caller', 'Case number', 'Call back at', 'PIN']), 5000);
  assert.match(await panel.locator('[data-testid=cad-value-ani]').textContent(), /\+31666667777/);
  assert.equal(await panel.locator('[data-testid=cad-input-pin]').getAttribute('type'), 'password', 'a secure value is masked');

  await panel.locator('[data-testid=cad-input-case_no]').fill('C-1');
  await panel.locator('[data-testid=cad-input-pin]').fill('4321');
  // Undo puts the saved values back.
  await panel.locator('[data-testid=cad-undo]').click();
  assert.equal(await panel.locator('[data-testid=cad-input-case_no]').inputValue(), '');
  await panel.locator('[data-testid=cad-input-case_no]').fill('C-2');
  await panel.locator('[data-testid=cad-save]').click();
  await eventually(async () => assert.equal(await panel.getAttribute('data-version'), '2'), 5000);

  // Someone else (the admin) saves first on top of version 2; my stale save is refused and told.
  const callID = await page.locator('[data-testid=line]').first().getAttribute('data-call-id');
  await panel.locator('[data-testid=cad-input-case_no]').fill('C-3');
  await admin.put(`/api/calls/${callID}/data`, { version: 2, values: { case_no: 'C-ADMIN' } });
  await panel.locator('[data-testid=cad-save]').click();
  const conflict = panel.locator('[data-testid=cad-conflict]');
  await conflict.waitFor({ timeout: 5000 });
  assert.match(await conflict.textContent(), /Someone else saved first/);
  await eventually(async () => assert.equal(await panel.locator('[data-testid=cad-input-case_no]').inputValue(), 'C-ADMIN'), 5000);
  await shot(page, 'agent-call-data');

  const data = await admin.get(`/api/calls/${callID}/data`);
  assert.equal(data.variables.find((v) => v.name === 'case_no').value, 'C-ADMIN');

  // Leaving with unsaved edits asks first; staying keeps them.
  await panel.locator('[data-testid=cad-input-case_no]').fill('C-4');
  let asked = '';
  page.once('dialog', (d) => {
    asked = d.message();
    void d.dismiss();
  });
  await page.click('a[href="#/history"]');
  assert.match(asked, /unsaved/);
  assert.equal(await panel.locator('[data-testid=cad-input-case_no]').inputValue(), 'C-4');
  await panel.locator('[data-testid=cad-undo]').click();
  await atDesk.hangup();
  await eventually(async () => assert.equal(await page.locator('[data-testid=line]').count(), 0), 5000);
  assert.deepEqual(page.errors, []);
  await page.context().close();
});
