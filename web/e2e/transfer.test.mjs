// The transfer / consult dialog (SPEC D3, D4, C6): an agent transfers a
// call attended to a colleague chosen from the live agent list, who
// answers; agents who may not take it are shown so, and a refusal of the
// server is shown in the dialog.
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

// One desk phone per extension for the whole file (the phone service has
// no way to remove one, and two phones of an extension would both ring).
const tones = { 1001: 1000, 1002: 1500, 1003: 1700, 1004: 1800, 1009: 1200 };
const desks = new Map();
async function desk(ext) {
  if (!desks.has(ext)) desks.set(ext, await Phone.agent(ext, tones[ext]));
  return desks.get(ext);
}

const agentRow = (page, ext) => page.locator(`[data-testid=transfer-agent][data-extension="${ext}"]`);

/** agentOnACall logs 1001 in with a starter console and has 1003 call them; 1001 answers on the desk phone. */
async function agentOnACall() {
  const desk1001 = await desk('1001');
  const desk1003 = await desk('1003');
  const page = await newPage(browser);
  await login(page, '1001', 'demo-1001');
  if (await page.locator('[data-testid=create-starter]').count()) await page.click('[data-testid=create-starter]');
  else await page.click('.console-list a >> nth=0');
  await page.waitForSelector('[data-testid=widget-mycalls]');
  const caller = await desk1003.dial('1001');
  const atDesk = await desk1001.incoming();
  await atDesk.answer();
  const line = page.locator('[data-testid=line]').first();
  await eventually(async () => assert.equal(await line.getAttribute('data-line-state'), 'active'), 5000);
  return { page, caller, atDesk, line };
}

test('an agent consults a colleague from the dialog, who answers, and completes the transfer', async () => {
  const desk1002 = await desk('1002');
  // The colleague watches their own calls too.
  const colleague = await newPage(browser);
  await login(colleague, '1002', 'demo-1002');
  await colleague.click('[data-testid=create-starter]');
  await colleague.waitForSelector('[data-testid=widget-mycalls]');
  const { page, caller, atDesk, line } = await agentOnACall();

  await page.click('[data-testid=consult]');
  const dialog = page.locator('[data-testid=transfer-dialog]');
  await dialog.waitFor();
  const row = agentRow(page, '1002');
  await eventually(async () => assert.equal(await row.getAttribute('data-availability'), 'available'), 5000);
  assert.match(await row.locator('[data-testid=agent-state]').textContent(), /Available/);

  // A favourite: starred, it shows on top (and stays after the dialog closes).
  await row.locator('[data-testid=fav-toggle]').click();
  await dialog.locator('[data-testid=favourite][data-target="1002"]').waitFor();

  await row.click();
  assert.ok(await page.isChecked('[data-testid=mode-consult]'), 'consult is preselected');
  await shot(page, 'transfer-dialog');
  await page.click('[data-testid=transfer-submit]');
  await dialog.waitFor({ state: 'detached' });

  const atColleague = await desk1002.incoming();
  await atColleague.answer();
  await eventually(async () => assert.equal(await line.getAttribute('data-line-state'), 'consult'), 5000);
  assert.ok(await atColleague.hears(1000), 'the colleague hears the agent');
  // The consulted colleague may only leave: no hold, no hang-up of the customer's call.
  const theirs = colleague.locator('[data-testid=line]').first();
  await eventually(async () => assert.equal(await theirs.getAttribute('data-line-state'), 'consulted'), 5000);
  assert.equal(await theirs.locator('[data-testid=leave-consult]').count(), 1);
  assert.equal(await theirs.locator('[data-testid=hangup]').count(), 0);
  assert.equal(await theirs.locator('[data-testid=resume]').count(), 0);
  await eventually(async () => assert.equal(await caller.hearsNow(1000), false, 'the customer is held during the consultation'), 5000, 200);
  await page.click('[data-testid=complete-transfer]');
  await atDesk.waitEnded();
  assert.ok(await caller.hears(1500), 'the customer hears the colleague after the transfer');
  assert.ok(await atColleague.hears(1700), 'the colleague hears the customer');
  await eventually(async () => assert.equal(await page.locator('[data-testid=line]').count(), 0), 5000);

  // Recents and favourites come back with the next dialog.
  const me = await Api.as('1001', 'demo-1001');
  const { recents } = await me.get('/api/me/recents');
  assert.ok(recents.some((r) => r.action === 'consult'), 'the consultation is a recent: ' + JSON.stringify(recents));
  await eventually(async () => assert.equal(await theirs.getAttribute('data-line-state'), 'active'), 5000);
  await caller.hangup();
  assert.deepEqual(page.errors, []);
  assert.deepEqual(colleague.errors, []);
  await page.context().close();
  await colleague.context().close();
});

test('agents in wrap-up or not Available are refused with a clear reason', async () => {
  const admin = await Api.as('admin', 'demo-admin');
  // 1002 finishes a queue call into a long wrap-up; 1004 is on a break.
  await admin.patch('/api/queues/8000', { wrapup_time_s: 120 });
  for (const ext of ['1001', '1003', '1004', '1005', '1006', '1007', '1008'])
    await admin.put(`/api/queues/8000/members/${ext}`, { state: 'paused' }).catch(() => {});
  const desk1002 = await desk('1002');
  const customer = await Phone.customer('+31622223333', 700);
  const qcall = await customer.dial('+31201230001');
  const offer = await desk1002.incoming();
  await offer.answer();
  await qcall.hears(1500);
  await qcall.hangup();
  const a1002 = await Api.as('1002', 'demo-1002');
  await eventually(async () => assert.equal((await a1002.get('/api/me/agent')).state, 'wrap_up'), 5000);
  const a1004 = await Api.as('1004', 'demo-1004');
  await a1004.put('/api/me/agent', { status: 'break', reason_code: 'lunch' });
  await desk('1004');

  const { page, caller } = await agentOnACall();
  await page.click('[data-testid=transfer]');
  const dialog = page.locator('[data-testid=transfer-dialog]');
  await dialog.waitFor();

  // Wrap-up: greyed, with the reason; it cannot be chosen.
  const wrap = agentRow(page, '1002');
  await eventually(async () => assert.equal(await wrap.getAttribute('data-availability'), 'wrap_up'), 5000);
  assert.equal(await wrap.getAttribute('aria-disabled'), 'true');
  assert.match(await wrap.locator('[data-testid=blocked-reason]').textContent(), /wrap-up/);
  await wrap.click({ force: true });
  assert.ok(await page.locator('[data-testid=transfer-submit]').isDisabled(), 'nothing chosen by clicking an agent in wrap-up');

  // Not Available: a blind transfer is refused in the dialog, a consultation is allowed.
  await page.click('[data-testid=mode-blind]');
  await agentRow(page, '1004').click();
  const why = page.locator('[data-testid=transfer-why]');
  await why.waitFor();
  assert.match(await why.textContent(), /not Available \(Break\).*consultation/);
  assert.ok(await page.locator('[data-testid=transfer-submit]').isDisabled());
  await page.click('[data-testid=mode-consult]');
  await eventually(async () => assert.ok(!(await page.locator('[data-testid=transfer-submit]').isDisabled())), 2000);
  await shot(page, 'transfer-dialog-refused');

  // Typed, the extension of the agent in wrap-up is refused the same way.
  await page.fill('[data-testid=transfer-target]', '1002');
  await why.waitFor();
  assert.match(await why.textContent(), /wrap-up/);

  // A number the server cannot route: the live check explains it, and the
  // server's refusal shows in the dialog.
  await page.click('[data-testid=mode-blind]');
  await page.click('[data-testid=tab-number]');
  await page.fill('[data-testid=transfer-target]', '(0)99-999');
  await eventually(async () => assert.match(await page.textContent('[data-testid=number-check]'), /99999|not an extension/), 5000);
  await page.click('[data-testid=transfer-submit]');
  const refusal = page.locator('[data-testid=transfer-error]');
  await refusal.waitFor();
  assert.ok((await refusal.textContent()).length > 5, 'the refusal says why');
  assert.equal(await dialog.count(), 1, 'the dialog stays open after a refusal');

  await page.keyboard.press('Escape');
  await caller.hangup();
  await a1004.put('/api/me/agent', { status: 'available' });
  await admin.patch('/api/queues/8000', { wrapup_time_s: 0 });
  assert.deepEqual(page.errors.filter((e) => !/Failed to load resource/.test(e)), []);
  await page.context().close();
});
